//! `migo restore`: a dump read back into the configured database, replacing nothing until the
//! dump has proved itself complete ([`super::verify`]) and every collection of it is loaded.
//!
//! Under the lock: the journal is written ([`super::journal`]), then each collection is loaded
//! into a temporary collection (options, documents, indexes), its file checked again as it is
//! read; a stop (SIGINT, SIGTERM) is honoured between batches, and a stop or a failure drops the
//! temporaries and leaves the database as it was. Only then the swap ([`super::swap`]), which
//! finishes whatever happens.
//!
//! migo's own audit log is never restored (history only grows), and the registry keeps the lock
//! held by this restore.

use mongodb::bson::{doc, Document, RawDocumentBuf};
use mongodb::Database;

use super::journal::{Journal, Phase};
use super::stream::{self, Digest256, Documents};
use super::swap;
use super::verify::{Dump, DumpedCollection};
use crate::error::{Error, Result};
use crate::ground::driver::short_message;
use crate::ground::knob::checkpoint;
use crate::ground::stop::Reason;
use crate::halt::Halt;
use crate::store::registry::Registry;

/// Documents per `insert` while loading.
const BATCH: usize = 5_000;

/// What a restore put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub(crate) struct RestoreReport {
    pub(crate) collections: usize,
    pub(crate) documents: u64,
    pub(crate) indexes: usize,
}

/// Why a collection's load stopped.
enum Stop {
    Halted(Reason),
    Failed(String),
}

/// Loads every collection of `dump` into a temporary one, then swaps them all in. `registry` is
/// migo's registry, fenced by this restore's lease (the journal is written there, and the lock
/// document in it is carried over); `halt` is checked between collections and batches, and
/// before the swap; `who` is recorded in the journal.
pub(crate) async fn restore(
    db: &Database,
    dump: &Dump,
    registry: &Registry,
    halt: &Halt,
    who: &str,
) -> Result<RestoreReport> {
    let names: Vec<&str> = dump.collections.iter().map(|c| c.name.as_str()).collect();
    let from = std::fs::canonicalize(&dump.dir).unwrap_or_else(|_| dump.dir.clone());
    let mut journal = Journal::new(
        &from.display().to_string(),
        dump.manifest_sha256.clone(),
        who,
        &names,
        registry.name(),
    );
    journal.save(registry).await?;
    let mut report = RestoreReport::default();
    for entry in journal.collections.clone() {
        let Some(dumped) = dump.collections.iter().find(|c| c.name == entry.name) else {
            continue;
        };
        if let Some(reason) = halt.reason() {
            return Err(stopped(db, registry, &mut journal, reason).await);
        }
        checkpoint(&format!("restore-load:{}", entry.name));
        // Fenced: a restore whose lease was taken over creates nothing more.
        journal.set_phase(registry, Phase::Loading).await?;
        match load(db, dumped, &entry.temporary, halt).await {
            Ok(indexes) => {
                report.indexes += indexes;
                report.documents += dumped.documents;
                report.collections += 1;
            }
            Err(Stop::Halted(reason)) => {
                return Err(stopped(db, registry, &mut journal, reason).await)
            }
            Err(Stop::Failed(message)) => {
                if let Err(e) = swap::drop_loaded(db, registry, &mut journal).await {
                    tracing::warn!("cannot drop the loaded collections: {e}");
                }
                return Err(Error::RestoreFailed {
                    collection: dumped.name.clone(),
                    message,
                });
            }
        }
    }
    if let Some(reason) = halt.reason() {
        return Err(stopped(db, registry, &mut journal, reason).await);
    }
    if let Err(e) = swap::begin(db, registry, &mut journal).await {
        if matches!(e, Error::RestoreFailed { .. }) {
            swap::drop_loaded(db, registry, &mut journal).await?;
        }
        return Err(e);
    }
    swap::forward(db, registry, &mut journal).await?;
    Ok(report)
}

/// A stop before the swap: on a signal, the loaded copies are dropped; a lost lease writes (and
/// drops) nothing more, leaving the journal to the run that took the lock over.
async fn stopped(
    db: &Database,
    registry: &Registry,
    journal: &mut Journal,
    reason: Reason,
) -> Error {
    match reason {
        Reason::Signal(signal) => match swap::drop_loaded(db, registry, journal).await {
            Ok(()) => Error::RestoreStopped { signal },
            Err(e) => e,
        },
        Reason::LostLock(loss) => Error::LostLock {
            reason: loss.describe().to_string(),
            step: None,
            done: Vec::new(),
        },
    }
}

