//! The swap of a restore, and what finishes or undoes it after any stop. Each collection is
//! swapped in two renames: its original moves aside (`migo_restore_prev.<name>`), then the loaded
//! copy moves in; the originals are dropped only once every collection is swapped. The registry
//! collection (holding the lock and the journal) comes last and moves in one rename, carrying the
//! lock and the journal with it, so the lock is never absent.
//!
//! Each step is preceded by a fenced write of the journal ([`super::journal`]), and what each
//! collection reached is read back from the catalog (which collections exist), so the same code
//! goes on from wherever a restore was stopped: a swap is finished forward (every temporary was
//! loaded and verified), a load is dropped. A server that refuses a rename makes the swap undo
//! itself instead; a lost connection leaves the journal for the next command.

use std::collections::HashSet;

use mongodb::bson::{doc, Document};
use mongodb::Database;

use super::journal::{Entry, Journal, Phase, Step};
use crate::error::{Error, Result};
use crate::ground::driver::{is_connection_failure, short_message};
use crate::ground::knob::checkpoint;
use crate::store::registry::Registry;
use crate::store::{LOCK_ID, RESTORE_JOURNAL_ID};

/// How an interrupted restore was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The swap was finished: the database holds the dump.
    Finished,
    /// The load was dropped (or the swap undone): the database is as it was.
    Undone,
}

/// What the next command found and did about an interrupted restore.
#[derive(Debug, Clone)]
pub(crate) struct Recovered {
    pub(crate) from: String,
    pub(crate) collections: Vec<String>,
    /// The phase it was stopped in.
    pub(crate) phase: Phase,
    pub(crate) outcome: Outcome,
}

/// Starts the swap: records which collections exist and that every temporary is loaded. A
/// collection already under a name the swap sets originals aside under is not migo's to replace:
/// the restore stops there, nothing replaced.
pub(crate) async fn begin(db: &Database, registry: &Registry, journal: &mut Journal) -> Result<()> {
    let names = catalog(db).await?;
    if let Some(entry) = journal
        .collections
        .iter()
        .find(|e| names.contains(&e.aside))
    {
        return Err(Error::RestoreFailed {
            collection: entry.name.clone(),
            message: format!(
                "a collection `{}` already exists, under the name the swap sets the original \
                 aside under; rename or drop it, then restore again",
                entry.aside
            ),
        });
    }
    for entry in &mut journal.collections {
        entry.existed = Some(names.contains(&entry.name));
    }
    journal.phase = Phase::Swapping;
    let first = journal.collections.first().map(|e| e.name.clone());
    journal
        .save(registry)
        .await
        .map_err(lost(first.as_deref().unwrap_or_default()))
}

/// A journal write that failed because the connection was lost leaves the restore for the next
/// command: said as such, with the collection the swap was at.
fn lost(collection: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |e| match e {
        Error::Database { source, .. } if is_connection_failure(&source) => {
            Error::RestoreUnfinished {
                collection: collection.to_string(),
                message: format!("the connection was lost: {}", short_message(&source)),
            }
        }
        other => other,
    }
}

/// Swaps every loaded collection in (or finishes a swap that was stopped), then drops the
/// originals set aside and the journal. A server's refusal undoes the swap instead; a lost
/// connection leaves it for the next command.
pub(crate) async fn forward(
    db: &Database,
    registry: &Registry,
    journal: &mut Journal,
) -> Result<()> {
    if let Err((collection, e)) = swap_in(db, registry, journal).await? {
        let message = short_message(&e);
        if is_connection_failure(&e) {
            return Err(Error::RestoreUnfinished {
                collection,
                message: format!("the connection was lost: {message}"),
            });
        }
        return match back(db, registry, journal).await {
            Ok(()) => Err(Error::RestoreFailed {
                collection,
                message: format!(
                    "swapping it in failed: {message}; the swap was undone, every collection is \
                     as it was"
                ),
            }),
            Err(undo) => Err(Error::RestoreUnfinished {
                collection,
                message: format!("{message}; undoing the swap failed too: {undo}"),
            }),
        };
    }
    finish(db, registry, journal).await
}

