-- Filtered lists at scale: the common filters (status, content type, both)
-- are answered from the index alone, counts included, newest first without
-- a sort. The single-column content type index is covered by the new one.
CREATE INDEX assets_status_type_created_idx ON assets (status, content_type, created_at, id);
CREATE INDEX assets_type_created_idx ON assets (content_type, created_at, id);
DROP INDEX assets_content_type_idx;
