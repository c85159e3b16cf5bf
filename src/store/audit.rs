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
#[serde(rename_all = "snake_case")]
pub(crate) enum AuditResult {
    Ok,
    Failed,
    /// Stopped by a signal after recording the step in flight.
    Interrupted,
    /// Stopped because another run took the lock over.
    LostLock,
}

/// One audit document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuditEntry {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    /// When the action started.
    pub(crate) at: DateTime,
    /// `execute`, `rollback`, `ignore`, `accept`, `unlock`, `dump` or `restore`.
    pub(crate) action: String,
    /// The `[environments.<name>]` in use, if any.
    #[serde(default)]
    pub(crate) environment: Option<String>,
    /// `user@host`.
    pub(crate) who: String,
    /// The command line, as in the lock.
    pub(crate) command: String,
    /// The migrations the action set out to change, in order.
    #[serde(default)]
    pub(crate) migrations: Vec<String>,
    /// Those it completed (all of them, unless it failed).
    #[serde(default)]
    pub(crate) completed: Vec<String>,
    pub(crate) result: AuditResult,
    #[serde(default)]
    pub(crate) error: Option<String>,
    pub(crate) duration_ms: i64,
    pub(crate) tool_version: String,
    /// For a run started over SSH: `{claimed_from, host, user}`: who the remote hook says started
    /// it (not verified: any local user could pass the flag), and the account that really ran it.
    #[serde(default)]
    pub(crate) remote: Option<Document>,
    /// The dump taken before the action, if any.
    #[serde(default)]
    pub(crate) dump: Option<String>,
    /// Anything else worth keeping (e.g. the holder a forced unlock released).
    #[serde(default)]
    pub(crate) details: Option<Document>,
}

impl AuditEntry {
    /// A new entry for `action` started at `at`, to be completed by the caller.
    pub(crate) fn new(action: &str, at: DateTime, who: &str, command: &str) -> AuditEntry {
        AuditEntry {
            id: ObjectId::new(),
            at,
            action: action.to_string(),
            environment: None,
            who: who.to_string(),
            command: command.to_string(),
            migrations: Vec::new(),
            completed: Vec::new(),
            result: AuditResult::Ok,
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
pub(crate) struct AuditLog {
    entries: Collection<AuditEntry>,
}

impl AuditLog {
    /// The audit log kept next to the registry collection `registry`.
    pub(crate) fn new(db: &Database, registry: &str) -> AuditLog {
        AuditLog {
            entries: db.collection(&super::audit_collection(registry)),
        }
    }

    /// Appends `entry`.
    pub(crate) async fn append(&self, entry: &AuditEntry) -> Result<()> {
        self.entries
            .insert_one(entry)
            .await
            .map(drop)
            .map_err(Error::database("cannot write the audit log"))
    }

    /// The newest entries first: at most `limit` (all when `None`), none older than `since`.
    pub(crate) async fn recent(
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
