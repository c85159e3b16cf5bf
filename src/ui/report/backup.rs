//! What `dump` and `restore` report.

use serde::Serialize;

use super::{duration, print_json};
use crate::backup::journal::{Journal, Phase, Step};
use crate::backup::restore::RestoreReport;
use crate::backup::swap::{Outcome, Recovered};
use crate::backup::DumpReport;
use crate::ground::escape::escape;
use crate::ground::output::Output;

/// The line after a dump (on stderr with `--json`, which keeps stdout for the report).
pub(crate) fn dumped(out: &Output, report: &DumpReport) {
    let size = report
        .bytes
        .map_or_else(|| "with mongodump".to_string(), megabytes);
    let contents = format!(
        "{} collection(s), {} document(s), {size}",
        report.collections, report.documents
    );
    let line = format!(
        "dumped `{}` ({contents}) in {}",
        report.path.display(),
        duration(report.took)
    );
    if out.json {
        out.note(&line);
    } else {
        out.print(&line);
    }
}

/// `restore --dry-run --json`: what would be replaced, from where.
#[derive(Debug, Serialize)]
struct RestorePlan<'a> {
    dry_run: bool,
    from: String,
    collections: &'a [&'a str],
}

/// `restore --json`: what was restored.
#[derive(Debug, Serialize)]
struct Restored<'a> {
    restored: &'a RestoreReport,
}

/// What `restore --dry-run` would replace.
pub(crate) fn restore_plan(out: &Output, database: &str, dir: &std::path::Path, names: &[&str]) {
    if out.json {
        let plan = RestorePlan {
            dry_run: true,
            from: dir.display().to_string(),
            collections: names,
        };
        return print_json(out, &plan);
    }
    for name in names {
        out.print(&format!("would replace `{database}.{name}`"));
    }
    out.print(&format!(
        "dry run: {} collection(s) from {}, nothing was changed",
        names.len(),
        dir.display()
    ));
}

/// The line after a restore.
pub(crate) fn restored(out: &Output, database: &str, report: &RestoreReport) {
    if out.json {
        return print_json(out, &Restored { restored: report });
    }
    out.print(&format!(
        "restored {} collection(s) of `{database}`: {} document(s), {} index(es)",
        report.collections, report.documents, report.indexes
    ));
}

/// What the lock door did about an interrupted restore (on stderr: it comes before the
/// command's own output).
pub(crate) fn settled_restore(out: &Output, recovered: &Recovered) {
    let from = escape(&recovered.from);
    let names = recovered.collections.join(", ");
    let line = match (&recovered.outcome, recovered.phase) {
        (Outcome::Finished, _) => format!(
            "finished the restore from `{from}` that was interrupted during its swap: {} \
             collection(s) ({names}) now hold the dump",
            recovered.collections.len()
        ),
        (Outcome::Undone, Phase::Loading) => format!(
            "undid the restore from `{from}` that was interrupted while loading: its loaded \
             copies were dropped, the database is as it was"
        ),
        (Outcome::Undone, _) => format!(
            "undid the restore from `{from}` whose swap failed: every collection is as it was"
        ),
    };
    out.warn(&line);
}

/// `list`'s line about a restore that was interrupted, and what the next command will do.
pub(crate) fn interrupted_restore(out: &Output, journal: &Journal) {
    let from = escape(&journal.from);
    let total = journal.collections.len();
    let line = match journal.phase {
        Phase::Loading => format!(
            "a restore from `{from}` was interrupted while loading, before it replaced anything: \
             the next command that takes the lock drops its loaded copies, leaving the database \
             as it was (`migo restore` alone does only that)"
        ),
        Phase::Undoing => format!(
            "a restore from `{from}` was interrupted while undoing its swap: the next command \
             that takes the lock finishes undoing it (`migo restore` alone does only that)"
        ),
        Phase::Swapping | Phase::Finishing => {
            let swapped = journal
                .collections
                .iter()
                .filter(|e| e.step == Step::In)
                .count();
            format!(
                "a restore from `{from}` was interrupted during its swap ({swapped} of {total} \
                 collection(s) swapped): the next command that takes the lock finishes the swap \
                 (`migo restore` alone does only that)"
            )
        }
        Phase::Done => return,
    };
    out.warn(&line);
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
