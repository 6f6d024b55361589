-- AI provider profiles. The API key is stored encrypted (AEAD) with a short
-- masked hint for display; at most one profile is active.

CREATE TABLE ai_providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    api_base_url TEXT NOT NULL,
    api_key_ciphertext TEXT,
    api_key_hint TEXT,
    model_name TEXT NOT NULL,
    default_system_prompt TEXT,
    is_active SMALLINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX ai_providers_one_active ON ai_providers (is_active) WHERE is_active = 1;
