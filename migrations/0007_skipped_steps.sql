-- A step with nothing to do (an AI step of the enrichment when no AI provider
-- is active) is recorded as skipped: it counts as succeeded.
ALTER TABLE skill_execution_steps ADD COLUMN skipped SMALLINT NOT NULL DEFAULT 0;
