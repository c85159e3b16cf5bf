//! Walking a plan: each step's registry writes around its migration, in order, stopping at the
//! first failure, a signal, or a lost lease.
//!
//! Every registry write is fenced by the lease (see [`crate::store::lock`]). A step starts by
//! recording itself `running` (`up` or `down`), so a crash in the middle always shows as
//! `interrupted`, never as a stale `applied`; transactional steps instead do their work and the
//! registry write in one transaction.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mongodb::Database;

use super::backfill::{Progress as BackfillProgress, Stopped, Walked, Walker};
use crate::config::backfill::DEFAULT_BATCH;
use crate::config::BackfillSettings;
use crate::config::Runners;
use crate::error::{Error, Result};
use crate::ground::driver::is_connection_failure;
use crate::ground::record::{Checkpoint, Record, Rollback, Status};
use crate::ground::refusal::Refusal;
use crate::ground::source::Source;
use crate::ground::stop::Reason;
use crate::ground::Direction;
use crate::halt::Halt;
use crate::migration::backfill::Backfill;
use crate::migration::compiled::Compiled;
use crate::migration::failure::StepError;
use crate::migration::Body;
use crate::plan::{Action, Plan, Step};
use crate::process::ChildEnv;
use crate::store::record_store::RecordStore;
/// A step with its migration loaded and its current record, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) step: Step,
    /// `None` for steps that never run the file (`ignore`, `accept`, `forget`).
    pub(crate) body: Option<Body>,
    /// The record before the step (a rollback keeps who applied it, and when).
    pub(crate) record: Option<Record>,
}

/// Parsed migrations by name, each file read once per run.
pub(crate) type Bodies = HashMap<String, Body>;

/// Attaches to each step its migration, from `bodies` (a file missing there, because the
/// registry changed while waiting for the lock, is loaded now) and its record, and refuses an
/// irreversible rollback before anything runs.
pub(crate) fn prepare(
    plan: &Plan,
    bodies: &Bodies,
    records: &[Record],
    runners: &Runners,
    compiled: &[Compiled],
) -> Result<Vec<Prepared>> {
    plan.steps
        .iter()
        .map(|step| {
            let body = match step.action {
                Action::Ignore | Action::Accept | Action::Forget => None,
                action => {
                    let body = match bodies.get(&step.file.name) {
                        Some(body) => body.clone(),
                        None => Body::load(&step.file, runners, compiled)?,
                    };
                    if action == Action::Down {
                        check_reversible(&body, &step.file)?;
                    }
                    Some(body)
                }
            };
            let record = records.iter().find(|r| r.name == step.file.name).cloned();
            Ok(Prepared {
                step: step.clone(),
                body,
                record,
            })
        })
        .collect()
}

impl Prepared {
    /// The backfill this step runs, if its half is one.
    pub(crate) fn backfill(&self) -> Option<&Backfill> {
        let direction = match self.step.action {
            Action::Up => Direction::Up,
            Action::Down => Direction::Down,
            Action::Ignore | Action::Accept | Action::Forget => return None,
        };
        self.body.as_ref()?.backfill_of(direction)
    }
}

/// Refuses to roll back a migration without a `down`.
pub(crate) fn check_reversible(body: &Body, file: &Source) -> Result<()> {
    if body.is_reversible() {
        return Ok(());
    }
    Err(Error::Refused(Refusal::Irreversible {
        name: file.name.clone(),
        file: file.file_name.clone(),
    }))
}

