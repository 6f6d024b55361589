//! What a storage profile's configuration may say, per provider type, in
//! NekoHub's names, order and codes: validated fields with defaults, the
//! secret kept apart, the capability flags and the configuration summary.

use serde_json::{Map, Value, json};

use crate::{
    domain::ProviderType,
    error::{Error, Result},
    storage::{DEFAULT_COMMIT_MESSAGE_TEMPLATE, GITHUB_MAX_FILE_BYTES, validate_key},
};

/// GitHub's read policies: `public-only` refuses private assets,
/// `private-token` allows them (served through tessera with the token);
/// releases may also be `public-first`.
pub(super) const PUBLIC_ONLY: &str = "public-only";
pub(super) const PRIVATE_TOKEN: &str = "private-token";
const PUBLIC_FIRST: &str = "public-first";

/// A profile's settings as a client sent them: the non-secret
/// configuration and the credentials, wherever they were given.
pub(super) struct Submitted<'a> {
    pub configuration: &'a Map<String, Value>,
    pub secrets: Map<String, Value>,
}

impl<'a> Submitted<'a> {
    /// Checks the shapes NekoHub checks first: `configuration` an object,
    /// `secretConfiguration` an object or null. Credentials tessera used to
    /// take inside `configuration` (`accessKeyId`, `secretAccessKey`,
    /// `token`) count as given in `secretConfiguration`.
    pub fn new(configuration: Option<&'a Value>, secrets: Option<&Value>) -> Result<Self> {
        let Some(Value::Object(configuration)) = configuration else {
            return Err(Error::StorageProfileConfigurationRequired);
        };
        let mut merged = match secrets {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(secrets)) => secrets.clone(),
            Some(_) => return Err(Error::StorageProfileSecretConfigurationInvalid),
        };
        for (inline, secret) in [
            ("accessKeyId", "accessKey"),
            ("secretAccessKey", "secretKey"),
            ("token", "token"),
        ] {
            if let Some(value) = configuration.get(inline).filter(|v| !v.is_null()) {
                merged.entry(secret).or_insert_with(|| value.clone());
            }
        }
        Ok(Submitted {
            configuration,
            secrets: merged,
        })
    }

    /// A stored credential stands where none was submitted.
    pub fn keep(&mut self, secret: &str, stored: &Value) {
        self.secrets.entry(secret).or_insert_with(|| stored.clone());
    }
}

fn invalid(field: &'static str, message: &str) -> Error {
    Error::StorageProfileConfigurationInvalid {
        field,
        message: message.to_string(),
    }
}

/// A trimmed, non-empty string; `Err(fault)` for another type.
fn text<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    fault: fn() -> Error,
) -> Result<Option<&'a str>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(fault()),
    }
}

fn flag(map: &Map<String, Value>, field: &'static str, default: bool) -> Result<bool> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(field, "must be true or false")),
    }
}

/// An absolute http(s) URL without a trailing slash.
fn http_url(map: &Map<String, Value>, field: &str, fault: fn() -> Error) -> Result<Option<String>> {
    let Some(url) = text(map, field, fault)? else {
        return Ok(None);
    };
    match reqwest::Url::parse(url) {
        Ok(parsed)
            if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() =>
        {
            Ok(Some(url.trim_end_matches('/').to_string()))
        }
        _ => Err(fault()),
    }
}

/// A GitHub owner or repository name: `^[A-Za-z0-9._-]+$` within `max`.
fn github_name<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    max: usize,
    required: fn() -> Error,
    invalid: fn() -> Error,
) -> Result<&'a str> {
    let name = text(map, field, invalid)?.ok_or_else(required)?;
    let ok = name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(name) } else { Err(invalid()) }
}

/// A folder inside the repository: trimmed of slashes, no `.`, `..` or `//`.
fn path_prefix(map: &Map<String, Value>, field: &str) -> Result<String> {
    let fault = || Error::StorageProfileGitHubPathPrefixInvalid;
    let Some(path) = text(map, field, fault)? else {
        return Ok(String::new());
    };
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(String::new());
    }
    if path.contains("//") || validate_key(path).is_err() {
        return Err(fault());
    }
    Ok(path.to_string())
}

