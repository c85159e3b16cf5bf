//! Migrations replayed on a scratch database: what `migo drift` compares a database with, what
//! `migo snapshot --replay` shows, and what `migo squash` turns into a checkpoint (and checks
//! the checkpoint against).
//!
//! The scratch database is named after the real one (`<db>_migo_r<pid>`, see
//! [`trial::scratch_name`]) and lives inside a graceful section: a signal stops the replay
//! between two migrations (or two commands of one), and the database is dropped however the
//! work ends, by a failure or a signal, before migo exits. Only the real database's server is
//! used; nothing is read from or written to the real database itself.

use mongodb::Database;

use super::context::RunContext;
use super::trial::{self, scratch_name};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::migration::{Body, Direction};
use crate::process::ChildEnv;

/// The scratch database of a replay: `r`; of a checkpoint's check: `c`.
pub(crate) const REPLAY: &str = "r";
/// See [`REPLAY`].
pub(crate) const CHECKPOINT: &str = "c";

/// Runs `work` on a fresh scratch database named after `real` (`kind` tells replays from
/// checkpoint checks apart), inside a graceful section of `run`, and drops the scratch database
/// whatever happens; a signal that came meanwhile is the result.
pub(crate) async fn on_scratch<T>(
    real: &Database,
    kind: &str,
    run: &RunContext,
    work: impl AsyncFnOnce(&Database, &Halt) -> Result<T>,
) -> Result<T> {
    let _graceful = run.stop.graceful();
    let halt = run.halt(None);
    let scratch = real.client().database(&scratch_name(real.name(), kind));
    // A stopped run of this same process id may have left it.
    trial::drop_scratch(&scratch).await?;
    let result = match halt.reason() {
        Some(reason) => Err(reason.into_error()),
        None => work(&scratch, &halt).await,
    };
    let dropped = trial::drop_scratch(&scratch).await;
    if let Some(reason) = halt.reason() {
        return Err(reason.into_error());
    }
    let value = result?;
    dropped?;
    Ok(value)
}

/// Runs the `up` of each migration of `steps` in order on `scratch`, the children given `env`'s
/// connection to it; stops before a step, or between two commands, when `halt` says so. A test
/// can freeze migo before a step (`MIGO_TEST_STOP_AT=replay:NAME`).
pub(crate) async fn replay(
    steps: &[(String, Body)],
    scratch: &Database,
    env: &ChildEnv,
    halt: &Halt,
) -> Result<()> {
    for (name, body) in steps {
        if let Some(reason) = halt.reason() {
            return Err(reason.into_error());
        }
        crate::halt::checkpoint(&format!("replay:{name}"));
        tracing::info!("replaying {name} on {}", scratch.name());
        body.run(Direction::Up, scratch, None, env, halt)
            .await
            .map_err(|error| match error.halted().or_else(|| halt.reason()) {
                Some(reason) => reason.into_error(),
                None => Error::ReplayFailed {
                    name: name.clone(),
                    scratch: scratch.name().to_string(),
                    message: error.to_string(),
                },
            })?;
    }
    Ok(())
}
