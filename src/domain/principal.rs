use crate::error::Error;

/// Defines [`Permission`] from one table: the variant and its wire name.
macro_rules! permissions {
    ($($variant:ident => $name:literal,)*) => {
        /// A permission a user or API key may hold. The names are NekoHub's
        /// nineteen, plus `apiKeys.manage` for the keys NekoHub does not have.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Permission {
            $($variant,)*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }
        }
    };
}

permissions! {
    AssetsRead => "assets.read",
    AssetsCreate => "assets.create",
    AssetsUpdate => "assets.update",
    AssetsDelete => "assets.delete",
    ProvidersRead => "providers.read",
    ProvidersCreate => "providers.create",
    ProvidersUpdate => "providers.update",
    ProvidersDelete => "providers.delete",
    AiProvidersRead => "aiProviders.read",
    AiProvidersCreate => "aiProviders.create",
    AiProvidersUpdate => "aiProviders.update",
    AiProvidersDelete => "aiProviders.delete",
    SettingsRead => "settings.read",
    SettingsUpdate => "settings.update",
    UsersRead => "users.read",
    UsersCreate => "users.create",
    UsersUpdate => "users.update",
    UsersDisable => "users.disable",
    UsersManagePermissions => "users.managePermissions",
    ApiKeysManage => "apiKeys.manage",
}

impl Permission {
    pub fn parse(value: &str) -> Option<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == value)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of permissions, cheap to copy into every request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions(u32);

impl Permissions {
    pub fn all() -> Self {
        Permission::ALL.iter().copied().collect()
    }

    /// A requested list as NekoHub normalises it: names trimmed, unknown
    /// names dropped, duplicates merged.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Permissions {
        names
            .iter()
            .filter_map(|name| Permission::parse(name.as_ref().trim()))
            .collect()
    }

    /// The names in ordinal order, as every response lists them.
    pub fn names(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.iter().map(Permission::as_str).collect();
        names.sort_unstable();
        names
    }
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    /// Whether every permission of `other` is also in `self`.
    pub fn covers(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permissions in both sets.
    pub fn intersection(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Permissions(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

/// Who an API key acts for. A key never outranks its holder.
#[derive(Clone, Debug)]
pub enum KeyHolder {
    /// Keys from the configuration or the CLI, and the keys they made: the
    /// operator's machine keys, with full rank.
    Operator,
    /// A key a user made acts for that user as they are now: it stops with
    /// a disabled user and shrinks with a demoted one.
    User(super::User),
    /// A key stored before keys recorded their holder: its scopes still
    /// work, but it has no rank to manage users or other keys.
    Unknown,
}

/// How far a caller reaches in user and key management, lowest first: a
/// caller manages those it outranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    None,
    User,
    Admin,
    SuperAdmin,
    Operator,
}

impl From<super::Role> for Rank {
    fn from(role: super::Role) -> Rank {
        match role {
            super::Role::User => Rank::User,
            super::Role::Admin => Rank::Admin,
            super::Role::SuperAdmin => Rank::SuperAdmin,
        }
    }
}

/// Who is calling. Authentication builds it once per request (in the shared
/// tower layer); the service decides what it may do.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    ApiKey {
        /// `None` for static keys from the configuration.
        key_id: Option<String>,
        name: String,
        /// The key's scopes within what its holder may do now.
        permissions: Permissions,
        holder: KeyHolder,
    },
    /// A logged-in user (JWT access token), checked against the database on
    /// every request so disabling takes effect at once.
    User(super::User),
}

impl Principal {
    /// The operator acting through the configuration (seeding at start).
    pub fn operator(name: &str) -> Principal {
        Principal::ApiKey {
            key_id: None,
            name: name.to_string(),
            permissions: Permissions::all(),
            holder: KeyHolder::Operator,
        }
    }

    /// The caller's rank: a user's role, or the rank of a key's holder.
    pub fn rank(&self) -> Rank {
        match self {
            Principal::Anonymous => Rank::None,
            Principal::User(user) => user.role.into(),
            Principal::ApiKey { holder, .. } => match holder {
                KeyHolder::Operator => Rank::Operator,
                KeyHolder::User(user) => user.role.into(),
                KeyHolder::Unknown => Rank::None,
            },
        }
    }

    /// The user the caller acts for: the user, or the holder of the key.
    pub fn acting_user_id(&self) -> Option<&str> {
        match self {
            Principal::User(user)
            | Principal::ApiKey {
                holder: KeyHolder::User(user),
                ..
            } => Some(&user.id),
            _ => None,
        }
    }

    /// Who owns what this caller starts (an upload in progress): one user,
    /// one stored key or one configured key. `None` for anonymous callers.
    pub fn owner_key(&self) -> Option<String> {
        match self {
            Principal::Anonymous => None,
            Principal::User(user) => Some(format!("user:{}", user.id)),
            Principal::ApiKey {
                key_id: Some(id), ..
            } => Some(format!("key:{id}")),
            Principal::ApiKey {
                key_id: None, name, ..
            } => Some(format!("config:{name}")),
        }
    }

    /// Everything this caller may do.
    pub fn permissions(&self) -> Permissions {
        match self {
            Principal::Anonymous => Permissions::default(),
            Principal::ApiKey { permissions, .. } => *permissions,
            Principal::User(user) => user.permissions,
        }
    }

    /// Fails with 401 for anonymous callers and 403 for a missing permission.
    pub fn require(&self, permission: Permission) -> Result<(), Error> {
        let permissions = match self {
            Principal::Anonymous => return Err(Error::Unauthorized),
            Principal::ApiKey { permissions, .. } => *permissions,
            Principal::User(user) => user.permissions,
        };
        if permissions.contains(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                permission: permission.as_str(),
            })
        }
    }
}
