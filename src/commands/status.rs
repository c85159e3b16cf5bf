//! `list`, `check` and `version`: reads only, no lock, one round trip.

use super::Context;
use crate::backup::journal::Journal;
use crate::error::{Error, Result};
use crate::plan::Entry;
use crate::ui::report;

/// `list`: every migration with its state.
pub(crate) async fn list(ctx: Context<'_>) -> Result<()> {
    let (_, entries, lock, restore) = ctx.entries_and_restore().await?;
    report::list(ctx.out, &entries, &ctx.settings.target);
    // A restore's journal without a live lock holder: that restore was interrupted.
    let journal = restore.and_then(Journal::from_document);
    if let (Some(journal), None) = (journal, lock.live_holder()) {
        report::interrupted_restore(ctx.out, &journal);
    }
    Ok(())
}

/// `check`: fails (exit 8) unless every migration is applied or ignored, unchanged, with its file.
pub(crate) async fn check(ctx: Context<'_>) -> Result<()> {
    let (_, entries, _) = ctx.entries().await?;
    let problems: Vec<&Entry> = entries.iter().filter(|e| e.is_problem()).collect();
    report::check(ctx.out, &entries, &problems, &ctx.settings.target);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::CheckFailed {
        summary: report::summary(&entries),
    })
}

/// `version`: the newest applied migration and the counts.
pub(crate) async fn version(ctx: Context<'_>) -> Result<()> {
    let (_, entries, _) = ctx.entries().await?;
    report::version(ctx.out, &entries, &ctx.settings.target);
    Ok(())
}
