-- Skills are recorded under NekoHub's names ('enrich' and 'caption' were
-- tessera's own; both stay accepted as aliases).
UPDATE skill_executions SET skill_name = 'basic_image_enrich' WHERE skill_name = 'enrich';
UPDATE skill_executions SET skill_name = 'ai-caption' WHERE skill_name = 'caption';

-- Workflows (NekoHub's workflow profiles): a graph of skill nodes kept
-- byte for byte as the client sent it, run in node order. At most one runs
-- on upload instead of the built-in enrichment.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    is_auto_run SMALLINT NOT NULL,
    graph_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX workflows_name_unique ON workflows (lower(name));
CREATE UNIQUE INDEX workflows_one_auto_run ON workflows (is_auto_run) WHERE is_auto_run = 1;
