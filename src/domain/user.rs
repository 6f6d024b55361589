use chrono::{DateTime, Utc};

use super::{Permission, Permissions};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    SuperAdmin,
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "superAdmin",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '-'], "")
            .as_str()
        {
            "superadmin" => Some(Role::SuperAdmin),
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    /// What the role may do unless the user was granted permissions of
    /// their own (NekoHub's defaults). A super admin always holds them all.
    pub fn default_permissions(self) -> Permissions {
        match self {
            Role::SuperAdmin | Role::Admin => Permissions::all(),
            Role::User => [Permission::AssetsRead].into_iter().collect(),
        }
    }
}

impl std::str::FromStr for Role {
    type Err = crate::error::Error;
    fn from_str(value: &str) -> Result<Role, Self::Err> {
        Role::parse(value).ok_or_else(|| {
            crate::error::Error::InvalidRequest(format!(
                "role must be superAdmin, admin or user, got '{value}'"
            ))
        })
    }
}

/// A person who logs in (never with the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub permissions: Permissions,
    /// A user who is not active cannot log in, and their sessions and keys
    /// stop at once.
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// A user as stored: with the hash their password is checked against, and
/// the permissions of their own if they have any (else the role's apply).
#[derive(Clone, Debug)]
pub struct UserAccount {
    pub user: User,
    pub own_permissions: Option<Permissions>,
    pub password_hash: String,
}

impl UserAccount {
    /// A new, active user with the role's permissions.
    pub fn new(id: String, username: String, role: Role, password_hash: String) -> Self {
        let at = super::now();
        UserAccount {
            user: User {
                id,
                username,
                role,
                permissions: role.default_permissions(),
                is_active: true,
                created_at: at,
                updated_at: at,
                last_login_at: None,
            },
            own_permissions: None,
            password_hash,
        }
    }

    /// Sets what the user may do from their role and own permissions (after
    /// either changed).
    pub fn settle_permissions(&mut self) {
        self.user.permissions = match (self.user.role, self.own_permissions) {
            (Role::SuperAdmin, _) | (_, None) => self.user.role.default_permissions(),
            (_, Some(own)) => own,
        };
    }
}

/// A refresh token as stored: only its hash is kept, so this is its
/// bookkeeping. Tokens of one login form a family that ends together.
#[derive(Clone, Debug)]
pub struct StoredRefreshToken {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a login or a refresh hands out.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: User,
}
