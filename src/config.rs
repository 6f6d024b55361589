//! Typed configuration, loaded once at start: defaults, then an optional TOML
//! file, then `TESSERA_*` environment variables. No globals: tests build a
//! `Config` per server.

use std::{fmt, net::SocketAddr, path::PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use crate::domain::ProviderType;

/// A secret whose `Debug` and `Display` never show the value.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Which forwarding headers the trusted proxies set. Only that family is
/// read: proxies add to their own family and pass the other one through
/// untouched, so believing both would let a client write its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeaders {
    /// `X-Forwarded-For`, `-Proto`, `-Host` (Caddy, nginx, HAProxy, load balancers).
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded`.
    Forwarded,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Base of public URLs handed to clients, e.g. `https://img.example.com`;
    /// `None` builds them from each request (or the listen address in jobs).
    pub public_base_url: Option<String>,
    pub data_dir: PathBuf,
    /// `None` means the embedded SQLite database under `data_dir`.
    pub database_url: Option<Secret>,
    /// Static keys with full access (`TESSERA_API_KEYS`).
    pub api_keys: Vec<Secret>,
    pub max_upload_bytes: u64,
    pub allowed_content_types: Vec<String>,
    pub default_page_size: u32,
    pub max_page_size: u32,
    pub max_image_pixels: u64,
    /// Images decoded at once, by workers and synchronous skill runs
    /// together: what bounds memory (each up to `max_image_pixels`).
    pub max_concurrent_decodes: usize,
    /// How long a synchronous skill run waits for a decoding slot before it
    /// is refused with `503 imaging_busy`.
    pub decode_wait_seconds: u64,
    /// Stored objects no row refers to, and partial files of crashed
    /// writes, are removed once last written this long ago.
    pub orphan_grace_seconds: u64,
    /// Root of the default local storage profile; `None` means `data_dir/assets`.
    pub storage_local_root: Option<PathBuf>,
    pub log_format: LogFormat,
    /// Background workers in this process.
    pub workers: usize,
    /// How long a worker's claim on a job lasts without renewal; a crashed
    /// worker's jobs are retried after this.
    pub job_lease_seconds: u64,
    /// Key for secrets at rest; generated into the data dir when unset (set it
    /// when several instances share a database).
    pub encryption_key: Option<Secret>,
    /// Seed an active AI provider profile at start.
    pub ai_base_url: Option<String>,
    pub ai_api_key: Option<Secret>,
    pub ai_model: Option<String>,
    pub ai_timeout_seconds: u64,
    /// HS256 secret for access tokens; generated into the data dir when unset
    /// (set it when several instances serve the same users).
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_seconds: u64,
    pub bootstrap_admin_username: Option<String>,
    pub bootstrap_admin_password: Option<Secret>,
    /// Browser origins allowed to call the API (REST and grpc-web); `*` for
    /// any. Empty (the default) answers no cross-origin request.
    pub cors_origins: Vec<String>,
    /// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed (the
    /// client address, scheme and host behind a reverse proxy). Empty (the
    /// default): such headers are ignored and the TCP peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// The one family of forwarding headers the trusted proxies set.
    pub forwarded_headers: ForwardedHeaders,
    /// `TESSERA_STORAGE_PROVIDER` (`s3` or `github-repo`) with
    /// `TESSERA_STORAGE_S3_*` / `TESSERA_STORAGE_GITHUB_*`: the default
    /// profile at start (environment only).
    pub storage_default: Option<StorageEnv>,
}

/// A default storage profile described by the environment; the profile
/// service validates it like any profile created through the API.
#[derive(Clone, Debug)]
pub struct StorageEnv {
    /// `s3` or `github-repo`.
    pub provider_type: ProviderType,
    /// The profile's configuration without its secret.
    pub configuration: serde_json::Map<String, serde_json::Value>,
    /// The S3 secret access key or the GitHub token.
    pub secret: Secret,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5121)),
            public_base_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            api_keys: Vec::new(),
            max_upload_bytes: 26_214_400,
            allowed_content_types: ["image/jpeg", "image/png", "image/gif", "image/webp"]
                .map(String::from)
                .to_vec(),
            default_page_size: 20,
            max_page_size: 100,
            max_image_pixels: 100_000_000,
            max_concurrent_decodes: std::thread::available_parallelism().map_or(2, usize::from),
            decode_wait_seconds: 30,
            orphan_grace_seconds: 3600,
            storage_local_root: None,
            log_format: LogFormat::Text,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            job_lease_seconds: 30,
            encryption_key: None,
            ai_base_url: None,
            ai_api_key: None,
            ai_model: None,
            ai_timeout_seconds: 60,
            jwt_secret: None,
            access_token_ttl_seconds: 900,
            bootstrap_admin_username: None,
            bootstrap_admin_password: None,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            forwarded_headers: ForwardedHeaders::default(),
            storage_default: None,
        }
    }
}

