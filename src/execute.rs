//! Walking a plan: load and check every file first, then run the steps in order, writing the
//! registry before and after each one, and stop at the first failure.

use std::time::{Duration, Instant};

use mongodb::Database;

use crate::discover::MigrationFile;
use crate::error::{Error, Result};
use crate::migration::{Body, Direction};
use crate::plan::{Action, Plan, Step};
use crate::registry::{Record, Registry, Status};

/// A step with its migration loaded, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub step: Step,
    /// `None` for `ignore`, which never runs the file.
    pub body: Option<Body>,
}

/// Loads what each step runs, and validates `also_check` (every pending file, for `execute`), so a
/// malformed file stops the run before anything executes.
pub fn prepare(plan: &Plan, also_check: &[MigrationFile]) -> Result<Vec<Prepared>> {
    for file in also_check {
        Body::load(file)?;
    }
    plan.steps
        .iter()
        .map(|step| {
            let body = match step.action {
                Action::Ignore => None,
                Action::Up => Some(Body::load(&step.file)?),
                Action::Down => Some(reversible(Body::load(&step.file)?, &step.file)?),
            };
            Ok(Prepared {
                step: step.clone(),
                body,
            })
        })
        .collect()
}

fn reversible(body: Body, file: &MigrationFile) -> Result<Body> {
    if body.is_reversible() {
        return Ok(body);
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
pub enum Event<'a> {
    Started(&'a Step),
    Finished(&'a Step, Duration),
}

/// A completed step.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub action: Action,
    pub duration: Duration,
}

/// Runs the prepared steps in order; `who` is recorded as `user@host`.
pub async fn run(
    steps: &[Prepared],
    db: &Database,
    registry: &Registry,
    who: &str,
    report: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<Outcome>> {
    let mut done = Vec::new();
    for prepared in steps {
        let step = &prepared.step;
        report(Event::Started(step));
        let started = Instant::now();
        let result = match (&prepared.body, step.action) {
            (Some(body), Action::Up) => up(body, &step.file, db, registry, who, started).await,
            (Some(body), Action::Down) => down(body, &step.file, db, registry, who, started).await,
            _ => ignore(&step.file, registry, who).await,
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
    Ok(done)
}

/// Failures inside a step are text: they end up in the registry and in the error line.
type StepResult = std::result::Result<(), String>;

async fn up(
    body: &Body,
    file: &MigrationFile,
    db: &Database,
    registry: &Registry,
    who: &str,
    started: Instant,
) -> StepResult {
    let mut record = Record::new(file, Status::Running, who);
    if body.is_transactional() {
        return in_transaction(body, Direction::Up, db, registry, &mut record, started).await;
    }
    registry
        .put(&record, None)
        .await
        .map_err(|e| e.to_string())?;
    let outcome = body.run(Direction::Up, db, None).await;
    let status = if outcome.is_ok() {
        Status::Applied
    } else {
        Status::Failed
    };
    registry
        .finish(
            &mut record,
            status,
            started.elapsed(),
            outcome.clone().err(),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    outcome
}

/// Runs `body` and writes the registry in one transaction: both happen or neither does.
async fn in_transaction(
    body: &Body,
    direction: Direction,
    db: &Database,
    registry: &Registry,
    record: &mut Record,
    started: Instant,
) -> StepResult {
    let unsupported =
        |e: mongodb::error::Error| format!("cannot start a transaction on this server: {e}");
    let mut session = db.client().start_session().await.map_err(unsupported)?;
    session.start_transaction().await.map_err(unsupported)?;
    let result = async {
        body.run(direction, db, Some(&mut session)).await?;
        let write = match direction {
            Direction::Up => {
                registry
                    .finish(
                        record,
                        Status::Applied,
                        started.elapsed(),
                        None,
                        Some(&mut session),
                    )
                    .await
            }
            Direction::Down => registry.remove(&record.name, Some(&mut session)).await,
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
            // Aborting is best effort: the server also drops an unfinished transaction on its own.
            let _ = session.abort_transaction().await;
            Err(format!(
                "{message} (the transaction was rolled back: nothing changed)"
            ))
        }
    }
}

async fn down(
    body: &Body,
    file: &MigrationFile,
    db: &Database,
    registry: &Registry,
    who: &str,
    started: Instant,
) -> StepResult {
    if body.is_transactional() {
        let mut record = Record::new(file, Status::Applied, who);
        return in_transaction(body, Direction::Down, db, registry, &mut record, started).await;
    }
    if let Err(message) = body.run(Direction::Down, db, None).await {
        let mut record = Record::new(file, Status::Running, who);
        let message = format!("rollback failed: {message}");
        registry
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
    registry
        .remove(&file.name, None)
        .await
        .map_err(|e| e.to_string())
}

async fn ignore(file: &MigrationFile, registry: &Registry, who: &str) -> StepResult {
    let mut record = Record::new(file, Status::Running, who);
    registry
        .finish(&mut record, Status::Ignored, Duration::ZERO, None, None)
        .await
        .map_err(|e| e.to_string())
}
