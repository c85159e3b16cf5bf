//! Walking a backfill: the collection in `_id` order, by ranges, each batch one server-side
//! `update` over its range and the filter (the documents never travel to migo), each followed by
//! a checkpoint in the migration's registry record through the fenced write, so that a run that
//! stops in any way resumes after the last recorded batch. Never one transaction for the whole
//! run; with `"transaction": true`, each batch and its checkpoint commit together. A code
//! backfill's batch is one call of the migration's `batch` instead of the `update`, handed the
//! batch's filter and bounds; everything around it is the same.
//!
//! A batch's range is found by one aggregation that returns only its bounds: the `batch_size`-th
//! matching `_id` after the last one done. That same query starts at the *previous* batch's
//! start, so it also shows whether the previous batch's documents still match the filter after
//! their update: a backfill that could never finish (or would update them again) stops after
//! that batch, naming the migration.
//!
//! Before each batch the pace is kept: no batch while a secondary lags more than `max_lag`,
//! while `pause_when` exits 0, or faster than `max_rate`; under `target_batch_ms` the batch size
//! adapts to hold a batch's duration. Every wait observes the stop, and says what it waits for.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::{ClientSession, Collection, Database};

use crate::config::backfill::{Pace, BATCH_RANGE, DEFAULT_BATCH};
use crate::ground::record::{Checkpoint, Record};
use crate::halt::Halt;
use crate::migration::backfill::{Backfill, Update, Work};
use crate::migration::failure::StepError;
use crate::process::{self, Child, ChildEnv};
use crate::store::record_store::RecordStore;
use crate::store::registry::Checkpointed;
/// A backfill's plan, for `--dry-run`: the documents its filter matches now, and the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct BatchPlan {
    pub(crate) matches: i64,
    /// `matches` is the collection's size: counting the filter would have scanned it.
    pub(crate) estimated: bool,
    pub(crate) batch_size: u64,
}

/// What a backfill reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Progress {
    /// It resumes after a recorded batch.
    Resumed(Checkpoint),
    /// A batch was recorded; `eta` is the time the rest should take at the recent rate.
    Batch {
        checkpoint: Checkpoint,
        eta: Option<Duration>,
        /// Documents per second since this run started, its waits included: what the pace
        /// lets through (the checkpoint's `rate` counts only the time in batches).
        rate: f64,
    },
    /// It waits before the next batch, and why.
    Waiting(String),
}

/// How a backfill ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walked {
    Finished,
    /// `migo pause` asked it to stop: it did, after a recorded batch.
    Paused,
}

/// Where and how a backfill runs.
pub(crate) struct Walker<'a> {
    pub(crate) db: &'a Database,
    pub(crate) store: &'a dyn RecordStore,
    pub(crate) halt: &'a Halt,
    /// For `pause_when`, which runs as a child like every other command.
    pub(crate) env: &'a ChildEnv,
    /// The declaration's pace, with `[backfill]`'s defaults filled in.
    pub(crate) pace: Pace,
    /// The migration, whose `batch` function does a code backfill's batches.
    pub(crate) body: Option<&'a crate::migration::Body>,
}

/// Why a backfill stopped early.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// Its own failure, or a stop (a signal, a lost lease), as a step's error.
    Step(StepError),
    /// A registry write failed (the checkpoint could not be recorded).
    Registry(crate::error::Error),
}

