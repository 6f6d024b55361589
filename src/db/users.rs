use sqlx::FromRow;

use super::{Db, flag, permissions_from_json, permissions_to_json};
use crate::{
    domain::{Permissions, Role, StoredRefreshToken, User, UserAccount, from_micros, to_micros},
    error::{Error, Result},
};

/// A row of `users`; becomes a [`UserAccount`] before it leaves `db/`.
#[derive(FromRow)]
struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    role: String,
    /// JSON array of permission names; `None` means the role's defaults.
    permissions: Option<String>,
    is_active: i64,
    created_at: i64,
    updated_at: i64,
    last_login_at: Option<i64>,
}

impl TryFrom<UserRow> for UserAccount {
    type Error = Error;

    fn try_from(row: UserRow) -> Result<UserAccount> {
        let role = Role::parse(&row.role)
            .ok_or_else(|| Error::internal("user", format!("corrupt role {}", row.role)))?;
        let own_permissions = row.permissions.as_deref().map(permissions_from_json);
        let mut account = UserAccount {
            user: User {
                id: row.id,
                username: row.username,
                role,
                permissions: Permissions::default(),
                is_active: row.is_active != 0,
                created_at: from_micros(row.created_at),
                updated_at: from_micros(row.updated_at),
                last_login_at: row.last_login_at.map(from_micros),
            },
            own_permissions,
            password_hash: row.password_hash,
        };
        account.settle_permissions();
        Ok(account)
    }
}

/// Own permissions as stored: a JSON array of names, or `NULL` for the role's.
fn permissions_json(account: &UserAccount) -> Option<String> {
    account.own_permissions.map(permissions_to_json)
}

#[derive(FromRow)]
struct RefreshTokenRow {
    id: String,
    user_id: String,
    family_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<RefreshTokenRow> for StoredRefreshToken {
    fn from(row: RefreshTokenRow) -> StoredRefreshToken {
        StoredRefreshToken {
            id: row.id,
            user_id: row.user_id,
            family_id: row.family_id,
            expires_at: from_micros(row.expires_at),
            used_at: row.used_at.map(from_micros),
            revoked_at: row.revoked_at.map(from_micros),
        }
    }
}

/// A write that lost the name to another user at the same moment is a
/// conflict, not a server error.
fn username_conflict<T>(done: std::result::Result<T, sqlx::Error>, username: &str) -> Result<()> {
    match done {
        Err(err) if super::is_unique_violation(&err) => {
            Err(Error::UserUsernameConflict(username.to_string()))
        }
        Err(err) => Err(err.into()),
        Ok(_) => Ok(()),
    }
}

const USER_COLUMNS: &str = "id, username, password_hash, role, permissions, is_active, created_at, updated_at, last_login_at";

impl Db {
    pub async fn insert_user(&self, account: &UserAccount) -> Result<()> {
        let user = &account.user;
        let done = sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, permissions, is_active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&account.password_hash)
        .bind(user.role.as_str())
        .bind(permissions_json(account))
        .bind(flag(user.is_active))
        .bind(to_micros(user.created_at))
        .bind(to_micros(user.updated_at))
        .execute(&self.pool)
        .await;
        username_conflict(done, &user.username)
    }

    pub async fn user(&self, id: &str) -> Result<Option<UserAccount>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(UserAccount::try_from).transpose()
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserAccount>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(UserAccount::try_from).transpose()
    }

    /// Every user, newest first (then by name), as NekoHub lists them.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at DESC, username, id");
        let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| UserAccount::try_from(row).map(|account| account.user))
            .collect()
    }

    /// Writes name, role, permissions, active flag and password hash of a
    /// user; a name another user holds is a conflict, decided by the unique
    /// index so two renames at once cannot both take it.
    pub async fn update_user(&self, account: &UserAccount) -> Result<()> {
        let user = &account.user;
        let done = sqlx::query(
            "UPDATE users SET username = $1, role = $2, permissions = $3, password_hash = $4, is_active = $5, updated_at = $6 \
             WHERE id = $7",
        )
        .bind(&user.username)
        .bind(user.role.as_str())
        .bind(permissions_json(account))
        .bind(&account.password_hash)
        .bind(flag(user.is_active))
        .bind(to_micros(user.updated_at))
        .bind(&user.id)
        .execute(&self.pool)
        .await;
        username_conflict(done, &user.username)
    }

    pub async fn record_login(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn count_users(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub async fn set_user_active(&self, id: &str, active: bool, at: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3")
            .bind(flag(active))
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_refresh_token(
        &self,
        id: &str,
        user_id: &str,
        family_id: &str,
        token_hash: &str,
        expires_at: i64,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(family_id)
        .bind(token_hash)
        .bind(expires_at)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn refresh_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredRefreshToken>> {
        let row: Option<RefreshTokenRow> = sqlx::query_as(
            "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(StoredRefreshToken::from))
    }

    /// Marks a token used; `false` when another request used it first (so
    /// exactly one refresh wins a race).
    pub async fn use_refresh_token(&self, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends every session of a user (reuse detected, password reset, disable).
    pub async fn revoke_user_refresh_tokens(&self, user_id: &str, at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
