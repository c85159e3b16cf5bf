//! `list`, `check` and `version`: the table of migrations, the problems, the newest applied.

use anstyle::{AnsiColor, Style};
use serde_json::{json, Value};

use super::{duration, ms_to_duration, table, target_json, timestamp};
use crate::config::Target;
use crate::plan::{self, Entry, State};
use crate::ui::escape::escape;
use crate::ui::output::Output;

/// The `list` table and its summary line (with the target), or with `--json` the document
/// `{target, migrations}`.
pub(crate) fn list(out: &Output, entries: &[Entry], target: &Target) {
    if out.json {
        let migrations = Value::Array(entries.iter().map(entry_json).collect());
        out.print(&json!({"target": target_json(target), "migrations": migrations}).to_string());
        return;
    }
    if entries.is_empty() {
        out.print(&format!(
            "no migrations yet: create one with `migo new NAME` ({})",
            target.describe()
        ));
        return;
    }
    let header = [
        "NUMBER",
        "NAME",
        "STATE",
        "APPLIED AT",
        "BY",
        "DURATION",
        "CHECKSUM",
    ];
    let rows = entries.iter().map(|e| (row(e), state_style(e))).collect();
    table(out, &header, rows);
    out.print(&format!("{} ({})", summary(entries), target.describe()));
}

fn row(entry: &Entry) -> [String; 7] {
    let record = entry.record.as_ref();
    [
        entry.number.to_string(),
        escape(&entry.name),
        state_label(entry),
        record
            .and_then(|r| r.applied_at)
            .map(timestamp)
            .unwrap_or_default(),
        record.map(|r| escape(&r.who)).unwrap_or_default(),
        record
            .and_then(|r| r.duration_ms)
            .map(|ms| duration(ms_to_duration(ms)))
            .unwrap_or_default(),
        checksum_state(entry).to_string(),
    ]
}

/// Whether the file still matches what was applied: `ok`, `changed`, `no file`; empty when
/// nothing was recorded yet.
fn checksum_state(entry: &Entry) -> &'static str {
    match (&entry.record, &entry.file) {
        (None, _) => "",
        (Some(r), None) if r.binary.is_some() => "compiled",
        (Some(_), None) => "no file",
        (Some(_), Some(_)) if entry.modified => "changed",
        (Some(r), Some(f)) if r.checksum == f.checksum => "ok",
        // A failed or running record keeps the checksum it started with.
        (Some(_), Some(_)) => "changed",
    }
}

/// `applied (modified)`, `pending (out of order)`, `failed`.
fn state_label(entry: &Entry) -> String {
    let mut state = entry.state.as_str().to_string();
    if entry.modified {
        state.push_str(" (modified)");
    }
    if entry.out_of_order {
        state.push_str(" (out of order)");
    }
    if entry.rollback_unfinished() {
        state.push_str(" (rollback)");
    }
    if let Some(binary) = entry.compiled_elsewhere() {
        state.push_str(&format!(" (compiled: {binary})"));
    }
    state
}

fn state_style(entry: &Entry) -> Style {
    let color = match entry.state {
        _ if entry.modified => AnsiColor::Magenta,
        State::Applied => AnsiColor::Green,
        State::Ignored => AnsiColor::Cyan,
        State::Pending => return Style::new(),
        State::Failed | State::Running | State::Interrupted | State::Missing | State::Invalid => {
            AnsiColor::Red
        }
    };
    Style::new().fg_color(Some(color.into()))
}

/// `5 migrations: 3 applied, 1 pending, 1 failed` (states in a fixed order, zeros left out).
pub(crate) fn summary(entries: &[Entry]) -> String {
    let order = [
        State::Applied,
        State::Ignored,
        State::Pending,
        State::Failed,
        State::Running,
        State::Interrupted,
        State::Missing,
        State::Invalid,
    ];
    let mut parts: Vec<String> = order
        .iter()
        .map(|s| (s, entries.iter().filter(|e| e.state == *s).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let modified = entries.iter().filter(|e| e.modified).count();
    if modified > 0 {
        parts.push(format!("{modified} modified"));
    }
    let noun = if entries.len() == 1 {
        "migration"
    } else {
        "migrations"
    };
    format!("{} {noun}: {}", entries.len(), parts.join(", "))
}

fn entry_json(entry: &Entry) -> Value {
    let record = entry.record.as_ref();
    json!({
        "number": entry.number,
        "name": entry.name,
        "file": entry.file.as_ref().map(|f| &f.file_name),
        "state": entry.state.as_str(),
        "modified": entry.modified,
        "out_of_order": entry.out_of_order,
        "checksum": entry.file.as_ref().map(|f| &f.checksum),
        "applied_checksum": record.map(|r| &r.checksum),
        "applied_at": record.and_then(|r| r.applied_at).and_then(|t| t.try_to_rfc3339_string().ok()),
        "who": record.map(|r| &r.who),
        "duration_ms": record.and_then(|r| r.duration_ms),
        "error": record.and_then(|r| r.error.as_ref()),
        "direction": record.map(|r| r.direction),
        "compiled": entry.compiled_elsewhere(),
        "problem": entry.file.as_ref().and_then(|f| f.problem.as_ref()),
    })
}

/// `check`'s report: `up to date` or the migrations that are not, one per line.
pub(crate) fn check(out: &Output, entries: &[Entry], problems: &[&Entry], target: &Target) {
    if out.json {
        let problems: Vec<Value> = problems.iter().map(|e| entry_json(e)).collect();
        out.print(
            &json!({"ok": problems.is_empty(), "target": target_json(target),
                    "summary": summary(entries), "problems": problems})
            .to_string(),
        );
    } else if problems.is_empty() {
        out.print(&format!(
            "up to date: {} ({})",
            summary(entries),
            target.describe()
        ));
    } else {
        let width = problems.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for entry in problems {
            let line = format!("{:<width$}  {}", entry.name, state_label(entry));
            out.print(&out.paint(&line, state_style(entry)));
        }
    }
}

/// `version`: the newest applied migration (by number) and the counts.
pub(crate) fn version(out: &Output, entries: &[Entry], target: &Target) {
    let newest = plan::version(entries);
    let count = |state: State| entries.iter().filter(|e| e.state == state).count();
    if out.json {
        out.print(
            &json!({
                "version": newest.map(|e| &e.name),
                "number": newest.map(|e| e.number),
                "applied_at": newest
                    .and_then(|e| e.record.as_ref())
                    .and_then(|r| r.applied_at)
                    .and_then(|t| t.try_to_rfc3339_string().ok()),
                "applied": count(State::Applied),
                "ignored": count(State::Ignored),
                "pending": count(State::Pending),
                "total": entries.len(),
                "target": target_json(target),
            })
            .to_string(),
        );
        return;
    }
    match newest {
        Some(entry) => {
            let record = entry.record.as_ref();
            let at = record.and_then(|r| r.applied_at).map(timestamp);
            let who = record.map(|r| r.who.as_str()).unwrap_or_default();
            out.print(&format!(
                "{} ({} {} by {who})",
                entry.name,
                entry.state.as_str(),
                at.unwrap_or_default()
            ));
        }
        None => out.print("no migration applied yet"),
    }
    out.print(&format!("{} ({})", summary(entries), target.describe()));
}