impl Walker<'_> {
    /// Walks `backfill` for `record` (the migration's running record, whose checkpoint says where
    /// to resume, and the batch size), recording progress in it after every batch.
    pub(crate) async fn walk(
        &self,
        backfill: &Backfill,
        record: &mut Record,
        report: &mut dyn FnMut(Progress),
    ) -> Result<Walked, Stopped> {
        let collection = self.db.collection::<Document>(&backfill.collection);
        let mut checkpoint = record.backfill.take().unwrap_or_default();
        checkpoint.batch_size = checkpoint.batch_size.max(1);
        let resumed = checkpoint.batches > 0;
        // Transactional batches share one server session, recorded first, so that a run that
        // takes over after a kill can end the transaction this one might leave open; ending
        // the killed run's comes before anything reads what its transaction may hold.
        let mut session = match backfill.transaction {
            true => {
                let session = self
                    .transaction_session(&mut checkpoint, record)
                    .await
                    .inspect_err(|_| record.backfill = Some(checkpoint.clone()))?;
                Some(session)
            }
            false => None,
        };
        let (remaining, estimated) = count_remaining(&collection, backfill, &checkpoint)
            .await
            .map_err(|e| command("count the documents to change", e))
            .inspect_err(|_| record.backfill = Some(checkpoint.clone()))?;
        checkpoint.total = Some(checkpoint.done + remaining);
        checkpoint.estimated = estimated;
        if resumed {
            report(Progress::Resumed(checkpoint.clone()));
        }
        let mut lower = Lower::after(checkpoint.last_id.clone());
        // Resuming, the last recorded batch is checked as the batch before the next always is.
        let mut previous: Option<Lower> = checkpoint.batch_from.clone().map(Lower::From);
        let run_started = Instant::now();
        let done_at_start = checkpoint.done;
        let mut rate_said = false;
        loop {
            if let Some(reason) = self.halt.reason() {
                record.backfill = Some(checkpoint);
                return Err(Stopped::Step(StepError::Halted(reason)));
            }
            let since = (run_started, done_at_start);
            self.keep_pace(&checkpoint, since, &mut rate_said, report)
                .await
                .inspect_err(|_| record.backfill = Some(checkpoint.clone()))?;
            crate::ground::knob::checkpoint(&format!("backfill-batch:{}", checkpoint.batches + 1));
            let size = u64::try_from(checkpoint.batch_size).unwrap_or(1);
            let range =
                match next_range(&collection, backfill, &lower, previous.as_ref(), size).await {
                    Ok(Some(range)) => range,
                    Ok(None) => {
                        checkpoint.session = None;
                        record.backfill = Some(checkpoint);
                        return Ok(Walked::Finished);
                    }
                    Err(e) => {
                        record.backfill = Some(checkpoint);
                        return Err(e);
                    }
                };
            let started = Instant::now();
            let mut next = checkpoint.clone();
            next.last_id = Some(range.last.clone());
            next.batch_from = Some(range.first.clone());
            next.done += range.documents;
            next.batches += 1;
            record.backfill = Some(next.clone());
            let at = Batch {
                range: &range,
                after: checkpoint.last_id.as_ref(),
            };
            let saved = match session.as_mut() {
                None => self.batch(&collection, backfill, at, record).await,
                Some(session) => {
                    self.batch_in_transaction(&collection, backfill, at, record, session)
                        .await
                }
            };
            let took = started.elapsed();
            match saved {
                Ok(Checkpointed::Saved) => {}
                Ok(Checkpointed::PauseRequested) => {
                    // Its progress was not written: record it with the pause.
                    record.backfill = Some(with_timing(next, range.documents, took, &self.pace));
                    return Ok(Walked::Paused);
                }
                Err(e) => {
                    // What is recorded is the last checkpoint written.
                    record.backfill = Some(checkpoint);
                    return Err(e);
                }
            }
            checkpoint = with_timing(next, range.documents, took, &self.pace);
            record.backfill = Some(checkpoint.clone());
            let elapsed = run_started.elapsed();
            let eta = eta(&checkpoint, elapsed, done_at_start);
            let rate = (checkpoint.done - done_at_start) as f64 / elapsed.as_secs_f64().max(1e-3);
            report(Progress::Batch {
                checkpoint: checkpoint.clone(),
                eta,
                rate,
            });
            previous = Some(Lower::From(range.first));
            lower = Lower::After(range.last);
        }
    }

    /// One batch: its work, then its checkpoint.
    async fn batch(
        &self,
        collection: &Collection<Document>,
        backfill: &Backfill,
        at: Batch<'_>,
        record: &Record,
    ) -> Result<Checkpointed, Stopped> {
        self.work(collection, backfill, at, None).await?;
        crate::ground::knob::checkpoint(&format!("backfill-updated:{}", record_batches(record)));
        self.store
            .checkpoint(record, None)
            .await
            .map_err(Stopped::Registry)
    }

    /// A batch's work: the `.json` update, or the migration's `batch` function handed the
    /// batch (its filter, bounds and size).
    async fn work(
        &self,
        collection: &Collection<Document>,
        backfill: &Backfill,
        at: Batch<'_>,
        session: Option<&mut ClientSession>,
    ) -> Result<(), Stopped> {
        let range = at.range;
        if let Work::Update(change) = &backfill.work {
            return update(collection, backfill, change, range, session).await;
        }
        let batch = crate::api::Batch {
            after: at.after.cloned(),
            up_to: range.last.clone(),
            filter: range_filter(&backfill.filter, &range.lower, Some(&range.last)),
            size: u64::try_from(range.documents).unwrap_or(0),
        };
        let body = self.body.ok_or_else(|| {
            Stopped::Step(StepError::Setup(
                "a code backfill without its migration".into(),
            ))
        })?;
        body.run_batch(&batch, self.db, session, self.env, self.halt)
            .await
            .map_err(Stopped::Step)
    }

    /// The session of transactional batches: a fresh one, recorded in the checkpoint, after
    /// ending the one a killed run recorded (its transaction, if one was open, is aborted: the
    /// server would otherwise hold its documents until the transaction timed out).
    async fn transaction_session(
        &self,
        checkpoint: &mut Checkpoint,
        record: &mut Record,
    ) -> Result<ClientSession, Stopped> {
        if let Some(old) = checkpoint.session.take() {
            let ended = self
                .db
                .client()
                .database("admin")
                .run_command(doc! {"killSessions": [old]})
                .await;
            if let Err(e) = ended {
                tracing::warn!("cannot end the session of the run before: {e}");
            }
        }
        let session = self
            .db
            .client()
            .start_session()
            .await
            .map_err(|e| setup_error(&e))?;
        checkpoint.session = Some(session.id().clone());
        record.backfill = Some(checkpoint.clone());
        self.store
            .checkpoint(record, None)
            .await
            .map_err(Stopped::Registry)?;
        Ok(session)
    }

    /// One batch and its checkpoint in one transaction: both or neither. A transaction that
    /// conflicted with another write (the lease's renewal touches the lock document its fence
    /// statement writes) is tried again, as the driver's transaction helper would.
    async fn batch_in_transaction(
        &self,
        collection: &Collection<Document>,
        backfill: &Backfill,
        at: Batch<'_>,
        record: &Record,
        session: &mut ClientSession,
    ) -> Result<Checkpointed, Stopped> {
        let mut attempt = 1;
        loop {
            let hold = self.halt.hold_lease();
            let result = self
                .try_batch_in_transaction(collection, backfill, at, record, session)
                .await;
            drop(hold);
            match result {
                Err(e) if attempt < TRANSACTION_ATTEMPTS && is_transient(&e) => {
                    attempt += 1;
                    tracing::debug!("a batch's transaction conflicted; trying again ({attempt})");
                }
                other => return other,
            }
        }
    }

    async fn try_batch_in_transaction(
        &self,
        collection: &Collection<Document>,
        backfill: &Backfill,
        at: Batch<'_>,
        record: &Record,
        session: &mut ClientSession,
    ) -> Result<Checkpointed, Stopped> {
        session
            .start_transaction()
            .await
            .map_err(|e| setup_error(&e))?;
        let result = async {
            self.work(collection, backfill, at, Some(&mut *session))
                .await?;
            crate::ground::knob::checkpoint(&format!(
                "backfill-updated:{}",
                record_batches(record)
            ));
            self.store
                .checkpoint(record, Some(&mut *session))
                .await
                .map_err(Stopped::Registry)
        }
        .await;
        match result {
            Ok(Checkpointed::Saved) => {
                super::commit::commit(session)
                    .await
                    .map_err(|e| command("commit the batch", e))?;
                Ok(Checkpointed::Saved)
            }
            other => {
                // The batch is undone with its checkpoint: the next run does it again.
                let _ = session.abort_transaction().await;
                other
            }
        }
    }

    /// Waits, before a batch, as long as the pace says: lag, `pause_when`, rate. `since`: when
    /// this run started and what was done then. A `max_rate` wait is said the first time, then
    /// only when it lasts a second or more: short ones are the pace working, not news.
    async fn keep_pace(
        &self,
        checkpoint: &Checkpoint,
        (run_started, done_at_start): (Instant, i64),
        rate_said: &mut bool,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), Stopped> {
        if let Some(rate) = self.pace.max_rate {
            let done = (checkpoint.done - done_at_start).max(0) as f64;
            let due = Duration::from_secs_f64(done / rate);
            let elapsed = run_started.elapsed();
            if due > elapsed {
                let wait = due - elapsed;
                if !*rate_said || wait >= Duration::from_secs(1) {
                    *rate_said = true;
                    report(Progress::Waiting(format!(
                        "max_rate {rate} documents/s: waiting {}",
                        crate::ground::words::duration(wait)
                    )));
                }
                self.sleep(wait).await?;
            }
        }
        let poll = poll_interval();
        let mut said = None;
        loop {
            let waiting = match self.reason_to_wait().await? {
                Some(reason) => reason,
                None => return Ok(()),
            };
            if said.as_ref() != Some(&waiting) {
                report(Progress::Waiting(waiting.clone()));
                said = Some(waiting);
            }
            self.sleep(poll).await?;
        }
    }

    /// What keeps the next batch from starting now, if anything.
    async fn reason_to_wait(&self) -> Result<Option<String>, Stopped> {
        if let Some(max) = self.pace.max_lag {
            if let Some(lag) = replication_lag(self.db).await {
                if lag > max {
                    return Ok(Some(format!(
                        "a secondary is {} behind the primary (max_lag {})",
                        crate::ground::words::duration(lag),
                        crate::ground::words::duration(max)
                    )));
                }
            }
        }
        if let Some(command) = &self.pace.pause_when {
            let child = Child::new(
                "sh",
                vec!["-c".into(), command.clone(), "migo-pause-when".into()],
                String::new(),
            );
            let mut env = self.env.clone();
            env.echo = false;
            if process::run(child, &env).await.is_ok() {
                return Ok(Some(format!(
                    "`{}` exits 0 (pause_when)",
                    crate::ground::escape::escape(command)
                )));
            }
        }
        Ok(None)
    }

    /// Sleeps `total`, in slices, stopping early when the run must stop.
    async fn sleep(&self, total: Duration) -> Result<(), Stopped> {
        let until = Instant::now() + total;
        loop {
            if let Some(reason) = self.halt.reason() {
                return Err(Stopped::Step(StepError::Halted(reason)));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            tokio::time::sleep(left.min(Duration::from_millis(100))).await;
        }
    }
}

