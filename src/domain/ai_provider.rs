use chrono::{DateTime, Utc};

/// An AI provider profile as clients see it: the API key only masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AiProvider {
    pub id: String,
    pub name: String,
    pub api_base_url: String,
    /// `****` plus at most the last four characters; `None` without a key.
    pub api_key_masked: Option<String>,
    pub model_name: String,
    pub default_system_prompt: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A profile as stored: what clients see, and the key sealed for the
/// profile's id (only the AI client opens it).
#[derive(Clone, Debug)]
pub struct StoredAiProvider {
    pub provider: AiProvider,
    pub api_key_ciphertext: Option<String>,
}

/// A new profile.
#[derive(Clone, Debug, Default)]
pub struct NewAiProvider {
    pub name: String,
    pub api_base_url: String,
    pub api_key: Option<String>,
    pub model_name: String,
    pub default_system_prompt: Option<String>,
    pub is_active: bool,
}

/// A partial update: `None` leaves a field alone; for the key and the
/// prompt, `Some(None)` removes them.
#[derive(Clone, Debug, Default)]
pub struct AiProviderPatch {
    pub name: Option<String>,
    pub api_base_url: Option<String>,
    pub api_key: Option<Option<String>>,
    pub model_name: Option<String>,
    pub default_system_prompt: Option<Option<String>>,
}

/// What `POST .../{id}/test` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AiProviderTest {
    pub succeeded: bool,
    pub caption: Option<String>,
    pub error_message: Option<String>,
    pub model_name: String,
    pub latency_ms: u64,
}
