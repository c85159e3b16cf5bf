//! What `dump` and `restore` report.

use serde::Serialize;

use super::{duration, print_json};
use crate::backup::restore::RestoreReport;
use crate::backup::DumpReport;
use crate::ui::output::Output;

/// The line after a dump (on stderr with `--json`, which keeps stdout for the report).
pub(crate) fn dumped(out: &Output, report: &DumpReport) {
    let contents = match (report.documents, report.bytes) {
        (Some(documents), Some(bytes)) => format!(
            "{} collection(s), {documents} document(s), {}",
            report.collections,
            megabytes(bytes)
        ),
        _ => "with mongodump".to_string(),
    };
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

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
