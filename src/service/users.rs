use tracing::instrument;

use super::AuthService;
use crate::{
    auth::passwords::hash_password,
    db::Db,
    domain::{Permission, Permissions, Principal, Rank, Role, User, UserAccount, now, to_micros},
    error::{Error, Result},
};

/// A user to create. Without permissions (or with an empty list) the user
/// gets the role's defaults.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub is_active: bool,
    pub permissions: Option<Vec<String>>,
}

/// A change to a user's profile; `None` leaves a field alone. A new role
/// resets the user's permissions to the role's defaults.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub username: Option<String>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// User management with NekoHub's guards: admins manage plain users only,
/// super admins are made on the server and never disabled, demoted or
/// narrowed through the API, nobody changes their own role, status or
/// permissions. On top, no caller grants what it does not hold itself.
#[derive(Clone)]
pub struct UserService {
    db: Db,
    auth: AuthService,
}

impl UserService {
    pub fn new(db: Db, auth: AuthService) -> Self {
        UserService { db, auth }
    }

    /// The user `id`, if the caller may manage them (so a user the caller
    /// may not see is refused, never described).
    async fn managed(&self, principal: &Principal, id: &str) -> Result<UserAccount> {
        let account = self
            .db
            .user(id.trim())
            .await?
            .ok_or_else(|| Error::UserNotFound(id.to_string()))?;
        check_manage(principal, &account.user)?;
        Ok(account)
    }

    /// Those the caller may see: everyone for super admins and the
    /// operator, plain users for admins, nobody for anyone else.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<User>> {
        principal.require(Permission::UsersRead)?;
        let rank = principal.rank();
        let mut users = self.db.list_users().await?;
        users.retain(|user| match rank {
            Rank::Operator | Rank::SuperAdmin => true,
            Rank::Admin => user.role == Role::User,
            Rank::User | Rank::None => false,
        });
        Ok(users)
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> Result<User> {
        principal.require(Permission::UsersRead)?;
        Ok(self.managed(principal, id).await?.user)
    }

    #[instrument(skip_all)]
    pub async fn create(&self, principal: &Principal, new: NewUser) -> Result<User> {
        principal.require(Permission::UsersCreate)?;
        if new.role == Role::SuperAdmin {
            return Err(Error::UserSuperAdminCreateForbidden);
        }
        let allowed = match principal.rank() {
            Rank::Operator | Rank::SuperAdmin => true,
            Rank::Admin => new.role == Role::User,
            Rank::User | Rank::None => false,
        };
        if !allowed {
            return Err(Error::UserCreateForbidden);
        }
        let own_permissions = match new.permissions {
            Some(names) if !names.is_empty() => Some(Permissions::from_names(&names)),
            _ => None,
        };
        let username = self.auth.available_username(&new.username).await?;
        let password_hash = password_hash(&new.password)?;
        let mut account = UserAccount::new(
            uuid::Uuid::now_v7().to_string(),
            username,
            new.role,
            password_hash,
        );
        account.own_permissions = own_permissions;
        account.user.is_active = new.is_active;
        account.settle_permissions();
        check_grant(principal, account.user.permissions)?;
        self.db.insert_user(&account).await?;
        Ok(account.user)
    }

