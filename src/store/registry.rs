//! The registry: one document per migration in the `migrations` collection (beside the lock
//! document), and the narrow set of reads and fenced writes migo makes to it.
//!
//! A record's `_id` is the migration's name, so "one record per migration" is enforced by the
//! server's own unique `_id` index. Every write goes through [`Registry::write`], one ordered
//! `update` command led by the lease's fence statement (see [`super::lock`]).

use std::time::Duration;

use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::{ClientSession, Collection, Database};

use super::fence::Fence;
use super::lock::{self, LockState};
use super::{LOCK_ID, RESTORE_JOURNAL_ID};
use crate::error::{Error, Result};
use crate::ground::record::{PauseRequest, Record, Status};

/// A batch size large enough that a registry of thousands of records comes in the first reply.
const ONE_BATCH: u32 = 1_000_000;

/// The registry collection, with the fence of the lease its writes carry.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    records: Collection<Record>,
    db: Database,
    fence: Option<Fence>,
}

impl Registry {
    /// The registry in `collection` of `db`, for reading.
    pub(crate) fn new(db: &Database, collection: &str) -> Registry {
        Registry {
            records: db.collection(collection),
            db: db.clone(),
            fence: None,
        }
    }

    /// The same registry, its writes fenced by `fence`.
    pub(crate) fn fenced(&self, fence: &Fence) -> Registry {
        Registry {
            fence: Some(fence.clone()),
            ..self.clone()
        }
    }

    /// The collection's name.
    pub(crate) fn name(&self) -> &str {
        self.records.name()
    }

    /// Every record, the lock and the server's time, in one round trip (the first of a run, so
    /// it is also what reports an unreachable server).
    pub(crate) async fn state(&self) -> Result<(Vec<Record>, LockState)> {
        let (records, lock, _) = self.read(false).await?;
        Ok((records, lock))
    }

    /// [`Registry::state`], and the journal of a restore (in flight or interrupted), in the same
    /// round trip.
    pub(crate) async fn state_and_restore(
        &self,
    ) -> Result<(Vec<Record>, LockState, Option<Document>)> {
        self.read(false).await
    }

    /// [`Registry::state`], passing over documents of another tool's shape (for `adopt`, which
    /// reads them itself).
    pub(crate) async fn state_beside_foreign(&self) -> Result<(Vec<Record>, LockState)> {
        let (records, lock, _) = self.read(true).await?;
        Ok((records, lock))
    }

    async fn read(&self, foreign_ok: bool) -> Result<(Vec<Record>, LockState, Option<Document>)> {
        use futures_util::TryStreamExt;
        let pipeline = [doc! {"$addFields": {"__migo_now": "$$NOW"}}];
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
        let mut lock = None;
        let mut server_now = None;
        // migopy and migo both default to `migrations`: migopy's `{name}` documents may stay
        // beside migo's records once adopted.
        let mut migopy = Vec::new();
        let mut restore = None;
        for mut document in documents {
            if document.get_str("_id") == Ok(LOCK_ID) {
                lock = Some(lock::split(self.name(), document));
                continue;
            }
            if document.get_str("_id") == Ok(RESTORE_JOURNAL_ID) {
                document.remove("__migo_now");
                restore = Some(document);
                continue;
            }
            if let Some(Bson::DateTime(now)) = document.remove("__migo_now") {
                server_now = Some(now);
            }
            match foreign_tool(&document) {
                Some(_) if foreign_ok => continue,
                Some("migopy") => {
                    migopy.push(document);
                    continue;
                }
                _ => {}
            }
            let record = self.decode(document)?;
            if record.is_live() {
                records.push(record);
            }
        }
        if let Some(unadopted) = migopy.into_iter().find(|d| {
            let name = d.get_str("name").unwrap_or_default();
            let stem = name.trim_end_matches(".py");
            !records.iter().any(|r| r.name == stem)
        }) {
            return Err(Error::ForeignRecord {
                collection: self.name().to_string(),
                id: unadopted.get("_id").map_or_else(
                    || "?".into(),
                    |v| v.clone().into_relaxed_extjson().to_string(),
                ),
                problem: format!(
                    "migopy's record of `{}`, not adopted yet",
                    unadopted.get_str("name").unwrap_or("?")
                ),
                tool: Some("migopy"),
            });
        }
        let lock = lock.unwrap_or(LockState {
            holder: None,
            server_now: server_now.unwrap_or_else(DateTime::now),
            problem: None,
        });
        Ok((records, lock, restore))
    }