/// Creates `temporary` with the dumped options, inserts the documents, builds the indexes.
/// Returns the number of indexes built.
async fn load(
    db: &Database,
    dumped: &DumpedCollection,
    temporary: &str,
    halt: &Halt,
) -> std::result::Result<usize, Stop> {
    let short = |e: mongodb::error::Error| Stop::Failed(short_message(&e));
    db.collection::<Document>(temporary)
        .drop()
        .await
        .map_err(short)?;
    let mut create = doc! {"create": temporary};
    create.extend(dumped.options.clone());
    db.run_command(create).await.map_err(short)?;
    insert_documents(db, dumped, temporary, halt).await?;
    let indexes: Vec<Document> = dumped
        .indexes
        .iter()
        .filter(|i| i.get_str("name") != Ok("_id_"))
        .cloned()
        .collect();
    if !indexes.is_empty() {
        db.run_command(doc! {"createIndexes": temporary, "indexes": indexes.clone()})
            .await
            .map_err(|e| {
                Stop::Failed(format!("cannot rebuild its indexes: {}", short_message(&e)))
            })?;
    }
    Ok(indexes.len())
}

/// What the reader thread sends.
enum Reading {
    Batch(Vec<RawDocumentBuf>),
    /// The end of the file: documents read and what the file held.
    End(u64, std::io::Result<Digest256>),
    Failed(String),
}

/// Streams the data file (read on a thread of its own) into `temporary`, in batches, stopping
/// between batches when `halt` says so; the file must still be what was checked.
async fn insert_documents(
    db: &Database,
    dumped: &DumpedCollection,
    temporary: &str,
    halt: &Halt,
) -> std::result::Result<(), Stop> {
    let collection = db.collection::<RawDocumentBuf>(temporary);
    let path = dumped.data.clone();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Reading>(2);
    let reader = std::thread::spawn(move || {
        let input = match stream::open(&path) {
            Ok(input) => input,
            Err(e) => return drop(sender.blocking_send(Reading::Failed(e.to_string()))),
        };
        let mut documents = Documents::new(input);
        let mut batch = Vec::with_capacity(BATCH);
        let mut count = 0u64;
        loop {
            match documents.next_document() {
                Ok(Some(document)) => batch.push(document),
                Ok(None) => break,
                Err(e) => return drop(sender.blocking_send(Reading::Failed(e))),
            }
            count += 1;
            if batch.len() >= BATCH
                && sender
                    .blocking_send(Reading::Batch(std::mem::take(&mut batch)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() && sender.blocking_send(Reading::Batch(batch)).is_err() {
            return;
        }
        let digest = documents.into_inner().finish();
        let _ = sender.blocking_send(Reading::End(count, digest));
    });
    let mut outcome = Err(Stop::Failed("the dump reader stopped".into()));
    while let Some(read) = receiver.recv().await {
        if let Some(reason) = halt.reason() {
            outcome = Err(Stop::Halted(reason));
            break;
        }
        match read {
            Reading::Batch(batch) => {
                if let Err(e) = collection
                    .insert_many(batch)
                    .bypass_document_validation(true)
                    .await
                {
                    outcome = Err(Stop::Failed(short_message(&e)));
                    break;
                }
            }
            Reading::End(count, digest) => {
                outcome = unchanged(dumped, count, digest).map_err(Stop::Failed);
                break;
            }
            Reading::Failed(e) => {
                outcome = Err(Stop::Failed(e));
                break;
            }
        }
    }
    drop(receiver);
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    outcome
}

/// Whether the data file read during the load is still the one that was checked.
fn unchanged(
    dumped: &DumpedCollection,
    count: u64,
    digest: std::io::Result<Digest256>,
) -> std::result::Result<(), String> {
    let file = dumped.data.display();
    let digest = digest.map_err(|e| format!("`{file}` cannot be read: {e}"))?;
    if dumped.digest.as_ref().is_some_and(|d| *d != digest) || count != dumped.documents {
        return Err(format!(
            "the dump file `{file}` changed after it was checked (now {} bytes, {count} \
             documents)",
            digest.bytes
        ));
    }
    Ok(())
}
