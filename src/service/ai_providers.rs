use std::time::Instant;

use tracing::{info, instrument};
use uuid::Uuid;

use crate::{
    ai::{AiProviders, VisionClient, VisionRequest, effective_prompt},
    auth::encryption::mask,
    db::Db,
    domain::{
        AiProvider, AiProviderPatch, AiProviderTest, AiProviderTestRequest, DeletedAiProvider,
        NewAiProvider, Permission, Principal, StoredAiProvider, now, to_micros,
    },
    error::{Error, Result},
};

const MAX_NAME_LEN: usize = 100;
const MAX_PROMPT_LEN: usize = 4000;
const MAX_KEY_LEN: usize = 500;
/// The name of the profile seeded from `TESSERA_AI_*`.
pub const SEEDED_PROFILE_NAME: &str = "default";

/// A 32x32 PNG used by the `test` endpoint: a real, tiny image.
fn test_image() -> Vec<u8> {
    let image = image::RgbImage::from_fn(32, 32, |x, y| {
        image::Rgb([(x * 8) as u8, (y * 8) as u8, 160])
    });
    let mut jpeg = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&image);
    jpeg
}

/// AI provider profiles: validation, encrypted keys, activation and tests.
#[derive(Clone)]
pub struct AiProviderService {
    db: Db,
    providers: AiProviders,
}

fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::AiProviderNameRequired);
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(Error::AiProviderNameInvalid);
    }
    Ok(name.to_string())
}

/// http(s) only, with a host and no user info (credentials belong in `apiKey`).
fn valid_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if url.is_empty() {
        return Err(Error::AiProviderUrlRequired);
    }
    let parsed =
        reqwest::Url::parse(url).map_err(|e| Error::AiProviderUrlInvalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::AiProviderUrlInvalid(
            "the scheme must be http or https".into(),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::AiProviderUrlInvalid("a host is required".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::AiProviderUrlInvalid(
            "put credentials in apiKey, not in the URL".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::AiProviderUrlInvalid("no query or fragment".into()));
    }
    Ok(url.to_string())
}

fn valid_model(model: &str) -> Result<String> {
    let model = model.trim();
    if model.is_empty() || model.chars().count() > 200 {
        return Err(Error::AiProviderModelRequired);
    }
    Ok(model.to_string())
}

fn valid_key(key: Option<String>) -> Result<Option<String>> {
    match key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(key) if key.len() > MAX_KEY_LEN || key.chars().any(char::is_whitespace) => {
            Err(Error::AiProviderApiKeyInvalid)
        }
        Some(key) => Ok(Some(key)),
    }
}

fn valid_prompt(prompt: Option<String>) -> Result<Option<String>> {
    match prompt
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
    {
        Some(p) if p.chars().count() > MAX_PROMPT_LEN => Err(Error::AiProviderPromptTooLong {
            max: MAX_PROMPT_LEN,
        }),
        other => Ok(other),
    }
}

impl AiProviderService {
    pub fn new(db: Db, providers: AiProviders) -> Self {
        AiProviderService { db, providers }
    }

    fn set_key(&self, record: &mut StoredAiProvider, key: Option<String>) {
        record.provider.api_key_masked = key.as_deref().map(mask);
        record.api_key_ciphertext =
            key.map(|key| self.providers.cipher().encrypt(&key, &record.provider.id));
    }

    async fn load(&self, id: &str) -> Result<StoredAiProvider> {
        self.db
            .ai_provider(id.trim())
            .await?
            .ok_or_else(|| Error::AiProviderNotFound(id.to_string()))
    }

    /// What callers see: the prompt in use is shown, the default one too.
    fn present(stored: StoredAiProvider) -> AiProvider {
        let mut provider = stored.provider;
        let prompt = effective_prompt(provider.default_system_prompt.as_deref()).to_string();
        provider.default_system_prompt = Some(prompt);
        provider
    }

    async fn check_name_free(&self, name: &str, own_id: &str) -> Result<()> {
        match self.db.ai_provider_by_name(name).await? {
            Some(other) if other.provider.id != own_id => {
                Err(Error::AiProviderNameTaken(name.to_string()))
            }
            _ => Ok(()),
        }
    }

