//! The kinds of value a setting holds, and how each is read from the
//! environment (text) and from the TOML file.

use std::{fmt, net::SocketAddr, path::PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use super::ConfigError;

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

/// A value a setting can hold. The environment gives text (lists are
/// comma-separated); the file gives TOML.
pub(super) trait Setting: Sized {
    fn from_env(text: &str) -> Result<Self, String>;
    fn from_file(value: toml::Value) -> Result<Self, String>;
}

/// Reads `text` as the value of the variable `name`.
pub(super) fn setting_value<T: Setting>(name: &'static str, text: &str) -> Result<T, ConfigError> {
    T::from_env(text).map_err(|message| ConfigError::Invalid { name, message })
}

fn from_toml<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T, String> {
    value.try_into().map_err(|e: toml::de::Error| e.to_string())
}

/// Values written as themselves in both places (numbers, addresses, text).
macro_rules! plain_settings {
    ($($ty:ty),*) => {$(
        impl Setting for $ty {
            fn from_env(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|e| format!("'{text}': {e}"))
            }
            fn from_file(value: toml::Value) -> Result<Self, String> {
                from_toml(value)
            }
        }
    )*};
}

plain_settings!(u32, u64, usize, bool, SocketAddr, String, PathBuf);

impl Setting for Secret {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(Secret::new(text))
    }
    fn from_file(value: toml::Value) -> Result<Self, String> {
        from_toml(value)
    }
}

impl Setting for LogFormat {
    fn from_env(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected text or json, got '{text}'")),
        }
    }
    fn from_file(value: toml::Value) -> Result<Self, String> {
        from_toml(value)
    }
}

impl Setting for ForwardedHeaders {
    fn from_env(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded" => Ok(ForwardedHeaders::XForwarded),
            "forwarded" => Ok(ForwardedHeaders::Forwarded),
            _ => Err(format!("'{text}': expected x-forwarded or forwarded")),
        }
    }
    fn from_file(value: toml::Value) -> Result<Self, String> {
        from_toml(value)
    }
}

/// A CIDR network (`10.0.0.0/8`, `fd00::/8`) or a single address.
impl Setting for IpNet {
    fn from_env(text: &str) -> Result<Self, String> {
        let entry = text.trim();
        entry
            .parse::<IpNet>()
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| format!("'{entry}' is not an address or a CIDR network"))
    }
    fn from_file(value: toml::Value) -> Result<Self, String> {
        Self::from_env(&from_toml::<String>(value)?)
    }
}

impl<T: Setting> Setting for Option<T> {
    fn from_env(text: &str) -> Result<Self, String> {
        T::from_env(text).map(Some)
    }
    fn from_file(value: toml::Value) -> Result<Self, String> {
        T::from_file(value).map(Some)
    }
}

impl<T: Setting> Setting for Vec<T> {
    fn from_env(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(T::from_env)
            .collect()
    }
    fn from_file(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Array(items) => items.into_iter().map(T::from_file).collect(),
            other => Err(format!("expected a list, got {}", other.type_str())),
        }
    }
}
