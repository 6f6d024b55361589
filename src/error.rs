//! The one domain error type. Every variant has a stable snake_case code that
//! clients switch on; the REST and gRPC adapters each map it exactly once.

use crate::storage::StorageError;

/// Errors returned by the service layer. Client mistakes carry enough context
/// for a precise message; internal failures keep their detail in the logs only.
#[derive(Clone, Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(ErrorCode),
    derive(Hash, PartialOrd, Ord),
    doc = "What went wrong, without the detail: one row of the code table below."
)]
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
    #[error("name is required")]
    AiProviderNameRequired,
    #[error("name must be at most 100 characters")]
    AiProviderNameInvalid,
    #[error("apiBaseUrl is required")]
    AiProviderUrlRequired,
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
    #[error("status must be one of pending, processing, ready, failed, deleted, got '{0}'")]
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
    #[error("providerType is required")]
    StorageProviderTypeRequired,
    #[error("name is required")]
    StorageProfileNameRequired,
    #[error("name must be at most 100 characters, without control characters")]
    StorageProfileNameInvalid,
    #[error("a storage provider profile named '{0}' already exists")]
    StorageProfileNameConflict(String),
    #[error(
        "providerType must be local, s3-compatible (or s3), github-repo or github-releases, got '{0}'"
    )]
    StorageProviderTypeUnsupported(String),
    #[error("configuration is required and must be an object")]
    StorageProfileConfigurationRequired,
    #[error("secretConfiguration must be an object or null")]
    StorageProfileSecretConfigurationInvalid,
    #[error("a local profile takes no secretConfiguration")]
    StorageProfileSecretNotSupported,
    #[error("invalid configuration.{field}: {message}")]
    StorageProfileConfigurationInvalid {
        field: &'static str,
        message: String,
    },
    #[error("configuration.rootPath is required for a local profile")]
    StorageProfileRootPathRequired,
    #[error("configuration.publicBaseUrl must be an absolute http(s) URL")]
    StorageProfilePublicBaseUrlInvalid,
    #[error("configuration.endpoint must be an absolute http(s) URL")]
    StorageProfileEndpointInvalid,
    #[error("configuration.bucket is required")]
    StorageProfileBucketRequired,
    #[error("configuration.region is required")]
    StorageProfileRegionRequired,
    #[error("secretConfiguration.accessKey is required")]
    StorageProfileAccessKeyRequired,
    #[error("secretConfiguration.secretKey is required")]
    StorageProfileSecretKeyRequired,
    #[error("configuration.owner is required")]
    StorageProfileGitHubOwnerRequired,
    #[error("configuration.owner must be letters, digits, '.', '_' or '-' (at most 39)")]
    StorageProfileGitHubOwnerInvalid,
    #[error("configuration.repo is required")]
    StorageProfileGitHubRepoRequired,
    #[error("configuration.repo must be letters, digits, '.', '_' or '-' (at most 100)")]
    StorageProfileGitHubRepoInvalid,
    #[error("configuration.ref (the branch) is required")]
    StorageProfileGitHubRefRequired,
    #[error("configuration.ref must be a branch name of letters, digits, '-', '_', '.' or '/'")]
    StorageProfileGitHubRefInvalid,
    #[error("the path prefix must be a relative folder without '.', '..' or '//'")]
    StorageProfileGitHubPathPrefixInvalid,
    #[error(
        "configuration.visibilityPolicy must be public-only or private-token (github-releases: public-only or public-first)"
    )]
    StorageProfileGitHubVisibilityPolicyInvalid,
    #[error("configuration.apiBaseUrl must be an absolute http(s) URL")]
    StorageProfileGitHubApiBaseUrlInvalid,
    #[error("configuration.rawBaseUrl must be an absolute http(s) URL")]
    StorageProfileGitHubRawBaseUrlInvalid,
    #[error("secretConfiguration.token must be 8 to 255 visible ASCII characters")]
    StorageProfileGitHubTokenInvalid,
    #[error("a private-token profile needs secretConfiguration.token")]
    StorageProfileGitHubTokenRequiredForPrivate,
    #[error("configuration.releaseTagMode must be latest or fixed")]
    StorageProfileGitHubReleaseTagModeInvalid,
    #[error("configuration.fixedTag is required when releaseTagMode is fixed")]
    StorageProfileGitHubFixedTagRequired,
    #[error("github-releases profiles cannot delete (allowDelete must be false)")]
    StorageProfileGitHubReleasesDeleteNotSupported,
    #[error(
        "the default profile must stay enabled: make another profile the default first, or enable it"
    )]
    StorageProfileDefaultRequiresEnabled,
    #[error(
        "storage provider profile '{0}' is read-only (github-releases); choose another profile"
    )]
    StorageProfileWriteNotSupported(String),
    #[error(
        "the default storage profile is disabled; enable it, set another default, or name a profile"
    )]
    StorageDefaultWriteProfileDisabled,
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
    #[error("storage provider profile '{0}' is not a github-repo profile")]
    StorageProfileProviderTypeMismatch(String),
    #[error("type must be all, file or dir")]
    StorageDirectoryTypeInvalid,
    #[error("page must be 1 or more")]
    StorageDirectoryPageInvalid,
    #[error("pageSize must be 1 to 200")]
    StorageDirectoryPageSizeInvalid,
    #[error("maxDepth must be 1 or more")]
    StorageDirectoryDepthInvalid,
    #[error("'{0}' is not a path inside the repository: no '.', '..', '//' or '\\' segments")]
    StorageRelativePathInvalid(String),
    #[error("directory '{0}' does not exist in the repository")]
    StorageDirectoryNotFound(String),
    #[error("'{0}' is a file, not a directory")]
    StorageDirectoryExpected(String),
    #[error("the directory listing failed: {0}")]
    StorageDirectoryListFailed(String),
    #[error("GitHub refused the profile's token ({0}); check its permissions on the repository")]
    StorageAccessDenied(String),
    #[error("path is required")]
    StorageUpsertPathRequired,
    #[error("contentBase64 is required")]
    StorageUpsertContentRequired,
    #[error("contentBase64 is not valid base64")]
    StorageUpsertContentBase64Invalid,
    #[error("the content is empty")]
    StorageUpsertContentEmpty,
    #[error("'{0}' has changed: its sha is not expectedSha; read it again and retry")]
    StorageUpsertExpectedShaConflict(String),
    #[error("'{0}' does not exist, but expectedSha was given")]
    StorageUpsertExpectedShaTargetMissing(String),
    #[error("GitHub refused the write ({0})")]
    StorageUpsertFailed(String),
    #[error("'{0}' is a directory, not a file")]
    StorageFileExpected(String),
    #[error("workflow '{0}' does not exist")]
    WorkflowNotFound(String),
    #[error("name is required")]
    WorkflowNameRequired,
    #[error("name must be at most 100 characters")]
    WorkflowNameTooLong,
    #[error("description must be at most 1000 characters")]
    WorkflowDescriptionTooLong,
    #[error("graphJson is required")]
    WorkflowGraphJsonRequired,
    #[error("GraphJson must be a valid JSON object.")]
    WorkflowGraphJsonInvalid,
    #[error("a workflow named '{0}' already exists")]
    WorkflowNameConflict(String),
    #[error("the workflow has no skill nodes; add one before running it")]
    WorkflowHasNoSkills,
    #[error(
        "the workflow names skills tessera does not have: {0} (GET /api/v1/assets/skills lists them)"
    )]
    WorkflowUnsupportedSkills(String),
    #[error("upload '{0}' was not found (it may have expired)")]
    UploadNotFound(String),
    #[error("the upload is at offset {current}; send the chunk that starts there")]
    UploadOffsetMismatch { current: u64 },
    #[error("the chunk ends at byte {end}, past the declared size of {size} bytes")]
    UploadSizeExceeded { end: u64, size: u64 },
    #[error("the upload size must be given, as a whole number of bytes greater than 0")]
    UploadSizeInvalid,
    #[error("a chunk may hold at most {max} bytes")]
    UploadChunkTooLarge { max: u64 },
    #[error("the upload holds {offset} of {size} bytes; send the rest before completing it")]
    UploadIncomplete { offset: u64, size: u64 },
    #[error("the upload is already complete (asset {0})")]
    UploadAlreadyCompleted(String),
    #[error("another request is completing this upload")]
    UploadBusy,
    #[error("the file's SHA-256 is {actual}, not the expected {expected}; the upload was ended")]
    UploadChecksumMismatch { expected: String, actual: String },
    #[error("expected SHA-256 must be 64 hexadecimal characters")]
    UploadChecksumInvalid,
    #[error("{0}")]
    UploadProtocolInvalid(String),
    #[error("this server speaks tus 1.0.0: send 'Tus-Resumable: 1.0.0'")]
    UploadTusVersionUnsupported,
    #[error("a chunk is sent as 'Content-Type: application/offset+octet-stream'")]
    UploadContentTypeInvalid,
    #[error("requests from origin '{0}' are not allowed here")]
    OriginNotAllowed(String),
    #[error("{0}")]
    ToolArgumentsInvalid(String),
    #[error("contentBase64 is not valid base64")]
    AssetBase64Invalid,
    #[error("contentType is required")]
    AssetContentTypeMissing,
    #[error("{0}")]
    AssetUrlInvalid(String),
    #[error("{0}")]
    AssetUrlForbidden(String),
    #[error("{0}")]
    AssetUrlFetchFailed(String),
    #[error("authentication required: send 'Authorization: Bearer <api key or access token>'")]
    Unauthorized,
    #[error("the access token has expired; refresh it")]
    AuthTokenExpired,
    #[error("wrong username or password")]
    AuthInvalidCredentials,
    #[error("the refresh token is invalid or was revoked")]
    AuthRefreshTokenInvalid,
    #[error("the refresh token has expired; log in again")]
    AuthRefreshTokenExpired,
    #[error("this account is disabled")]
    AuthUserInactive,
    #[error("invalid request: {0}")]
    AuthRequestInvalid(&'static str),
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
    #[error("a user named '{0}' already exists")]
    UserUsernameConflict(String),
    #[error("username is required")]
    UserUsernameRequired,
    #[error("username must be 3 to 64 characters: letters, digits, '.', '_', '-' or '@'")]
    UserUsernameInvalid,
    #[error("password is required")]
    UserPasswordRequired,
    #[error("password must be at least {min} characters")]
    UserPasswordTooShort { min: usize },
    #[error("you may not manage this user: admins manage accounts with the role user only")]
    UserManageForbidden,
    #[error("a super admin cannot manage another super admin")]
    UserManageSuperAdminForbidden,
    #[error(
        "you may not create a user with this role: admins create accounts with the role user only"
    )]
    UserCreateForbidden,
    #[error(
        "super admins are not created through the API; use `tessera user create --role superAdmin` on the server"
    )]
    UserSuperAdminCreateForbidden,
    #[error("nobody is promoted to super admin through the API")]
    UserSuperAdminPromoteForbidden,
    #[error("a super admin's role cannot be changed")]
    UserSuperAdminRoleChangeForbidden,
    #[error("you cannot change your own role")]
    UserSelfRoleChangeForbidden,
    #[error("a super admin cannot be disabled")]
    UserSuperAdminDisableForbidden,
    #[error("you cannot disable yourself")]
    UserSelfDisableForbidden,
    #[error("a super admin's permissions cannot be edited: super admins hold every permission")]
    UserSuperAdminPermissionsForbidden,
    #[error("you cannot edit your own permissions")]
    UserSelfPermissionsForbidden,
    #[error("the API key is invalid or revoked")]
    ApiKeyInvalid,
    #[error("this credential lacks the '{permission}' permission")]
    Forbidden { permission: &'static str },
    #[error("no route for this path")]
    RouteNotFound,
    /// gRPC's own answer to a method it does not serve is `UNIMPLEMENTED`.
    #[error("no such gRPC service or method")]
    RpcNotFound,
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// Detail is logged where the failure happens; clients see a generic message.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// The stable code clients rely on (REST `error.code`, gRPC `ErrorInfo.reason`).
    pub fn code(&self) -> ErrorCode {
        ErrorCode::from(self)
    }

    /// Logs the detail of an unexpected failure and hides it from the client.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Error::Internal(format!("{context}: {err}"))
    }
}

