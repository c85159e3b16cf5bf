//! What goes to stdout: the `list` table and summary, per-step lines, dry-run plans, and the
//! `--json` documents a script reads instead.

use std::time::Duration;

use anstyle::{AnsiColor, Style};
use mongodb::bson::DateTime;
use serde_json::{json, Value};

use crate::execute::{Outcome, Prepared};
use crate::migration::Direction;
use crate::output::Output;
use crate::plan::{Action, Entry, State};

/// The `list` table and its summary line, or the JSON array with `--json`.
pub fn list(out: &Output, entries: &[Entry]) {
    if out.json {
        out.print(&Value::Array(entries.iter().map(entry_json).collect()).to_string());
        return;
    }
    if entries.is_empty() {
        out.print("no migrations yet: create one with `migo new NAME`");
        return;
    }
    let header = ["NUMBER", "NAME", "STATE", "APPLIED AT", "BY", "DURATION"].map(String::from);
    let rows: Vec<[String; 6]> = entries.iter().map(row).collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    out.print(&pad(&header, &widths));
    for (entry, cells) in entries.iter().zip(&rows) {
        let line = pad(cells, &widths);
        out.print(&out.paint(&line, state_style(entry)));
    }
    out.print(&summary(entries));
}

fn row(entry: &Entry) -> [String; 6] {
    let record = entry.record.as_ref();
    let mut state = entry.state.as_str().to_string();
    if entry.modified {
        state.push_str(" (modified)");
    }
    [
        entry.number.to_string(),
        entry.name.clone(),
        state,
        record
            .and_then(|r| r.applied_at)
            .map(timestamp)
            .unwrap_or_default(),
        record.map(|r| r.who.clone()).unwrap_or_default(),
        record
            .and_then(|r| r.duration_ms)
            .map(|ms| duration(ms_to_duration(ms)))
            .unwrap_or_default(),
    ]
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
        State::Failed | State::Running | State::Interrupted | State::Missing => AnsiColor::Red,
    };
    Style::new().fg_color(Some(color.into()))
}

/// `5 migrations: 3 applied, 1 pending, 1 failed` (states in a fixed order, zeros left out).
pub fn summary(entries: &[Entry]) -> String {
    let order = [
        State::Applied,
        State::Ignored,
        State::Pending,
        State::Failed,
        State::Running,
        State::Interrupted,
        State::Missing,
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
        "checksum": entry.file.as_ref().map(|f| &f.checksum),
        "applied_checksum": record.map(|r| &r.checksum),
        "applied_at": record.and_then(|r| r.applied_at).and_then(|t| t.try_to_rfc3339_string().ok()),
        "who": record.map(|r| &r.who),
        "duration_ms": record.and_then(|r| r.duration_ms),
        "error": record.and_then(|r| r.error.as_ref()),
    })
}

/// What `--dry-run` prints: every step in order, with the exact commands it would send.
pub fn dry_run(out: &Output, steps: &[Prepared]) {
    if out.json {
        let steps: Vec<Value> = steps
            .iter()
            .map(|p| {
                json!({
                    "name": p.step.file.name,
                    "action": action_word(p.step.action),
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
        Action::Ignore => return Vec::new(),
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
    }
}

/// The line printed as a step finishes.
pub fn step_done(out: &Output, name: &str, action: Action, took: Duration) {
    if !out.json {
        out.print(&format!(
            "{} {name} ({})",
            action.done_verb(),
            duration(took)
        ));
    }
}

/// The closing line of a run, or the JSON report.
pub fn run_summary(out: &Output, command: &str, outcomes: &[Outcome], nothing: &str) {
    if out.json {
        let steps: Vec<Value> = outcomes
            .iter()
            .map(|o| json!({"name": o.name, "action": action_word(o.action), "duration_ms": o.duration.as_millis()}))
            .collect();
        out.print(&json!({"command": command, "steps": steps}).to_string());
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
pub fn duration(d: Duration) -> String {
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
