//! NekoHub's storage overview: every profile, the default, and where
//! uploads without a profile go now (the runtime), with whether that agrees
//! with the database (the alignment).

use super::{StorageProfileService, configuration::capabilities};
use crate::{
    domain::{
        Permission, Principal, ProviderType, StorageAlignment, StorageOverview, StorageProfile,
        StorageRuntime,
    },
    error::Result,
};

impl StorageProfileService {
    /// Every profile (the default first, then enabled ones, by name), the
    /// default, and where uploads without a profile go now.
    pub async fn overview(&self, principal: &Principal) -> Result<StorageOverview> {
        principal.require(Permission::ProvidersRead)?;
        let profiles: Vec<StorageProfile> = self
            .db
            .list_storage_profiles()
            .await?
            .iter()
            .map(|r| self.present(r))
            .collect();
        let default_profile = profiles.iter().find(|p| p.is_default).cloned();
        let (runtime, alignment) = match &default_profile {
            Some(default) => (
                StorageRuntime {
                    provider_type: default.provider_type,
                    provider_name: default.configuration_summary["providerName"]
                        .as_str()
                        .unwrap_or(default.provider_type.provider_name())
                        .to_string(),
                    capabilities: default.capabilities.clone(),
                    is_configuration_driven: false,
                    matches_default_profile_type: Some(true),
                },
                if default.is_enabled {
                    StorageAlignment {
                        runtime_selection_source: "database-default-profile",
                        has_default_profile: true,
                        is_default_profile_enabled: Some(true),
                        provider_type_matches_default_profile: Some(true),
                        code: "runtime_matches_db_default_provider_type",
                        message: "Runtime write target is resolved from the database default write profile.",
                    }
                } else {
                    StorageAlignment {
                        runtime_selection_source: "database-default-profile",
                        has_default_profile: true,
                        is_default_profile_enabled: Some(false),
                        provider_type_matches_default_profile: Some(true),
                        code: "db_default_profile_disabled",
                        message: "Database default write profile is disabled. Uploads without an explicit storage profile will be rejected until the default profile is enabled or replaced.",
                    }
                },
            ),
            None => (
                StorageRuntime {
                    provider_type: ProviderType::Local,
                    provider_name: ProviderType::Local.provider_name().into(),
                    capabilities: capabilities(ProviderType::Local),
                    is_configuration_driven: true,
                    matches_default_profile_type: None,
                },
                StorageAlignment {
                    runtime_selection_source: "configuration",
                    has_default_profile: false,
                    is_default_profile_enabled: None,
                    provider_type_matches_default_profile: None,
                    code: "db_default_profile_missing",
                    message: "No default write profile is set in database. Runtime provider is selected from configuration.",
                },
            ),
        };
        Ok(StorageOverview {
            profiles,
            default_profile,
            runtime,
            alignment,
        })
    }
}