/// Whether `entry`'s original is in its aside collection (moved there by this restore).
fn is_aside(entry: &Entry, names: &HashSet<String>) -> bool {
    names.contains(&entry.aside)
        && match entry.step {
            Step::Aside | Step::In => true,
            // Stopped between the fenced write and the rename's reply: the catalog tells.
            Step::Moving => !names.contains(&entry.name),
            Step::Planned => false,
        }
}

/// The renames, collection by collection; `Ok(Err(..))` is the rename the server refused.
async fn swap_in(
    db: &Database,
    registry: &Registry,
    journal: &mut Journal,
) -> Result<std::result::Result<(), (String, mongodb::error::Error)>> {
    let mut names = catalog(db).await?;
    for i in 0..journal.collections.len() {
        let entry = journal.collections[i].clone();
        if !names.contains(&entry.temporary) {
            continue; // already in
        }
        checkpoint(&format!("restore-swap:{}", entry.name));
        if entry.name == registry.name() {
            // The registry: one rename that brings the lock and the journal (saying it is in).
            journal
                .set_step(registry, i, Step::Moving)
                .await
                .map_err(lost(&entry.name))?;
            let mut after = journal.clone();
            after.collections[i].step = Step::In;
            after.phase = Phase::Finishing;
            let carried = carry(db, registry.name(), &entry.temporary, after.document()?).await;
            let renamed = match carried {
                Ok(()) => rename(db, &entry.temporary, &entry.name, true).await,
                Err(e) => Err(e),
            };
            if let Err(e) = renamed {
                return Ok(Err((entry.name, e)));
            }
            *journal = after;
            continue;
        }
        if entry.existed == Some(true) && names.contains(&entry.name) && !is_aside(&entry, &names) {
            journal
                .set_step(registry, i, Step::Moving)
                .await
                .map_err(lost(&entry.name))?;
            if let Err(e) = rename(db, &entry.name, &entry.aside, false).await {
                return Ok(Err((entry.name, e)));
            }
            names.remove(&entry.name);
            names.insert(entry.aside.clone());
            journal
                .set_step(registry, i, Step::Aside)
                .await
                .map_err(lost(&entry.name))?;
        }
        checkpoint(&format!("restore-aside:{}", entry.name));
        if let Err(e) = rename(db, &entry.temporary, &entry.name, true).await {
            return Ok(Err((entry.name, e)));
        }
        names.remove(&entry.temporary);
        names.insert(entry.name.clone());
        journal
            .set_step(registry, i, Step::In)
            .await
            .map_err(lost(&entry.name))?;
    }
    Ok(Ok(()))
}

/// Every collection is in: drops the originals set aside, then the journal.
async fn finish(db: &Database, registry: &Registry, journal: &mut Journal) -> Result<()> {
    let last = journal.collections.last().map(|e| e.name.clone());
    journal
        .set_phase(registry, Phase::Finishing)
        .await
        .map_err(lost(last.as_deref().unwrap_or_default()))?;
    checkpoint("restore-finish");
    for entry in &journal.collections {
        if entry.existed == Some(true) {
            drop_collection(db, &entry.aside).await?;
        }
    }
    journal.close(registry, db).await
}

