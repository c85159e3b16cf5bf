//! The dump through the driver: documents streamed from a cursor to a writer thread (file I/O and
//! gzip never run on migo's runtime thread, so the lease keeps renewing), in bounded batches so
//! memory does not grow with a collection's size.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::Database;

use super::journal::is_restore_collection;
use super::manifest::{CollectionFiles, FileEntry};
use super::stream::{Digest256, Sink};
use super::DumpReport;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::ground::stop::Stop;
use crate::store::{catalog, LOCK_ID, RESTORE_JOURNAL_ID};

/// Documents per batch handed to the writer.
const BATCH: usize = 2_000;

/// Dumps `db` into `out/<db>/`.
pub(crate) async fn dump(
    db: &Database,
    settings: &Settings,
    out: &Path,
    progress: &(dyn Fn(&str) + Sync),
    stop: &Stop,
) -> Result<DumpReport> {
    let failed = |message: String| Error::DumpFailed {
        path: out.to_path_buf(),
        message,
        hint: None,
    };
    let db_dir = out.join(db.name());
    std::fs::create_dir(&db_dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", db_dir.display())))?;
    let gzip = settings.dump.gzip;
    let wanted = &settings.dump.collections;
    let registry = &settings.migrations.collection;
    let mut report = DumpReport {
        path: out.to_path_buf(),
        collections: 0,
        documents: 0,
        bytes: Some(0),
        took: Duration::ZERO,
        contents: Vec::new(),
        other_files: Vec::new(),
    };
    let db_name = db.name().to_string();
    for spec in catalog::collections(db).await? {
        let name = spec.get_str("name").unwrap_or_default().to_string();
        let is_collection = spec.get_str("type").map_or(true, |t| t == "collection");
        let chosen = wanted.is_empty() || wanted.contains(&name);
        let ours = is_restore_collection(&name);
        if !is_collection || name.starts_with("system.") || !chosen || ours {
            continue;
        }
        let suffix = if gzip { ".gz" } else { "" };
        let metadata = metadata(db, &name, &spec).await?;
        let meta_file = format!("{name}.metadata.json{suffix}");
        let meta_path = db_dir.join(&meta_file);
        let written = tokio::task::spawn_blocking(move || {
            let mut sink = Sink::create(&meta_path, gzip)?;
            sink.write_all(metadata.as_bytes())?;
            sink.finish()
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        let meta_digest =
            written.map_err(|e| failed(format!("cannot write the metadata of `{name}`: {e}")))?;
        // The lock and a restore's journal live in the registry collection; a dump never
        // carries them.
        let filter = if &name == registry {
            doc! {"_id": {"$nin": [LOCK_ID, RESTORE_JOURNAL_ID]}}
        } else {
            doc! {}
        };
        let data_file = format!("{name}.bson{suffix}");
        let path = db_dir.join(&data_file);
        let (n, size, digest) = documents(db, &name, filter, &path, gzip, progress, stop)
            .await
            .map_err(|e| match e {
                Dumping::Stopped(signal) => Error::Interrupted {
                    signal,
                    step: None,
                    done: Vec::new(),
                    rollback: false,
                },
                Dumping::Failed(message) => failed(format!("cannot dump `{name}`: {message}")),
            })?;
        report.documents += n;
        report.bytes = report.bytes.map(|b| b + size);
        report.collections += 1;
        let entry = |file: &str, digest: Digest256| FileEntry {
            file: format!("{db_name}/{file}"),
            bytes: digest.bytes,
            sha256: digest.sha256,
        };
        report.contents.push(CollectionFiles {
            name,
            documents: n,
            data: entry(&data_file, digest),
            metadata: Some(entry(&meta_file, meta_digest)),
        });
    }
    Ok(report)
}

/// Why a collection's dump stopped.
enum Dumping {
    Stopped(i32),
    Failed(String),
}

/// mongodump's `<collection>.metadata.json`: options and indexes, in canonical Extended JSON.
async fn metadata(db: &Database, name: &str, spec: &Document) -> Result<String> {
    let indexes: Vec<Bson> = catalog::indexes(db, name)
        .await?
        .into_iter()
        .map(Bson::Document)
        .collect();
    let options = spec.get_document("options").cloned().unwrap_or_default();
    let metadata = doc! {
        "indexes": indexes,
        "collectionName": name,
        "type": "collection",
        "options": options,
    };
    Ok(Bson::Document(metadata)
        .into_canonical_extjson()
        .to_string())
}

/// Streams `name`'s documents matching `filter`, as the server's raw BSON, into `path`.
/// Returns the documents and BSON bytes written, and what the file holds on disk.
async fn documents(
    db: &Database,
    name: &str,
    filter: Document,
    path: &Path,
    gzip: bool,
    progress: &(dyn Fn(&str) + Sync),
    stop: &Stop,
) -> std::result::Result<(u64, u64, Digest256), Dumping> {
    let failed = |e: &dyn std::fmt::Display| Dumping::Failed(e.to_string());
    let collection = db.collection::<RawDocumentBuf>(name);
    let total = collection.estimated_document_count().await.unwrap_or(0);
    // Bounded batches keep memory flat: the server would otherwise send up to 16 MB at a time.
    let mut cursor = collection
        .find(filter)
        .batch_size(u32::try_from(BATCH).unwrap_or(u32::MAX))
        .await
        .map_err(|e| failed(&crate::ground::driver::short_message(&e)))?;
    let sink = Sink::create(path, gzip).map_err(|e| failed(&e))?;
    let (sender, receiver) = sync_channel::<Vec<RawDocumentBuf>>(4);
    let writer = std::thread::spawn(move || write_batches(sink, &receiver));
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut last_report = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut outcome = Ok(());
    loop {
        if let Some(signal) = stop.signal() {
            outcome = Err(Dumping::Stopped(signal));
            break;
        }
        match cursor.try_next().await {
            Ok(Some(document)) => {
                bytes += document.as_bytes().len() as u64;
                count += 1;
                batch.push(document);
            }
            Ok(None) => break,
            Err(e) => {
                outcome = Err(failed(&crate::ground::driver::short_message(&e)));
                break;
            }
        }
        if batch.len() >= BATCH {
            // A closed channel means the writer failed; its error comes from join below.
            if sender.send(std::mem::take(&mut batch)).is_err() {
                break;
            }
        }
        if total >= 10_000 && last_report.elapsed() >= Duration::from_secs(1) {
            progress(&format!(
                "dumping `{name}`: {count} of about {total} documents"
            ));
            last_report = Instant::now();
        }
    }
    if outcome.is_ok() && !batch.is_empty() {
        let _ = sender.send(batch);
    }
    drop(sender);
    let written = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| failed(&e))?
        .map_err(|_| Dumping::Failed("the writer thread stopped".into()))?;
    outcome?;
    let digest = written.map_err(|e| failed(&e))?;
    Ok((count, bytes, digest))
}

/// The writer thread: every batch into `sink`, then finish and sync it.
fn write_batches(
    mut sink: Sink,
    batches: &Receiver<Vec<RawDocumentBuf>>,
) -> std::io::Result<Digest256> {
    for batch in batches {
        for document in &batch {
            sink.write_all(document.as_bytes())?;
        }
    }
    sink.finish()
}