/// Runs `body`'s `direction` on a database outside the registry (a scratch database: `migo
/// test`, a drift replay): a backfill is walked with its checkpoints kept in memory and no pace
/// (nothing else runs there); every other kind runs as it always does.
pub(crate) async fn unrecorded(
    body: &crate::migration::Body,
    direction: crate::ground::Direction,
    db: &Database,
    env: &ChildEnv,
    halt: &Halt,
) -> Result<(), StepError> {
    let Some(backfill) = body.backfill_of(direction) else {
        return body.run(direction, db, None, env, halt).await;
    };
    let store = Forgetful;
    let walker = Walker {
        db,
        store: &store,
        halt,
        env,
        pace: Pace::default(),
        body: Some(body),
    };
    let mut record = Record::unrecorded(&backfill.collection);
    record.backfill = Some(Checkpoint {
        batch_size: i64::try_from(backfill.batch_size.unwrap_or(DEFAULT_BATCH)).unwrap_or(1),
        ..Checkpoint::default()
    });
    match walker.walk(backfill, &mut record, &mut |_| {}).await {
        Ok(_) => Ok(()),
        Err(Stopped::Step(e)) => Err(e),
        Err(Stopped::Registry(e)) => Err(StepError::Setup(e.to_string())),
    }
}

/// The registry of a backfill walked outside the registry: it keeps nothing.
#[derive(Debug)]
struct Forgetful;

