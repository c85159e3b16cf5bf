//! What goes to stdout: one file per kind of report. Each command's report is one serialisable
//! struct, printed as text or, with `--json`, serialised as one JSON document, so the two cannot
//! drift apart (`tests/integration/json_shapes.rs` pins the documents). Shared here: the
//! aligned table, the target, the error document, and how times and durations read.

mod backup;
pub(crate) mod drift;
mod history;
mod lint;
mod preflight;
mod run;
mod snapshot;
mod squash;
mod status;
mod trial;

use std::time::Duration;

use anstyle::Style;
use mongodb::bson::DateTime;
use serde::Serialize;

use crate::config::Target;
use crate::error::Error;
use crate::ground::output::Output;
pub(crate) use crate::ground::words::timestamp;

pub(crate) use crate::ground::words::{duration, thousands};
pub(crate) use backup::{dumped, interrupted_restore, restore_plan, restored, settled_restore};
pub(crate) use drift::drift;
pub(crate) use history::history;
pub(crate) use lint::{lint, rules as lint_rules, LintFormat, LintView};
pub(crate) use preflight::preflight;
pub(crate) use run::{dry_run, run_summary};
pub(crate) use snapshot::{snapshot, snapshot_text};
pub(crate) use squash::{squashed, Squashed};
pub(crate) use status::{check, list, summary, version};
pub(crate) use trial::{trial, trial_summary};

/// Where a command looked, as every `--json` document shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetView<'a> {
    environment: Option<&'a str>,
    hosts: Vec<String>,
    database: &'a str,
}

impl<'a> TargetView<'a> {
    pub(crate) fn of(target: &'a Target) -> TargetView<'a> {
        TargetView {
            environment: target.environment.as_deref(),
            hosts: target.host_list(),
            database: &target.database,
        }
    }
}

/// `--json`'s document for a failure: `{"error": {message, hint, reason, exit_code}}`.
#[derive(Debug, Serialize)]
struct ErrorReport {
    error: ErrorView,
}

#[derive(Debug, Serialize)]
struct ErrorView {
    message: String,
    hint: Option<String>,
    /// A stable word for scripts (`locked`, `already_applied`, …), when there is one.
    reason: Option<&'static str>,
    exit_code: u8,
}

/// Prints `error` as the `--json` document (connection strings redacted, as on stderr).
pub(crate) fn error(out: &Output, error: &Error) {
    let clean = |text: &str| crate::ground::secret::redact_text(text);
    let report = ErrorReport {
        error: ErrorView {
            message: clean(&error.to_string()),
            hint: error.hint().map(|h| clean(&h)),
            reason: error.reason(),
            exit_code: error.exit_code(),
        },
    };
    print_json(out, &report);
}

/// Prints `report` as the one JSON document of `--json`.
pub(crate) fn print_json(out: &Output, report: &impl Serialize) {
    match serde_json::to_string(report) {
        Ok(text) => out.print(&text),
        Err(e) => out.warn(&format!("cannot write the report as JSON: {e}")),
    }
}

/// Prints `rows` under `header` in aligned columns, each row in its style.
pub(crate) fn table<const N: usize>(
    out: &Output,
    header: &[&str; N],
    rows: Vec<([String; N], Style)>,
) {
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .map(|(cells, _)| cells[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    out.print(&pad(&header.map(String::from), &widths));
    for (cells, style) in &rows {
        out.print(&out.paint(&pad(cells, &widths), *style));
    }
}

fn pad(cells: &[String], widths: &[usize]) -> String {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    line.join("  ").trim_end().to_string()
}

/// Serialises a time as RFC 3339, as every `--json` document shows times.
pub(crate) fn rfc3339<S: serde::Serializer>(
    at: &Option<DateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at.and_then(|t| t.try_to_rfc3339_string().ok()) {
        Some(text) => serializer.serialize_str(&text),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn ms_to_duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}
