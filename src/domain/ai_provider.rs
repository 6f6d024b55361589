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
    /// `None`: active when no other profile is.
    pub is_active: Option<bool>,
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
    /// `true` makes it the active one; `false` leaves no profile active.
    pub is_active: Option<bool>,
}

/// What a test calls: a saved profile, whose values any non-blank field
/// here overrides, or (without `profile_id`) an unsaved configuration.
#[derive(Clone, Debug, Default)]
pub struct AiProviderTestRequest {
    pub profile_id: Option<String>,
    pub api_base_url: Option<String>,
    pub api_key: Option<String>,
    pub model_name: Option<String>,
    pub default_system_prompt: Option<String>,
}

/// What a test reports; an AI failure is a result, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AiProviderTest {
    pub succeeded: bool,
    pub caption: Option<String>,
    pub error_message: Option<String>,
    pub model_name: String,
    pub api_base_url: String,
    pub latency_ms: u64,
}

/// A deleted profile, as NekoHub reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedAiProvider {
    pub id: String,
    pub was_active: bool,
    pub deleted_at: DateTime<Utc>,
}