impl RecordStore for Forgetful {
    fn put<'a>(
        &'a self,
        _: &'a [Record],
        _: Option<&'a mut ClientSession>,
    ) -> futures_util::future::BoxFuture<'a, crate::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn checkpoint<'a>(
        &'a self,
        _: &'a Record,
        _: Option<&'a mut ClientSession>,
    ) -> futures_util::future::BoxFuture<'a, crate::error::Result<Checkpointed>> {
        Box::pin(async { Ok(Checkpointed::Saved) })
    }

    fn set_checksum<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, crate::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn remove<'a>(
        &'a self,
        _: &'a str,
        _: Option<&'a mut ClientSession>,
    ) -> futures_util::future::BoxFuture<'a, crate::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// How often a wait (lag, `pause_when`) looks again (`MIGO_TEST_PACE_POLL_MS` for tests).
fn poll_interval() -> Duration {
    std::env::var("MIGO_TEST_PACE_POLL_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

/// The batch number a record's checkpoint is at, for the test points.
fn record_batches(record: &Record) -> i64 {
    record.backfill.as_ref().map_or(0, |c| c.batches)
}

/// The checkpoint after a batch of `documents` that took `took`: the rate (smoothed), the time
/// spent, and under `target_batch_ms` the next batch size.
fn with_timing(
    mut checkpoint: Checkpoint,
    documents: i64,
    took: Duration,
    pace: &Pace,
) -> Checkpoint {
    let took_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX).max(1);
    checkpoint.elapsed_ms += took_ms;
    let instant = documents as f64 * 1000.0 / took_ms as f64;
    checkpoint.rate = match checkpoint.rate {
        r if r > 0.0 => 0.7 * r + 0.3 * instant,
        _ => instant,
    };
    if let Some(target) = pace.target_batch {
        let target_ms = target.as_millis() as f64;
        let factor = (target_ms / took_ms as f64).clamp(0.5, 2.0);
        let size = (checkpoint.batch_size as f64 * factor).round() as i64;
        let (min, max) = (*BATCH_RANGE.start() as i64, *BATCH_RANGE.end() as i64);
        checkpoint.batch_size = size.clamp(min, max);
    }
    checkpoint
}

/// The time the rest should take at this run's rate so far.
fn eta(checkpoint: &Checkpoint, elapsed: Duration, done_at_start: i64) -> Option<Duration> {
    let total = checkpoint.total?;
    let done_now = checkpoint.done - done_at_start;
    if done_now <= 0 || elapsed.is_zero() {
        return None;
    }
    let rate = done_now as f64 / elapsed.as_secs_f64();
    let left = (total - checkpoint.done).max(0) as f64;
    Some(Duration::from_secs_f64(left / rate))
}

/// Where the next range starts.
#[derive(Debug, Clone, PartialEq)]
enum Lower {
    /// The collection's first `_id` (only to count what is left before a first batch).
    Start,
    /// After this `_id` (the last one done).
    After(Bson),
    /// From this `_id` on (the first matching one, or the first of a later type after the last
    /// one's type ran out).
    From(Bson),
}

impl Lower {
    fn after(last: Option<Bson>) -> Lower {
        last.map_or(Lower::Start, Lower::After)
    }

    /// The condition on `_id`, if any.
    fn condition(&self) -> Option<Document> {
        match self {
            Lower::Start => None,
            Lower::After(id) => Some(doc! {"$gt": id.clone()}),
            Lower::From(id) => Some(doc! {"$gte": id.clone()}),
        }
    }

    /// The type bracket of its `_id` (see [`bracket`]).
    fn bracket(&self) -> Option<usize> {
        match self {
            Lower::Start => None,
            Lower::After(id) | Lower::From(id) => Some(bracket(id)),
        }
    }
}

/// A batch as it is done: its range, and the last `_id` done before it.
#[derive(Debug, Clone, Copy)]
struct Batch<'a> {
    range: &'a Range,
    after: Option<&'a Bson>,
}

