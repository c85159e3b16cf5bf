//! Migrations replayed on a scratch database: what `migo drift` compares a database with, what
//! `migo snapshot --replay` shows, and what `migo squash` turns into a checkpoint (and checks
//! the checkpoint against).
//!
//! The scratch database is named after the real one (`<db>_migo_r<pid>`, see
//! [`trial::scratch_name`]) and lives inside a graceful section: a signal stops the replay
//! between two migrations (or two commands of one), and the database is dropped however the
//! work ends, by a failure or a signal, before migo exits. Only the real database's server is
//! used; nothing is read from or written to the real database itself.
//!
//! Only `kill -9` (or a crash of the machine) leaves a scratch database behind. Each one holds a
//! marker ([`MARKER`]: host, process id, database), so the next replay of that database on that
//! host drops those whose process is gone.

use mongodb::bson::{doc, DateTime, Document};
use mongodb::Database;

use super::context::RunContext;
use super::trial::{self, scratch_name};
use crate::error::{Error, Result};
use crate::ground::output::Output;
use crate::ground::Direction;
use crate::halt::Halt;
use crate::identity::Identity;
use crate::migration::Body;
use crate::process::ChildEnv;

/// The scratch database of a replay: `r`; of a checkpoint's check: `c`.
pub(crate) const REPLAY: &str = "r";
/// See [`REPLAY`].
pub(crate) const CHECKPOINT: &str = "c";

/// The collection in a scratch database that says which process made it (never compared).
pub(crate) const MARKER: &str = "migo.scratch";

/// Runs `work` on a fresh scratch database named after `real` (`kind` tells replays from
/// checkpoint checks apart), inside a graceful section of `run`, and drops the scratch database
/// whatever happens; a signal that came meanwhile is the result.
pub(crate) async fn on_scratch<T>(
    real: &Database,
    kind: &str,
    run: &RunContext,
    out: &Output,
    work: impl AsyncFnOnce(&Database, &Halt) -> Result<T>,
) -> Result<T> {
    let _graceful = run.stop.graceful();
    let halt = run.halt(None);
    sweep(real, run, out).await;
    let scratch = real.client().database(&scratch_name(real.name(), kind));
    // A killed run of this same process id may have left it (its users and roles, if any,
    // go with the drop at the end).
    scratch
        .drop()
        .await
        .map_err(|e| match trial::is_unauthorized(&e) {
            true => Error::ScratchDenied {
                database: scratch.name().to_string(),
                message: crate::ground::driver::short_message(&e),
            },
            false => Error::database(format!(
                "cannot clean up the scratch database `{}`",
                scratch.name()
            ))(e),
        })?;
    let result = match halt.reason() {
        Some(reason) => Err(reason.into()),
        None => match mark(&scratch, real.name()).await {
            Ok(()) => work(&scratch, &halt).await,
            Err(e) => Err(e),
        },
    };
    let dropped = trial::drop_scratch(&scratch).await;
    if let Some(reason) = halt.reason() {
        return Err(reason.into());
    }
    let value = result?;
    dropped?;
    Ok(value)
}

/// Writes the marker that says which process on which host made `scratch`, for which database.
async fn mark(scratch: &Database, real: &str) -> Result<()> {
    let me = Identity::current();
    let marker = doc! {
        "_id": "scratch", "host": me.host, "pid": i64::from(std::process::id()),
        "database": real, "started_at": DateTime::now(),
    };
    scratch
        .collection::<Document>(MARKER)
        .insert_one(marker)
        .await
        .map(drop)
        .map_err(Error::database(format!(
            "cannot write to the scratch database `{}`",
            scratch.name()
        )))
}

/// Drops the scratch databases of `real` that a migo process on this host left when it was
/// killed (their marker names `real` and a process that is gone). The server's scratch databases
/// are listed once per run. Best effort: a user who may not list databases leaves them to be
/// dropped by hand.
async fn sweep(real: &Database, run: &RunContext, out: &Output) {
    let listed = run
        .scratch_found
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let names = match listed {
        Some(names) => names,
        None => {
            let filter = doc! {"name": {"$regex": "_migo_[rc][0-9]+$"}};
            let names = real
                .client()
                .list_database_names()
                .filter(filter)
                .await
                .unwrap_or_default();
            *run.scratch_found
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(names.clone());
            names
        }
    };
    let me = Identity::current();
    for name in names {
        let db = real.client().database(&name);
        let Ok(Some(marker)) = db.collection::<Document>(MARKER).find_one(doc! {}).await else {
            continue;
        };
        let pid = marker.get_i64("pid").unwrap_or_default();
        let left_here = marker.get_str("host") == Ok(me.host.as_str())
            && marker.get_str("database") == Ok(real.name());
        if !left_here || pid == i64::from(std::process::id()) || is_alive(pid) {
            continue;
        }
        if trial::drop_scratch(&db).await.is_ok() {
            out.warn(&format!(
                "dropped the scratch database `{}` that a killed migo (pid {pid}) left",
                crate::ground::escape::escape(&name)
            ));
        }
    }
}

/// Whether process `pid` of this host is alive (or not ours to signal: alive all the same).
fn is_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    #[allow(unsafe_code)]
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
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
            return Err(reason.into());
        }
        crate::ground::knob::checkpoint(&format!("replay:{name}"));
        tracing::info!("replaying {name} on {}", scratch.name());
        super::backfill::unrecorded(body, Direction::Up, scratch, env, halt)
            .await
            .map_err(|error| match error.halted().or_else(|| halt.reason()) {
                Some(reason) => reason.into(),
                None => Error::ReplayFailed {
                    name: name.clone(),
                    scratch: scratch.name().to_string(),
                    message: error.to_string(),
                },
            })?;
    }
    Ok(())
}
