//! The registry: one document per migration in the `migrations` collection, and the narrow set
//! of reads and writes migo makes to it.
//!
//! A document's `_id` is the migration's name, so "one record per migration" is enforced by the
//! server's own unique `_id` index, with no index to create first.

use std::time::Duration;

use mongodb::bson::{doc, DateTime, Document};
use mongodb::options::ReplaceOptions;
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::migration::discover::MigrationFile;
use crate::store::lock::Holder;

/// A batch size large enough that a registry of thousands of records comes in the first reply.
const ONE_BATCH: u32 = 1_000_000;
/// The field wrapping the lock document in [`Registry::records_and_holder`].
const HOLDER: &str = "__migo_lock_holder";

/// A migration's recorded status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Started and not finished: running now, or interrupted.
    Running,
    Applied,
    /// Registered as applied without running.
    Ignored,
    Failed,
}

impl Status {
    /// The lower-case word used in the registry and in output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Applied => "applied",
            Status::Ignored => "ignored",
            Status::Failed => "failed",
        }
    }
}

/// One registry document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The migration's name, also its `_id`.
    #[serde(rename = "_id")]
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) number: i64,
    /// SHA-256 of the file when it was run.
    pub(crate) checksum: String,
    pub(crate) status: Status,
    pub(crate) started_at: DateTime,
    /// When it finished (applied, ignored or failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) applied_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<i64>,
    /// `user@host` of the process that ran it.
    pub(crate) who: String,
    pub(crate) tool_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl Record {
    /// Marks it finished with `status` after `elapsed`, in memory.
    pub(crate) fn finish(&mut self, status: Status, elapsed: Duration, error: Option<String>) {
        self.status = status;
        self.applied_at = Some(DateTime::now());
        self.duration_ms = Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        self.error = error;
    }

    /// A fresh record for `file` in `status`, stamped now.
    pub(crate) fn new(file: &MigrationFile, status: Status, who: &str) -> Record {
        Record {
            id: file.name.clone(),
            name: file.name.clone(),
            number: i64::try_from(file.number).unwrap_or(i64::MAX),
            checksum: file.checksum.clone(),
            status,
            started_at: DateTime::now(),
            applied_at: None,
            duration_ms: None,
            who: who.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            error: None,
        }
    }
}

/// The registry collection.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    records: Collection<Record>,
    database: String,
}

impl Registry {
    /// The registry in `collection` of `db`.
    pub(crate) fn new(db: &Database, collection: &str) -> Registry {
        Registry {
            records: db.collection(collection),
            database: db.name().to_string(),
        }
    }

    /// Every record, in one query: one batch holds them all (up to 16 MB), so no `getMore`.
    pub(crate) async fn records(&self) -> Result<Vec<Record>> {
        use futures_util::TryStreamExt;
        let cursor = self
            .records
            .find(doc! {})
            .batch_size(ONE_BATCH)
            .await
            .map_err(Error::database("cannot read the migrations registry"))?;
        cursor
            .try_collect()
            .await
            .map_err(Error::database("cannot read the migrations registry"))
    }

    /// Every record and the lock's holder, in one round trip: the lock document joins the
    /// registry's through `$unionWith`, wrapped so it cannot be taken for a record.
    pub(crate) async fn records_and_holder(&self) -> Result<(Vec<Record>, Option<Holder>)> {
        use futures_util::TryStreamExt;
        let locks = format!("{}_lock", self.records.name());
        let pipeline = [doc! {"$unionWith": {
            "coll": locks,
            "pipeline": [{"$replaceRoot": {"newRoot": {HOLDER: "$$ROOT"}}}],
        }}];
        let read = || Error::database("cannot read the migrations registry");
        let documents: Vec<Document> = self
            .records
            .clone_with_type::<Document>()
            .aggregate(pipeline)
            .batch_size(ONE_BATCH)
            .await
            .map_err(read())?
            .try_collect()
            .await
            .map_err(read())?;
        let mut records = Vec::with_capacity(documents.len());
        let mut holder = None;
        for document in documents {
            match document.get_document(HOLDER) {
                Ok(lock) => holder = mongodb::bson::from_document(lock.clone()).ok(),
                Err(_) => records.push(mongodb::bson::from_document(document).map_err(|e| {
                    Error::Registry(format!(
                        "the migrations registry holds a document migo cannot read: {e}"
                    ))
                })?),
            }
        }
        Ok((records, holder))
    }

    /// Writes `record`, replacing any earlier one for the same migration.
    pub(crate) async fn put(
        &self,
        record: &Record,
        session: Option<&mut ClientSession>,
    ) -> Result<()> {
        let options = ReplaceOptions::builder().upsert(true).build();
        let replace = self
            .records
            .replace_one(doc! {"_id": &record.id}, record)
            .with_options(options);
        let written = match session {
            Some(s) => replace.session(s).await,
            None => replace.await,
        };
        written.map(drop).map_err(Error::database(format!(
            "cannot record `{}` as {} in the registry",
            record.name,
            record.status.as_str()
        )))
    }

    /// Marks a started migration finished with `status`, taking `elapsed`, and writes it.
    pub(crate) async fn finish(
        &self,
        record: &mut Record,
        status: Status,
        elapsed: Duration,
        error: Option<String>,
        session: Option<&mut ClientSession>,
    ) -> Result<()> {
        record.finish(status, elapsed, error);
        self.put(record, session).await
    }

    /// Writes `records` in order, as the statements of one `update` command: one round trip.
    pub(crate) async fn put_all(&self, records: &[Record]) -> Result<()> {
        let context = || {
            let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
            format!("cannot record {} in the registry", names.join(", "))
        };
        let updates = records
            .iter()
            .map(|r| {
                let replacement = mongodb::bson::to_document(r)
                    .map_err(|e| Error::Registry(format!("{}: {e}", context())))?;
                Ok(doc! {"q": {"_id": &r.id}, "u": replacement, "upsert": true})
            })
            .collect::<Result<Vec<Document>>>()?;
        let command = doc! {"update": self.records.name(), "updates": updates, "ordered": true};
        let reply = self
            .records
            .client()
            .database(&self.database)
            .run_command(command)
            .await
            .map_err(Error::database(context()))?;
        match reply.get_array("writeErrors").ok().and_then(|e| e.first()) {
            Some(first) => Err(Error::Registry(format!("{}: {first}", context()))),
            None => Ok(()),
        }
    }

    /// Records `checksum` as the one `name` was applied with (`migo accept`).
    pub(crate) async fn set_checksum(&self, name: &str, checksum: &str) -> Result<()> {
        self.records
            .update_one(doc! {"_id": name}, doc! {"$set": {"checksum": checksum}})
            .await
            .map(drop)
            .map_err(Error::database(format!(
                "cannot record the new checksum of `{name}`"
            )))
    }

    /// Deletes the record of `name` (after a rollback).
    pub(crate) async fn remove(
        &self,
        name: &str,
        session: Option<&mut ClientSession>,
    ) -> Result<()> {
        let delete = self.records.delete_one(doc! {"_id": name});
        let deleted = match session {
            Some(s) => delete.session(s).await,
            None => delete.await,
        };
        deleted.map(drop).map_err(Error::database(format!(
            "cannot remove `{name}` from the registry"
        )))
    }
}