/// Undoes a swap: every original back in its place, every loaded copy dropped, from the last
/// collection to the first.
pub(crate) async fn back(db: &Database, registry: &Registry, journal: &mut Journal) -> Result<()> {
    journal.set_phase(registry, Phase::Undoing).await?;
    let names = catalog(db).await?;
    let undo = |e: mongodb::error::Error| Error::Registry(short_message(&e));
    for i in (0..journal.collections.len()).rev() {
        let entry = journal.collections[i].clone();
        let loaded_in = entry.step != Step::Planned && !names.contains(&entry.temporary);
        if entry.name == registry.name() {
            // Swapped last and in one rename: when the swap is undone, it was not swapped.
        } else if is_aside(&entry, &names) {
            if loaded_in {
                // Back to its temporary name, to be dropped below.
                rename(db, &entry.name, &entry.temporary, false)
                    .await
                    .map_err(undo)?;
            }
            rename(db, &entry.aside, &entry.name, true)
                .await
                .map_err(undo)?;
        } else if loaded_in && entry.existed == Some(false) {
            // The loaded copy went in where there was nothing.
            drop_collection(db, &entry.name).await?;
        }
        drop_collection(db, &entry.temporary).await?;
        journal.set_step(registry, i, Step::Planned).await?;
    }
    journal.close(registry, db).await
}

/// Drops the loaded temporaries of a restore stopped before its swap, then the journal.
pub(crate) async fn drop_loaded(
    db: &Database,
    registry: &Registry,
    journal: &mut Journal,
) -> Result<()> {
    // A fenced write first: the lease must still be ours before anything is dropped.
    let phase = journal.phase;
    journal.set_phase(registry, phase).await?;
    for entry in &journal.collections {
        drop_collection(db, &entry.temporary).await?;
    }
    journal.close(registry, db).await
}

/// Settles the restore a stop interrupted, if the registry holds its journal: a load is dropped,
/// a swap finished (or, when the server refuses it, undone). Runs under the lease, first thing.
pub(crate) async fn recover(db: &Database, registry: &Registry) -> Result<Option<Recovered>> {
    let Some(mut journal) = Journal::read(db, registry.name()).await? else {
        return Ok(None);
    };
    let phase = journal.phase;
    let outcome = match phase {
        Phase::Done => {
            journal.close(registry, db).await?;
            return Ok(None);
        }
        Phase::Loading => {
            drop_loaded(db, registry, &mut journal).await?;
            Outcome::Undone
        }
        Phase::Undoing => {
            back(db, registry, &mut journal).await?;
            Outcome::Undone
        }
        Phase::Swapping => match forward(db, registry, &mut journal).await {
            Ok(()) => Outcome::Finished,
            Err(Error::RestoreFailed { .. }) => Outcome::Undone,
            Err(e) => return Err(e),
        },
        Phase::Finishing => {
            finish(db, registry, &mut journal).await?;
            Outcome::Finished
        }
    };
    Ok(Some(Recovered {
        from: journal.from.clone(),
        collections: journal.names(),
        phase,
        outcome,
    }))
}

/// The restored registry must hold this restore's lock and journal, not the dump's.
async fn carry(
    db: &Database,
    registry: &str,
    temporary: &str,
    journal: Document,
) -> mongodb::error::Result<()> {
    let temp = db.collection::<Document>(temporary);
    temp.delete_many(doc! {"_id": {"$in": [LOCK_ID, RESTORE_JOURNAL_ID]}})
        .await?;
    let lock = db
        .collection::<Document>(registry)
        .find_one(doc! {"_id": LOCK_ID})
        .await?;
    temp.insert_many(lock.into_iter().chain([journal])).await?;
    Ok(())
}

/// `renameCollection` within the database.
async fn rename(
    db: &Database,
    from: &str,
    to: &str,
    drop_target: bool,
) -> mongodb::error::Result<()> {
    db.client()
        .database("admin")
        .run_command(doc! {
            "renameCollection": format!("{}.{from}", db.name()),
            "to": format!("{}.{to}", db.name()),
            "dropTarget": drop_target,
        })
        .await
        .map(drop)
}

/// Drops `name` (nothing when it does not exist).
async fn drop_collection(db: &Database, name: &str) -> Result<()> {
    db.collection::<Document>(name)
        .drop()
        .await
        .map_err(Error::database(format!("cannot drop `{name}`")))
}

/// The names of the database's collections.
async fn catalog(db: &Database) -> Result<HashSet<String>> {
    Ok(db
        .list_collection_names()
        .await
        .map_err(Error::database("cannot list the collections"))?
        .into_iter()
        .collect())
}
