//! `history`: the audit log as a table, newest first, or as JSON.

use anstyle::{AnsiColor, Style};
use serde_json::{json, Value};

use super::{duration, ms_to_duration, table, timestamp};
use crate::store::audit::{AuditEntry, AuditResult};
use crate::ui::escape::escape;
use crate::ui::output::Output;

/// The audit log as a table, newest first, or a JSON array with `--json`.
pub(crate) fn history(out: &Output, entries: &[AuditEntry]) {
    if out.json {
        let entries: Vec<Value> = entries.iter().map(audit_json).collect();
        out.print(&Value::Array(entries).to_string());
        return;
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
            let result = match &e.error {
                Some(error) => format!("{word}: {}", crate::ui::escape::escape(error)),
                None => word.to_string(),
            };
            let cells = [
                timestamp(e.at),
                e.action.clone(),
                result,
                escape(&migrations_cell(&e.migrations)),
                escape(&e.who),
                e.environment.clone().unwrap_or_default(),
                duration(ms_to_duration(e.duration_ms)),
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

fn audit_json(entry: &AuditEntry) -> Value {
    json!({
        "at": entry.at.try_to_rfc3339_string().ok(),
        "action": entry.action,
        "environment": entry.environment,
        "who": entry.who,
        "command": entry.command,
        "migrations": entry.migrations,
        "completed": entry.completed,
        "result": entry.result,
        "error": entry.error,
        "duration_ms": entry.duration_ms,
        "tool_version": entry.tool_version,
        "dump": entry.dump,
        "remote": entry.remote.as_ref().map(|d| mongodb::bson::Bson::Document(d.clone()).into_relaxed_extjson()),
        "details": entry.details.as_ref().map(|d| mongodb::bson::Bson::Document(d.clone()).into_relaxed_extjson()),
    })
}
