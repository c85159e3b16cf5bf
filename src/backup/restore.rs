//! `migo restore`: a dump read back into the configured database without ever destroying data
//! first.
//!
//! 1. The dump must be complete (its marker, written last) and every file must read to its end:
//!    each `.bson` is decoded document by document, each metadata file parsed. A damaged file is
//!    named with the byte where it breaks, and nothing is touched.
//! 2. Each collection is loaded into a temporary collection (options, documents, indexes).
//! 3. Only when all of them loaded are they swapped in (`renameCollection` with `dropTarget`).
//!    Any failure before that drops the temporaries and leaves the database as it was.
//!
//! migo's own audit log is never restored (history only grows), and the registry keeps the lock
//! held by this restore.

use std::io::Read;
use std::path::{Path, PathBuf};

use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::Database;

use super::layout;
use super::stream::{self, Documents};
use crate::error::{Error, Result};
use crate::plan::refusal::Refusal;
use crate::store::{catalog, LOCK_ID};

/// Documents per `insert` while loading.
const BATCH: usize = 5_000;

/// One collection found in a dump.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DumpedCollection {
    pub(crate) name: String,
    pub(crate) data: PathBuf,
    pub(crate) metadata: Option<PathBuf>,
    /// From the metadata file: the collection's options and indexes (filled by [`validate`]).
    pub(crate) options: Document,
    pub(crate) indexes: Vec<Document>,
    /// Documents in the data file (counted by [`validate`]).
    pub(crate) documents: u64,
}

/// What a restore put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub(crate) struct RestoreReport {
    pub(crate) collections: usize,
    pub(crate) documents: u64,
    pub(crate) indexes: usize,
}

/// The collections of the dump at `dir` (a dump directory holding one database directory, or
/// that database directory), leaving out `skip`. A dump without its completion marker is
/// refused unless `trust` (for a dump mongodump took outside migo).
pub(crate) fn find_collections(
    dir: &Path,
    skip: &[String],
    trust: bool,
) -> Result<Vec<DumpedCollection>> {
    let invalid = |why: String| {
        Error::Refused(Refusal::NotADump {
            dir: dir.display().to_string(),
            why,
        })
    };
    let listing = |d: &Path| -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(d).map_err(|e| invalid(format!("cannot be read: {e}")))?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        Ok(paths)
    };
    let is_data = |p: &PathBuf| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.ends_with(".bson") || name.ends_with(".bson.gz")
    };
    let mut files = listing(dir)?;
    let mut dump_dir = dir.to_path_buf();
    if !files.iter().any(is_data) {
        let subdirs: Vec<PathBuf> = files.into_iter().filter(|p| p.is_dir()).collect();
        match subdirs.as_slice() {
            [only] => files = listing(only)?,
            [] => return Err(invalid("holds no dump (no `.bson` files)".into())),
            _ => return Err(invalid("holds several databases; name one of them".into())),
        }
    } else if let Some(parent) = dir.parent() {
        dump_dir = parent.to_path_buf();
    }
    if !trust && layout::read_marker(&dump_dir).is_none() {
        return Err(invalid(format!(
            "has no completion marker (`{}`): it may be a dump that was cut off (a full disk, a \
             kill); if you know it is complete (e.g. mongodump took it), pass `--trust-dump`",
            layout::MARKER
        )));
    }
    Ok(files
        .iter()
        .filter(|p| is_data(p))
        .filter_map(|data| {
            let file = data.file_name()?.to_string_lossy().into_owned();
            let (name, gz) = match file.strip_suffix(".bson.gz") {
                Some(name) => (name.to_string(), ".gz"),
                None => (file.strip_suffix(".bson")?.to_string(), ""),
            };
            let metadata = data.with_file_name(format!("{name}.metadata.json{gz}"));
            Some(DumpedCollection {
                metadata: metadata.exists().then_some(metadata),
                data: data.clone(),
                name,
                options: Document::new(),
                indexes: Vec::new(),
                documents: 0,
            })
        })
        .filter(|c| !skip.contains(&c.name))
        .collect())
}

/// Reads every file of the dump to its end (off the runtime thread), filling in the options,
/// indexes and document counts; the first damaged file is an error naming it and the byte.
pub(crate) async fn validate(
    mut collections: Vec<DumpedCollection>,
) -> Result<Vec<DumpedCollection>> {
    tokio::task::spawn_blocking(move || {
        for collection in &mut collections {
            let damaged = |file: &Path, problem: String| Error::DamagedDump {
                file: file.to_path_buf(),
                problem,
            };
            if let Some(path) = &collection.metadata {
                let (options, indexes) =
                    read_metadata(path).map_err(|problem| damaged(path, problem))?;
                collection.options = options;
                collection.indexes = indexes;
            }
            let input = stream::open(&collection.data)
                .map_err(|e| damaged(&collection.data, e.to_string()))?;
            let mut documents = Documents::new(input);
            while documents
                .next_document()
                .map_err(|problem| damaged(&collection.data, problem))?
                .is_some()
            {
                collection.documents += 1;
            }
        }
        Ok(collections)
    })
    .await
    .map_err(|e| Error::Registry(format!("the dump reader stopped: {e}")))?
}

