//! SQL lives here: one repository implementation over `sqlx::Any` for SQLite
//! and PostgreSQL, with the portable schema of `migrations/`.

mod ai_providers;
mod api_keys;
mod assets;
mod derivatives;
mod details;
mod executions;
mod inventory;
mod jobs;
mod storage_profiles;
mod uploads;
mod users;
mod workflows;

pub use assets::{AssetUpdate, OriginalReplacement};
pub use inventory::PublicContent;
pub use jobs::{JOBS_CHANNEL, LeasedJob, NewJob};

use std::{path::Path, str::FromStr, time::Duration};

use crate::domain::{Permission, Permissions};

use sqlx::{
    Any, AnyPool, Executor, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
};

/// The few places where the two engines must differ go through this switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Shared handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    url: String,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects to `url` (`postgres://...` or `sqlite://...`).
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // A ping before every checkout doubles the round trips of a read.
            // A connection that died idle fails its next query instead, and is
            // then dropped; `idle_timeout` retires old ones before that happens.
            .test_before_acquire(false)
            .idle_timeout(Duration::from_secs(60))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Db {
            pool,
            dialect,
            url: url.to_string(),
        })
    }

    /// The embedded default: a SQLite file in the data dir, created when missing.
    pub fn sqlite_url(path: &Path) -> String {
        format!("sqlite://{}?mode=rwc", path.display())
    }

    /// Applies pending migrations. PostgreSQL serialises concurrent runs with
    /// an advisory lock; SQLite has none, so a run that lost a race with
    /// another process on the same file is retried and then sees the work done.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(&self.pool).await {
                Err(_) if self.dialect == Dialect::Sqlite && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                outcome => return outcome,
            }
        }
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`): a deferred transaction that read first cannot
    /// be upgraded while another connection writes, and fails with "database
    /// is locked" without waiting; an immediate one waits its turn under the
    /// busy timeout. PostgreSQL needs nothing special.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Connection URL, for the PostgreSQL listener that needs a connection of its own.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally inside `LIKE ... ESCAPE '\'`.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Whether a write lost to a unique index (a name taken at the same moment).
fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

fn flag(value: bool) -> i16 {
    i16::from(value)
}

/// A permission set as stored (user grants, key scopes): a JSON array of
/// names. Names this version does not know are dropped, never widened.
fn permissions_from_json(json: &str) -> Permissions {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|name| Permission::parse(name))
        .collect()
}

fn permissions_to_json(permissions: Permissions) -> String {
    serde_json::Value::from(permissions.names()).to_string()
}