/// A batch: where it starts (after the last batch, or at the first `_id` of a later type), its
/// last `_id`, and how many documents it holds.
#[derive(Debug, Clone, PartialEq)]
struct Range {
    lower: Lower,
    /// Its first and last `_id`.
    first: Bson,
    last: Bson,
    documents: i64,
}

/// `filter` and `_id` in the range from `lower` up to `last` (inclusive).
fn range_filter(filter: &Document, lower: &Lower, last: Option<&Bson>) -> Document {
    let mut id = lower.condition().unwrap_or_default();
    if let Some(last) = last {
        id.insert("$lte", last.clone());
    }
    with_id(filter, id)
}

/// `filter` with a condition on `_id` added: as one more top-level key, which the server reads
/// as the same conjunction as an `$and` but plans and evaluates more cheaply (a fifth less time
/// per batch on the test server), or in an `$and` when the filter has its own `_id` condition.
fn with_id(filter: &Document, id: Document) -> Document {
    if id.is_empty() {
        return filter.clone();
    }
    if filter.contains_key("_id") {
        return doc! {"$and": [filter.clone(), {"_id": id}]};
    }
    let mut both = doc! {"_id": id};
    both.extend(filter.clone());
    both
}

/// The next batch after `lower`, or none when nothing matches any more. When `previous` (the
/// previous batch's lower bound) is given, the query starts there and fails when documents of
/// the previous batch still match the filter.
async fn next_range(
    collection: &Collection<Document>,
    backfill: &Backfill,
    lower: &Lower,
    previous: Option<&Lower>,
    size: u64,
) -> Result<Option<Range>, Stopped> {
    // Starting at the previous batch's start shows whether its documents still match; only
    // within one type bracket, as a range is.
    let from = previous
        .filter(|p| p.bracket() == lower.bracket())
        .unwrap_or(lower);
    let checks_previous = !std::ptr::eq(from, lower);
    let limit = i64::try_from(size).unwrap_or(i64::MAX);
    let stale = match lower {
        Lower::After(end) if checks_previous => {
            doc! {"$sum": {"$cond": [{"$lte": ["$_id", end.clone()]}, 1, 0]}}
        }
        _ => doc! {"$sum": 0},
    };
    let pipeline = [
        doc! {"$match": range_filter(&backfill.filter, from, None)},
        doc! {"$sort": {"_id": 1}},
        doc! {"$limit": limit},
        doc! {"$group": {
            "_id": Bson::Null, "first": {"$first": "$_id"}, "last": {"$last": "$_id"},
            "n": {"$sum": 1}, "stale": stale,
        }},
    ];
    let found: Vec<Document> = collection
        .aggregate(pipeline)
        .await
        .map_err(|e| command("find the next batch", e))?
        .try_collect()
        .await
        .map_err(|e| command("find the next batch", e))?;
    let number = |bounds: &Document, key: &str| match bounds.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    };
    let Some(bounds) = found.into_iter().next().filter(|b| number(b, "n") > 0) else {
        // Nothing after `lower` of its type: documents of a later type may follow.
        return next_type(collection, backfill, lower, size).await;
    };
    let number = |key: &str| number(&bounds, key);
    if number("stale") > 0 {
        return Err(Stopped::Step(StepError::Setup(format!(
            "after its update, {} document(s) of the batch before still match the backfill's \
             filter on `{}`: the backfill would never finish (or update them again)",
            number("stale"),
            collection.name()
        ))));
    }
    let first = bounds.get("first").cloned().unwrap_or(Bson::Null);
    let last = bounds.get("last").cloned().unwrap_or(Bson::Null);
    if *lower == Lower::Start && bracket(&first) != bracket(&last) {
        // The first batch of a collection whose `_id`s mix types: a range stays in one type,
        // so it starts again from the first `_id`, within its type.
        let within = Lower::From(first);
        return Box::pin(next_range(collection, backfill, &within, None, size)).await;
    }
    Ok(Some(Range {
        lower: lower.clone(),
        first,
        last,
        documents: number("n"),
    }))
}

