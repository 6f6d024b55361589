-- Resumable uploads (gRPC UploadService and tus): the state of an upload in
-- progress, so that any instance can take the next chunk. The bytes are
-- staged as part objects in the storage layer, one row each; an append is
-- recorded (offset moved, part added) in one transaction that only succeeds
-- from the offset it started at, so concurrent appends cannot interleave.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    -- Who created it (user:<id>, key:<id>, config:<name>); nobody else sees it.
    owner TEXT NOT NULL,
    size BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL,
    -- The asset's metadata as sent at creation (JSON).
    metadata_json TEXT NOT NULL,
    expected_sha256 TEXT,
    -- The profile whose store holds the parts.
    staging_profile_id TEXT NOT NULL,
    -- Sniffed from the first bytes, once they are in.
    content_type TEXT,
    -- open, completing, completed
    state TEXT NOT NULL,
    asset_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX uploads_expires_at ON uploads (expires_at);

CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    part_offset BIGINT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_offset)
);