/// The TOML file: every key optional, same names as the env variables without
/// the prefix, in snake_case (`max_upload_bytes = 1048576`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    public_base_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    api_keys: Option<Vec<Secret>>,
    max_upload_bytes: Option<u64>,
    allowed_content_types: Option<Vec<String>>,
    default_page_size: Option<u32>,
    max_page_size: Option<u32>,
    max_image_pixels: Option<u64>,
    max_concurrent_decodes: Option<usize>,
    decode_wait_seconds: Option<u64>,
    orphan_grace_seconds: Option<u64>,
    storage_local_root: Option<PathBuf>,
    log_format: Option<LogFormat>,
    workers: Option<usize>,
    job_lease_seconds: Option<u64>,
    encryption_key: Option<Secret>,
    ai_base_url: Option<String>,
    ai_api_key: Option<Secret>,
    ai_model: Option<String>,
    ai_timeout_seconds: Option<u64>,
    jwt_secret: Option<Secret>,
    access_token_ttl_seconds: Option<u64>,
    bootstrap_admin_username: Option<String>,
    bootstrap_admin_password: Option<Secret>,
    cors_origins: Option<Vec<String>>,
    trusted_proxies: Option<Vec<String>>,
    forwarded_headers: Option<ForwardedHeaders>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid value for {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

impl Config {
    /// Defaults, then the TOML file (if any), then the environment as given by `env`.
    pub fn load(
        file: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let file = file.or_else(|| env("TESSERA_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let parsed: FileConfig =
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path,
                    source: Box::new(source),
                })?;
            config.apply_file(parsed)?;
        }
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn apply_file(&mut self, file: FileConfig) -> Result<(), ConfigError> {
        let FileConfig {
            listen,
            public_base_url,
            data_dir,
            database_url,
            api_keys,
            max_upload_bytes,
            allowed_content_types,
            default_page_size,
            max_page_size,
            max_image_pixels,
            max_concurrent_decodes,
            decode_wait_seconds,
            orphan_grace_seconds,
            storage_local_root,
            log_format,
            workers,
            job_lease_seconds,
            encryption_key,
            ai_base_url,
            ai_api_key,
            ai_model,
            ai_timeout_seconds,
            jwt_secret,
            access_token_ttl_seconds,
            bootstrap_admin_username,
            bootstrap_admin_password,
            cors_origins,
            trusted_proxies,
            forwarded_headers,
        } = file;
        set(&mut self.forwarded_headers, forwarded_headers);
        if let Some(list) = trusted_proxies {
            self.trusted_proxies = parse_networks(list.iter().map(String::as_str))?;
        }
        set(&mut self.listen, listen);
        self.public_base_url = public_base_url.or(self.public_base_url.take());
        set(&mut self.data_dir, data_dir);
        set(&mut self.api_keys, api_keys);
        set(&mut self.max_upload_bytes, max_upload_bytes);
        set(&mut self.allowed_content_types, allowed_content_types);
        set(&mut self.default_page_size, default_page_size);
        set(&mut self.max_page_size, max_page_size);
        set(&mut self.max_image_pixels, max_image_pixels);
        set(&mut self.max_concurrent_decodes, max_concurrent_decodes);
        set(&mut self.decode_wait_seconds, decode_wait_seconds);
        set(&mut self.orphan_grace_seconds, orphan_grace_seconds);
        set(&mut self.log_format, log_format);
        set(&mut self.workers, workers);
        set(&mut self.job_lease_seconds, job_lease_seconds);
        set(&mut self.ai_timeout_seconds, ai_timeout_seconds);
        set(&mut self.access_token_ttl_seconds, access_token_ttl_seconds);
        set(&mut self.cors_origins, cors_origins);
        self.jwt_secret = jwt_secret.or(self.jwt_secret.take());
        self.bootstrap_admin_username =
            bootstrap_admin_username.or(self.bootstrap_admin_username.take());
        self.bootstrap_admin_password =
            bootstrap_admin_password.or(self.bootstrap_admin_password.take());
        self.encryption_key = encryption_key.or(self.encryption_key.take());
        self.ai_base_url = ai_base_url.or(self.ai_base_url.take());
        self.ai_api_key = ai_api_key.or(self.ai_api_key.take());
        self.ai_model = ai_model.or(self.ai_model.take());
        self.database_url = database_url.or(self.database_url.take());
        self.storage_local_root = storage_local_root.or(self.storage_local_root.take());
        Ok(())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("TESSERA_LISTEN") {
            self.listen = parse("TESSERA_LISTEN", &v)?;
        }
        if let Some(v) = get("TESSERA_PUBLIC_BASE_URL") {
            self.public_base_url = Some(v);
        }
        if let Some(v) = get("TESSERA_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("TESSERA_DATABASE_URL") {
            self.database_url = Some(Secret::new(v));
        }
        if let Some(v) = get("TESSERA_API_KEYS") {
            self.api_keys = split_list(&v).map(Secret::new).collect();
        }
        if let Some(v) = get("TESSERA_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = parse("TESSERA_MAX_UPLOAD_BYTES", &v)?;
        }
        if let Some(v) = get("TESSERA_ALLOWED_CONTENT_TYPES") {
            self.allowed_content_types = split_list(&v).map(|s| s.to_ascii_lowercase()).collect();
        }
        if let Some(v) = get("TESSERA_DEFAULT_PAGE_SIZE") {
            self.default_page_size = parse("TESSERA_DEFAULT_PAGE_SIZE", &v)?;
        }
        if let Some(v) = get("TESSERA_MAX_PAGE_SIZE") {
            self.max_page_size = parse("TESSERA_MAX_PAGE_SIZE", &v)?;
        }
        if let Some(v) = get("TESSERA_MAX_IMAGE_PIXELS") {
            self.max_image_pixels = parse("TESSERA_MAX_IMAGE_PIXELS", &v)?;
        }
        if let Some(v) = get("TESSERA_MAX_CONCURRENT_DECODES") {
            self.max_concurrent_decodes = parse("TESSERA_MAX_CONCURRENT_DECODES", &v)?;
        }
        if let Some(v) = get("TESSERA_DECODE_WAIT_SECONDS") {
            self.decode_wait_seconds = parse("TESSERA_DECODE_WAIT_SECONDS", &v)?;
        }
        if let Some(v) = get("TESSERA_ORPHAN_GRACE_SECONDS") {
            self.orphan_grace_seconds = parse("TESSERA_ORPHAN_GRACE_SECONDS", &v)?;
        }
        if let Some(v) = get("TESSERA_WORKERS") {
            self.workers = parse("TESSERA_WORKERS", &v)?;
        }
        if let Some(v) = get("TESSERA_JOB_LEASE_SECONDS") {
            self.job_lease_seconds = parse("TESSERA_JOB_LEASE_SECONDS", &v)?;
        }
        if let Some(v) = get("TESSERA_ENCRYPTION_KEY") {
            self.encryption_key = Some(Secret::new(v));
        }
        if let Some(v) = get("TESSERA_AI_BASE_URL") {
            self.ai_base_url = Some(v);
        }
        if let Some(v) = get("TESSERA_AI_API_KEY") {
            self.ai_api_key = Some(Secret::new(v));
        }
        if let Some(v) = get("TESSERA_AI_MODEL") {
            self.ai_model = Some(v);
        }
        if let Some(v) = get("TESSERA_AI_TIMEOUT_SECONDS") {
            self.ai_timeout_seconds = parse("TESSERA_AI_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(provider) = get("TESSERA_STORAGE_PROVIDER") {
            self.storage_default = storage_env(&provider, &get)?;
        }
        if let Some(v) = get("TESSERA_TRUSTED_PROXIES") {
            let list: Vec<String> = split_list(&v).collect();
            self.trusted_proxies = parse_networks(list.iter().map(String::as_str))?;
        }
        if let Some(v) = get("TESSERA_FORWARDED_HEADERS") {
            self.forwarded_headers = match v.trim().to_ascii_lowercase().as_str() {
                "x-forwarded" => ForwardedHeaders::XForwarded,
                "forwarded" => ForwardedHeaders::Forwarded,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "TESSERA_FORWARDED_HEADERS",
                        message: format!("'{v}': expected x-forwarded or forwarded"),
                    });
                }
            };
        }
        if let Some(v) = get("TESSERA_CORS_ORIGINS") {
            self.cors_origins = split_list(&v)
                .map(|o| o.trim_end_matches('/').to_string())
                .collect();
        }
        if let Some(v) = get("TESSERA_JWT_SECRET") {
            self.jwt_secret = Some(Secret::new(v));
        }
        if let Some(v) = get("TESSERA_ACCESS_TOKEN_TTL_SECONDS") {
            self.access_token_ttl_seconds = parse("TESSERA_ACCESS_TOKEN_TTL_SECONDS", &v)?;
        }
        if let Some(v) = get("TESSERA_BOOTSTRAP_ADMIN_USERNAME") {
            self.bootstrap_admin_username = Some(v);
        }
        if let Some(v) = get("TESSERA_BOOTSTRAP_ADMIN_PASSWORD") {
            self.bootstrap_admin_password = Some(Secret::new(v));
        }
        if let Some(v) = get("TESSERA_STORAGE_LOCAL_ROOT") {
            self.storage_local_root = Some(PathBuf::from(v));
        }
        if let Some(v) = get("TESSERA_LOG_FORMAT") {
            self.log_format = match v.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "TESSERA_LOG_FORMAT",
                        message: format!("expected text or json, got '{v}'"),
                    });
                }
            };
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| {
            Err(ConfigError::Invalid {
                name,
                message: message.to_string(),
            })
        };
        if self.max_upload_bytes == 0 {
            return invalid("TESSERA_MAX_UPLOAD_BYTES", "must be at least 1");
        }
        if self.max_page_size == 0 {
            return invalid("TESSERA_MAX_PAGE_SIZE", "must be at least 1");
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return invalid(
                "TESSERA_DEFAULT_PAGE_SIZE",
                "must be between 1 and TESSERA_MAX_PAGE_SIZE",
            );
        }
        if self.job_lease_seconds == 0 {
            return invalid("TESSERA_JOB_LEASE_SECONDS", "must be at least 1");
        }
        if self.ai_base_url.is_some() && self.ai_model.is_none() {
            return invalid("TESSERA_AI_MODEL", "is required with TESSERA_AI_BASE_URL");
        }
        if self
            .jwt_secret
            .as_ref()
            .is_some_and(|s| s.expose().len() < 32)
        {
            return invalid("TESSERA_JWT_SECRET", "must be at least 32 characters");
        }
        if let Some(bad) = self
            .cors_origins
            .iter()
            .find(|o| *o != "*" && !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return invalid(
                "TESSERA_CORS_ORIGINS",
                &format!("'{bad}' is not an origin like https://app.example.com"),
            );
        }
        if self.access_token_ttl_seconds == 0 {
            return invalid("TESSERA_ACCESS_TOKEN_TTL_SECONDS", "must be at least 1");
        }
        if self.bootstrap_admin_username.is_some() != self.bootstrap_admin_password.is_some() {
            return invalid(
                "TESSERA_BOOTSTRAP_ADMIN_PASSWORD",
                "set both TESSERA_BOOTSTRAP_ADMIN_USERNAME and TESSERA_BOOTSTRAP_ADMIN_PASSWORD",
            );
        }
        if self.max_concurrent_decodes == 0 {
            return invalid("TESSERA_MAX_CONCURRENT_DECODES", "must be at least 1");
        }
        if self.ai_timeout_seconds == 0 {
            return invalid("TESSERA_AI_TIMEOUT_SECONDS", "must be at least 1");
        }
        if self.allowed_content_types.is_empty() {
            return invalid(
                "TESSERA_ALLOWED_CONTENT_TYPES",
                "must name at least one type",
            );
        }
        if let Some(base) = &self.public_base_url
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return invalid(
                "TESSERA_PUBLIC_BASE_URL",
                "must start with http:// or https://",
            );
        }
        Ok(())
    }

    /// Where local blobs live unless configured otherwise.
    pub fn local_storage_root(&self) -> PathBuf {
        self.storage_local_root
            .clone()
            .unwrap_or_else(|| self.data_dir.join("assets"))
    }

    /// The configured public base URL without a trailing slash.
    pub fn public_base(&self) -> Option<&str> {
        self.public_base_url
            .as_deref()
            .map(|base| base.trim_end_matches('/'))
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn split_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The default profile named by `TESSERA_STORAGE_PROVIDER`; `local` means none.
fn storage_env(
    provider: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<StorageEnv>, ConfigError> {
    let provider_type = match ProviderType::parse(provider) {
        Some(ProviderType::Local) => return Ok(None),
        Some(provider_type) => provider_type,
        None => {
            return Err(ConfigError::Invalid {
                name: "TESSERA_STORAGE_PROVIDER",
                message: format!("expected local, s3 or github-repo, got '{provider}'"),
            });
        }
    };
    let (prefix, secret_name, fields): (&str, &'static str, &[(&str, &str)]) =
        if provider_type == ProviderType::S3 {
            (
                "TESSERA_STORAGE_S3_",
                "TESSERA_STORAGE_S3_SECRET_ACCESS_KEY",
                &[
                    ("ENDPOINT", "endpoint"),
                    ("REGION", "region"),
                    ("BUCKET", "bucket"),
                    ("ACCESS_KEY_ID", "accessKeyId"),
                    ("FORCE_PATH_STYLE", "forcePathStyle"),
                    ("PUBLIC_BASE_URL", "publicBaseUrl"),
                ],
            )
        } else {
            (
                "TESSERA_STORAGE_GITHUB_",
                "TESSERA_STORAGE_GITHUB_TOKEN",
                &[
                    ("OWNER", "owner"),
                    ("REPO", "repo"),
                    ("BRANCH", "branch"),
                    ("BASE_PATH", "basePath"),
                    ("API_BASE_URL", "apiBaseUrl"),
                    ("RAW_BASE_URL", "rawBaseUrl"),
                    ("COMMIT_MESSAGE_TEMPLATE", "commitMessageTemplate"),
                    ("VISIBILITY_POLICY", "visibilityPolicy"),
                ],
            )
        };
    let mut configuration = serde_json::Map::new();
    for (suffix, field) in fields {
        let name = format!("{prefix}{suffix}");
        if let Some(value) = get(&name) {
            let value = if *field == "forcePathStyle" {
                serde_json::Value::Bool(parse("TESSERA_STORAGE_S3_FORCE_PATH_STYLE", &value)?)
            } else {
                serde_json::Value::String(value)
            };
            configuration.insert((*field).to_string(), value);
        }
    }
    let secret = get(secret_name).ok_or(ConfigError::Invalid {
        name: secret_name,
        message: format!("is required with TESSERA_STORAGE_PROVIDER={provider_type}"),
    })?;
    Ok(Some(StorageEnv {
        provider_type,
        configuration,
        secret: Secret::new(secret),
    }))
}

/// CIDR networks (`10.0.0.0/8`, `fd00::/8`) or single addresses.
fn parse_networks<'a>(list: impl Iterator<Item = &'a str>) -> Result<Vec<IpNet>, ConfigError> {
    list.map(|entry| {
        let entry = entry.trim();
        entry
            .parse::<IpNet>()
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| ConfigError::Invalid {
                name: "TESSERA_TRUSTED_PROXIES",
                message: format!("'{entry}' is not an address or a CIDR network"),
            })
    })
    .collect()
}

fn parse<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| ConfigError::Invalid {
            name,
            message: format!("'{value}': {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults_and_secrets_stay_hidden() {
        let env = |name: &str| match name {
            "TESSERA_API_KEYS" => Some("k1, k2".to_string()),
            "TESSERA_MAX_UPLOAD_BYTES" => Some("1024".to_string()),
            _ => None,
        };
        let config = Config::load(None, env).expect("valid config");
        assert_eq!(config.max_upload_bytes, 1024);
        assert_eq!(config.api_keys.len(), 2);
        assert!(!format!("{config:?}").contains("k1"));
    }

    #[test]
    fn bad_numbers_are_refused_with_the_variable_name() {
        let env = |name: &str| (name == "TESSERA_MAX_PAGE_SIZE").then(|| "lots".to_string());
        let err = Config::load(None, env).expect_err("must fail");
        assert!(err.to_string().contains("TESSERA_MAX_PAGE_SIZE"));
    }
}
