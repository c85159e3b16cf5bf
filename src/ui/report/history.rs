//! `history`: the audit log as a table, newest first, or as JSON.

use anstyle::{AnsiColor, Style};
use mongodb::bson::{Bson, DateTime};
use serde::Serialize;
use serde_json::Value;

use super::{duration, ms_to_duration, print_json, rfc3339, table, timestamp};
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::store::audit::{AuditEntry, AuditResult};

/// One audit entry as `history --json` shows it.
#[derive(Debug, Serialize)]
struct AuditView<'a> {
    #[serde(serialize_with = "rfc3339")]
    at: Option<DateTime>,
    action: &'a str,
    environment: Option<&'a str>,
    who: &'a str,
    command: &'a str,
    migrations: &'a [String],
    completed: &'a [String],
    result: AuditResult,
    error: Option<&'a str>,
    duration_ms: i64,
    tool_version: &'a str,
    dump: Option<&'a str>,
    remote: Option<Value>,
    details: Option<Value>,
}

impl<'a> AuditView<'a> {
    fn of(entry: &'a AuditEntry) -> AuditView<'a> {
        let extended = |d: &Option<mongodb::bson::Document>| {
            d.as_ref()
                .map(|d| Bson::Document(d.clone()).into_relaxed_extjson())
        };
        AuditView {
            at: Some(entry.at),
            action: &entry.action,
            environment: entry.environment.as_deref(),
            who: &entry.who,
            command: &entry.command,
            migrations: &entry.migrations,
            completed: &entry.completed,
            result: entry.result,
            error: entry.error.as_deref(),
            duration_ms: entry.duration_ms,
            tool_version: &entry.tool_version,
            dump: entry.dump.as_deref(),
            remote: extended(&entry.remote),
            details: extended(&entry.details),
        }
    }
}

/// The audit log as a table, newest first, or a JSON array with `--json`.
pub(crate) fn history(out: &Output, entries: &[AuditEntry]) {
    if out.json {
        let views: Vec<AuditView<'_>> = entries.iter().map(AuditView::of).collect();
        return print_json(out, &views);
    }
    if entries.is_empty() {
        out.print(
            "no history yet: every execute, rollback, ignore, accept and unlock is recorded here",
        );
        return;
    }
    let header = [
        "AT",
        "ACTION",
        "RESULT",
        "MIGRATIONS",
        "BY",
        "ENV",
        "DURATION",
        "ERROR",
    ];
    let rows = entries
        .iter()
        .map(|e| {
            let failed = e.result != AuditResult::Ok;
            let word = match e.result {
                AuditResult::Ok => "ok",
                AuditResult::Failed => "failed",
                AuditResult::Interrupted => "interrupted",
                AuditResult::LostLock => "lost_lock",
            };
            // The error goes last: a long one then widens no column but its own.
            let error = e.error.as_deref().map(escape).unwrap_or_default();
            let cells = [
                timestamp(e.at),
                e.action.clone(),
                word.to_string(),
                escape(&migrations_cell(&e.migrations)),
                escape(&e.who),
                e.environment.clone().unwrap_or_default(),
                duration(ms_to_duration(e.duration_ms)),
                error,
            ];
            let style = if failed {
                Style::new().fg_color(Some(AnsiColor::Red.into()))
            } else {
                Style::new()
            };
            (cells, style)
        })
        .collect();
    table(out, &header, rows);
}

/// `0001_a, 0002_b`, or `0001_a … 0200_z (200)` for long runs.
fn migrations_cell(names: &[String]) -> String {
    match names {
        [first, _, _, .., last] => format!("{first} … {last} ({})", names.len()),
        _ => names.join(", "),
    }
}
