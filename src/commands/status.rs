//! `list`, `check` and `version`: reads only, no lock, one round trip.

use super::Context;
use crate::backup::journal::Journal;
use crate::error::{Error, Result};
use crate::ground::source::Source;
use crate::lint::{self, Finding};
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

/// `check`: fails (exit 8) unless every migration is applied or ignored, unchanged, with its
/// file, and lint finds no error in the migrations still to run (or edited since they ran).
pub(crate) async fn check(ctx: Context<'_>) -> Result<()> {
    let (_, entries, _) = ctx.entries().await?;
    let problems: Vec<&Entry> = entries.iter().filter(|e| e.is_problem()).collect();
    let files: Vec<Source> = entries.iter().filter_map(|e| e.file.clone()).collect();
    let selected: Vec<bool> = entries
        .iter()
        .filter(|e| e.file.is_some())
        .map(|e| !e.is_done() || e.modified)
        .collect();
    let linted = lint::lint(
        &files,
        &selected,
        None,
        &ctx.settings.lint,
        lint::Unreadable::Skip,
    )?;
    let path = |f: &Finding| super::lint::display_path(&f.path, None);
    let view = report::LintView::of(&linted, &path);
    report::check(ctx.out, &entries, &problems, &ctx.settings.target, view);
    if problems.is_empty() {
        return linted.verdict();
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
