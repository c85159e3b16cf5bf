//! Walking a plan: attach each step's parsed migration, then run the steps in order, writing the
//! registry before and after each one, and stop at the first failure.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mongodb::Database;

use crate::config::Runners;
use crate::error::{Error, Result};
use crate::migration::discover::MigrationFile;
use crate::migration::{Body, Direction};
use crate::plan::{Action, Plan, Step};
use crate::process::ChildEnv;
use crate::store::registry::{Record, Registry, Status};

/// A step with its migration loaded, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) step: Step,
    /// `None` for `ignore` and `accept`, which never run the file.
    pub(crate) body: Option<Body>,
}

/// Parsed migrations by name, each file read once per run.
pub(crate) type Bodies = HashMap<String, Body>;

/// Attaches to each step the migration it runs, taken from `bodies` (a file missing there, because
/// the registry changed while waiting for the lock, is loaded now), and refuses an irreversible
/// rollback before anything runs.
pub(crate) fn prepare(plan: &Plan, bodies: &Bodies, runners: &Runners) -> Result<Vec<Prepared>> {
    plan.steps
        .iter()
        .map(|step| {
            let body = match step.action {
                Action::Ignore | Action::Accept => None,
                action => {
                    let body = match bodies.get(&step.file.name) {
                        Some(body) => body.clone(),
                        None => Body::load(&step.file, runners)?,
                    };
                    if action == Action::Down {
                        check_reversible(&body, &step.file)?;
                    }
                    Some(body)
                }
            };
            Ok(Prepared {
                step: step.clone(),
                body,
            })
        })
        .collect()
}

/// Refuses to roll back a migration without a `down`.
pub(crate) fn check_reversible(body: &Body, file: &MigrationFile) -> Result<()> {
    if body.is_reversible() {
        return Ok(());
    }
    Err(Error::refused(
        format!(
            "cannot roll back `{}`: it has no `down`, so it is irreversible",
            file.name
        ),
        format!(
            "add a `down` to `{}` if the change can be undone",
            file.file_name
        ),
    ))
}

/// What happened to one step, reported as the run goes.
#[derive(Debug, Clone)]
pub(crate) enum Event<'a> {
    Started(&'a Step),
    Finished(&'a Step, Duration),
}

/// A completed step.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) action: Action,
    pub(crate) duration: Duration,
}

/// Where a run writes: the database, its registry, who is running it (`user@host`), and the
/// connection handed to script migrations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) db: &'a Database,
    pub(crate) registry: &'a Registry,
    pub(crate) who: &'a str,
    /// The connection for script migrations.
    pub(crate) env: &'a ChildEnv,
}

