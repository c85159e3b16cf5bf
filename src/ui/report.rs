//! What goes to stdout: the `list` table and summary, per-step lines, dry-run plans, and the
//! `--json` documents a script reads instead.

use std::time::Duration;

use anstyle::{AnsiColor, Style};
use mongodb::bson::DateTime;
use serde_json::{json, Value};

use crate::backup::restore::RestoreReport;
use crate::backup::DumpReport;
use crate::config::Target;
use crate::migration::Direction;
use crate::plan::{self, Action, Entry, State};
use crate::run::execute::{Completed, Prepared};
use crate::run::trial::Verdict;
use crate::store::audit::{AuditEntry, AuditResult};
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

/// `{environment, hosts, database}`: where a command looked, for `--json`.
pub(crate) fn target_json(target: &Target) -> Value {
    json!({
        "environment": target.environment,
        "hosts": target.host_list(),
        "database": target.database,
    })
}

/// Prints `rows` under `header` in aligned columns, each row in its style.
fn table<const N: usize>(out: &Output, header: &[&str; N], rows: Vec<([String; N], Style)>) {
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

fn pad(cells: &[String], widths: &[usize]) -> String {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    line.join("  ").trim_end().to_string()
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

/// What `restore --dry-run` would replace.
pub(crate) fn restore_plan(out: &Output, database: &str, dir: &std::path::Path, names: &[&str]) {
    if out.json {
        out.print(
            &json!({"dry_run": true, "from": dir.display().to_string(), "collections": names})
                .to_string(),
        );
        return;
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
        out.print(&json!({"restored": {"collections": report.collections, "documents": report.documents, "indexes": report.indexes}}).to_string());
        return;
    }
    out.print(&format!(
        "restored {} collection(s) of `{database}`: {} document(s), {} index(es)",
        report.collections, report.documents, report.indexes
    ));
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// One migration's `test` result, as it finishes.
pub(crate) fn trial(out: &Output, verdict: &Verdict) {
    if out.json {
        return;
    }
    let status = if verdict.passed() { "pass" } else { "FAIL" };
    out.print(&format!("{status}  {}", verdict.name));
    let line = |step: &str, ok: bool, detail: &str| {
        let mark = if ok { "ok  " } else { "FAIL" };
        out.print(&format!("  {mark}  {step:<9} {detail}"));
    };
    match &verdict.up {
        Err(e) => return line("up", false, e),
        Ok(()) => line("up", true, "ran"),
    }
    match &verdict.down_difference {
        Some(d) => return line("down", false, &format!("does not restore the data: {d}")),
        None => line("down", true, "restores the data exactly"),
    }
    match &verdict.repeat_difference {
        Some(d) => line(
            "up again",
            false,
            &format!("differs from the first up: {d}"),
        ),
        None => line("up again", true, "gives the same data as the first up"),
    }
}

/// The end of `test`: the JSON report, or a closing line.
pub(crate) fn trial_summary(out: &Output, verdicts: &[Verdict]) {
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    if out.json {
        let tests: Vec<Value> = verdicts
            .iter()
            .map(|v| {
                json!({
                    "name": v.name,
                    "passed": v.passed(),
                    "up_error": v.up.as_ref().err(),
                    "down_difference": v.down_difference,
                    "repeat_difference": v.repeat_difference,
                    "empty_start": v.empty_start,
                })
            })
            .collect();
        out.print(&json!({"ok": passed == verdicts.len(), "tests": tests}).to_string());
    } else if verdicts.is_empty() {
        out.print("nothing to test: no migration is pending");
    } else {
        let empty = verdicts.iter().any(|v| v.empty_start);
        let start = if empty {
            ", on an empty scratch database: migo cannot tell which collections a script \
             touches; name them in a `// migo: collections a, b` header to test with data"
        } else {
            ""
        };
        out.print(&format!(
            "{passed} of {} migration(s) passed up → down → up (scratch databases dropped){start}",
            verdicts.len()
        ));
    }
}

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

/// What `--dry-run` prints: every step in order, with the exact commands it would send.
pub(crate) fn dry_run(out: &Output, steps: &[Prepared]) {
    if out.json {
        let steps: Vec<Value> = steps
            .iter()
            .map(|p| {
                json!({
                    "name": p.step.file.name,
                    "action": p.step.action.as_str(),
                    "commands": commands(p),
                })
            })
            .collect();
        out.print(&json!({"dry_run": true, "steps": steps}).to_string());
        return;
    }
    if steps.is_empty() {
        out.print("dry run: nothing to do");
        return;
    }
    for p in steps {
        out.print(&format!(
            "would {} {} ({})",
            action_word(p.step.action),
            p.step.file.name,
            p.step.file.file_name
        ));
        for command in commands(p) {
            out.print(&format!("    {command}"));
        }
    }
    out.print(&format!(
        "dry run: {} step(s), nothing was changed",
        steps.len()
    ));
}

fn commands(p: &Prepared) -> Vec<String> {
    let direction = match p.step.action {
        Action::Up => Direction::Up,
        Action::Down => Direction::Down,
        Action::Ignore | Action::Accept | Action::Forget => return Vec::new(),
    };
    p.body
        .as_ref()
        .map(|b| b.describe(direction))
        .unwrap_or_default()
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Up => "apply",
        Action::Down => "roll back",
        Action::Ignore => "ignore",
        Action::Accept => "accept the new checksum of",
        Action::Forget => "forget the record of",
    }
}

/// The line printed as a step finishes.
pub(crate) fn step_done(out: &Output, name: &str, action: Action, took: Duration) {
    if !out.json {
        out.print(&format!(
            "{} {name} ({})",
            action.done_verb(),
            duration(took)
        ));
    }
}

/// The closing line of a run, or the JSON report.
pub(crate) fn run_summary(
    out: &Output,
    command: &str,
    outcomes: &[Completed],
    nothing: &str,
    target: &Target,
) {
    if out.json {
        let steps: Vec<Value> = outcomes
            .iter()
            .map(|o| json!({"name": o.name, "action": o.action.as_str(), "duration_ms": o.duration.as_millis()}))
            .collect();
        out.print(
            &json!({"command": command, "target": target_json(target), "steps": steps}).to_string(),
        );
    } else if outcomes.is_empty() {
        out.print(nothing);
    } else {
        let total: Duration = outcomes.iter().map(|o| o.duration).sum();
        let verb = outcomes[0].action.done_verb();
        out.print(&format!(
            "{} migration(s) {verb} in {}",
            outcomes.len(),
            duration(total)
        ));
    }
}

/// `2026-11-21 23:59:42Z`
fn timestamp(at: DateTime) -> String {
    let text = at.try_to_rfc3339_string().unwrap_or_default();
    format!("{}Z", text.get(..19).unwrap_or(&text).replace('T', " "))
}

fn ms_to_duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}

/// `12ms`, `3.4s`, `2m05s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{:.1}s", d.as_secs_f64()),
        _ => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(3400)), "3.4s");
        assert_eq!(duration(Duration::from_millis(125_000)), "2m05s");
    }

    #[test]
    fn timestamps_are_utc_to_the_second() {
        assert_eq!(
            timestamp(DateTime::from_millis(1_700_000_000_123)),
            "2023-11-14 22:13:20Z"
        );
    }
}
