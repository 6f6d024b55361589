-- Index names say which column they cover: `content_type`, not "type"
-- (the asset's `type` is another field). Same columns as in 0006.
DROP INDEX assets_type_created_idx;
CREATE INDEX assets_content_type_created_idx ON assets (content_type, created_at, id);
DROP INDEX assets_status_type_created_idx;
CREATE INDEX assets_status_content_type_created_idx ON assets (status, content_type, created_at, id);