/// Runs the prepared steps in order, stopping at the first failure.
///
/// Round trips are the cost of a runner: each applied migration costs its own commands plus one
/// registry write. The write that marks a migration `running` also carries the previous one's
/// `applied` record, as two ordered statements of one `update` command, so the crash-safe
/// marker is kept without a second write per migration.
pub(crate) async fn run(
    steps: &[Prepared],
    target: Target<'_>,
    report: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<Outcome>> {
    let mut done = Vec::new();
    let mut unwritten = None;
    for prepared in steps {
        let step = &prepared.step;
        report(Event::Started(step));
        let started = Instant::now();
        let result = match (&prepared.body, step.action) {
            (Some(body), Action::Up) if !body.is_transactional() => {
                target.up(body, &step.file, started, &mut unwritten).await
            }
            (body, action) => match target.flush(&mut unwritten).await {
                Err(e) => Err(e),
                Ok(()) => match (body, action) {
                    (Some(body), Action::Up) => {
                        target.up_in_transaction(body, &step.file, started).await
                    }
                    (Some(body), Action::Down) => target.down(body, &step.file, started).await,
                    (_, Action::Accept) => target.accept(&step.file).await,
                    _ => target.ignore(&step.file).await,
                },
            },
        };
        if let Err(message) = result {
            let done = done.iter().map(|o: &Outcome| o.name.clone()).collect();
            return Err(Error::MigrationFailed {
                name: step.file.name.clone(),
                message,
                done,
            });
        }
        let duration = started.elapsed();
        report(Event::Finished(step, duration));
        done.push(Outcome {
            name: step.file.name.clone(),
            action: step.action,
            duration,
        });
    }
    target
        .flush(&mut unwritten)
        .await
        .map_err(|message| Error::MigrationFailed {
            name: done
                .last()
                .map(|o: &Outcome| o.name.clone())
                .unwrap_or_default(),
            message: format!("it ran, but recording it failed: {message}"),
            done: done.iter().map(|o| o.name.clone()).collect(),
        })?;
    Ok(done)
}

/// Failures inside a step are text: they end up in the registry and in the error line.
type StepResult = std::result::Result<(), String>;

impl Target<'_> {
    /// Writes `running`, together with the previous step's record; runs the migration; keeps
    /// its `applied` record for the next write, or writes `failed` at once.
    async fn up(
        &self,
        body: &Body,
        file: &MigrationFile,
        started: Instant,
        unwritten: &mut Option<Record>,
    ) -> StepResult {
        let mut record = Record::new(file, Status::Running, self.who);
        let mut batch: Vec<Record> = unwritten.take().into_iter().collect();
        batch.push(record.clone());
        self.registry
            .put_all(&batch)
            .await
            .map_err(|e| e.to_string())?;
        let outcome = body.run(Direction::Up, self.db, None, self.env).await;
        let status = if outcome.is_ok() {
            Status::Applied
        } else {
            Status::Failed
        };
        record.finish(status, started.elapsed(), outcome.clone().err());
        if outcome.is_ok() {
            *unwritten = Some(record);
        } else {
            self.registry
                .put_all(&[record])
                .await
                .map_err(|e| e.to_string())?;
        }
        outcome
    }

    /// Writes the record a previous step left for the next write, if any.
    async fn flush(&self, unwritten: &mut Option<Record>) -> StepResult {
        match unwritten.take() {
            Some(record) => self
                .registry
                .put_all(&[record])
                .await
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    async fn up_in_transaction(
        &self,
        body: &Body,
        file: &MigrationFile,
        started: Instant,
    ) -> StepResult {
        let mut record = Record::new(file, Status::Running, self.who);
        self.in_transaction(body, Direction::Up, &mut record, started)
            .await
    }

    /// Runs `body` and writes the registry in one transaction: both happen or neither does.
    async fn in_transaction(
        &self,
        body: &Body,
        direction: Direction,
        record: &mut Record,
        started: Instant,
    ) -> StepResult {
        let unsupported =
            |e: mongodb::error::Error| format!("cannot start a transaction on this server: {e}");
        let mut session = self
            .db
            .client()
            .start_session()
            .await
            .map_err(unsupported)?;
        session.start_transaction().await.map_err(unsupported)?;
        let result = async {
            body.run(direction, self.db, Some(&mut session), self.env)
                .await?;
            let write = match direction {
                Direction::Up => {
                    let elapsed = started.elapsed();
                    self.registry
                        .finish(record, Status::Applied, elapsed, None, Some(&mut session))
                        .await
                }
                Direction::Down => self.registry.remove(&record.name, Some(&mut session)).await,
            };
            write.map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(()) => session
                .commit_transaction()
                .await
                .map_err(|e| format!("commit failed: {e}")),
            Err(message) => {
                // Best effort: the server also drops an unfinished transaction on its own.
                let _ = session.abort_transaction().await;
                Err(format!(
                    "{message} (the transaction was rolled back: nothing changed)"
                ))
            }
        }
    }

    async fn down(&self, body: &Body, file: &MigrationFile, started: Instant) -> StepResult {
        if body.is_transactional() {
            let mut record = Record::new(file, Status::Applied, self.who);
            return self
                .in_transaction(body, Direction::Down, &mut record, started)
                .await;
        }
        if let Err(message) = body.run(Direction::Down, self.db, None, self.env).await {
            let mut record = Record::new(file, Status::Running, self.who);
            let message = format!("rollback failed: {message}");
            self.registry
                .finish(
                    &mut record,
                    Status::Failed,
                    started.elapsed(),
                    Some(message.clone()),
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            return Err(message);
        }
        self.registry
            .remove(&file.name, None)
            .await
            .map_err(|e| e.to_string())
    }

    async fn accept(&self, file: &MigrationFile) -> StepResult {
        self.registry
            .set_checksum(&file.name, &file.checksum)
            .await
            .map_err(|e| e.to_string())
    }

    async fn ignore(&self, file: &MigrationFile) -> StepResult {
        let mut record = Record::new(file, Status::Running, self.who);
        self.registry
            .finish(&mut record, Status::Ignored, Duration::ZERO, None, None)
            .await
            .map_err(|e| e.to_string())
    }
}
