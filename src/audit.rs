//! The audit log: one document per action that changed something (execute, rollback, ignore,
//! accept, unlock, restore) or saved it (dump), in `<collection>_audit`, read back by `history`.
//!
//! The registry says where each migration stands now; the audit log says who moved it there, when,
//! from where, and how it went — including runs that failed half way.

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
}

/// One audit document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// When the action started.
    pub at: DateTime,
    /// `execute`, `rollback`, `ignore`, `accept`, `unlock`, `dump` or `restore`.
    pub action: String,
    /// The `[environments.<name>]` in use, if any.
    #[serde(default)]
    pub environment: Option<String>,
    /// `user@host`.
    pub who: String,
    /// The command line, as in the lock.
    pub command: String,
    /// The migrations the action set out to change, in order.
    #[serde(default)]
    pub migrations: Vec<String>,
    /// Those it completed (all of them, unless it failed).
    #[serde(default)]
    pub completed: Vec<String>,
    pub result: Outcome,
    #[serde(default)]
    pub error: Option<String>,
    pub duration_ms: i64,
    pub tool_version: String,
    /// For a run started over SSH: `{from, host, user}` (who started it where, and where it ran).
    #[serde(default)]
    pub remote: Option<Document>,
    /// The dump taken before the action, if any.
    #[serde(default)]
    pub dump: Option<String>,
    /// Anything else worth keeping (e.g. the holder a forced unlock released).
    #[serde(default)]
    pub details: Option<Document>,
}

impl AuditEntry {
    /// A new entry for `action` started at `at`, to be completed by the caller.
    pub fn new(action: &str, at: DateTime, who: &str, command: &str) -> AuditEntry {
        AuditEntry {
            id: ObjectId::new(),
            at,
            action: action.to_string(),
            environment: None,
            who: who.to_string(),
            command: command.to_string(),
            migrations: Vec::new(),
            completed: Vec::new(),
            result: Outcome::Ok,
            error: None,
            duration_ms: (DateTime::now().timestamp_millis() - at.timestamp_millis()).max(0),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            remote: None,
            dump: None,
            details: None,
        }
    }
}

/// The audit collection.
#[derive(Debug, Clone)]
pub struct AuditLog {
    entries: Collection<AuditEntry>,
}

impl AuditLog {
    /// The audit log kept next to the registry collection `registry`.
    pub fn new(db: &Database, registry: &str) -> AuditLog {
        AuditLog {
            entries: db.collection(&format!("{registry}_audit")),
        }
    }

    /// Appends `entry`.
    pub async fn append(&self, entry: &AuditEntry) -> Result<()> {
        self.entries
            .insert_one(entry)
            .await
            .map(drop)
            .map_err(Error::database("cannot write the audit log"))
    }

    /// The newest entries first: at most `limit` (all when `None`), none older than `since`.
    pub async fn recent(
        &self,
        limit: Option<u64>,
        since: Option<DateTime>,
    ) -> Result<Vec<AuditEntry>> {
        use futures_util::TryStreamExt;
        let filter = since.map_or_else(Document::new, |t| doc! {"at": {"$gte": t}});
        let mut find = self.entries.find(filter).sort(doc! {"at": -1, "_id": -1});
        if let Some(limit) = limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let read = Error::database("cannot read the audit log");
        find.await
            .map_err(read)?
            .try_collect()
            .await
            .map_err(Error::database("cannot read the audit log"))
    }
}
