//! Typed configuration, loaded once at start: defaults, then an optional TOML
//! file, then `TESSERA_*` environment variables. Each setting is declared
//! once, in the table below; the file key is its field name and the README
//! lists its variable (a test checks both ways). No globals: tests build a
//! `Config` per server.

mod storage_env;
mod values;

use std::{net::SocketAddr, path::PathBuf};

use ipnet::IpNet;

pub use storage_env::StorageEnv;
pub use values::{ForwardedHeaders, LogFormat, Secret};
use values::{Setting, setting_value};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// Declares the settings: each row is the field (also the TOML key), its
/// environment variable, its type and its default. Generates the struct,
/// its defaults, and the reading of the file and of the environment.
macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $field:ident ($env:literal): $ty:ty = $default:expr; )*) => {
        #[derive(Clone, Debug)]
        pub struct Config {
            $( $(#[doc = $doc])* pub $field: $ty, )*
            /// `TESSERA_STORAGE_PROVIDER` (`s3` or `github-repo`) with
            /// `TESSERA_STORAGE_S3_*` / `TESSERA_STORAGE_GITHUB_*`: the
            /// default profile at start (environment only).
            pub storage_default: Option<StorageEnv>,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $( $field: $default, )*
                    storage_default: None,
                }
            }
        }

        impl Config {
            /// Every setting's environment variable (the README table lists them).
            pub const VARIABLES: &'static [&'static str] = &[$($env),*];
            /// Every setting's file key, in the order of `VARIABLES`.
            const FILE_KEYS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn apply_file(&mut self, mut file: toml::Table) -> Result<(), String> {
                $(
                    if let Some(value) = file.remove(stringify!($field)) {
                        self.$field = <$ty as Setting>::from_file(value)
                            .map_err(|message| format!("{}: {message}", stringify!($field)))?;
                    }
                )*
                match file.keys().next() {
                    Some(unknown) => Err(format!(
                        "unknown key '{unknown}' (known: {})",
                        Self::FILE_KEYS.join(", ")
                    )),
                    None => Ok(()),
                }
            }

            fn apply_env(
                &mut self,
                get: &impl Fn(&str) -> Option<String>,
            ) -> Result<(), ConfigError> {
                $(
                    if let Some(value) = get($env) {
                        self.$field = setting_value($env, &value)?;
                    }
                )*
                Ok(())
            }
        }
    };
}

