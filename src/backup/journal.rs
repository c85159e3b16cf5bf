//! A restore's journal: one document (`_id: "__migo_restore__"`) in the registry collection that
//! says what a restore is doing, so that whatever stops it (a signal, `kill -9`, a lost
//! connection, a lost lease), the next migo that takes the lock can finish the swap or undo the
//! load, never leaving the database half restored.
//!
//! It holds the plan (which temporary collection replaces which collection, in which order, the
//! dump's directory and its manifest's SHA-256) and how far it got: the phase (`loading`,
//! `swapping`, `undoing`, `finishing`) and, per collection, the swap's step. Every write of it is
//! fenced like every registry write (one ordered `update` led by the lease's fence), so a restore
//! that lost its lease cannot write it any more. It is deleted when the restore ends either way.

use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::Database;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::registry::Registry;
use crate::store::RESTORE_JOURNAL_ID;

/// Where a collection is loaded before the swap.
const TEMPORARY: &str = "migo_restore.";
/// Where a collection's original waits during the swap, until every collection is swapped.
const ASIDE: &str = "migo_restore_prev.";

/// A restore's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    /// Loading the temporaries: nothing is replaced yet; a stop drops them.
    Loading,
    /// Every temporary is loaded and verified: a stop is finished forward.
    Swapping,
    /// The swap failed on a server's refusal and is being undone.
    Undoing,
    /// Every collection is swapped; the originals set aside are being dropped.
    Finishing,
    /// Over; the document is about to be deleted.
    Done,
}

/// How far the swap got with one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    /// The swap has not touched it.
    Planned,
    /// Its original is being moved aside (the rename may or may not have happened).
    Moving,
    /// Its original is aside.
    Aside,
    /// The loaded collection is in its place.
    In,
}

/// One collection of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) temporary: String,
    pub(crate) aside: String,
    /// Whether the collection existed when the swap began (unknown while loading).
    #[serde(default)]
    pub(crate) existed: Option<bool>,
    pub(crate) step: Step,
}

/// The journal document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Journal {
    #[serde(rename = "_id")]
    id: String,
    pub(crate) phase: Phase,
    /// The dump's directory.
    pub(crate) from: String,
    /// The SHA-256 of the dump's manifest; none for a dump restored with `--trust-dump`.
    pub(crate) manifest_sha256: Option<String>,
    /// `user@host` of the restore that wrote it.
    pub(crate) who: String,
    pub(crate) started_at: DateTime,
    /// In swap order; the registry collection, swapped in one rename, comes last.
    pub(crate) collections: Vec<Entry>,
}

impl Journal {
    /// The plan for restoring `names` (the registry collection `registry` last), loading.
    pub(crate) fn new(
        from: &str,
        manifest_sha256: Option<String>,
        who: &str,
        names: &[&str],
        registry: &str,
    ) -> Journal {
        let mut ordered: Vec<&str> = names.iter().copied().filter(|n| *n != registry).collect();
        if names.contains(&registry) {
            ordered.push(registry);
        }
        Journal {
            id: RESTORE_JOURNAL_ID.to_string(),
            phase: Phase::Loading,
            from: from.to_string(),
            manifest_sha256,
            who: who.to_string(),
            started_at: DateTime::now(),
            collections: ordered
                .into_iter()
                .map(|name| Entry {
                    name: name.to_string(),
                    temporary: temporary_name(name),
                    aside: aside_name(name),
                    existed: None,
                    step: Step::Planned,
                })
                .collect(),
        }
    }

    /// The journal in a registry document, if it is one.
    pub(crate) fn from_document(document: Document) -> Option<Journal> {
        mongodb::bson::from_document(document).ok()
    }

    /// As a document.
    pub(crate) fn document(&self) -> Result<Document> {
        mongodb::bson::to_document(self)
            .map_err(|e| Error::Registry(format!("cannot encode the restore's journal: {e}")))
    }