/// Declares the code table: the only place where a code's wire name, HTTP
/// status and gRPC code are decided. The matches are exhaustive, so a new
/// variant of [`Error`] does not compile until it has a row.
macro_rules! error_codes {
    ($($variant:ident => $name:literal, $http:ident, $grpc:ident;)*) => {
        impl ErrorCode {
            /// Every code, in table order (docs/api.md §12 lists them the same way).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire name, e.g. `asset_not_found`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name),* }
            }

            pub fn http_status(self) -> http::StatusCode {
                match self { $(ErrorCode::$variant => http::StatusCode::$http),* }
            }

            pub fn grpc_code(self) -> tonic::Code {
                match self { $(ErrorCode::$variant => tonic::Code::$grpc),* }
            }
        }
    };
}

#[rustfmt::skip]
error_codes! {
    AssetNotFound => "asset_not_found", NOT_FOUND, NotFound;
    AssetIdInvalid => "asset_id_invalid", BAD_REQUEST, InvalidArgument;
    AssetFileRequired => "asset_file_required", BAD_REQUEST, InvalidArgument;
    AssetFileEmpty => "asset_file_empty", BAD_REQUEST, InvalidArgument;
    AssetFileTooLarge => "asset_file_too_large", PAYLOAD_TOO_LARGE, ResourceExhausted;
    AssetContentTypeNotAllowed => "asset_content_type_not_allowed", UNSUPPORTED_MEDIA_TYPE, InvalidArgument;
    AssetDescriptionTooLong => "asset_description_too_long", BAD_REQUEST, InvalidArgument;
    AssetAltTextTooLong => "asset_alt_text_too_long", BAD_REQUEST, InvalidArgument;
    AssetOriginalFileNameInvalid => "asset_original_file_name_invalid", BAD_REQUEST, InvalidArgument;
    AssetBatchTooLarge => "asset_batch_too_large", BAD_REQUEST, InvalidArgument;
    SkillNotFound => "skill_not_found", NOT_FOUND, NotFound;
    SkillParametersInvalid => "skill_parameters_invalid", BAD_REQUEST, InvalidArgument;
    AiProviderNotFound => "ai_provider_profile_not_found", NOT_FOUND, NotFound;
    AiProviderNameTaken => "ai_provider_profile_name_conflict", BAD_REQUEST, AlreadyExists;
    AiProviderNameRequired => "ai_provider_profile_name_required", BAD_REQUEST, InvalidArgument;
    AiProviderNameInvalid => "ai_provider_profile_name_invalid", BAD_REQUEST, InvalidArgument;
    AiProviderUrlRequired => "ai_provider_profile_api_base_url_required", BAD_REQUEST, InvalidArgument;
    AiProviderUrlInvalid => "ai_provider_profile_api_base_url_invalid", BAD_REQUEST, InvalidArgument;
    AiProviderModelRequired => "ai_provider_profile_model_name_required", BAD_REQUEST, InvalidArgument;
    AiProviderApiKeyInvalid => "ai_provider_profile_api_key_invalid", BAD_REQUEST, InvalidArgument;
    AiProviderPromptTooLong => "ai_provider_profile_prompt_too_long", BAD_REQUEST, InvalidArgument;
    InvalidPage => "invalid_page", BAD_REQUEST, InvalidArgument;
    InvalidPageSize => "invalid_page_size", BAD_REQUEST, InvalidArgument;
    InvalidStatus => "invalid_status", BAD_REQUEST, InvalidArgument;
    InvalidOrderBy => "invalid_order_by", BAD_REQUEST, InvalidArgument;
    InvalidOrderDirection => "invalid_order_direction", BAD_REQUEST, InvalidArgument;
    InvalidContentType => "invalid_content_type", BAD_REQUEST, InvalidArgument;
    InvalidRequest => "request_invalid", BAD_REQUEST, InvalidArgument;
    RequestBodyTooLarge => "request_body_too_large", PAYLOAD_TOO_LARGE, ResourceExhausted;
    RangeNotSatisfiable => "range_not_satisfiable", RANGE_NOT_SATISFIABLE, OutOfRange;
    ContentNotFound => "content_not_found", NOT_FOUND, NotFound;
    StorageProfileNotFound => "storage_provider_profile_not_found", NOT_FOUND, NotFound;
    StorageProfileDisabled => "storage_provider_profile_disabled", BAD_REQUEST, FailedPrecondition;
    StorageProviderTypeRequired => "storage_provider_profile_provider_type_required", BAD_REQUEST, InvalidArgument;
    StorageProfileNameRequired => "storage_provider_profile_name_required", BAD_REQUEST, InvalidArgument;
    StorageProfileNameInvalid => "storage_provider_profile_name_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileNameConflict => "storage_provider_profile_name_conflict", BAD_REQUEST, AlreadyExists;
    StorageProviderTypeUnsupported => "storage_provider_profile_provider_type_unsupported", BAD_REQUEST, InvalidArgument;
    StorageProfileConfigurationRequired => "storage_provider_profile_configuration_required", BAD_REQUEST, InvalidArgument;
    StorageProfileSecretConfigurationInvalid => "storage_provider_profile_secret_configuration_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileSecretNotSupported => "storage_provider_profile_secret_not_supported", BAD_REQUEST, InvalidArgument;
    StorageProfileConfigurationInvalid => "storage_provider_profile_configuration_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileRootPathRequired => "storage_provider_profile_root_path_required", BAD_REQUEST, InvalidArgument;
    StorageProfilePublicBaseUrlInvalid => "storage_provider_profile_public_base_url_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileEndpointInvalid => "storage_provider_profile_endpoint_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileBucketRequired => "storage_provider_profile_bucket_required", BAD_REQUEST, InvalidArgument;
    StorageProfileRegionRequired => "storage_provider_profile_region_required", BAD_REQUEST, InvalidArgument;
    StorageProfileAccessKeyRequired => "storage_provider_profile_access_key_required", BAD_REQUEST, InvalidArgument;
    StorageProfileSecretKeyRequired => "storage_provider_profile_secret_key_required", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubOwnerRequired => "storage_provider_profile_github_owner_required", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubOwnerInvalid => "storage_provider_profile_github_owner_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubRepoRequired => "storage_provider_profile_github_repo_required", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubRepoInvalid => "storage_provider_profile_github_repo_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubRefRequired => "storage_provider_profile_github_repo_ref_required", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubRefInvalid => "storage_provider_profile_github_repo_ref_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubPathPrefixInvalid => "storage_provider_profile_github_path_prefix_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubVisibilityPolicyInvalid => "storage_provider_profile_github_visibility_policy_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubApiBaseUrlInvalid => "storage_provider_profile_github_repo_api_base_url_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubRawBaseUrlInvalid => "storage_provider_profile_github_repo_raw_base_url_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubTokenInvalid => "storage_provider_profile_github_token_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubTokenRequiredForPrivate => "storage_provider_profile_github_repo_token_required_for_private", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubReleaseTagModeInvalid => "storage_provider_profile_github_releases_release_tag_mode_invalid", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubFixedTagRequired => "storage_provider_profile_github_releases_fixed_tag_required", BAD_REQUEST, InvalidArgument;
    StorageProfileGitHubReleasesDeleteNotSupported => "storage_provider_profile_github_releases_delete_not_supported", BAD_REQUEST, InvalidArgument;
    StorageProfileDefaultRequiresEnabled => "storage_provider_profile_default_requires_enabled", BAD_REQUEST, FailedPrecondition;
    StorageProfileWriteNotSupported => "storage_provider_profile_write_not_supported", BAD_REQUEST, FailedPrecondition;
    StorageDefaultWriteProfileDisabled => "storage_provider_default_write_profile_disabled", BAD_REQUEST, FailedPrecondition;
    StorageUnavailable => "storage_unavailable", SERVICE_UNAVAILABLE, Unavailable;
    StorageAuthFailed => "storage_auth_failed", BAD_GATEWAY, FailedPrecondition;
    StorageTargetNotFound => "storage_target_not_found", BAD_GATEWAY, FailedPrecondition;
    StorageConflict => "storage_conflict", CONFLICT, Aborted;
    StorageRejected => "storage_rejected", BAD_GATEWAY, FailedPrecondition;
    StorageRateLimited => "storage_rate_limited", SERVICE_UNAVAILABLE, Unavailable;
    StorageProfilePublicOnly => "storage_provider_profile_public_only", BAD_REQUEST, FailedPrecondition;
    StorageProfileProviderTypeMismatch => "storage_provider_profile_provider_type_mismatch", BAD_REQUEST, FailedPrecondition;
    StorageDirectoryTypeInvalid => "storage_provider_directory_type_invalid", BAD_REQUEST, InvalidArgument;
    StorageDirectoryPageInvalid => "storage_provider_directory_page_invalid", BAD_REQUEST, InvalidArgument;
    StorageDirectoryPageSizeInvalid => "storage_provider_directory_page_size_invalid", BAD_REQUEST, InvalidArgument;
    StorageDirectoryDepthInvalid => "storage_provider_directory_depth_invalid", BAD_REQUEST, InvalidArgument;
    StorageRelativePathInvalid => "storage_provider_relative_path_invalid", BAD_REQUEST, InvalidArgument;
    StorageDirectoryNotFound => "storage_provider_directory_not_found", NOT_FOUND, NotFound;
    StorageDirectoryExpected => "storage_provider_directory_expected", BAD_REQUEST, FailedPrecondition;
    StorageDirectoryListFailed => "storage_provider_directory_list_failed", BAD_REQUEST, FailedPrecondition;
    StorageAccessDenied => "storage_provider_access_denied", BAD_REQUEST, FailedPrecondition;
    StorageUpsertPathRequired => "storage_provider_upsert_path_required", BAD_REQUEST, InvalidArgument;
    StorageUpsertContentRequired => "storage_provider_upsert_content_required", BAD_REQUEST, InvalidArgument;
    StorageUpsertContentBase64Invalid => "storage_provider_upsert_content_base64_invalid", BAD_REQUEST, InvalidArgument;
    StorageUpsertContentEmpty => "storage_provider_upsert_content_empty", BAD_REQUEST, InvalidArgument;
    StorageUpsertExpectedShaConflict => "storage_provider_upsert_expected_sha_conflict", CONFLICT, Aborted;
    StorageUpsertExpectedShaTargetMissing => "storage_provider_upsert_expected_sha_target_missing", CONFLICT, FailedPrecondition;
    StorageUpsertFailed => "storage_provider_upsert_failed", BAD_REQUEST, FailedPrecondition;
    StorageFileExpected => "storage_provider_file_expected", BAD_REQUEST, FailedPrecondition;
    WorkflowNotFound => "workflow_profile_not_found", NOT_FOUND, NotFound;
    WorkflowNameRequired => "workflow_profile_name_required", BAD_REQUEST, InvalidArgument;
    WorkflowNameTooLong => "workflow_profile_name_too_long", BAD_REQUEST, InvalidArgument;
    WorkflowDescriptionTooLong => "workflow_profile_description_too_long", BAD_REQUEST, InvalidArgument;
    WorkflowGraphJsonRequired => "workflow_profile_graph_json_required", BAD_REQUEST, InvalidArgument;
    WorkflowGraphJsonInvalid => "workflow_profile_graph_json_invalid", BAD_REQUEST, InvalidArgument;
    WorkflowNameConflict => "workflow_profile_name_conflict", BAD_REQUEST, AlreadyExists;
    WorkflowHasNoSkills => "workflow_profile_has_no_skills", BAD_REQUEST, FailedPrecondition;
    WorkflowUnsupportedSkills => "workflow_profile_contains_unsupported_skills", BAD_REQUEST, InvalidArgument;
    UploadNotFound => "upload_not_found", NOT_FOUND, NotFound;
    UploadOffsetMismatch => "upload_offset_mismatch", CONFLICT, FailedPrecondition;
    UploadSizeExceeded => "upload_size_exceeded", PAYLOAD_TOO_LARGE, OutOfRange;
    UploadSizeInvalid => "upload_size_invalid", BAD_REQUEST, InvalidArgument;
    UploadChunkTooLarge => "upload_chunk_too_large", PAYLOAD_TOO_LARGE, ResourceExhausted;
    UploadIncomplete => "upload_incomplete", CONFLICT, FailedPrecondition;
    UploadAlreadyCompleted => "upload_already_completed", CONFLICT, FailedPrecondition;
    UploadBusy => "upload_busy", CONFLICT, Aborted;
    UploadChecksumMismatch => "upload_checksum_mismatch", BAD_REQUEST, DataLoss;
    UploadChecksumInvalid => "upload_checksum_invalid", BAD_REQUEST, InvalidArgument;
    UploadProtocolInvalid => "upload_protocol_invalid", BAD_REQUEST, InvalidArgument;
    UploadTusVersionUnsupported => "upload_tus_version_unsupported", PRECONDITION_FAILED, FailedPrecondition;
    UploadContentTypeInvalid => "upload_content_type_invalid", UNSUPPORTED_MEDIA_TYPE, InvalidArgument;
    OriginNotAllowed => "origin_not_allowed", FORBIDDEN, PermissionDenied;
    ToolArgumentsInvalid => "tool_arguments_invalid", BAD_REQUEST, InvalidArgument;
    AssetBase64Invalid => "asset_base64_invalid", BAD_REQUEST, InvalidArgument;
    AssetContentTypeMissing => "asset_content_type_missing", BAD_REQUEST, InvalidArgument;
    AssetUrlInvalid => "asset_url_invalid", BAD_REQUEST, InvalidArgument;
    AssetUrlForbidden => "asset_url_forbidden", FORBIDDEN, PermissionDenied;
    AssetUrlFetchFailed => "asset_url_fetch_failed", BAD_GATEWAY, Unavailable;
    Unauthorized => "auth_unauthorized", UNAUTHORIZED, Unauthenticated;
    AuthTokenExpired => "auth_token_expired", UNAUTHORIZED, Unauthenticated;
    AuthInvalidCredentials => "auth_invalid_credentials", UNAUTHORIZED, Unauthenticated;
    AuthRefreshTokenInvalid => "auth_refresh_token_invalid", UNAUTHORIZED, Unauthenticated;
    AuthRefreshTokenExpired => "auth_refresh_token_expired", UNAUTHORIZED, Unauthenticated;
    AuthUserInactive => "auth_user_inactive", UNAUTHORIZED, Unauthenticated;
    AuthRequestInvalid => "auth_request_invalid", BAD_REQUEST, InvalidArgument;
    AuthRefreshTokenReused => "auth_refresh_token_reused", UNAUTHORIZED, Unauthenticated;
    AuthRateLimited => "auth_rate_limited", TOO_MANY_REQUESTS, ResourceExhausted;
    ImagingBusy => "imaging_busy", SERVICE_UNAVAILABLE, Unavailable;
    ApiKeyNotFound => "api_key_not_found", NOT_FOUND, NotFound;
    ApiKeyScopeInvalid => "api_key_scope_invalid", BAD_REQUEST, InvalidArgument;
    UserNotFound => "user_not_found", NOT_FOUND, NotFound;
    UserUsernameConflict => "user_username_conflict", CONFLICT, AlreadyExists;
    UserUsernameRequired => "user_username_required", BAD_REQUEST, InvalidArgument;
    UserUsernameInvalid => "user_username_invalid", BAD_REQUEST, InvalidArgument;
    UserPasswordRequired => "user_password_required", BAD_REQUEST, InvalidArgument;
    UserPasswordTooShort => "user_password_too_short", BAD_REQUEST, InvalidArgument;
    UserManageForbidden => "user_manage_forbidden", FORBIDDEN, PermissionDenied;
    UserManageSuperAdminForbidden => "user_manage_super_admin_forbidden", FORBIDDEN, PermissionDenied;
    UserCreateForbidden => "user_create_forbidden", FORBIDDEN, PermissionDenied;
    UserSuperAdminCreateForbidden => "user_super_admin_create_forbidden", FORBIDDEN, PermissionDenied;
    UserSuperAdminPromoteForbidden => "user_super_admin_promote_forbidden", FORBIDDEN, PermissionDenied;
    UserSuperAdminRoleChangeForbidden => "user_super_admin_role_change_forbidden", FORBIDDEN, PermissionDenied;
    UserSelfRoleChangeForbidden => "user_self_role_change_forbidden", FORBIDDEN, PermissionDenied;
    UserSuperAdminDisableForbidden => "user_super_admin_disable_forbidden", FORBIDDEN, PermissionDenied;
    UserSelfDisableForbidden => "user_self_disable_forbidden", FORBIDDEN, PermissionDenied;
    UserSuperAdminPermissionsForbidden => "user_super_admin_permissions_forbidden", FORBIDDEN, PermissionDenied;
    UserSelfPermissionsForbidden => "user_self_permissions_forbidden", FORBIDDEN, PermissionDenied;
    ApiKeyInvalid => "api_key_invalid", UNAUTHORIZED, Unauthenticated;
    Forbidden => "auth_forbidden", FORBIDDEN, PermissionDenied;
    RouteNotFound => "route_not_found", NOT_FOUND, NotFound;
    RpcNotFound => "rpc_not_found", NOT_FOUND, Unimplemented;
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED, Unimplemented;
    Internal => "internal_error", INTERNAL_SERVER_ERROR, Internal;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

#[cfg(test)]
impl Error {
    /// One error of each code, for tests that walk the whole table.
    pub fn example(code: ErrorCode) -> Error {
        match code {
            ErrorCode::AssetNotFound => Error::AssetNotFound("example".into()),
            ErrorCode::AssetIdInvalid => Error::AssetIdInvalid("example".into()),
            ErrorCode::AssetFileRequired => Error::AssetFileRequired,
            ErrorCode::AssetFileEmpty => Error::AssetFileEmpty,
            ErrorCode::AssetFileTooLarge => Error::AssetFileTooLarge { limit: 3 },
            ErrorCode::AssetContentTypeNotAllowed => Error::AssetContentTypeNotAllowed {
                detected: "example".into(),
                allowed: "example".into(),
            },
            ErrorCode::AssetDescriptionTooLong => Error::AssetDescriptionTooLong { max: 3 },
            ErrorCode::AssetAltTextTooLong => Error::AssetAltTextTooLong { max: 3 },
            ErrorCode::AssetOriginalFileNameInvalid => {
                Error::AssetOriginalFileNameInvalid { max: 3 }
            }
            ErrorCode::AssetBatchTooLarge => Error::AssetBatchTooLarge { max: 3 },
            ErrorCode::SkillNotFound => Error::SkillNotFound("example".into()),
            ErrorCode::SkillParametersInvalid => Error::SkillParametersInvalid {
                parameter: "example".into(),
                message: "example".into(),
            },
            ErrorCode::AiProviderNotFound => Error::AiProviderNotFound("example".into()),
            ErrorCode::AiProviderNameTaken => Error::AiProviderNameTaken("example".into()),
            ErrorCode::AiProviderNameRequired => Error::AiProviderNameRequired,
            ErrorCode::AiProviderNameInvalid => Error::AiProviderNameInvalid,
            ErrorCode::AiProviderUrlRequired => Error::AiProviderUrlRequired,
            ErrorCode::AiProviderUrlInvalid => Error::AiProviderUrlInvalid("example".into()),
            ErrorCode::AiProviderModelRequired => Error::AiProviderModelRequired,
            ErrorCode::AiProviderApiKeyInvalid => Error::AiProviderApiKeyInvalid,
            ErrorCode::AiProviderPromptTooLong => Error::AiProviderPromptTooLong { max: 3 },
            ErrorCode::InvalidPage => Error::InvalidPage("example".into()),
            ErrorCode::InvalidPageSize => Error::InvalidPageSize("example".into()),
            ErrorCode::InvalidStatus => Error::InvalidStatus("example".into()),
            ErrorCode::InvalidOrderBy => Error::InvalidOrderBy("example".into()),
            ErrorCode::InvalidOrderDirection => Error::InvalidOrderDirection("example".into()),
            ErrorCode::InvalidContentType => Error::InvalidContentType("example".into()),
            ErrorCode::InvalidRequest => Error::InvalidRequest("example".into()),
            ErrorCode::RequestBodyTooLarge => Error::RequestBodyTooLarge { limit: 3 },
            ErrorCode::RangeNotSatisfiable => Error::RangeNotSatisfiable { size: 3 },
            ErrorCode::ContentNotFound => Error::ContentNotFound,
            ErrorCode::StorageProfileNotFound => Error::StorageProfileNotFound("example".into()),
            ErrorCode::StorageProfileDisabled => Error::StorageProfileDisabled("example".into()),
            ErrorCode::StorageProviderTypeRequired => Error::StorageProviderTypeRequired,
            ErrorCode::StorageProfileNameRequired => Error::StorageProfileNameRequired,
            ErrorCode::StorageProfileNameInvalid => Error::StorageProfileNameInvalid,
            ErrorCode::StorageProfileNameConflict => {
                Error::StorageProfileNameConflict("example".into())
            }
            ErrorCode::StorageProviderTypeUnsupported => {
                Error::StorageProviderTypeUnsupported("example".into())
            }
            ErrorCode::StorageProfileConfigurationRequired => {
                Error::StorageProfileConfigurationRequired
            }
            ErrorCode::StorageProfileSecretConfigurationInvalid => {
                Error::StorageProfileSecretConfigurationInvalid
            }
            ErrorCode::StorageProfileSecretNotSupported => Error::StorageProfileSecretNotSupported,
            ErrorCode::StorageProfileConfigurationInvalid => {
                Error::StorageProfileConfigurationInvalid {
                    field: "example",
                    message: "example".into(),
                }
            }
            ErrorCode::StorageProfileRootPathRequired => Error::StorageProfileRootPathRequired,
            ErrorCode::StorageProfilePublicBaseUrlInvalid => {
                Error::StorageProfilePublicBaseUrlInvalid
            }
            ErrorCode::StorageProfileEndpointInvalid => Error::StorageProfileEndpointInvalid,
            ErrorCode::StorageProfileBucketRequired => Error::StorageProfileBucketRequired,
            ErrorCode::StorageProfileRegionRequired => Error::StorageProfileRegionRequired,
            ErrorCode::StorageProfileAccessKeyRequired => Error::StorageProfileAccessKeyRequired,
            ErrorCode::StorageProfileSecretKeyRequired => Error::StorageProfileSecretKeyRequired,
            ErrorCode::StorageProfileGitHubOwnerRequired => {
                Error::StorageProfileGitHubOwnerRequired
            }
            ErrorCode::StorageProfileGitHubOwnerInvalid => Error::StorageProfileGitHubOwnerInvalid,
            ErrorCode::StorageProfileGitHubRepoRequired => Error::StorageProfileGitHubRepoRequired,
            ErrorCode::StorageProfileGitHubRepoInvalid => Error::StorageProfileGitHubRepoInvalid,
            ErrorCode::StorageProfileGitHubRefRequired => Error::StorageProfileGitHubRefRequired,
            ErrorCode::StorageProfileGitHubRefInvalid => Error::StorageProfileGitHubRefInvalid,
            ErrorCode::StorageProfileGitHubPathPrefixInvalid => {
                Error::StorageProfileGitHubPathPrefixInvalid
            }
            ErrorCode::StorageProfileGitHubVisibilityPolicyInvalid => {
                Error::StorageProfileGitHubVisibilityPolicyInvalid
            }
            ErrorCode::StorageProfileGitHubApiBaseUrlInvalid => {
                Error::StorageProfileGitHubApiBaseUrlInvalid
            }
            ErrorCode::StorageProfileGitHubRawBaseUrlInvalid => {
                Error::StorageProfileGitHubRawBaseUrlInvalid
            }
            ErrorCode::StorageProfileGitHubTokenInvalid => Error::StorageProfileGitHubTokenInvalid,
            ErrorCode::StorageProfileGitHubTokenRequiredForPrivate => {
                Error::StorageProfileGitHubTokenRequiredForPrivate
            }
            ErrorCode::StorageProfileGitHubReleaseTagModeInvalid => {
                Error::StorageProfileGitHubReleaseTagModeInvalid
            }
            ErrorCode::StorageProfileGitHubFixedTagRequired => {
                Error::StorageProfileGitHubFixedTagRequired
            }
            ErrorCode::StorageProfileGitHubReleasesDeleteNotSupported => {
                Error::StorageProfileGitHubReleasesDeleteNotSupported
            }
            ErrorCode::StorageProfileDefaultRequiresEnabled => {
                Error::StorageProfileDefaultRequiresEnabled
            }
            ErrorCode::StorageProfileWriteNotSupported => {
                Error::StorageProfileWriteNotSupported("example".into())
            }
            ErrorCode::StorageDefaultWriteProfileDisabled => {
                Error::StorageDefaultWriteProfileDisabled
            }
            ErrorCode::StorageUnavailable => Error::StorageUnavailable("example".into()),
            ErrorCode::StorageAuthFailed => Error::StorageAuthFailed("example".into()),
            ErrorCode::StorageTargetNotFound => Error::StorageTargetNotFound("example".into()),
            ErrorCode::StorageConflict => Error::StorageConflict("example".into()),
            ErrorCode::StorageRejected => Error::StorageRejected("example".into()),
            ErrorCode::StorageRateLimited => Error::StorageRateLimited {
                retry_after_seconds: Some(3),
            },
            ErrorCode::StorageProfilePublicOnly => {
                Error::StorageProfilePublicOnly("example".into())
            }
            ErrorCode::StorageProfileProviderTypeMismatch => {
                Error::StorageProfileProviderTypeMismatch("example".into())
            }
            ErrorCode::StorageDirectoryTypeInvalid => Error::StorageDirectoryTypeInvalid,
            ErrorCode::StorageDirectoryPageInvalid => Error::StorageDirectoryPageInvalid,
            ErrorCode::StorageDirectoryPageSizeInvalid => Error::StorageDirectoryPageSizeInvalid,
            ErrorCode::StorageDirectoryDepthInvalid => Error::StorageDirectoryDepthInvalid,
            ErrorCode::StorageRelativePathInvalid => {
                Error::StorageRelativePathInvalid("example".into())
            }
            ErrorCode::StorageDirectoryNotFound => {
                Error::StorageDirectoryNotFound("example".into())
            }
            ErrorCode::StorageDirectoryExpected => {
                Error::StorageDirectoryExpected("example".into())
            }
            ErrorCode::StorageDirectoryListFailed => {
                Error::StorageDirectoryListFailed("example".into())
            }
            ErrorCode::StorageAccessDenied => Error::StorageAccessDenied("example".into()),
            ErrorCode::StorageUpsertPathRequired => Error::StorageUpsertPathRequired,
            ErrorCode::StorageUpsertContentRequired => Error::StorageUpsertContentRequired,
            ErrorCode::StorageUpsertContentBase64Invalid => {
                Error::StorageUpsertContentBase64Invalid
            }
            ErrorCode::StorageUpsertContentEmpty => Error::StorageUpsertContentEmpty,
            ErrorCode::StorageUpsertExpectedShaConflict => {
                Error::StorageUpsertExpectedShaConflict("example".into())
            }
            ErrorCode::StorageUpsertExpectedShaTargetMissing => {
                Error::StorageUpsertExpectedShaTargetMissing("example".into())
            }
            ErrorCode::StorageUpsertFailed => Error::StorageUpsertFailed("example".into()),
            ErrorCode::StorageFileExpected => Error::StorageFileExpected("example".into()),
            ErrorCode::WorkflowNotFound => Error::WorkflowNotFound("example".into()),
            ErrorCode::WorkflowNameRequired => Error::WorkflowNameRequired,
            ErrorCode::WorkflowNameTooLong => Error::WorkflowNameTooLong,
            ErrorCode::WorkflowDescriptionTooLong => Error::WorkflowDescriptionTooLong,
            ErrorCode::WorkflowGraphJsonRequired => Error::WorkflowGraphJsonRequired,
            ErrorCode::WorkflowGraphJsonInvalid => Error::WorkflowGraphJsonInvalid,
            ErrorCode::WorkflowNameConflict => Error::WorkflowNameConflict("example".into()),
            ErrorCode::WorkflowHasNoSkills => Error::WorkflowHasNoSkills,
            ErrorCode::WorkflowUnsupportedSkills => {
                Error::WorkflowUnsupportedSkills("example".into())
            }
            ErrorCode::UploadNotFound => Error::UploadNotFound("example".into()),
            ErrorCode::UploadOffsetMismatch => Error::UploadOffsetMismatch { current: 3 },
            ErrorCode::UploadSizeExceeded => Error::UploadSizeExceeded { end: 4, size: 3 },
            ErrorCode::UploadSizeInvalid => Error::UploadSizeInvalid,
            ErrorCode::UploadChunkTooLarge => Error::UploadChunkTooLarge { max: 3 },
            ErrorCode::UploadIncomplete => Error::UploadIncomplete { offset: 1, size: 3 },
            ErrorCode::UploadAlreadyCompleted => Error::UploadAlreadyCompleted("example".into()),
            ErrorCode::UploadBusy => Error::UploadBusy,
            ErrorCode::UploadChecksumMismatch => Error::UploadChecksumMismatch {
                expected: "example".into(),
                actual: "example".into(),
            },
            ErrorCode::UploadChecksumInvalid => Error::UploadChecksumInvalid,
            ErrorCode::UploadProtocolInvalid => Error::UploadProtocolInvalid("example".into()),
            ErrorCode::UploadTusVersionUnsupported => Error::UploadTusVersionUnsupported,
            ErrorCode::UploadContentTypeInvalid => Error::UploadContentTypeInvalid,
            ErrorCode::OriginNotAllowed => Error::OriginNotAllowed("https://example.org".into()),
            ErrorCode::ToolArgumentsInvalid => {
                Error::ToolArgumentsInvalid("missing field `id`".into())
            }
            ErrorCode::AssetBase64Invalid => Error::AssetBase64Invalid,
            ErrorCode::AssetContentTypeMissing => Error::AssetContentTypeMissing,
            ErrorCode::AssetUrlInvalid => Error::AssetUrlInvalid("not an http(s) URL".into()),
            ErrorCode::AssetUrlForbidden => {
                Error::AssetUrlForbidden("127.0.0.1 is not a public address".into())
            }
            ErrorCode::AssetUrlFetchFailed => {
                Error::AssetUrlFetchFailed("the server answered 404".into())
            }
            ErrorCode::Unauthorized => Error::Unauthorized,
            ErrorCode::AuthTokenExpired => Error::AuthTokenExpired,
            ErrorCode::AuthInvalidCredentials => Error::AuthInvalidCredentials,
            ErrorCode::AuthRefreshTokenInvalid => Error::AuthRefreshTokenInvalid,
            ErrorCode::AuthRefreshTokenExpired => Error::AuthRefreshTokenExpired,
            ErrorCode::AuthUserInactive => Error::AuthUserInactive,
            ErrorCode::AuthRequestInvalid => Error::AuthRequestInvalid("example"),
            ErrorCode::AuthRefreshTokenReused => Error::AuthRefreshTokenReused,
            ErrorCode::AuthRateLimited => Error::AuthRateLimited {
                retry_after_seconds: 3,
            },
            ErrorCode::ImagingBusy => Error::ImagingBusy {
                retry_after_seconds: 3,
            },
            ErrorCode::ApiKeyNotFound => Error::ApiKeyNotFound("example".into()),
            ErrorCode::ApiKeyScopeInvalid => Error::ApiKeyScopeInvalid("example".into()),
            ErrorCode::UserNotFound => Error::UserNotFound("example".into()),
            ErrorCode::UserUsernameConflict => Error::UserUsernameConflict("example".into()),
            ErrorCode::UserUsernameRequired => Error::UserUsernameRequired,
            ErrorCode::UserUsernameInvalid => Error::UserUsernameInvalid,
            ErrorCode::UserPasswordRequired => Error::UserPasswordRequired,
            ErrorCode::UserPasswordTooShort => Error::UserPasswordTooShort { min: 3 },
            ErrorCode::UserManageForbidden => Error::UserManageForbidden,
            ErrorCode::UserManageSuperAdminForbidden => Error::UserManageSuperAdminForbidden,
            ErrorCode::UserCreateForbidden => Error::UserCreateForbidden,
            ErrorCode::UserSuperAdminCreateForbidden => Error::UserSuperAdminCreateForbidden,
            ErrorCode::UserSuperAdminPromoteForbidden => Error::UserSuperAdminPromoteForbidden,
            ErrorCode::UserSuperAdminRoleChangeForbidden => {
                Error::UserSuperAdminRoleChangeForbidden
            }
            ErrorCode::UserSelfRoleChangeForbidden => Error::UserSelfRoleChangeForbidden,
            ErrorCode::UserSuperAdminDisableForbidden => Error::UserSuperAdminDisableForbidden,
            ErrorCode::UserSelfDisableForbidden => Error::UserSelfDisableForbidden,
            ErrorCode::UserSuperAdminPermissionsForbidden => {
                Error::UserSuperAdminPermissionsForbidden
            }
            ErrorCode::UserSelfPermissionsForbidden => Error::UserSelfPermissionsForbidden,
            ErrorCode::ApiKeyInvalid => Error::ApiKeyInvalid,
            ErrorCode::Forbidden => Error::Forbidden {
                permission: "example",
            },
            ErrorCode::RouteNotFound => Error::RouteNotFound,
            ErrorCode::RpcNotFound => Error::RpcNotFound,
            ErrorCode::MethodNotAllowed => Error::MethodNotAllowed,
            ErrorCode::Internal => Error::Internal("example".into()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