settings! {
    listen ("TESSERA_LISTEN"): SocketAddr = SocketAddr::from(([127, 0, 0, 1], 5121));
    /// Base of public URLs handed to clients, e.g. `https://img.example.com`;
    /// `None` builds them from each request (or the listen address in jobs).
    public_base_url ("TESSERA_PUBLIC_BASE_URL"): Option<String> = None;
    data_dir ("TESSERA_DATA_DIR"): PathBuf = PathBuf::from("./data");
    /// `None` means the embedded SQLite database under `data_dir`.
    database_url ("TESSERA_DATABASE_URL"): Option<Secret> = None;
    /// Static keys with full access.
    api_keys ("TESSERA_API_KEYS"): Vec<Secret> = Vec::new();
    max_upload_bytes ("TESSERA_MAX_UPLOAD_BYTES"): u64 = 26_214_400;
    allowed_content_types ("TESSERA_ALLOWED_CONTENT_TYPES"): Vec<String> =
        ["image/jpeg", "image/png", "image/gif", "image/webp"].map(String::from).to_vec();
    default_page_size ("TESSERA_DEFAULT_PAGE_SIZE"): u32 = 20;
    max_page_size ("TESSERA_MAX_PAGE_SIZE"): u32 = 100;
    max_image_pixels ("TESSERA_MAX_IMAGE_PIXELS"): u64 = 100_000_000;
    /// Images decoded at once, by workers and synchronous skill runs
    /// together: what bounds memory (each up to `max_image_pixels`).
    max_concurrent_decodes ("TESSERA_MAX_CONCURRENT_DECODES"): usize = cpu_count();
    /// How long a synchronous skill run waits for a decoding slot before it
    /// is refused with `503 imaging_busy`.
    decode_wait_seconds ("TESSERA_DECODE_WAIT_SECONDS"): u64 = 30;
    /// Stored objects no row refers to, and partial files of crashed
    /// writes, are removed once last written this long ago.
    orphan_grace_seconds ("TESSERA_ORPHAN_GRACE_SECONDS"): u64 = 3600;
    /// Lets `upload_asset_from_url` fetch from loopback, private and
    /// link-local addresses. Off: an agent must not be able to make tessera
    /// reach into the network it runs in. For tests and closed networks only.
    url_fetch_allow_private ("TESSERA_URL_FETCH_ALLOW_PRIVATE"): bool = false;
    /// How long a resumable upload may stay unfinished before its staged
    /// bytes are removed.
    upload_expiry_seconds ("TESSERA_UPLOAD_EXPIRY_SECONDS"): u64 = 86_400;
    /// Root of the default local storage profile; `None` means `data_dir/assets`.
    storage_local_root ("TESSERA_STORAGE_LOCAL_ROOT"): Option<PathBuf> = None;
    log_format ("TESSERA_LOG_FORMAT"): LogFormat = LogFormat::Text;
    /// Background workers in this process.
    workers ("TESSERA_WORKERS"): usize = cpu_count();
    /// How long a worker's claim on a job lasts without renewal; a crashed
    /// worker's jobs are retried after this.
    job_lease_seconds ("TESSERA_JOB_LEASE_SECONDS"): u64 = 30;
    /// Key for secrets at rest; generated into the data dir when unset (set it
    /// when several instances share a database).
    encryption_key ("TESSERA_ENCRYPTION_KEY"): Option<Secret> = None;
    /// Seed an active AI provider profile at start.
    ai_base_url ("TESSERA_AI_BASE_URL"): Option<String> = None;
    ai_api_key ("TESSERA_AI_API_KEY"): Option<Secret> = None;
    ai_model ("TESSERA_AI_MODEL"): Option<String> = None;
    ai_timeout_seconds ("TESSERA_AI_TIMEOUT_SECONDS"): u64 = 60;
    /// HS256 secret for access tokens; generated into the data dir when unset
    /// (set it when several instances serve the same users).
    jwt_secret ("TESSERA_JWT_SECRET"): Option<Secret> = None;
    access_token_ttl_seconds ("TESSERA_ACCESS_TOKEN_TTL_SECONDS"): u64 = 900;
    bootstrap_admin_username ("TESSERA_BOOTSTRAP_ADMIN_USERNAME"): Option<String> = None;
    bootstrap_admin_password ("TESSERA_BOOTSTRAP_ADMIN_PASSWORD"): Option<Secret> = None;
    /// Browser origins allowed to call the API (REST and grpc-web); `*` for
    /// any. Empty (the default) answers no cross-origin request.
    cors_origins ("TESSERA_CORS_ORIGINS"): Vec<String> = Vec::new();
    /// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed (the
    /// client address, scheme and host behind a reverse proxy). Empty (the
    /// default): such headers are ignored and the TCP peer is the client.
    trusted_proxies ("TESSERA_TRUSTED_PROXIES"): Vec<IpNet> = Vec::new();
    /// The one family of forwarding headers the trusted proxies set.
    forwarded_headers ("TESSERA_FORWARDED_HEADERS"): ForwardedHeaders = ForwardedHeaders::XForwarded;
}

fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

