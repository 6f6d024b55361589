-- Secrets of storage profiles (S3 secret key, GitHub token), encrypted (AEAD).
ALTER TABLE storage_profiles ADD COLUMN secret_ciphertext TEXT;
