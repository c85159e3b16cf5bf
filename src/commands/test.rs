//! `test NAME` / `test --pending`: up → down → up on scratch databases, one migration after the
//! other, reporting whether each `down` restores the data exactly. Exit 8 when one does not.

use super::Context;
use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;
use crate::migration::Body;
use crate::plan::{self, Entry, State};
use crate::run::execute;
use crate::run::trial::{self, Scratch};
use crate::ui::report;

/// Tries `name` (or every pending migration), on a copy of the collections it names unless
/// `empty`.
pub(crate) async fn test(ctx: Context<'_>, name: Option<&str>, empty: bool) -> Result<()> {
    let (db, entries, _) = ctx.entries().await?;
    let chosen: Vec<&Entry> = match name {
        Some(name) => vec![plan::find(name, &entries)?],
        // A checkpoint has no `down`; `squash` checked it against its history when it wrote it.
        None => entries
            .iter()
            .filter(|e| e.state == State::Pending && !e.is_checkpoint())
            .collect(),
    };
    let mut bodies = Vec::new();
    for entry in &chosen {
        let file = entry.file.as_ref().ok_or_else(|| {
            Error::Refused(Refusal::MissingFile {
                name: entry.name.clone(),
            })
        })?;
        let body = Body::load(file, &ctx.settings.migrations.runners, &ctx.app.migrations)?;
        execute::check_reversible(&body, file)?;
        bodies.push((entry.name.clone(), body));
    }
    // A signal stops the trial between steps, and the scratch databases are still dropped.
    let _graceful = ctx.run.stop.graceful();
    let halt = ctx.run.halt(None);
    let scratch = Scratch::new(&db).await?;
    let env = ctx.child_env().for_database(scratch.work.name());
    let result = async {
        let mut collections: Vec<String> =
            bodies.iter().flat_map(|(_, b)| b.collections()).collect();
        collections.sort();
        collections.dedup();
        let empty_start = empty || collections.is_empty();
        if !empty_start {
            trial::copy_collections(&db, &scratch.work, Some(&collections)).await?;
        }
        let mut verdicts = Vec::new();
        for (name, body) in &bodies {
            let verdict = trial::trial(name, body, &scratch, &env, &halt, empty_start).await?;
            report::trial(ctx.out, &verdict);
            verdicts.push(verdict);
        }
        Ok::<_, Error>(verdicts)
    }
    .await;
    scratch.drop().await?;
    let verdicts = result?;
    report::trial_summary(ctx.out, &verdicts, empty);
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.passed())
        .map(|v| v.name.clone())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::TestFailed { names: failed })
}
