-- Background processing: the durable job queue and skill execution records.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    asset_id TEXT,
    payload_json TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX jobs_queue_idx ON jobs (status, run_after);
CREATE INDEX jobs_lease_idx ON jobs (status, lease_expires_at);

CREATE TABLE skill_executions (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    job_id TEXT UNIQUE,
    skill_name TEXT NOT NULL,
    trigger_source TEXT NOT NULL,
    parameters_json TEXT NOT NULL,
    succeeded SMALLINT NOT NULL,
    started_at BIGINT NOT NULL,
    completed_at BIGINT NOT NULL
);

CREATE INDEX skill_executions_asset_idx ON skill_executions (asset_id, started_at);
CREATE INDEX skill_executions_skill_idx ON skill_executions (skill_name);

CREATE TABLE skill_execution_steps (
    id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES skill_executions (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    step_name TEXT NOT NULL,
    succeeded SMALLINT NOT NULL,
    error_message TEXT,
    started_at BIGINT NOT NULL,
    completed_at BIGINT NOT NULL
);

CREATE INDEX skill_execution_steps_execution_idx ON skill_execution_steps (execution_id, position);

ALTER TABLE assets ADD COLUMN perceptual_hash TEXT;
