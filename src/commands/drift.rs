//! `migo drift`: the database's schema against what its applied migrations make. The applied
//! (and ignored) migrations are replayed, in the order the registry recorded them, on a scratch
//! database; both are read into snapshots and compared; each difference is reported with the
//! command that reconciles it. Exit 14 when there is one. Reads only: no lock, nothing written
//! to the database; the scratch database is dropped however the replay ends.
//!
//! [`find`] is also what `execute --require-no-drift` runs before it takes the lock.

use mongodb::Database;

use super::Context;
use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;
use crate::migration::Body;
use crate::plan::{self, Entry, State};
use crate::run::replay::{self, on_scratch, REPLAY};
use crate::schema::{compare, Comparison, Snapshot};
use crate::ui::report;

/// What comparing one database with its migrations found.
#[derive(Debug)]
pub(crate) struct Found {
    /// The migrations replayed, in order.
    pub(crate) replayed: Vec<String>,
    pub(crate) comparison: Comparison,
}

impl Found {
    /// The error for a database that differs, `None` for one that does not.
    pub(crate) fn error(&self, database: &str, reported: bool) -> Option<Error> {
        let differences = &self.comparison.differences;
        (!differences.is_empty()).then(|| Error::Drift {
            database: database.to_string(),
            replayed: self.replayed.len(),
            summary: self.comparison.summary(),
            count: differences.len(),
            reported,
        })
    }
}

/// `migo drift`: compares, reports, and fails (exit 14) on a difference.
pub(crate) async fn drift(ctx: Context<'_>) -> Result<()> {
    let (db, entries, _) = ctx.entries().await?;
    let found = find(ctx, &db, &entries).await?;
    report::drift(
        ctx.out,
        &found.replayed,
        &found.comparison,
        &ctx.settings.target,
    );
    match found.error(&ctx.settings.target.database, true) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Replays `entries`' applied migrations on a scratch database next to `db` and compares `db`
/// with it.
pub(crate) async fn find(ctx: Context<'_>, db: &Database, entries: &[Entry]) -> Result<Found> {
    let steps = replay_steps(ctx, entries)?;
    let names: Vec<String> = steps.iter().map(|(name, _)| name.clone()).collect();
    if !ctx.out.json && !ctx.out.is_member() {
        ctx.out.note(&format!(
            "replaying {} applied migration(s) of `{}` on a scratch database",
            steps.len(),
            db.name()
        ));
    }
    let keep = application_collections(ctx);
    // The database is read while the replay runs: the two wait on the server side by side.
    let replayed = on_scratch(db, REPLAY, ctx.run, ctx.out, async |scratch, halt| {
        let env = ctx.child_env().for_database(scratch.name());
        replay::replay(&steps, scratch, &env, halt).await?;
        Snapshot::read(scratch, &keep).await
    });
    let (expected, actual) =
        futures_util::future::try_join(replayed, Snapshot::read(db, &keep)).await?;
    Ok(Found {
        replayed: names,
        comparison: compare(&expected, &actual, &ctx.settings.drift.ignore),
    })
}

/// The migrations to replay, each loaded (so a malformed file stops it before the scratch
/// database is made); one that cannot be replayed (its file is gone) is refused, and what the
/// replay cannot know is said.
fn replay_steps(ctx: Context<'_>, entries: &[Entry]) -> Result<Vec<(String, Body)>> {
    for entry in entries {
        match entry.state {
            State::Failed | State::Interrupted | State::Running => ctx.out.warn(&format!(
                "`{}` is {}: it is not replayed, so what it did shows as drift",
                entry.name,
                entry.state.as_str()
            )),
            _ => {}
        }
    }
    plan::checkpoint::replay(entries)
        .into_iter()
        .map(|entry| {
            let Some(file) = &entry.file else {
                return Err(Error::Refused(match entry.compiled_elsewhere() {
                    Some(binary) => Refusal::CompiledElsewhere {
                        name: entry.name.clone(),
                        binary: binary.to_string(),
                    },
                    None => Refusal::MissingFile {
                        name: entry.name.clone(),
                    },
                }));
            };
            if entry.modified {
                ctx.out.warn(&format!(
                    "`{}` changed since it was applied: its file as it is now is replayed",
                    entry.name
                ));
            }
            let body = Body::load(file, &ctx.settings.migrations.runners, &ctx.app.migrations)?;
            Ok((entry.name.clone(), body))
        })
        .collect()
}

/// Which collections are the application's: not migo's registry, its audit log, a restore's
/// temporary collections or a scratch database's marker.
pub(crate) fn application_collections(ctx: Context<'_>) -> impl Fn(&str) -> bool {
    let registry = ctx.collection().to_string();
    let audit = crate::store::audit_collection(&registry);
    move |name: &str| {
        name != registry
            && name != audit
            && name != crate::run::replay::MARKER
            && !crate::backup::journal::is_restore_collection(name)
    }
}