    /// Every record (not the lock), in one query.
    pub(crate) async fn records(&self) -> Result<Vec<Record>> {
        Ok(self.state().await?.0)
    }

    /// A record, or an error naming the document and what is wrong with it, and which tool wrote
    /// it when its shape says so.
    fn decode(&self, document: Document) -> Result<Record> {
        let id = document.get("_id").map_or_else(
            || "?".to_string(),
            |v| v.clone().into_relaxed_extjson().to_string(),
        );
        let tool = foreign_tool(&document);
        mongodb::bson::from_document::<Record>(document).map_err(|e| Error::ForeignRecord {
            collection: self.name().to_string(),
            id,
            problem: e.to_string(),
            tool,
        })
    }

    /// Writes `records` in order (each replacing any earlier record of its migration), fenced,
    /// in `session`'s transaction when one is given: one round trip.
    pub(crate) async fn put(
        &self,
        records: &[Record],
        session: Option<&mut ClientSession>,
    ) -> Result<()> {
        let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        let statements = records
            .iter()
            .map(|r| {
                let replacement = mongodb::bson::to_document(r).map_err(|e| {
                    Error::Registry(format!("cannot encode the record of `{}`: {e}", r.name))
                })?;
                Ok(doc! {"q": {"_id": &r.id}, "u": replacement, "upsert": true})
            })
            .collect::<Result<Vec<Document>>>()?;
        self.write(
            statements,
            session,
            &format!("cannot record {}", names.join(", ")),
        )
        .await
    }

    /// Records `checksum` as the one `name` was applied with (`migo accept`).
    pub(crate) async fn set_checksum(&self, name: &str, checksum: &str) -> Result<()> {
        let statement = doc! {"q": {"_id": name}, "u": {"$set": {"checksum": checksum}}};
        self.write(
            vec![statement],
            None,
            &format!("cannot record the new checksum of `{name}`"),
        )
        .await
    }

    /// Removes the record of `name` (after a rollback, or `migo forget`). Inside a transaction
    /// the fenced delete is atomic with the rest; outside one, the fenced write marks it rolled
    /// back (which every reader takes for no record) and a second command deletes it.
    pub(crate) async fn remove(
        &self,
        name: &str,
        session: Option<&mut ClientSession>,
    ) -> Result<()> {
        let context = format!("cannot remove `{name}` from the registry");
        match session {
            Some(session) => {
                self.write(Vec::new(), Some(&mut *session), &context)
                    .await?;
                self.records
                    .delete_one(doc! {"_id": name})
                    .session(session)
                    .await
                    .map(drop)
                    .map_err(Error::database(context))
            }
            None => {
                let mark = doc! {"q": {"_id": name}, "u": {"$set": {"status": Status::RolledBack.as_str()}}};
                self.write(vec![mark], None, &context).await?;
                let gone = doc! {"_id": name, "status": Status::RolledBack.as_str()};
                self.records
                    .delete_one(gone)
                    .await
                    .map(drop)
                    .map_err(Error::database(context))
            }
        }
    }

    /// One ordered `update` of `statements`, led by the fence when the registry is fenced (a
    /// restore's journal is written this way too).
    pub(crate) async fn write(
        &self,
        statements: Vec<Document>,
        session: Option<&mut ClientSession>,
        context: &str,
    ) -> Result<()> {
        self.write_counting(statements, session, context)
            .await
            .map(drop)
    }

    /// Records a backfill's progress (`record.backfill`, status `running`), unless a pause was
    /// asked for meanwhile, which it reports instead of writing: one fenced command, so a
    /// pause costs no round trip of its own.
    pub(crate) async fn checkpoint(
        &self,
        record: &Record,
        session: Option<&mut ClientSession>,
    ) -> Result<Checkpointed> {
        let progress = mongodb::bson::to_bson(&record.backfill).map_err(|e| {
            Error::Registry(format!(
                "cannot encode the progress of `{}`: {e}",
                record.name
            ))
        })?;
        let statement = doc! {
            "q": {"_id": &record.id, "pause": {"$exists": false}},
            "u": {"$set": {"backfill": progress, "status": Status::Running.as_str()}},
        };
        let context = format!("cannot record the progress of `{}`", record.name);
        let matched = self
            .write_counting(vec![statement], session, &context)
            .await?;
        let fence = i64::from(self.fence.is_some());
        Ok(match matched > fence {
            true => Checkpointed::Saved,
            false => Checkpointed::PauseRequested,
        })
    }