    pub async fn list(&self, principal: &Principal) -> Result<Vec<AiProvider>> {
        principal.require(Permission::AiProvidersRead)?;
        Ok(self
            .db
            .list_ai_providers()
            .await?
            .into_iter()
            .map(Self::present)
            .collect())
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> Result<AiProvider> {
        principal.require(Permission::AiProvidersRead)?;
        Ok(Self::present(self.load(id).await?))
    }

    /// The profile AI steps use now, if any.
    pub async fn active(&self, principal: &Principal) -> Result<Option<AiProvider>> {
        principal.require(Permission::AiProvidersRead)?;
        Ok(self.db.active_ai_provider().await?.map(Self::present))
    }

    #[instrument(skip_all)]
    pub async fn create(&self, principal: &Principal, input: NewAiProvider) -> Result<AiProvider> {
        principal.require(Permission::AiProvidersCreate)?;
        let at = now();
        let mut record = StoredAiProvider {
            provider: AiProvider {
                id: Uuid::now_v7().to_string(),
                name: valid_name(&input.name)?,
                api_base_url: valid_url(&input.api_base_url)?,
                api_key_masked: None,
                model_name: valid_model(&input.model_name)?,
                default_system_prompt: valid_prompt(input.default_system_prompt)?,
                is_active: false,
                created_at: at,
                updated_at: at,
            },
            api_key_ciphertext: None,
        };
        let key = valid_key(input.api_key)?;
        self.set_key(&mut record, key);
        let provider = &record.provider;
        self.check_name_free(&provider.name, &provider.id).await?;
        if let Err(err) = self.db.save_ai_provider(&record).await {
            // A create of the same name may have won the race since the check.
            if self.db.ai_provider_by_name(&provider.name).await?.is_some() {
                return Err(Error::AiProviderNameTaken(provider.name.clone()));
            }
            return Err(err);
        }
        // Without a say, the first profile becomes the active one.
        let activate = match input.is_active {
            Some(active) => active,
            None => self.db.active_ai_provider().await?.is_none(),
        };
        if activate {
            self.db
                .activate_ai_provider(&provider.id, to_micros(at))
                .await?;
        }
        Ok(Self::present(self.load(&provider.id).await?))
    }

    #[instrument(skip_all, fields(id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: AiProviderPatch,
    ) -> Result<AiProvider> {
        principal.require(Permission::AiProvidersUpdate)?;
        let mut record = self.load(id).await?;
        if let Some(name) = patch.name {
            record.provider.name = valid_name(&name)?;
            self.check_name_free(&record.provider.name, &record.provider.id)
                .await?;
        }
        if let Some(url) = patch.api_base_url {
            record.provider.api_base_url = valid_url(&url)?;
        }
        if let Some(model) = patch.model_name {
            record.provider.model_name = valid_model(&model)?;
        }
        if let Some(prompt) = patch.default_system_prompt {
            record.provider.default_system_prompt = valid_prompt(prompt)?;
        }
        if let Some(key) = patch.api_key {
            let key = valid_key(key)?;
            self.set_key(&mut record, key);
        }
        let at = now();
        record.provider.updated_at = at;
        self.db.save_ai_provider(&record).await?;
        match patch.is_active {
            Some(true) => {
                self.db
                    .activate_ai_provider(&record.provider.id, to_micros(at))
                    .await?;
            }
            Some(false) => {
                self.db
                    .deactivate_ai_provider(&record.provider.id, to_micros(at))
                    .await?;
            }
            None => {}
        }
        Ok(Self::present(self.load(&record.provider.id).await?))
    }

    /// Deleting the active profile leaves none active (AI steps are then
    /// skipped or fail as without a profile).
    pub async fn delete(&self, principal: &Principal, id: &str) -> Result<DeletedAiProvider> {
        principal.require(Permission::AiProvidersDelete)?;
        let record = self.load(id).await?;
        self.db.delete_ai_provider(&record.provider.id).await?;
        Ok(DeletedAiProvider {
            id: record.provider.id,
            was_active: record.provider.is_active,
            deleted_at: now(),
        })
    }

