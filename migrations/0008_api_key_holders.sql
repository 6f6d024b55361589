-- A key acts for whoever made it and never outranks them. holder is
-- 'operator' (configuration, CLI, and keys such keys made), 'user' (the user
-- in holder_user_id, checked as they are at each request) or 'unknown' (keys
-- stored before holders were recorded: their scopes work, they have no rank).
ALTER TABLE api_keys ADD COLUMN holder TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE api_keys ADD COLUMN holder_user_id TEXT;
CREATE INDEX api_keys_holder_user_idx ON api_keys (holder_user_id);