    /// Asks the running backfill `name` to stop after its current batch (`migo pause`): not
    /// fenced, since the run that holds the lock is the one being asked. Whether it was running.
    pub(crate) async fn request_pause(&self, name: &str, by: &str) -> Result<bool> {
        let request = mongodb::bson::to_bson(&PauseRequest {
            at: DateTime::now(),
            by: by.to_string(),
        })
        .map_err(|e| Error::Registry(format!("cannot encode a pause request: {e}")))?;
        let updated = self
            .records
            .update_one(
                doc! {"_id": name, "status": Status::Running.as_str(), "backfill": {"$exists": true}},
                doc! {"$set": {"pause": request}},
            )
            .await
            .map_err(Error::database(format!("cannot ask `{name}` to pause")))?;
        Ok(updated.matched_count == 1)
    }

    /// [`Registry::write`], returning how many documents the statements (the fence's included)
    /// matched or inserted.
    async fn write_counting(
        &self,
        statements: Vec<Document>,
        session: Option<&mut ClientSession>,
        context: &str,
    ) -> Result<i64> {
        let mut updates: Vec<Document> = self.fence.iter().map(Fence::statement).collect();
        let fenced = !updates.is_empty();
        updates.extend(statements);
        let command = doc! {"update": self.name(), "updates": updates, "ordered": true};
        let reply = match session {
            Some(s) => self.db.run_command(command).session(s).await,
            None => self.run_retrying(command).await,
        }
        .map_err(Error::database(context.to_string()))?;
        let Some(first) = reply
            .get_array("writeErrors")
            .ok()
            .and_then(|e| e.first())
            .and_then(Bson::as_document)
        else {
            let n = match reply.get("n") {
                Some(Bson::Int32(n)) => i64::from(*n),
                Some(Bson::Int64(n)) => *n,
                Some(Bson::Double(n)) => *n as i64,
                _ => 0,
            };
            return Ok(n);
        };
        let index = usize::try_from(first.get_i32("index").unwrap_or(-1)).unwrap_or(usize::MAX);
        let code = first.get_i32("code").unwrap_or(-1);
        if fenced && Fence::refused(index, code) {
            return Err(Error::LostLock {
                reason: crate::ground::stop::Loss::TakenOver.describe().to_string(),
                step: None,
                done: Vec::new(),
            });
        }
        Err(Error::Registry(format!(
            "{context}: {}",
            crate::ground::escape::escape(first.get_str("errmsg").unwrap_or("write failed"))
        )))
    }
}

impl Registry {
    /// Runs a registry write; a fenced one is tried again while the server cannot be reached,
    /// for up to two thirds of the lease (a server that restarts between two steps is back in
    /// seconds, and the lease is still ours then). Writes are replacements of whole records, so
    /// repeating one that did land changes nothing.
    async fn run_retrying(&self, command: Document) -> mongodb::error::Result<Document> {
        let budget = self.fence.as_ref().map_or(Duration::ZERO, |f| {
            Duration::from_millis(u64::try_from(f.lease_ms).unwrap_or(0)) * 2 / 3
        });
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.db.run_command(command.clone()).await {
                Err(e) if is_transient(&e) && started.elapsed() + pause < budget => {
                    tracing::warn!(
                        "the registry write did not reach the server ({}); trying again",
                        crate::ground::driver::short_message(&e)
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }
}

/// Whether `e` says the server could not be reached (and may be back soon), as opposed to a
/// refusal that would come again.
fn is_transient(e: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    matches!(
        e.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
    ) || e.contains_label("NetworkError")
}

/// What a checkpoint write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checkpointed {
    Saved,
    /// `migo pause` asked the backfill to stop: the progress was not written.
    PauseRequested,
}

/// The tool whose registry shape `document` has, if it is not migo's.
pub(crate) fn foreign_tool(document: &Document) -> Option<&'static str> {
    let has = |k: &str| document.contains_key(k);
    if has("fileName") && has("appliedAt") {
        Some("migrate-mongo")
    } else if has("version") && has("dirty") {
        Some("golang-migrate")
    } else if has("name") && !has("status") && !has("checksum") {
        Some("migopy")
    } else {
        None
    }
}
