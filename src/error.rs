//! The one domain error type. Every variant has a stable snake_case code that
//! clients switch on; the REST and gRPC adapters each map it exactly once.

use crate::storage::StorageError;

/// Errors returned by the service layer. Client mistakes carry enough context
/// for a precise message; internal failures keep their detail in the logs only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("asset '{0}' was not found")]
    AssetNotFound(String),
    #[error("'{0}' is not a valid asset id (expected a UUID)")]
    AssetIdInvalid(String),
    #[error("the multipart field 'file' is required")]
    AssetFileRequired,
    #[error("the uploaded file is empty")]
    AssetFileEmpty,
    #[error("the file is larger than the upload limit of {limit} bytes")]
    AssetFileTooLarge { limit: u64 },
    #[error("content type '{detected}' is not allowed (allowed: {allowed})")]
    AssetContentTypeNotAllowed { detected: String, allowed: String },
    #[error("description is longer than {max} characters")]
    AssetDescriptionTooLong { max: usize },
    #[error("altText is longer than {max} characters")]
    AssetAltTextTooLong { max: usize },
    #[error("originalFileName must be 1 to {max} characters without control characters")]
    AssetOriginalFileNameInvalid { max: usize },
    #[error("batch delete accepts at most {max} ids")]
    AssetBatchTooLarge { max: usize },
    #[error("skill '{0}' does not exist")]
    SkillNotFound(String),
    #[error("invalid parameter '{parameter}': {message}")]
    SkillParametersInvalid { parameter: String, message: String },
    #[error("AI provider '{0}' was not found")]
    AiProviderNotFound(String),
    #[error("an AI provider named '{0}' already exists")]
    AiProviderNameTaken(String),
    #[error("name must be 1 to 100 characters")]
    AiProviderNameInvalid,
    #[error("apiBaseUrl must be an http(s) URL without credentials: {0}")]
    AiProviderUrlInvalid(String),
    #[error("modelName is required")]
    AiProviderModelRequired,
    #[error("apiKey must be 1 to 500 characters without spaces")]
    AiProviderApiKeyInvalid,
    #[error("defaultSystemPrompt is longer than {max} characters")]
    AiProviderPromptTooLong { max: usize },
    #[error("page must be an integer of at least 1, got '{0}'")]
    InvalidPage(String),
    #[error("pageSize must be an integer of at least 1, got '{0}'")]
    InvalidPageSize(String),
    #[error("status must be one of pending, processing, ready, failed, got '{0}'")]
    InvalidStatus(String),
    #[error("orderBy must be one of createdAtUtc, size, got '{0}'")]
    InvalidOrderBy(String),
    #[error("orderDirection must be asc or desc, got '{0}'")]
    InvalidOrderDirection(String),
    #[error("contentType must look like 'image/png' or 'image/*', got '{0}'")]
    InvalidContentType(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("the request body is larger than {limit} bytes")]
    RequestBodyTooLarge { limit: u64 },
    #[error("the requested range cannot be served from {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("no content at this address")]
    ContentNotFound,
    #[error("storage provider profile '{0}' was not found")]
    StorageProfileNotFound(String),
    #[error("storage provider profile '{0}' is disabled")]
    StorageProfileDisabled(String),
    #[error("name must be 1 to 64 characters: lowercase letters, digits, '-' or '_'")]
    StorageProfileNameInvalid,
    #[error("a storage provider profile named '{0}' already exists")]
    StorageProfileNameTaken(String),
    #[error("providerType must be local, s3 (or s3-compatible) or github-repo, got '{0}'")]
    StorageProviderTypeInvalid(String),
    #[error("invalid configuration.{field}: {message}")]
    StorageProfileConfigurationInvalid {
        field: &'static str,
        message: String,
    },
    #[error("the profile still holds {0} assets; move or delete them first")]
    StorageProfileInUse(u64),
    #[error(
        "the default profile cannot be deleted or disabled; make another one the default first"
    )]
    StorageProfileIsDefault,
    #[error("storage is unavailable: {0}")]
    StorageUnavailable(String),
    #[error(
        "the storage backend refused tessera's credentials ({0}); check the profile's token or keys"
    )]
    StorageAuthFailed(String),
    #[error("the storage target does not exist or is not visible to the credentials ({0})")]
    StorageTargetNotFound(String),
    #[error("the stored object changed at the same moment; retry ({0})")]
    StorageConflict(String),
    #[error("the storage backend rejected the request ({0})")]
    StorageRejected(String),
    #[error("the storage backend's rate limit is reached; retry later")]
    StorageRateLimited { retry_after_seconds: Option<u64> },
    #[error(
        "storage provider profile '{0}' holds public assets only (visibilityPolicy public-only); keep isPublic true or choose another profile"
    )]
    StorageProfilePublicOnly(String),
    #[error("authentication required: send 'Authorization: Bearer <api key or access token>'")]
    Unauthorized,
    #[error("the access token has expired; refresh it")]
    AuthTokenExpired,
    #[error("wrong username or password")]
    AuthInvalidCredentials,
    #[error("the refresh token is invalid or expired")]
    AuthRefreshTokenInvalid,
    #[error("the refresh token was already used; all sessions of this user were ended")]
    AuthRefreshTokenReused,
    #[error("too many failed logins; try again in {retry_after_seconds} seconds")]
    AuthRateLimited { retry_after_seconds: u64 },
    /// Every slot for decoding pixels stayed busy for as long as a request
    /// may wait (memory stays bounded under parallel skill runs).
    #[error("the server is busy decoding other images; retry in {retry_after_seconds} seconds")]
    ImagingBusy { retry_after_seconds: u64 },
    #[error("API key '{0}' was not found")]
    ApiKeyNotFound(String),
    #[error("unknown scope '{0}' (scopes are permission names such as assets.read)")]
    ApiKeyScopeInvalid(String),
    #[error("user '{0}' was not found")]
    UserNotFound(String),
    #[error("you cannot disable or demote yourself")]
    UserSelfChangeRefused,
    #[error("the last enabled super admin cannot be disabled or demoted")]
    UserLastSuperAdmin,
    #[error("a user named '{0}' already exists")]
    UserUsernameTaken(String),
    #[error("username must be 3 to 64 characters: letters, digits, '.', '_', '-' or '@'")]
    UserUsernameInvalid,
    #[error("password must be at least {min} characters")]
    UserPasswordTooShort { min: usize },
    #[error("role must be superAdmin, admin or user, got '{0}'")]
    UserRoleInvalid(String),
    #[error("the API key is invalid or revoked")]
    ApiKeyInvalid,
    #[error("this credential lacks the '{permission}' permission")]
    Forbidden { permission: &'static str },
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// Detail is logged where the failure happens; clients see a generic message.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// The stable code clients rely on (REST `error.code`, gRPC `ErrorInfo.reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::AssetNotFound(_) => "asset_not_found",
            Error::AssetIdInvalid(_) => "asset_id_invalid",
            Error::AssetFileRequired => "asset_file_required",
            Error::AssetFileEmpty => "asset_file_empty",
            Error::AssetFileTooLarge { .. } => "asset_file_too_large",
            Error::AssetContentTypeNotAllowed { .. } => "asset_content_type_not_allowed",
            Error::AssetDescriptionTooLong { .. } => "asset_description_too_long",
            Error::AssetAltTextTooLong { .. } => "asset_alt_text_too_long",
            Error::AssetOriginalFileNameInvalid { .. } => "asset_original_file_name_invalid",
            Error::AssetBatchTooLarge { .. } => "asset_batch_too_large",
            Error::SkillNotFound(_) => "skill_not_found",
            Error::SkillParametersInvalid { .. } => "skill_parameters_invalid",
            Error::AiProviderNotFound(_) => "ai_provider_not_found",
            Error::AiProviderNameTaken(_) => "ai_provider_name_taken",
            Error::AiProviderNameInvalid => "ai_provider_name_invalid",
            Error::AiProviderUrlInvalid(_) => "ai_provider_url_invalid",
            Error::AiProviderModelRequired => "ai_provider_model_required",
            Error::AiProviderApiKeyInvalid => "ai_provider_api_key_invalid",
            Error::AiProviderPromptTooLong { .. } => "ai_provider_prompt_too_long",
            Error::InvalidPage(_) => "invalid_page",
            Error::InvalidPageSize(_) => "invalid_page_size",
            Error::InvalidStatus(_) => "invalid_status",
            Error::InvalidOrderBy(_) => "invalid_order_by",
            Error::InvalidOrderDirection(_) => "invalid_order_direction",
            Error::InvalidContentType(_) => "invalid_content_type",
            Error::InvalidRequest(_) => "invalid_request",
            Error::RequestBodyTooLarge { .. } => "request_body_too_large",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::ContentNotFound => "content_not_found",
            Error::StorageProfileNotFound(_) => "storage_profile_not_found",
            Error::StorageProfileDisabled(_) => "storage_profile_disabled",
            Error::StorageProfileNameInvalid => "storage_profile_name_invalid",
            Error::StorageProfileNameTaken(_) => "storage_profile_name_taken",
            Error::StorageProviderTypeInvalid(_) => "storage_provider_type_invalid",
            Error::StorageProfileConfigurationInvalid { .. } => {
                "storage_profile_configuration_invalid"
            }
            Error::StorageProfileInUse(_) => "storage_profile_in_use",
            Error::StorageProfileIsDefault => "storage_profile_is_default",
            Error::StorageUnavailable(_) => "storage_unavailable",
            Error::StorageAuthFailed(_) => "storage_auth_failed",
            Error::StorageTargetNotFound(_) => "storage_target_not_found",
            Error::StorageConflict(_) => "storage_conflict",
            Error::StorageRejected(_) => "storage_rejected",
            Error::StorageRateLimited { .. } => "storage_rate_limited",
            Error::StorageProfilePublicOnly(_) => "storage_profile_public_only",
            Error::Unauthorized => "auth_unauthorized",
            Error::AuthTokenExpired => "auth_token_expired",
            Error::AuthInvalidCredentials => "auth_invalid_credentials",
            Error::AuthRefreshTokenInvalid => "auth_refresh_token_invalid",
            Error::AuthRefreshTokenReused => "auth_refresh_token_reused",
            Error::AuthRateLimited { .. } => "auth_rate_limited",
            Error::ImagingBusy { .. } => "imaging_busy",
            Error::ApiKeyNotFound(_) => "api_key_not_found",
            Error::ApiKeyScopeInvalid(_) => "api_key_scope_invalid",
            Error::UserNotFound(_) => "user_not_found",
            Error::UserSelfChangeRefused => "user_self_change_refused",
            Error::UserLastSuperAdmin => "user_last_super_admin",
            Error::UserUsernameTaken(_) => "user_username_taken",
            Error::UserUsernameInvalid => "user_username_invalid",
            Error::UserPasswordTooShort { .. } => "user_password_too_short",
            Error::UserRoleInvalid(_) => "user_role_invalid",
            Error::ApiKeyInvalid => "api_key_invalid",
            Error::Forbidden { .. } => "auth_forbidden",
            Error::RouteNotFound => "route_not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::Internal(_) => "internal_error",
        }
    }

    /// Logs the detail of an unexpected failure and hides it from the client.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Error::Internal(format!("{context}: {err}"))
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::internal("database error", err)
    }
}

/// What a storage failure means to a client. A backend's own words about an
/// outage stay in the log (with the trace id); clients get a stable code and
/// a safe message. Refusals that name the client's own configuration
/// (credentials, target, conflicts, rejections) keep their detail.
impl From<StorageError> for Error {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => {
                tracing::warn!("a recorded file is missing from storage");
                Error::ContentNotFound
            }
            StorageError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                Error::StorageUnavailable("the storage backend did not accept the request".into())
            }
            StorageError::Unauthorized(detail) => Error::StorageAuthFailed(detail),
            StorageError::TargetNotFound(detail) => Error::StorageTargetNotFound(detail),
            StorageError::Conflict(detail) => Error::StorageConflict(detail),
            StorageError::Rejected(detail) => Error::StorageRejected(detail),
            StorageError::RateLimited {
                retry_after_seconds,
            } => Error::StorageRateLimited {
                retry_after_seconds,
            },
            StorageError::TooLarge { limit } => Error::AssetFileTooLarge { limit },
            StorageError::InvalidKey(_) | StorageError::Aborted(_) => {
                Error::internal("storage", err)
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
