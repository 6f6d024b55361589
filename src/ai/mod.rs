//! Vision models behind a small trait; the one implementation speaks the
//! OpenAI chat-completions API (OpenAI, Ollama, vLLM, LM Studio, gateways).

mod openai;

pub use openai::{OpenAiClient, chat_completions_url};

use std::time::Duration;

use async_trait::async_trait;

/// What the model is asked, with the image already small (a JPEG data URL
/// is built from `jpeg`).
#[derive(Clone, Debug)]
pub struct VisionRequest<'a> {
    pub system_prompt: &'a str,
    pub task_prompt: &'a str,
    pub jpeg: &'a [u8],
}

/// Failures in words safe to record and show: never the key, never headers.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum AiError {
    #[error("no active AI provider")]
    NoActiveProvider,
    #[error("the AI provider refused the API key (HTTP {0})")]
    Unauthorized(u16),
    #[error("the AI provider answered 404: unknown model '{model}' or wrong API base URL")]
    NotFound { model: String },
    #[error("the AI provider rate-limited the request (HTTP 429) {attempts} times")]
    RateLimited { attempts: u32 },
    #[error("the AI provider failed (HTTP {status}) {attempts} times")]
    Server { status: u16, attempts: u32 },
    #[error("the AI provider rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the AI provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the AI provider: {0}")]
    Unreachable(String),
    #[error("the AI provider answered with invalid JSON")]
    InvalidResponse,
    #[error("the AI provider answered without any text")]
    EmptyContent,
    #[error("the stored API key cannot be decrypted (was TESSERA_ENCRYPTION_KEY changed?)")]
    KeyUnavailable,
}

impl AiError {
    /// A short stable name for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AiError::NoActiveProvider => "no_active_provider",
            AiError::Unauthorized(_) => "unauthorized",
            AiError::NotFound { .. } => "not_found",
            AiError::RateLimited { .. } => "rate_limited",
            AiError::Server { .. } => "server_error",
            AiError::Rejected { .. } => "rejected",
            AiError::Timeout(_) => "timeout",
            AiError::Unreachable(_) => "unreachable",
            AiError::InvalidResponse => "invalid_response",
            AiError::EmptyContent => "empty_content",
            AiError::KeyUnavailable => "key_unavailable",
        }
    }
}

#[async_trait]
pub trait VisionClient: Send + Sync {
    /// The model's text answer.
    async fn describe(&self, request: &VisionRequest<'_>) -> Result<String, AiError>;
}

/// Retries and timeouts of the vision client.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub timeout: Duration,
    /// Attempts in all (first try included).
    pub attempts: u32,
    pub base_backoff: Duration,
    /// Longest wait honoured from `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            timeout: Duration::from_secs(60),
            attempts: 3,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Used when a profile has no system prompt of its own.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You describe images for a photo library. Be accurate, concise and neutral; do not guess names of people.";

/// A provider profile made ready to call.
pub struct ResolvedProvider {
    pub client: OpenAiClient,
    pub model_name: String,
    pub system_prompt: String,
}

/// Finds the active profile and builds its client, decrypting the key only
/// for the call.
#[derive(Clone)]
pub struct AiProviders {
    db: crate::db::Db,
    cipher: crate::auth::encryption::SecretCipher,
    http: reqwest::Client,
    policy: RetryPolicy,
}

impl AiProviders {
    pub fn new(
        db: crate::db::Db,
        cipher: crate::auth::encryption::SecretCipher,
        policy: RetryPolicy,
    ) -> Self {
        AiProviders {
            db,
            cipher,
            http: reqwest::Client::new(),
            policy,
        }
    }

    pub fn cipher(&self) -> &crate::auth::encryption::SecretCipher {
        &self.cipher
    }

    pub async fn active(&self) -> Result<ResolvedProvider, AiError> {
        let record = self
            .db
            .active_ai_provider()
            .await
            .map_err(|_| AiError::Unreachable("the provider settings cannot be read".into()))?
            .ok_or(AiError::NoActiveProvider)?;
        self.resolve(&record)
    }

    pub fn resolve(
        &self,
        stored: &crate::domain::StoredAiProvider,
    ) -> Result<ResolvedProvider, AiError> {
        let record = &stored.provider;
        Ok(self.client(
            &record.api_base_url,
            self.api_key(stored)?,
            &record.model_name,
            record.default_system_prompt.as_deref(),
        ))
    }

    /// A stored profile's key, opened for a call.
    pub fn api_key(
        &self,
        stored: &crate::domain::StoredAiProvider,
    ) -> Result<Option<String>, AiError> {
        stored
            .api_key_ciphertext
            .as_deref()
            .map(|sealed| self.cipher.decrypt(sealed, &stored.provider.id))
            .transpose()
            .map_err(|_| AiError::KeyUnavailable)
    }

    /// A client for these values (a saved profile's, or a configuration
    /// being tried before it is saved); a blank prompt is the default one.
    pub fn client(
        &self,
        api_base_url: &str,
        api_key: Option<String>,
        model_name: &str,
        system_prompt: Option<&str>,
    ) -> ResolvedProvider {
        ResolvedProvider {
            client: OpenAiClient::new(
                self.http.clone(),
                api_base_url,
                api_key,
                model_name,
                self.policy,
            ),
            model_name: model_name.to_string(),
            system_prompt: effective_prompt(system_prompt).to_string(),
        }
    }
}

/// The system prompt a profile uses: its own, or the default when blank.
pub fn effective_prompt(prompt: Option<&str>) -> &str {
    prompt
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(DEFAULT_SYSTEM_PROMPT)
}