impl Config {
    /// Defaults, then the TOML file (if any), then the environment as given by `env`.
    pub fn load(
        file: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let file = file.or_else(|| get("TESSERA_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let parsed = text
                .parse::<toml::Table>()
                .map_err(|e| e.to_string())
                .and_then(|table| config.apply_file(table));
            if let Err(message) = parsed {
                return Err(ConfigError::Parse { path, message });
            }
        }
        config.apply_env(&get)?;
        if let Some(provider) = get("TESSERA_STORAGE_PROVIDER") {
            config.storage_default = storage_env::storage_env(&provider, &get)?;
        }
        config.normalize();
        config.validate()?;
        Ok(config)
    }

    /// One spelling for values that may be written several ways.
    fn normalize(&mut self) {
        // Trimmed, lowercased, blanks and repeats dropped, first order kept.
        let mut seen = std::collections::HashSet::new();
        self.allowed_content_types = std::mem::take(&mut self.allowed_content_types)
            .into_iter()
            .map(|content_type| content_type.trim().to_ascii_lowercase())
            .filter(|content_type| !content_type.is_empty() && seen.insert(content_type.clone()))
            .collect();
        for origin in &mut self.cors_origins {
            *origin = origin.trim_end_matches('/').to_string();
        }
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

    /// NekoHub's rule for the allowed types: trimmed, in lower case, blanks
    /// and repeats (in any case) dropped, the first order kept.
    #[test]
    fn allowed_content_types_are_normalised() {
        let env = |name: &str| {
            (name == "TESSERA_ALLOWED_CONTENT_TYPES")
                .then(|| " image/png ,IMAGE/WEBP, ,image/PNG,image/webp,image/gif".to_string())
        };
        let config = Config::load(None, env).expect("valid config");
        assert_eq!(
            config.allowed_content_types,
            ["image/png", "image/webp", "image/gif"]
        );
    }

    #[test]
    fn the_file_uses_field_names_and_refuses_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("tessera-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("tessera.toml");
        let text = "max_upload_bytes = 2048\n\
                    trusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\n\
                    log_format = \"json\"\n\
                    jwt_secret = \"0123456789abcdef0123456789abcdef\"\n";
        std::fs::write(&path, text).expect("write");
        let config = Config::load(Some(path.clone()), |_| None).expect("valid file");
        assert_eq!(config.max_upload_bytes, 2048);
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.jwt_secret.is_some());
        std::fs::write(&path, "max_upload_byte = 1\n").expect("write");
        let err = Config::load(Some(path), |_| None).expect_err("unknown key");
        assert!(err.to_string().contains("max_upload_byte"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The file key of `TESSERA_MAX_UPLOAD_BYTES` is `max_upload_bytes`, as
    /// the README says.
    #[test]
    fn file_keys_are_the_variables_in_lower_case() {
        for (key, name) in Config::FILE_KEYS.iter().zip(Config::VARIABLES) {
            let expected = name.trim_start_matches("TESSERA_").to_ascii_lowercase();
            assert_eq!(*key, expected);
        }
    }

    /// The README's configuration table lists exactly the declared
    /// variables, and the few read outside the table (storage, logs, file).
    #[test]
    fn the_readme_lists_every_setting() {
        let readme = include_str!("../../README.md");
        let rows: Vec<&str> = readme
            .lines()
            .filter(|l| l.starts_with("| `TESSERA_"))
            .collect();
        for name in Config::VARIABLES {
            // A row may name siblings by their last part: `_PASSWORD`.
            let last = name.rsplit('_').next().unwrap_or_default();
            let found = rows.iter().any(|row| {
                row.contains(&format!("`{name}`")) || row.contains(&format!("`_{last}`"))
            });
            assert!(found, "README lacks {name}");
        }
        let elsewhere = [
            "TESSERA_STORAGE_PROVIDER",
            "TESSERA_STORAGE_S3_",
            "TESSERA_STORAGE_GITHUB_",
            "TESSERA_LOG",
        ];
        for row in &rows {
            let name = row.split('`').nth(1).unwrap_or_default();
            assert!(
                Config::VARIABLES.contains(&name) || elsewhere.iter().any(|e| name.starts_with(e)),
                "README lists {name}, which is not a setting"
            );
        }
    }

    #[test]
    fn bad_numbers_are_refused_with_the_variable_name() {
        let env = |name: &str| (name == "TESSERA_MAX_PAGE_SIZE").then(|| "lots".to_string());
        let err = Config::load(None, env).expect_err("must fail");
        assert!(err.to_string().contains("TESSERA_MAX_PAGE_SIZE"));
    }
}