/// The first batch of a later `_id` type than `lower`'s (a collection whose `_id`s mix numbers,
/// strings and ObjectIds: a range query only ever matches one type).
async fn next_type(
    collection: &Collection<Document>,
    backfill: &Backfill,
    lower: &Lower,
    size: u64,
) -> Result<Option<Range>, Stopped> {
    let (Lower::After(id) | Lower::From(id)) = lower else {
        return Ok(None);
    };
    let later = later_types(id);
    if later.is_empty() {
        return Ok(None);
    }
    let Some(first) = first_id(collection, backfill, Some(later)).await? else {
        return Ok(None);
    };
    Box::pin(next_range(
        collection,
        backfill,
        &Lower::From(first),
        None,
        size,
    ))
    .await
}

/// The first `_id` the filter matches (of one of `types`, when given).
async fn first_id(
    collection: &Collection<Document>,
    backfill: &Backfill,
    types: Option<Vec<&'static str>>,
) -> Result<Option<Bson>, Stopped> {
    let filter = match types {
        Some(types) => with_id(&backfill.filter, doc! {"$type": types}),
        None => backfill.filter.clone(),
    };
    let first = collection
        .find_one(filter)
        .sort(doc! {"_id": 1})
        .projection(doc! {"_id": 1})
        .await
        .map_err(|e| command("find the next batch", e))?;
    Ok(first.and_then(|d| d.get("_id").cloned()))
}

/// The type brackets of BSON's sort order, as `$type` aliases: a range query on `_id` matches
/// within one bracket only.
const BRACKETS: &[&[&str]] = &[
    &["minKey"],
    &["null"],
    &["double", "int", "long", "decimal"],
    &["symbol", "string"],
    &["object"],
    &["binData"],
    &["objectId"],
    &["bool"],
    &["date"],
    &["timestamp"],
    &["regex"],
    &["maxKey"],
];

/// The bracket of `id` in [`BRACKETS`].
fn bracket(id: &Bson) -> usize {
    match id {
        Bson::MinKey => 0,
        Bson::Null => 1,
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => 2,
        Bson::Symbol(_) | Bson::String(_) => 3,
        Bson::Document(_) => 4,
        Bson::Binary(_) => 5,
        Bson::ObjectId(_) => 6,
        Bson::Boolean(_) => 7,
        Bson::DateTime(_) => 8,
        Bson::Timestamp(_) => 9,
        Bson::RegularExpression(_) => 10,
        _ => 11,
    }
}