/// A token goes into an HTTP header: 8 to 255 visible ASCII characters.
fn github_token(secrets: &Map<String, Value>) -> Result<Option<String>> {
    let fault = || Error::StorageProfileGitHubTokenInvalid;
    let Some(token) = text(secrets, "token", fault)? else {
        return Ok(None);
    };
    if (8..=255).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Some(token.to_string()))
    } else {
        Err(fault())
    }
}

/// Checks a provider's settings in NekoHub's order; returns the stored
/// (non-secret) configuration and the secret. On an update `old_secret`
/// stays when no new one is given.
pub(super) fn validate(
    provider_type: ProviderType,
    submitted: &Submitted<'_>,
    old_secret: Option<String>,
) -> Result<(Map<String, Value>, Option<String>)> {
    let config = submitted.configuration;
    let secrets = &submitted.secrets;
    let mut clean = Map::new();
    match provider_type {
        ProviderType::Local => {
            if !secrets.is_empty() {
                return Err(Error::StorageProfileSecretNotSupported);
            }
            // Stored as given; a relative root is under the data directory.
            let root = text(config, "rootPath", || {
                invalid("rootPath", "must be a string")
            })?
            .ok_or(Error::StorageProfileRootPathRequired)?;
            clean.insert("rootPath".into(), root.into());
            clean.insert(
                "createDirectoryIfMissing".into(),
                flag(config, "createDirectoryIfMissing", true)?.into(),
            );
            let public_base_url = http_url(config, "publicBaseUrl", || {
                Error::StorageProfilePublicBaseUrlInvalid
            })?;
            clean.insert("publicBaseUrl".into(), public_base_url.into());
            Ok((clean, None))
        }
        ProviderType::S3 => {
            let endpoint = http_url(config, "endpoint", || Error::StorageProfileEndpointInvalid)?
                .ok_or(Error::StorageProfileEndpointInvalid)?;
            let bucket = text(config, "bucket", || invalid("bucket", "must be a string"))?
                .ok_or(Error::StorageProfileBucketRequired)?;
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !bucket_ok {
                return Err(invalid(
                    "bucket",
                    "must be 3 to 63 lowercase letters, digits, '-' or '.'",
                ));
            }
            let region = text(config, "region", || invalid("region", "must be a string"))?
                .ok_or(Error::StorageProfileRegionRequired)?;
            let public_base_url = http_url(config, "publicBaseUrl", || {
                Error::StorageProfilePublicBaseUrlInvalid
            })?;
            let provider_name = text(config, "providerName", || {
                invalid("providerName", "must be a string")
            })?
            .unwrap_or("s3");
            let access_key = text(secrets, "accessKey", || {
                Error::StorageProfileAccessKeyRequired
            })?
            .map(str::to_string)
            .or_else(|| {
                config
                    .get("accessKeyId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .ok_or(Error::StorageProfileAccessKeyRequired)?;
            let secret = text(secrets, "secretKey", || {
                Error::StorageProfileSecretKeyRequired
            })?
            .map(str::to_string)
            .or(old_secret)
            .ok_or(Error::StorageProfileSecretKeyRequired)?;
            clean.insert("providerName".into(), provider_name.into());
            clean.insert("endpoint".into(), endpoint.into());
            clean.insert("bucket".into(), bucket.into());
            clean.insert("region".into(), region.into());
            clean.insert(
                "forcePathStyle".into(),
                flag(config, "forcePathStyle", true)?.into(),
            );
            clean.insert("publicBaseUrl".into(), public_base_url.into());
            // The key id names the credentials; only the secret key is sealed.
            clean.insert("accessKeyId".into(), access_key.into());
            Ok((clean, Some(secret)))
        }
        ProviderType::GitHubRepo => {
            github_common(config, &mut clean)?;
            let reference = match config.get("ref").filter(|v| !v.is_null()) {
                Some(_) => text(config, "ref", || Error::StorageProfileGitHubRefInvalid)?,
                None => text(config, "branch", || Error::StorageProfileGitHubRefInvalid)?,
            }
            .ok_or(Error::StorageProfileGitHubRefRequired)?;
            let ref_ok = reference.len() <= 200
                && !reference.starts_with('/')
                && !reference.ends_with('/')
                && !reference.contains("..")
                && !reference.contains("//")
                && reference
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
            if !ref_ok {
                return Err(Error::StorageProfileGitHubRefInvalid);
            }
            let base_path = path_prefix(config, "basePath")?;
            let policy = match text(config, "visibilityPolicy", || {
                Error::StorageProfileGitHubVisibilityPolicyInvalid
            })? {
                None => PUBLIC_ONLY,
                Some(PUBLIC_ONLY) => PUBLIC_ONLY,
                Some(PRIVATE_TOKEN) => PRIVATE_TOKEN,
                Some(_) => return Err(Error::StorageProfileGitHubVisibilityPolicyInvalid),
            };
            let template = text(config, "commitMessageTemplate", || {
                invalid("commitMessageTemplate", "must be a string")
            })?
            .unwrap_or(DEFAULT_COMMIT_MESSAGE_TEMPLATE);
            if template.chars().count() > 500 {
                return Err(invalid(
                    "commitMessageTemplate",
                    "must be at most 500 characters",
                ));
            }
            let token = github_token(secrets)?.or(old_secret);
            if policy == PRIVATE_TOKEN && token.is_none() {
                return Err(Error::StorageProfileGitHubTokenRequiredForPrivate);
            }
            clean.insert("ref".into(), reference.into());
            clean.insert("basePath".into(), base_path.into());
            clean.insert("visibilityPolicy".into(), policy.into());
            clean.insert(
                "allowDelete".into(),
                flag(config, "allowDelete", true)?.into(),
            );
            clean.insert("commitMessageTemplate".into(), template.into());
            Ok((clean, token))
        }
        ProviderType::GitHubReleases => {
            github_common(config, &mut clean)?;
            let mode = match text(config, "releaseTagMode", || {
                Error::StorageProfileGitHubReleaseTagModeInvalid
            })? {
                None | Some("latest") => "latest",
                Some("fixed") => "fixed",
                Some(_) => return Err(Error::StorageProfileGitHubReleaseTagModeInvalid),
            };
            let fixed_tag = text(config, "fixedTag", || {
                invalid("fixedTag", "must be a string")
            })?;
            if mode == "fixed" && fixed_tag.is_none() {
                return Err(Error::StorageProfileGitHubFixedTagRequired);
            }
            let prefix = path_prefix(config, "assetPathPrefix")?;
            let policy = match text(config, "visibilityPolicy", || {
                Error::StorageProfileGitHubVisibilityPolicyInvalid
            })? {
                None | Some(PUBLIC_ONLY) => PUBLIC_ONLY,
                Some(PUBLIC_FIRST) => PUBLIC_FIRST,
                Some(_) => return Err(Error::StorageProfileGitHubVisibilityPolicyInvalid),
            };
            if flag(config, "allowDelete", false)? {
                return Err(Error::StorageProfileGitHubReleasesDeleteNotSupported);
            }
            let token = github_token(secrets)?.or(old_secret);
            clean.insert("releaseTagMode".into(), mode.into());
            clean.insert("fixedTag".into(), fixed_tag.into());
            clean.insert("assetPathPrefix".into(), prefix.into());
            clean.insert("visibilityPolicy".into(), policy.into());
            clean.insert("allowDelete".into(), false.into());
            Ok((clean, token))
        }
    }
}

/// Owner, repository and the API and raw addresses, shared by both GitHub types.
fn github_common(config: &Map<String, Value>, clean: &mut Map<String, Value>) -> Result<()> {
    let owner = github_name(
        config,
        "owner",
        39,
        || Error::StorageProfileGitHubOwnerRequired,
        || Error::StorageProfileGitHubOwnerInvalid,
    )?;
    let repo_field = if config.get("repo").is_some_and(|v| !v.is_null()) {
        "repo"
    } else {
        "repository"
    };
    let repo = github_name(
        config,
        repo_field,
        100,
        || Error::StorageProfileGitHubRepoRequired,
        || Error::StorageProfileGitHubRepoInvalid,
    )?;
    let api_base_url = http_url(config, "apiBaseUrl", || {
        Error::StorageProfileGitHubApiBaseUrlInvalid
    })?
    .unwrap_or_else(|| "https://api.github.com".into());
    let raw_base_url = http_url(config, "rawBaseUrl", || {
        Error::StorageProfileGitHubRawBaseUrlInvalid
    })?
    .unwrap_or_else(|| "https://raw.githubusercontent.com".into());
    clean.insert("owner".into(), owner.into());
    clean.insert("repo".into(), repo.into());
    clean.insert("apiBaseUrl".into(), api_base_url.into());
    clean.insert("rawBaseUrl".into(), raw_base_url.into());
    Ok(())
}

/// NekoHub's ten capability flags, its catalog per provider type (clients
/// read them as that catalog, so they do not vary with the configuration; a
/// `public-only` repository still refuses private assets when asked).
pub(super) fn capabilities(provider_type: ProviderType) -> Value {
    let flags = |private: bool,
                 toggle: bool,
                 delete: bool,
                 direct: bool,
                 proxy: bool,
                 primary: bool,
                 platform: bool,
                 token: bool| {
        json!({
            "supportsPublicRead": true,
            "supportsPrivateRead": private,
            "supportsVisibilityToggle": toggle,
            "supportsDelete": delete,
            "supportsDirectPublicUrl": direct,
            "requiresAccessProxy": proxy,
            "recommendedForPrimaryStorage": primary,
            "isPlatformBacked": platform,
            "isExperimental": platform,
            "requiresTokenForPrivateRead": token,
        })
    };
    let mut capabilities = match provider_type {
        ProviderType::Local => flags(true, true, true, false, true, true, false, false),
        ProviderType::S3 => flags(true, true, true, true, false, true, false, false),
        ProviderType::GitHubRepo => flags(true, false, true, true, true, false, true, true),
        ProviderType::GitHubReleases => flags(false, false, false, true, false, false, true, false),
    };
    if provider_type == ProviderType::GitHubRepo {
        capabilities["maxObjectBytes"] = GITHUB_MAX_FILE_BYTES.into();
    }
    capabilities
}

/// NekoHub's eighteen summary keys, read from the stored configuration
/// (case-insensitively, null where absent), and whether a secret is set.
pub(super) fn summary(
    provider_type: ProviderType,
    config: &Map<String, Value>,
    has_secret: bool,
) -> Value {
    let get = |names: &[&str]| -> Value {
        names
            .iter()
            .find_map(|name| {
                config
                    .iter()
                    .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_null())
                    .map(|(_, value)| value.clone())
            })
            .unwrap_or(Value::Null)
    };
    let endpoint_host = get(&["endpoint"]).as_str().and_then(|endpoint| {
        let url = reqwest::Url::parse(endpoint).ok()?;
        let host = url.host_str()?.to_string();
        Some(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    });
    let provider_name = match get(&["providerName"]) {
        Value::Null if provider_type == ProviderType::S3 => Value::from("s3"),
        name => name,
    };
    json!({
        "providerName": provider_name,
        "rootPath": get(&["rootPath"]),
        "endpointHost": endpoint_host,
        "bucketOrContainer": get(&["bucket", "container"]),
        "region": get(&["region"]),
        "publicBaseUrl": get(&["publicBaseUrl"]),
        "forcePathStyle": get(&["forcePathStyle"]),
        "owner": get(&["owner"]),
        "repository": get(&["repo", "repository"]),
        "reference": get(&["ref", "branch"]),
        "releaseTagMode": get(&["releaseTagMode"]),
        "fixedTag": get(&["fixedTag"]),
        "pathPrefix": get(&["assetPathPrefix", "basePath"]),
        "visibilityPolicy": get(&["visibilityPolicy"]),
        "basePath": get(&["basePath"]),
        "assetPathPrefix": get(&["assetPathPrefix"]),
        "apiBaseUrl": get(&["apiBaseUrl"]),
        "rawBaseUrl": get(&["rawBaseUrl"]),
        "hasSecret": has_secret,
    })
}
