-- NekoHub's provider type name for S3-compatible storage. Assets keep
-- "s3" in storage_provider: that is NekoHub's provider name for them.
UPDATE storage_profiles SET provider_type = 's3-compatible' WHERE provider_type = 's3';