/// The BSON types that sort after `id`'s, as `$type` aliases (`_id` is never an array).
fn later_types(id: &Bson) -> Vec<&'static str> {
    BRACKETS[bracket(id) + 1..]
        .iter()
        .flat_map(|t| t.iter().copied())
        .collect()
}

/// The update of one batch: the documents in its range that still match the filter.
async fn update(
    collection: &Collection<Document>,
    backfill: &Backfill,
    change: &Update,
    range: &Range,
    session: Option<&mut ClientSession>,
) -> Result<(), Stopped> {
    let filter = range_filter(&backfill.filter, &range.lower, Some(&range.last));
    let db = collection.client().database(&collection.namespace().db);
    let command = doc! {
        "update": collection.name(),
        "updates": [{"q": filter, "u": change.to_bson(), "multi": true}],
    };
    let sent = match session {
        Some(s) => db.run_command(command).session(s).await,
        None => db.run_command(command).await,
    };
    let reply = sent.map_err(|e| command_error("update a batch", e))?;
    match reply.get_array("writeErrors").ok().and_then(|e| e.first()) {
        Some(Bson::Document(e)) => Err(Stopped::Step(StepError::Write {
            at: "a batch's update".into(),
            code: e.get_i32("code").unwrap_or(-1),
            code_name: e.get_str("codeName").unwrap_or_default().to_string(),
            message: crate::ground::escape::escape(e.get_str("errmsg").unwrap_or("write failed")),
            more: 0,
        })),
        _ => Ok(()),
    }
}

/// The documents still to change after `checkpoint`, counted once when a run starts: exactly
/// when an index serves the filter's first field (or there is no filter), otherwise the
/// collection's estimated size, labelled an estimate (counting would scan it all).
async fn count_remaining(
    collection: &Collection<Document>,
    backfill: &Backfill,
    checkpoint: &Checkpoint,
) -> mongodb::error::Result<(i64, bool)> {
    let lower = Lower::after(checkpoint.last_id.clone());
    if !served_by_index(collection, &backfill.filter).await {
        let size = collection.estimated_document_count().await?;
        let left = i64::try_from(size).unwrap_or(i64::MAX) - checkpoint.done;
        return Ok((left.max(0), true));
    }
    let exact = collection
        .count_documents(range_filter(&backfill.filter, &lower, None))
        .await?;
    Ok((i64::try_from(exact).unwrap_or(i64::MAX), false))
}

/// For `--dry-run`, by step name: what each backfill's filter matches now, and the batches.
pub(crate) async fn matching_now(
    db: &Database,
    backfills: &[(&str, &Backfill)],
    settings: &crate::config::BackfillSettings,
) -> crate::error::Result<std::collections::HashMap<String, BatchPlan>> {
    let mut counts = std::collections::HashMap::new();
    for &(name, backfill) in backfills {
        let collection = db.collection::<Document>(&backfill.collection);
        let (matches, estimated) = count_remaining(&collection, backfill, &Checkpoint::default())
            .await
            .map_err(crate::error::Error::database(format!(
                "cannot count what `{name}` would change"
            )))?;
        let batch_size = backfill
            .batch_size
            .or(settings.batch_size)
            .unwrap_or(crate::config::backfill::DEFAULT_BATCH);
        let plan = BatchPlan {
            matches,
            estimated,
            batch_size,
        };
        counts.insert(name.to_string(), plan);
    }
    Ok(counts)
}

/// Whether counting `filter` can use an index: it is empty, or its first field (not an
/// operator) leads an index of the collection.
async fn served_by_index(collection: &Collection<Document>, filter: &Document) -> bool {
    let Some(field) = filter.keys().find(|k| !k.starts_with('$')) else {
        return filter.is_empty();
    };
    if field == "_id" {
        return true;
    }
    let Ok(indexes) = collection.list_indexes().await else {
        return false;
    };
    let indexes: Vec<_> = indexes.try_collect().await.unwrap_or_default();
    indexes
        .iter()
        .any(|i| i.keys.keys().next().is_some_and(|k| k == field))
}