/// Loads every collection into a temporary one, then swaps them all in. `registry` is migo's
/// registry collection: the lock document in it (this restore's) is carried over.
pub(crate) async fn restore(
    db: &Database,
    collections: &[DumpedCollection],
    registry: &str,
) -> Result<RestoreReport> {
    let mut loaded: Vec<(String, String)> = Vec::new();
    let mut report = RestoreReport::default();
    for dumped in collections {
        let temporary = temporary_name(&dumped.name);
        loaded.push((temporary.clone(), dumped.name.clone()));
        let result = load(db, dumped, &temporary).await;
        match result {
            Ok(indexes) => {
                report.indexes += indexes;
                report.documents += dumped.documents;
                report.collections += 1;
            }
            Err(message) => {
                drop_all(db, &loaded).await;
                return Err(Error::RestoreFailed {
                    collection: dumped.name.clone(),
                    message,
                });
            }
        }
    }
    if let Some((temporary, _)) = loaded.iter().find(|(_, name)| name == registry) {
        if let Err(message) = carry_lock(db, registry, temporary).await {
            drop_all(db, &loaded).await;
            return Err(Error::RestoreFailed {
                collection: registry.to_string(),
                message,
            });
        }
    }
    for (temporary, name) in &loaded {
        let from = format!("{}.{temporary}", db.name());
        let to = format!("{}.{name}", db.name());
        db.client()
            .database("admin")
            .run_command(doc! {"renameCollection": from, "to": to, "dropTarget": true})
            .await
            .map_err(|e| Error::RestoreFailed {
                collection: name.clone(),
                message: format!(
                    "swapping it in failed (collections listed before it are already restored): {}",
                    crate::store::connection::short_message(&e)
                ),
            })?;
    }
    Ok(report)
}

/// Where a collection is loaded before the swap.
fn temporary_name(name: &str) -> String {
    format!("migo_restore.{name}")
}

/// Drops the temporary collections (best effort: the targets were never touched).
async fn drop_all(db: &Database, loaded: &[(String, String)]) {
    for (temporary, _) in loaded {
        let _ = db.collection::<Document>(temporary).drop().await;
    }
}

/// The restored registry must not hold the dump's lock document, and must hold ours.
async fn carry_lock(
    db: &Database,
    registry: &str,
    temporary: &str,
) -> std::result::Result<(), String> {
    let temp = db.collection::<Document>(temporary);
    temp.delete_many(doc! {"_id": LOCK_ID})
        .await
        .map_err(|e| crate::store::connection::short_message(&e))?;
    let lock = db
        .collection::<Document>(registry)
        .find_one(doc! {"_id": LOCK_ID})
        .await
        .map_err(|e| crate::store::connection::short_message(&e))?;
    if let Some(lock) = lock {
        temp.insert_one(lock)
            .await
            .map_err(|e| crate::store::connection::short_message(&e))?;
    }
    Ok(())
}

/// Creates `temporary` with the dumped options, inserts the documents, builds the indexes.
/// Returns the number of indexes built.
async fn load(
    db: &Database,
    dumped: &DumpedCollection,
    temporary: &str,
) -> std::result::Result<usize, String> {
    let short = |e: mongodb::error::Error| crate::store::connection::short_message(&e);
    db.collection::<Document>(temporary)
        .drop()
        .await
        .map_err(short)?;
    let mut create = doc! {"create": temporary};
    create.extend(dumped.options.clone());
    db.run_command(create).await.map_err(short)?;
    insert_documents(db, dumped, temporary).await?;
    let indexes: Vec<Document> = dumped
        .indexes
        .iter()
        .filter(|i| i.get_str("name") != Ok("_id_"))
        .cloned()
        .collect();
    if !indexes.is_empty() {
        db.run_command(doc! {"createIndexes": temporary, "indexes": indexes.clone()})
            .await
            .map_err(|e| format!("cannot rebuild its indexes: {}", short(e)))?;
    }
    Ok(indexes.len())
}

/// The options and index specifications (without server bookkeeping) of a metadata file.
fn read_metadata(path: &Path) -> std::result::Result<(Document, Vec<Document>), String> {
    let mut text = String::new();
    stream::open(path)
        .and_then(|mut r| r.read_to_string(&mut text))
        .map_err(|e| format!("cannot be read: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("is not JSON: {e}"))?;
    let Ok(Bson::Document(metadata)) = Bson::try_from(value) else {
        return Err("is not a metadata document".into());
    };
    let options = metadata
        .get_document("options")
        .cloned()
        .unwrap_or_default();
    let indexes = metadata
        .get_array("indexes")
        .map(|list| {
            list.iter()
                .filter_map(Bson::as_document)
                .map(catalog::creatable)
                .collect()
        })
        .unwrap_or_default();
    Ok((options, indexes))
}

/// Streams the data file (read on a thread of its own) into `temporary`, in batches.
async fn insert_documents(
    db: &Database,
    dumped: &DumpedCollection,
    temporary: &str,
) -> std::result::Result<(), String> {
    let collection = db.collection::<RawDocumentBuf>(temporary);
    let path = dumped.data.clone();
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<std::result::Result<Vec<RawDocumentBuf>, String>>(2);
    let reader = std::thread::spawn(move || {
        let input = match stream::open(&path) {
            Ok(input) => input,
            Err(e) => return drop(sender.blocking_send(Err(e.to_string()))),
        };
        let mut documents = Documents::new(input);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            match documents.next_document() {
                Ok(Some(document)) => batch.push(document),
                Ok(None) => break,
                Err(e) => return drop(sender.blocking_send(Err(e))),
            }
            if batch.len() >= BATCH
                && sender
                    .blocking_send(Ok(std::mem::take(&mut batch)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = sender.blocking_send(Ok(batch));
        }
    });
    let mut outcome = Ok(());
    while let Some(batch) = receiver.recv().await {
        match batch {
            Ok(batch) => {
                if let Err(e) = collection
                    .insert_many(batch)
                    .bypass_document_validation(true)
                    .await
                {
                    outcome = Err(crate::store::connection::short_message(&e));
                    break;
                }
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    drop(receiver);
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    outcome
}