    /// The journal of the registry collection `registry`, if there is one.
    pub(crate) async fn read(db: &Database, registry: &str) -> Result<Option<Journal>> {
        let found = db
            .collection::<Document>(registry)
            .find_one(doc! {"_id": RESTORE_JOURNAL_ID})
            .await
            .map_err(Error::database("cannot read the restore's journal"))?;
        found
            .map(|document| {
                Journal::from_document(document).ok_or_else(|| {
                    Error::Registry(format!(
                        "the registry `{registry}` holds a restore journal (`_id: \
                         \"{RESTORE_JOURNAL_ID}\"`) that this migo cannot read"
                    ))
                })
            })
            .transpose()
    }

    /// Writes it whole, fenced: an error if the lease is no longer ours.
    pub(crate) async fn save(&self, registry: &Registry) -> Result<()> {
        let statement = doc! {
            "q": {"_id": RESTORE_JOURNAL_ID},
            "u": self.document()?,
            "upsert": true,
        };
        registry
            .write(vec![statement], None, "cannot write the restore's journal")
            .await
    }

    /// Records that collection `i` reached `step` (fenced; the document is not rewritten whole, so a
    /// restore of many collections writes little).
    pub(crate) async fn set_step(
        &mut self,
        registry: &Registry,
        i: usize,
        step: Step,
    ) -> Result<()> {
        self.collections[i].step = step;
        self.update(registry, format!("collections.{i}.step"), to_bson(&step)?)
            .await
    }

    /// Records `phase` (fenced).
    pub(crate) async fn set_phase(&mut self, registry: &Registry, phase: Phase) -> Result<()> {
        self.phase = phase;
        self.update(registry, "phase".to_string(), to_bson(&phase)?)
            .await
    }

    async fn update(&self, registry: &Registry, field: String, value: Bson) -> Result<()> {
        let mut set = Document::new();
        set.insert(field, value);
        let statement = doc! {"q": {"_id": RESTORE_JOURNAL_ID}, "u": {"$set": set}};
        registry
            .write(vec![statement], None, "cannot write the restore's journal")
            .await
    }

    /// Marks it done (fenced) and deletes it.
    pub(crate) async fn close(&mut self, registry: &Registry, db: &Database) -> Result<()> {
        self.set_phase(registry, Phase::Done).await?;
        db.collection::<Document>(registry.name())
            .delete_one(doc! {"_id": RESTORE_JOURNAL_ID, "phase": "done"})
            .await
            .map(drop)
            .map_err(Error::database("cannot delete the restore's journal"))
    }

    /// The names of its collections, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.collections.iter().map(|e| e.name.clone()).collect()
    }
}

fn to_bson(value: &impl Serialize) -> Result<Bson> {
    mongodb::bson::to_bson(value)
        .map_err(|e| Error::Registry(format!("cannot encode the restore's journal: {e}")))
}

/// Where `name` is loaded before the swap.
pub(crate) fn temporary_name(name: &str) -> String {
    format!("{TEMPORARY}{name}")
}

/// Where `name`'s original waits during the swap.
pub(crate) fn aside_name(name: &str) -> String {
    format!("{ASIDE}{name}")
}

/// Whether `name` is one of a restore's own collections (never dumped, never restored).
pub(crate) fn is_restore_collection(name: &str) -> bool {
    name.starts_with(TEMPORARY) || name.starts_with(ASIDE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_swapped_last_and_the_document_round_trips() {
        let journal = Journal::new(
            "/d",
            None,
            "me@here",
            &["migrations", "a", "b"],
            "migrations",
        );
        assert_eq!(journal.names(), ["a", "b", "migrations"]);
        assert_eq!(journal.collections[0].aside, "migo_restore_prev.a");
        let document = journal.document().unwrap();
        assert_eq!(document.get_str("_id").unwrap(), RESTORE_JOURNAL_ID);
        assert_eq!(document.get_str("phase").unwrap(), "loading");
        assert_eq!(Journal::from_document(document), Some(journal));
        assert!(is_restore_collection("migo_restore_prev.x"));
        assert!(!is_restore_collection("migo_restoreX"));
    }
}