/// The replication lag: how far the furthest-behind secondary is behind the primary, from
/// `replSetGetStatus` (none on a server that is not a replica set). `MIGO_TEST_LAG_FILE` names a
/// file holding the lag in seconds, for tests (a one-member test set never lags).
async fn replication_lag(db: &Database) -> Option<Duration> {
    if let Ok(path) = std::env::var("MIGO_TEST_LAG_FILE") {
        let text = std::fs::read_to_string(path).ok()?;
        return text.trim().parse::<f64>().ok().map(Duration::from_secs_f64);
    }
    let status = db
        .client()
        .database("admin")
        .run_command(doc! {"replSetGetStatus": 1})
        .await
        .ok()?;
    let members = status.get_array("members").ok()?;
    let optime = |state: &str| {
        members
            .iter()
            .filter_map(Bson::as_document)
            .filter(|m| m.get_str("stateStr") == Ok(state))
            .filter_map(|m| m.get_datetime("optimeDate").ok())
            .map(|d| d.timestamp_millis())
            .collect::<Vec<_>>()
    };
    let primary = optime("PRIMARY").into_iter().max()?;
    let slowest = optime("SECONDARY").into_iter().min()?;
    u64::try_from(primary - slowest)
        .ok()
        .map(Duration::from_millis)
}

/// How often a batch's transaction is tried when it conflicts with another write.
const TRANSACTION_ATTEMPTS: u32 = 5;

/// Whether a batch's transaction failed for a reason that trying again can cure: a write
/// conflict (`TransientTransactionError`).
fn is_transient(stopped: &Stopped) -> bool {
    let driver = |e: &mongodb::error::Error| {
        e.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR)
            || matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 112)
    };
    match stopped {
        Stopped::Registry(crate::error::Error::Database { source, .. }) => driver(source),
        Stopped::Step(StepError::Command { error, .. }) => driver(error),
        Stopped::Step(StepError::Write { code, .. }) => *code == 112,
        _ => false,
    }
}

fn setup_error(e: &mongodb::error::Error) -> Stopped {
    Stopped::Step(StepError::Setup(format!(
        "cannot start a transaction on this server: {}",
        crate::ground::driver::short_message(e)
    )))
}

fn command(what: &str, e: mongodb::error::Error) -> Stopped {
    command_error(what, e)
}

fn command_error(what: &str, error: mongodb::error::Error) -> Stopped {
    Stopped::Step(StepError::Command {
        at: format!("the backfill could not {what}"),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_bound_the_id_and_keep_the_filter() {
        let filter = doc! {"status": {"$exists": false}};
        assert_eq!(range_filter(&filter, &Lower::Start, None), filter);
        assert_eq!(
            range_filter(
                &filter,
                &Lower::After(Bson::Int32(5)),
                Some(&Bson::Int32(9))
            ),
            doc! {"_id": {"$gt": 5, "$lte": 9}, "status": {"$exists": false}}
        );
        assert_eq!(
            range_filter(&doc! {}, &Lower::From(Bson::String("a".into())), None),
            doc! {"_id": {"$gte": "a"}}
        );
        // A filter with its own `_id` condition keeps it, beside the range.
        let own = doc! {"_id": {"$type": "objectId"}};
        assert_eq!(
            range_filter(&own, &Lower::After(Bson::Int32(5)), None),
            doc! {"$and": [own.clone(), {"_id": {"$gt": 5}}]}
        );
    }

    #[test]
    fn later_types_follow_the_bson_order() {
        assert_eq!(later_types(&Bson::Int32(1))[0], "symbol");
        assert!(later_types(&Bson::String("x".into())).contains(&"objectId"));
        assert!(!later_types(&Bson::String("x".into())).contains(&"int"));
        assert_eq!(later_types(&Bson::MaxKey), Vec::<&str>::new());
    }

    #[test]
    fn the_batch_size_follows_the_target_within_bounds() {
        let pace = Pace {
            target_batch: Some(Duration::from_millis(1000)),
            ..Pace::default()
        };
        let start = Checkpoint {
            batch_size: 1000,
            done: 1000,
            ..Checkpoint::default()
        };
        let fast = with_timing(start.clone(), 1000, Duration::from_millis(100), &pace);
        assert_eq!(fast.batch_size, 2000, "at most doubled");
        assert_eq!(fast.rate, 10_000.0);
        let slow = with_timing(start.clone(), 1000, Duration::from_millis(4000), &pace);
        assert_eq!(slow.batch_size, 500, "at most halved");
        let near = with_timing(start, 1000, Duration::from_millis(800), &pace);
        assert_eq!(near.batch_size, 1250);
    }

    #[test]
    fn the_eta_is_the_rest_at_this_runs_rate() {
        let c = Checkpoint {
            done: 1000,
            total: Some(10_000),
            ..Checkpoint::default()
        };
        assert_eq!(
            eta(&c, Duration::from_secs(10), 0),
            Some(Duration::from_secs(90))
        );
        assert_eq!(eta(&c, Duration::from_secs(10), 1000), None);
    }
}
