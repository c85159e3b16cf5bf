//! Everything migo keeps in the database: the connection, the registry of migrations (with the
//! lease lock in it), the audit log and the catalog reads. The collection names live here.

pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod connection;
pub(crate) mod fence;
pub(crate) mod foreign;
pub(crate) mod lease;
pub(crate) mod lock;
pub(crate) mod record_store;
pub(crate) mod registry;

/// The lock's `_id` in the registry collection. Discovery sets `_`-prefixed files aside, so no
/// migration can be called this.
pub(crate) const LOCK_ID: &str = "__migo_lock__";

/// The `_id` of a restore's journal in the registry collection, there while a restore runs or
/// after one was interrupted (see `backup::journal`).
pub(crate) const RESTORE_JOURNAL_ID: &str = "__migo_restore__";

/// The audit log kept next to the registry collection `registry`.
pub(crate) fn audit_collection(registry: &str) -> String {
    format!("{registry}_audit")
}