/// What happened to one step, reported as the run goes.
#[derive(Debug, Clone)]
pub(crate) enum Event<'a> {
    Started(&'a Step),
    /// A backfill step's progress.
    Backfill(&'a Step, &'a BackfillProgress),
    Finished(&'a Step, Duration),
}

/// A completed step.
#[derive(Debug, Clone)]
pub(crate) struct Completed {
    pub(crate) name: String,
    pub(crate) action: Action,
    pub(crate) duration: Duration,
}

/// Where and how a run writes: the database, its fenced registry, who runs it (`user@host`), the
/// environment of child processes, and when to stop early.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Runner<'a> {
    pub(crate) db: &'a Database,
    pub(crate) registry: &'a dyn RecordStore,
    pub(crate) who: &'a str,
    pub(crate) env: &'a ChildEnv,
    pub(crate) halt: &'a Halt,
    /// The target, for messages about a lost connection.
    pub(crate) target: &'a str,
    /// `[backfill]`: the batch size and pace of backfills that do not set their own.
    pub(crate) backfills: &'a BackfillSettings,
}

/// Runs the prepared steps in order, stopping at the first failure.
///
/// Round trips are the cost of a runner: each applied migration costs its own commands plus two
/// registry writes, `running` before it and `applied` right after, so a record never says less
/// (or more) than what happened: a kill between two migrations leaves the first `applied`.
pub(crate) async fn run(
    steps: &[Prepared],
    runner: Runner<'_>,
    report: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<Completed>> {
    let mut done: Vec<Completed> = Vec::new();
    for prepared in steps {
        let step = &prepared.step;
        let names = || done.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        if let Some(reason) = runner.halt.reason() {
            return Err(halted(reason, None, names()));
        }
        report(Event::Started(step));
        let started = Instant::now();
        if let Err(failure) = runner.step(prepared, started, report).await {
            return Err(runner.failed(step, failure, names()));
        }
        let duration = started.elapsed();
        report(Event::Finished(step, duration));
        done.push(Completed {
            name: step.file.name.clone(),
            action: step.action,
            duration,
        });
    }
    Ok(done)
}

/// The error for a run that stopped for `reason` with `step` in flight.
fn halted(reason: Reason, step: Option<&Step>, done: Vec<String>) -> Error {
    let rollback = step.is_some_and(|s| s.action == Action::Down);
    let step = step.map(|s| s.file.name.clone());
    match reason {
        Reason::Signal(signal) => Error::Interrupted {
            signal,
            step,
            done,
            rollback,
        },
        Reason::LostLock(loss) => Error::LostLock {
            reason: loss.describe().to_string(),
            step,
            done,
        },
    }
}

/// How a step ended badly: the migration's own failure (already recorded), a stop, or a
/// registry write that could not be made.
#[derive(Debug)]
pub(super) enum Failure {
    Step(StepError, Direction),
    Stop(Reason),
    /// The write that starts the step failed: the migration did not run.
    NotStarted(Error),
    /// A registry write after the migration ran failed: its record says `running`.
    Registry(Error),
    /// A backfill stopped after a batch because `migo pause` asked it to.
    Paused(Checkpoint),
    /// A backfill stopped by a signal after its last recorded batch.
    BackfillStopped(i32, Checkpoint),
    /// A backfill's connection broke; its last recorded checkpoint, when known.
    BackfillCut(String, Option<Checkpoint>),
}

impl Runner<'_> {
    /// The error to return for a step that ended badly.
    fn failed(&self, step: &Step, failure: Failure, done: Vec<String>) -> Error {
        let name = step.file.name.clone();
        let rollback = step.action == Action::Down;
        match failure {
            Failure::Stop(reason) => halted(reason, Some(step), done),
            Failure::Step(error, _) if error.is_connection_failure() => Error::ConnectionLost {
                target: self.target.to_string(),
                name,
                message: error.to_string(),
                started: true,
                rollback,
            },
            Failure::Step(error, direction) => Error::MigrationFailed {
                name,
                rolled_back: matches!(error, StepError::RolledBack(_)),
                error: Box::new(error),
                done,
                direction,
            },
            Failure::NotStarted(Error::LostLock { reason, .. }) => Error::LostLock {
                reason,
                step: None,
                done,
            },
            Failure::NotStarted(Error::Database { source, .. })
                if is_connection_failure(&source) =>
            {
                Error::ConnectionLost {
                    target: self.target.to_string(),
                    name,
                    message: crate::ground::driver::short_message(&source),
                    started: false,
                    rollback,
                }
            }
            Failure::Registry(Error::LostLock { reason, .. }) => Error::LostLock {
                reason,
                step: Some(name),
                done,
            },
            Failure::Registry(Error::Database { source, .. }) if is_connection_failure(&source) => {
                Error::ConnectionLost {
                    target: self.target.to_string(),
                    name,
                    message: crate::ground::driver::short_message(&source),
                    started: true,
                    rollback,
                }
            }
            Failure::BackfillCut(message, checkpoint) => Error::BackfillCut {
                target: self.target.to_string(),
                name,
                message,
                progress: checkpoint.map(|c| c.done_of_total()),
                rollback,
                done,
            },
            Failure::BackfillStopped(signal, checkpoint) => Error::BackfillStopped {
                name,
                signal,
                progress: checkpoint.done_of_total(),
                done,
            },
            Failure::Paused(checkpoint) => Error::Paused {
                name,
                progress: checkpoint.done_of_total(),
                steps_done: done,
            },
            Failure::NotStarted(other) | Failure::Registry(other) => other,
        }
    }

    /// One step, by its action; transactional steps do their work and their registry write in
    /// one transaction.
    async fn step(
        &self,
        prepared: &Prepared,
        started: Instant,
        report: &mut dyn FnMut(Event<'_>),
    ) -> std::result::Result<(), Failure> {
        let file = &prepared.step.file;
        let body = prepared.body.as_ref();
        let transactional = body.is_some_and(Body::is_transactional);
        let direction = match prepared.step.action {
            Action::Down => Direction::Down,
            _ => Direction::Up,
        };
        if let Some(backfill) = prepared.backfill() {
            let mut progress = |p: BackfillProgress| report(Event::Backfill(&prepared.step, &p));
            return self
                .backfill(backfill, prepared, direction, started, &mut progress)
                .await;
        }
        match (prepared.step.action, body) {
            (Action::Up, Some(body)) if transactional => {
                let mut record = Record::new(file, Status::Applied, self.who);
                self.in_transaction(body, Direction::Up, &mut record, started)
                    .await
            }
            (Action::Up, Some(body)) => self.up(body, file, started).await,
            (Action::Down, Some(body)) if transactional => {
                let mut record = Record::new(file, Status::Applied, self.who);
                self.in_transaction(body, Direction::Down, &mut record, started)
                    .await
            }
            (Action::Down, Some(body)) => self.down(body, prepared, started).await,
            (Action::Up | Action::Down, None) => {
                Err(Failure::NotStarted(Error::Registry(format!(
                    "`{}` was planned to run without its migration loaded",
                    file.name
                ))))
            }
            (Action::Ignore, _) => {
                let mut record = Record::new(file, Status::Ignored, self.who);
                record.finish(Status::Ignored, Duration::ZERO, None);
                self.registry
                    .put(&[record], None)
                    .await
                    .map_err(Failure::NotStarted)
            }
            (Action::Accept, _) => self
                .registry
                .set_checksum(&file.name, &file.checksum)
                .await
                .map_err(Failure::NotStarted),
            (Action::Forget, _) => self
                .registry
                .remove(&file.name, None)
                .await
                .map_err(Failure::NotStarted),
        }
    }

    /// Records `running`, runs the migration, records `applied` (or how it ended).
    async fn up(
        &self,
        body: &Body,
        file: &Source,
        started: Instant,
    ) -> std::result::Result<(), Failure> {
        let mut record = Record::new(file, Status::Running, self.who);
        crate::ground::knob::checkpoint(&format!("before-step:{}", file.name));
        self.registry
            .put(std::slice::from_ref(&record), None)
            .await
            .map_err(Failure::NotStarted)?;
        crate::ground::knob::checkpoint(&format!("in-step:{}", file.name));
        let outcome = body
            .run(Direction::Up, self.db, None, self.env, self.halt)
            .await;
        crate::ground::knob::checkpoint(&format!("after-step:{}", file.name));
        match outcome {
            Ok(()) => {
                record.finish(Status::Applied, started.elapsed(), None);
                self.write(&record).await?;
                crate::ground::knob::checkpoint(&format!("after-record:{}", file.name));
                Ok(())
            }
            Err(error) => {
                self.record_failure(&mut record, error, started, Direction::Up)
                    .await
            }
        }
    }

    /// A backfill step: records `running` (or, resuming, keeps the checkpoint its record has),
    /// walks the collection recording progress after every batch, and records how it ended:
    /// `applied` (or, for a rollback, no record), `paused`, `interrupted` or `failed`, the
    /// checkpoint kept so that the next run resumes.
    async fn backfill(
        &self,
        backfill: &Backfill,
        prepared: &Prepared,
        direction: Direction,
        started: Instant,
        report: &mut dyn FnMut(BackfillProgress),
    ) -> std::result::Result<(), Failure> {
        let file = &prepared.step.file;
        let resumable = |r: &&Record| {
            r.backfill.is_some()
                && r.direction == direction
                && !matches!(r.status, Status::Applied | Status::Ignored)
        };
        let mut record = match prepared.record.as_ref().filter(resumable) {
            Some(stopped) => stopped.clone(),
            None if direction == Direction::Up => Record::new(file, Status::Running, self.who),
            None => {
                let mut applied = self.rollback_marker(prepared);
                applied.backfill = None;
                applied
            }
        };
        let batch_size = backfill
            .batch_size
            .or(self.backfills.batch_size)
            .unwrap_or(DEFAULT_BATCH);
        // An empty checkpoint from the start: a backfill stopped before its first batch is
        // resumable too (its filter says what is left).
        record.backfill.get_or_insert_with(|| Checkpoint {
            batch_size: i64::try_from(batch_size).unwrap_or(i64::MAX),
            ..Checkpoint::default()
        });
        record.status = Status::Running;
        record.pause = None;
        record.error = None;
        crate::ground::knob::checkpoint(&format!("before-step:{}", file.name));
        self.registry
            .put(std::slice::from_ref(&record), None)
            .await
            .map_err(Failure::NotStarted)?;
        crate::ground::knob::checkpoint(&format!("in-step:{}", file.name));
        let walker = Walker {
            db: self.db,
            store: self.registry,
            halt: self.halt,
            env: self.env,
            pace: backfill.pace.clone().or(&self.backfills.pace),
            body: prepared.body.as_ref(),
        };
        match walker.walk(backfill, &mut record, report).await {
            Ok(Walked::Finished) if direction == Direction::Up => {
                record.finish(Status::Applied, started.elapsed(), None);
                self.write(&record).await?;
                crate::ground::knob::checkpoint(&format!("after-record:{}", file.name));
                Ok(())
            }
            Ok(Walked::Finished) => self
                .registry
                .remove(&file.name, None)
                .await
                .map_err(Failure::Registry),
            Ok(Walked::Paused) => {
                record.status = Status::Paused;
                self.write(&record).await?;
                Err(Failure::Paused(record.backfill.unwrap_or_default()))
            }
            // The record stays `running` (it could not be written anyway): once the server is
            // back it shows as interrupted, and the next run resumes from its checkpoint.
            // A lost lease or a signal has its own ending, even when the connection broke too.
            Err(Stopped::Step(error))
                if error.is_connection_failure()
                    && error.halted().is_none()
                    && self.halt.reason().is_none() =>
            {
                Err(Failure::BackfillCut(error.to_string(), record.backfill))
            }
            Err(Stopped::Registry(Error::Database { source, .. }))
                if is_connection_failure(&source) && self.halt.reason().is_none() =>
            {
                let message = crate::ground::driver::short_message(&source);
                Err(Failure::BackfillCut(message, None))
            }
            Err(Stopped::Step(error)) => {
                let failure = self
                    .record_failure(&mut record, error, started, direction)
                    .await;
                match failure {
                    Err(Failure::Stop(Reason::Signal(signal))) => Err(Failure::BackfillStopped(
                        signal,
                        record.backfill.unwrap_or_default(),
                    )),
                    other => other,
                }
            }
            Err(Stopped::Registry(e)) => Err(Failure::Registry(e)),
        }
    }

    /// The record of an applied migration as its rollback starts: `running`, direction `down`,
    /// keeping who applied it and when.
    fn rollback_marker(&self, prepared: &Prepared) -> Record {
        let file = &prepared.step.file;
        let mut record = prepared
            .record
            .clone()
            .unwrap_or_else(|| Record::new(file, Status::Applied, self.who));
        record.status = Status::Running;
        record.direction = Direction::Down;
        record.rollback = Some(Rollback {
            started_at: mongodb::bson::DateTime::now(),
            who: self.who.to_string(),
            error: None,
        });
        record
    }

    /// Records how a step ended that did not succeed: `interrupted` after a signal, nothing after
    /// a lost lease (the fence would refuse it), `failed` otherwise (unless the server is gone).
    async fn record_failure(
        &self,
        record: &mut Record,
        error: StepError,
        started: Instant,
        direction: Direction,
    ) -> std::result::Result<(), Failure> {
        let reason = error.halted().or_else(|| self.halt.reason());
        let (status, failure) = match reason {
            Some(Reason::LostLock(loss)) => return Err(Failure::Stop(Reason::LostLock(loss))),
            Some(reason @ Reason::Signal(_)) => (Status::Interrupted, Failure::Stop(reason)),
            None if error.is_connection_failure() => return Err(Failure::Step(error, direction)),
            None => (Status::Failed, Failure::Step(error, direction)),
        };
        let text = match &failure {
            Failure::Stop(reason) => reason.describe(),
            Failure::Step(error, _) => error.to_string(),
            Failure::NotStarted(e) | Failure::Registry(e) => e.to_string(),
            Failure::Paused(_) | Failure::BackfillStopped(..) | Failure::BackfillCut(..) => {
                String::new()
            }
        };
        let text = self.env.scrubber().scrub(&text);
        match direction {
            Direction::Up => record.finish(status, started.elapsed(), Some(text)),
            Direction::Down => {
                record.status = status;
                if let Some(rollback) = record.rollback.as_mut() {
                    rollback.error = Some(format!("rollback failed: {text}"));
                }
            }
        }
        self.write(record).await?;
        Err(failure)
    }

    /// A fenced registry write of `record`, after its migration ran.
    async fn write(&self, record: &Record) -> std::result::Result<(), Failure> {
        self.registry
            .put(std::slice::from_ref(record), None)
            .await
            .map_err(Failure::Registry)
    }

    /// A rollback: records `running` (direction `down`, keeping who applied it and when), runs
    /// `down`, then removes the record; a failure keeps the record with the rollback's error.
    async fn down(
        &self,
        body: &Body,
        prepared: &Prepared,
        started: Instant,
    ) -> std::result::Result<(), Failure> {
        let file = &prepared.step.file;
        let mut record = self.rollback_marker(prepared);
        self.registry
            .put(std::slice::from_ref(&record), None)
            .await
            .map_err(Failure::NotStarted)?;
        crate::ground::knob::checkpoint(&format!("in-step:{}", file.name));
        match body
            .run(Direction::Down, self.db, None, self.env, self.halt)
            .await
        {
            Ok(()) => self
                .registry
                .remove(&file.name, None)
                .await
                .map_err(Failure::Registry),
            Err(error) => {
                self.record_failure(&mut record, error, started, Direction::Down)
                    .await
            }
        }
    }
}