    pub async fn activate(&self, principal: &Principal, id: &str) -> Result<AiProvider> {
        principal.require(Permission::AiProvidersUpdate)?;
        let record = self.load(id).await?;
        self.db
            .activate_ai_provider(&record.provider.id, to_micros(now()))
            .await?;
        Ok(Self::present(self.load(&record.provider.id).await?))
    }

    /// Sends a tiny real image and reports the caption or the precise
    /// failure. The values are checked as a save would check them; the
    /// call's own failure is the result, not an error.
    #[instrument(skip_all)]
    pub async fn test(
        &self,
        principal: &Principal,
        request: AiProviderTestRequest,
    ) -> Result<AiProviderTest> {
        principal.require(Permission::AiProvidersUpdate)?;
        let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let saved = match request.profile_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => Some(self.load(id).await?),
            _ => None,
        };
        let api_base_url = match (given(request.api_base_url), &saved) {
            (Some(url), _) => valid_url(&url)?,
            (None, Some(saved)) => saved.provider.api_base_url.clone(),
            (None, None) => return Err(Error::AiProviderUrlRequired),
        };
        let model_name = match (given(request.model_name), &saved) {
            (Some(model), _) => valid_model(&model)?,
            (None, Some(saved)) => saved.provider.model_name.clone(),
            (None, None) => return Err(Error::AiProviderModelRequired),
        };
        let prompt = match given(request.default_system_prompt) {
            Some(prompt) => valid_prompt(Some(prompt))?,
            None => saved
                .as_ref()
                .and_then(|s| s.provider.default_system_prompt.clone()),
        };
        let api_key = match (valid_key(request.api_key)?, &saved) {
            (Some(key), _) => Ok(Some(key)),
            (None, Some(saved)) => self.providers.api_key(saved),
            (None, None) => Ok(None),
        };
        let started = Instant::now();
        let outcome = match api_key {
            Ok(api_key) => {
                let provider =
                    self.providers
                        .client(&api_base_url, api_key, &model_name, prompt.as_deref());
                let jpeg = test_image();
                let vision = VisionRequest {
                    system_prompt: &provider.system_prompt,
                    task_prompt: "Describe this test image in a few words.",
                    jpeg: &jpeg,
                };
                provider.client.describe(&vision).await
            }
            Err(err) => Err(err),
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(AiProviderTest {
            succeeded: outcome.is_ok(),
            error_message: outcome.as_ref().err().map(ToString::to_string),
            caption: outcome.ok(),
            model_name,
            api_base_url,
            latency_ms,
        })
    }

    /// Makes the profile from `TESSERA_AI_*` exist, current and active.
    pub async fn seed(&self, base_url: &str, api_key: Option<&str>, model: &str) -> Result<()> {
        let at = now();
        let mut record = match self.db.ai_provider_by_name(SEEDED_PROFILE_NAME).await? {
            Some(record) => record,
            None => StoredAiProvider {
                provider: AiProvider {
                    id: Uuid::now_v7().to_string(),
                    name: SEEDED_PROFILE_NAME.into(),
                    api_base_url: String::new(),
                    api_key_masked: None,
                    model_name: String::new(),
                    default_system_prompt: None,
                    is_active: false,
                    created_at: at,
                    updated_at: at,
                },
                api_key_ciphertext: None,
            },
        };
        record.provider.api_base_url = valid_url(base_url)?;
        record.provider.model_name = valid_model(model)?;
        let key = valid_key(api_key.map(str::to_string))?;
        self.set_key(&mut record, key);
        record.provider.updated_at = at;
        self.db.save_ai_provider(&record).await?;
        self.db
            .activate_ai_provider(&record.provider.id, to_micros(at))
            .await?;
        info!(model = %record.provider.model_name, "AI provider from TESSERA_AI_* is active");
        Ok(())
    }
}
