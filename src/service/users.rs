use tracing::instrument;

use super::AuthService;
use crate::{
    auth::passwords::hash_password,
    db::Db,
    domain::{Permission, Permissions, Principal, Rank, Role, User, UserAccount, now, to_micros},
    error::{Error, Result},
};

/// A change to a user; `None` leaves a field alone. For permissions,
/// `Some(None)` returns to the role's defaults.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub permissions: Option<Option<Vec<String>>>,
    pub is_enabled: Option<bool>,
    pub password: Option<String>,
}

/// User management with the guards people expect: admins manage plain users
/// only, nobody disables or demotes themselves, and one enabled super admin
/// always remains.
#[derive(Clone)]
pub struct UserService {
    db: Db,
    auth: AuthService,
}

fn parse_permissions(names: &[String]) -> Result<Permissions> {
    names
        .iter()
        .map(|n| Permission::parse(n.trim()).ok_or_else(|| Error::ApiKeyScopeInvalid(n.clone())))
        .collect::<Result<Vec<_>>>()
        .map(|list| list.into_iter().collect())
}

impl UserService {
    pub fn new(db: Db, auth: AuthService) -> Self {
        UserService { db, auth }
    }

    async fn load(&self, id: &str) -> Result<UserAccount> {
        self.db
            .user(id.trim())
            .await?
            .ok_or_else(|| Error::UserNotFound(id.to_string()))
    }

    /// A caller may manage users ranked below it (super admins and the
    /// operator: everyone). A key has its holder's rank, never more.
    fn check_reach(principal: &Principal, target: Role) -> Result<()> {
        let caller = principal.rank();
        if caller >= Rank::SuperAdmin || Rank::from(target) < caller {
            Ok(())
        } else {
            Err(Error::Forbidden {
                permission: "users.manage (on a higher role)",
            })
        }
    }

    /// Nobody makes a user who can do more than they can: a caller holding
    /// only `users.manage` cannot create a user with the asset permissions
    /// of the role's defaults, or take over such a user by resetting their
    /// password.
    fn check_grant(principal: &Principal, granted: Permissions) -> Result<()> {
        if principal.permissions().covers(granted) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                permission: "a permission you do not hold",
            })
        }
    }

    pub async fn list(&self, principal: &Principal) -> Result<Vec<User>> {
        principal.require(Permission::UsersManage)?;
        self.db.list_users().await
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> Result<User> {
        principal.require(Permission::UsersManage)?;
        Ok(self.load(id).await?.user)
    }

    #[instrument(skip_all)]
    pub async fn create(
        &self,
        principal: &Principal,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<User> {
        principal.require(Permission::UsersManage)?;
        Self::check_reach(principal, role)?;
        Self::check_grant(principal, role.default_permissions())?;
        self.auth.create_user(username, password, role).await
    }

    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        change: UserChange,
    ) -> Result<User> {
        principal.require(Permission::UsersManage)?;
        let mut account = self.load(id).await?;
        let current = account.user.clone();
        Self::check_reach(principal, current.role)?;
        Self::check_grant(principal, current.permissions)?;
        let is_self = principal.acting_user_id() == Some(current.id.as_str());
        let demoted = change
            .role
            .is_some_and(|role| Rank::from(role) < Rank::from(current.role));
        let disabled = change.is_enabled == Some(false) && current.is_enabled;
        if is_self && (demoted || disabled) {
            return Err(Error::UserSelfChangeRefused);
        }
        // Checked where the write happens, so two such changes at once
        // cannot both pass.
        let leaves_super_admins =
            current.role == Role::SuperAdmin && current.is_enabled && (demoted || disabled);
        if let Some(role) = change.role {
            Self::check_reach(principal, role)?;
            account.user.role = role;
        }
        if let Some(permissions) = change.permissions {
            account.own_permissions = match permissions {
                None => None,
                Some(names) => {
                    let wanted = parse_permissions(&names)?;
                    Self::check_grant(principal, wanted)?;
                    Some(wanted)
                }
            };
        }
        // What the user can do after the change, role defaults included.
        account.settle_permissions();
        Self::check_grant(principal, account.user.permissions)?;
        let at = now();
        let mut end_sessions = disabled;
        if let Some(enabled) = change.is_enabled {
            account.user.is_enabled = enabled;
        }
        if let Some(password) = change.password {
            if password.chars().count() < super::MIN_PASSWORD_LEN {
                return Err(Error::UserPasswordTooShort {
                    min: super::MIN_PASSWORD_LEN,
                });
            }
            account.password_hash = hash_password(&password)
                .ok_or_else(|| Error::internal("password", "hashing failed"))?;
            end_sessions = true;
        }
        account.user.updated_at = at;
        if !self.db.update_user(&account, leaves_super_admins).await? {
            return Err(Error::UserLastSuperAdmin);
        }
        if end_sessions {
            self.db
                .revoke_user_refresh_tokens(&account.user.id, to_micros(at))
                .await?;
        }
        Ok(account.user)
    }
}