    /// Renames, changes the role (resetting permissions to the role's
    /// defaults) or the active flag, with the same guards as the routes
    /// made for each (NekoHub skips the status guards here; tessera does not).
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        change: UserChange,
    ) -> Result<User> {
        principal.require(Permission::UsersUpdate)?;
        let mut account = self.managed(principal, id).await?;
        check_grant(principal, account.user.permissions)?;
        if let Some(role) = change.role.filter(|role| *role != account.user.role) {
            if role == Role::SuperAdmin {
                return Err(Error::UserSuperAdminPromoteForbidden);
            }
            if account.user.role == Role::SuperAdmin {
                return Err(Error::UserSuperAdminRoleChangeForbidden);
            }
            if is_self(principal, &account.user) {
                return Err(Error::UserSelfRoleChangeForbidden);
            }
            account.user.role = role;
            account.own_permissions = None;
            account.settle_permissions();
            check_grant(principal, account.user.permissions)?;
        }
        let deactivated = match change.is_active {
            Some(active) => set_active(principal, &mut account, active)?,
            None => false,
        };
        if let Some(username) = change.username {
            account.user.username = super::auth::normalized_username(&username)?;
        }
        self.save(account, deactivated).await
    }

    /// Activates or deactivates a user; deactivation ends their sessions.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn set_status(&self, principal: &Principal, id: &str, active: bool) -> Result<User> {
        principal.require(Permission::UsersDisable)?;
        let mut account = self.managed(principal, id).await?;
        let deactivated = set_active(principal, &mut account, active)?;
        self.save(account, deactivated).await
    }

    /// Sets a new password and ends every session of the user.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn reset_password(
        &self,
        principal: &Principal,
        id: &str,
        new_password: &str,
    ) -> Result<User> {
        principal.require(Permission::UsersUpdate)?;
        let mut account = self.managed(principal, id).await?;
        // Taking over an account means holding what it holds.
        check_grant(principal, account.user.permissions)?;
        account.password_hash = password_hash(new_password)?;
        self.save(account, true).await
    }

    /// Replaces a user's permissions with the normalised list.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn set_permissions(
        &self,
        principal: &Principal,
        id: &str,
        names: &[String],
    ) -> Result<User> {
        principal.require(Permission::UsersManagePermissions)?;
        let mut account = self.managed(principal, id).await?;
        if account.user.role == Role::SuperAdmin {
            return Err(Error::UserSuperAdminPermissionsForbidden);
        }
        if is_self(principal, &account.user) {
            return Err(Error::UserSelfPermissionsForbidden);
        }
        let wanted = Permissions::from_names(names);
        check_grant(principal, wanted)?;
        account.own_permissions = Some(wanted);
        account.settle_permissions();
        self.save(account, false).await
    }

    async fn save(&self, mut account: UserAccount, end_sessions: bool) -> Result<User> {
        let at = now();
        account.user.updated_at = at;
        self.db.update_user(&account).await?;
        if end_sessions {
            self.db
                .revoke_user_refresh_tokens(&account.user.id, to_micros(at))
                .await?;
        }
        Ok(account.user)
    }
}

/// Applies the status guards; `true` when an active user is deactivated.
fn set_active(principal: &Principal, account: &mut UserAccount, active: bool) -> Result<bool> {
    if !active {
        if account.user.role == Role::SuperAdmin {
            return Err(Error::UserSuperAdminDisableForbidden);
        }
        if is_self(principal, &account.user) {
            return Err(Error::UserSelfDisableForbidden);
        }
    }
    let deactivated = account.user.is_active && !active;
    account.user.is_active = active;
    Ok(deactivated)
}

fn password_hash(password: &str) -> Result<String> {
    super::auth::check_password(password)?;
    hash_password(password).ok_or_else(|| Error::internal("password", "hashing failed"))
}

fn is_self(principal: &Principal, user: &User) -> bool {
    principal.acting_user_id() == Some(user.id.as_str())
}

/// NekoHub's target rule: the operator manages anyone, a super admin
/// anyone but another super admin, an admin plain users only. A key has
/// its holder's rank, never more.
fn check_manage(principal: &Principal, target: &User) -> Result<()> {
    match principal.rank() {
        Rank::Operator => Ok(()),
        Rank::SuperAdmin if target.role == Role::SuperAdmin && !is_self(principal, target) => {
            Err(Error::UserManageSuperAdminForbidden)
        }
        Rank::SuperAdmin => Ok(()),
        Rank::Admin if target.role == Role::User => Ok(()),
        Rank::Admin | Rank::User | Rank::None => Err(Error::UserManageForbidden),
    }
}

/// Nobody makes a user who can do more than they can: a caller holding
/// only some permissions cannot hand out others, or take over a user who
/// holds them by resetting their password.
fn check_grant(principal: &Principal, granted: Permissions) -> Result<()> {
    if principal.permissions().covers(granted) {
        Ok(())
    } else {
        Err(Error::Forbidden {
            permission: "a permission you do not hold",
        })
    }
}
