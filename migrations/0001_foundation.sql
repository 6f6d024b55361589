-- Portable schema: the same SQL runs on SQLite and PostgreSQL (see DESIGN.md §2 "Databases").
-- ids are TEXT (UUID v7), times BIGINT Unix microseconds UTC, flags SMALLINT 0/1, JSON TEXT.

CREATE TABLE storage_profiles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    provider_type TEXT NOT NULL,
    is_enabled SMALLINT NOT NULL,
    is_default SMALLINT NOT NULL,
    configuration_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    original_file_name TEXT NOT NULL,
    stored_file_name TEXT NOT NULL,
    extension TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    width INTEGER,
    height INTEGER,
    checksum_sha256 TEXT NOT NULL,
    storage_provider TEXT NOT NULL,
    storage_profile_id TEXT NOT NULL REFERENCES storage_profiles (id),
    storage_key TEXT NOT NULL UNIQUE,
    is_public SMALLINT NOT NULL,
    description TEXT,
    alt_text TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX assets_created_at_idx ON assets (created_at, id);
CREATE INDEX assets_size_idx ON assets (size, id);
CREATE INDEX assets_status_created_at_idx ON assets (status, created_at);
CREATE INDEX assets_content_type_idx ON assets (content_type);
CREATE INDEX assets_storage_profile_idx ON assets (storage_profile_id);

CREATE TABLE derivatives (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    extension TEXT NOT NULL,
    size BIGINT NOT NULL,
    width INTEGER,
    height INTEGER,
    storage_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    UNIQUE (asset_id, kind)
);

CREATE TABLE structured_results (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (asset_id, kind)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
