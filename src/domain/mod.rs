//! Plain domain types shared by the service and both transports.

mod ai_provider;
mod api_key;
mod asset;
mod content;
mod job;
mod principal;
mod skill;
mod storage_profile;
mod upload;
mod user;
mod workflow;

pub use ai_provider::*;
pub use api_key::*;
pub use asset::*;
pub use content::*;
pub use job::*;
pub use principal::*;
pub use skill::*;
pub use storage_profile::*;
pub use upload::*;
pub use user::*;
pub use workflow::*;

use chrono::{DateTime, Utc};

/// Database timestamps are Unix microseconds (portable `BIGINT`).
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Current time truncated to microseconds, so values round-trip through the database.
pub fn now() -> DateTime<Utc> {
    from_micros(Utc::now().timestamp_micros())
}

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    pub total: u64,
    /// `total` is the database's estimate, not a count (see `ListTotal`).
    pub total_estimated: bool,
}

/// Lists matching up to this many assets carry an exact total; past it,
/// PostgreSQL gives its planner's estimate (an exact count there reads every matching row).
pub const EXACT_TOTAL_LIMIT: u64 = 10_000;

/// How many assets a list matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListTotal {
    pub value: u64,
    /// The planner's estimate rather than a count (only past `EXACT_TOTAL_LIMIT`).
    pub estimated: bool,
}

impl ListTotal {
    pub fn exact(value: u64) -> ListTotal {
        ListTotal {
            value,
            estimated: false,
        }
    }
}
