//! `list`, `check` and `version`: one serialisable report each, printed as text (the table of
//! migrations, the problems, the newest applied) or, with `--json`, as that same struct.

use anstyle::{AnsiColor, Style};
use mongodb::bson::DateTime;
use serde::Serialize;

use super::lint::{findings as lint_findings, summary as lint_summary, LintView};
use super::{duration, ms_to_duration, print_json, rfc3339, table, timestamp, TargetView};
use crate::config::Target;
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::ground::record::Checkpoint;
use crate::ground::words::done_of;
use crate::ground::Direction;
use crate::plan::{self, Entry, State};

/// One migration as `list` and `check` report it.
#[derive(Debug, Serialize)]
pub(crate) struct MigrationView<'a> {
    number: u64,
    name: &'a str,
    file: Option<&'a str>,
    #[serde(serialize_with = "state_word")]
    state: State,
    modified: bool,
    out_of_order: bool,
    /// The file's checksum now.
    checksum: Option<&'a str>,
    /// The checksum recorded when it ran.
    applied_checksum: Option<&'a str>,
    #[serde(serialize_with = "rfc3339")]
    applied_at: Option<DateTime>,
    who: Option<&'a str>,
    duration_ms: Option<i64>,
    error: Option<&'a str>,
    direction: Option<Direction>,
    /// The binary that has this compiled migration, when this one does not.
    compiled: Option<&'a str>,
    /// Why its file cannot be used.
    problem: Option<&'a str>,
    /// A backfill's progress, as its record keeps it.
    backfill: Option<BackfillView>,
    /// The checkpoint that stands for it (`replaced`).
    replaced_by: Option<&'a str>,
    /// Whether it is a checkpoint.
    checkpoint: bool,
}

/// A backfill's progress in `list` (and `version`): how far it got, recorded after each batch.
#[derive(Debug, Serialize)]
pub(crate) struct BackfillView {
    done: i64,
    /// `done` plus what still matched when its run started; `estimated` when counting it
    /// exactly would have scanned an unindexed filter.
    total: Option<i64>,
    estimated: bool,
    batches: i64,
    /// Documents per second over its recent batches.
    rate: f64,
    /// The `_id` it resumes after, as relaxed Extended JSON.
    last_id: Option<serde_json::Value>,
}

impl BackfillView {
    pub(crate) fn of(checkpoint: &Checkpoint) -> BackfillView {
        BackfillView {
            done: checkpoint.done,
            total: checkpoint.total,
            estimated: checkpoint.estimated,
            batches: checkpoint.batches,
            rate: checkpoint.rate,
            last_id: checkpoint
                .last_id
                .clone()
                .map(|id| id.into_relaxed_extjson()),
        }
    }

    /// `backfill 41,000 of 120,000` (`of about …` for an estimate).
    pub(crate) fn describe(&self) -> String {
        format!(
            "backfill {}",
            done_of(self.done, self.total, self.estimated)
        )
    }
}

/// A state as the word output uses (`applied`, `pending`, …).
fn state_word<S: serde::Serializer>(state: &State, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.as_str())
}

impl<'a> MigrationView<'a> {
    fn of(entry: &'a Entry) -> MigrationView<'a> {
        let record = entry.record.as_ref();
        MigrationView {
            number: entry.number,
            name: &entry.name,
            file: entry.file.as_ref().map(|f| f.file_name.as_str()),
            state: entry.state,
            modified: entry.modified,
            out_of_order: entry.out_of_order,
            checksum: entry.file.as_ref().map(|f| f.checksum.as_str()),
            applied_checksum: record.map(|r| r.checksum.as_str()),
            applied_at: record.and_then(|r| r.applied_at),
            who: record.map(|r| r.who.as_str()),
            duration_ms: record.and_then(|r| r.duration_ms),
            error: record.and_then(|r| r.error.as_deref()),
            direction: record.map(|r| r.direction),
            compiled: entry.compiled_elsewhere(),
            problem: entry.file.as_ref().and_then(|f| f.problem.as_deref()),
            backfill: record
                .and_then(|r| r.backfill.as_ref())
                .map(BackfillView::of),
            replaced_by: entry.replaced_by.as_deref(),
            checkpoint: entry.is_checkpoint(),
        }
    }

    /// `applied (modified)`, `pending (out of order)`, `failed (rollback)`.
    fn label(&self) -> String {
        let mut label = self.state.as_str().to_string();
        if self.modified {
            label.push_str(" (modified)");
        }
        if self.out_of_order {
            label.push_str(" (out of order)");
        }
        let done = matches!(self.state, State::Applied | State::Ignored);
        if self.direction == Some(Direction::Down) && !done {
            label.push_str(" (rollback)");
        }
        if let Some(binary) = self.compiled {
            label.push_str(&format!(" (compiled: {binary})"));
        }
        match (self.state, self.replaced_by) {
            (State::Replaced, Some(by)) => label.push_str(&format!(" (by {by})")),
            (_, Some(by)) => label.push_str(&format!(" (file gone: in {by})")),
            _ => {}
        }
        if self.checkpoint {
            label.push_str(" (checkpoint)");
        }
        if let Some(backfill) = self.backfill.as_ref().filter(|_| !done) {
            label.push_str(&format!(" ({})", backfill.describe()));
        }
        label
    }

    /// Whether the file still matches what was applied: `ok`, `changed`, `no file`, `compiled`;
    /// empty when nothing was recorded yet.
    fn checksum_state(&self) -> &'static str {
        match (self.applied_checksum, self.checksum) {
            (None, _) => "",
            (Some(_), None) if self.compiled.is_some() => "compiled",
            (Some(_), None) => "no file",
            (Some(_), Some(_)) if self.modified => "changed",
            (Some(recorded), Some(now)) if recorded == now => "ok",
            // A failed or running record keeps the checksum it started with.
            (Some(_), Some(_)) => "changed",
        }
    }

    fn style(&self) -> Style {
        let color = match self.state {
            _ if self.modified => AnsiColor::Magenta,
            State::Applied => AnsiColor::Green,
            State::Ignored => AnsiColor::Cyan,
            State::Pending | State::Replaced => return Style::new(),
            State::Paused => AnsiColor::Yellow,
            State::Failed
            | State::Running
            | State::Interrupted
            | State::Missing
            | State::Invalid => AnsiColor::Red,
        };
        Style::new().fg_color(Some(color.into()))
    }

    fn row(&self) -> [String; 7] {
        [
            self.number.to_string(),
            escape(self.name),
            self.label(),
            self.applied_at.map(timestamp).unwrap_or_default(),
            self.who.map(escape).unwrap_or_default(),
            self.duration_ms
                .map(|ms| duration(ms_to_duration(ms)))
                .unwrap_or_default(),
            self.checksum_state().to_string(),
        ]
    }
}

/// `list`: the target and every migration.
#[derive(Debug, Serialize)]
struct ListReport<'a> {
    target: TargetView<'a>,
    migrations: Vec<MigrationView<'a>>,
    #[serde(skip)]
    summary: String,
}

/// The `list` table and its summary line (with the target), or the report as JSON.
pub(crate) fn list(out: &Output, entries: &[Entry], target: &Target) {
    let report = ListReport {
        target: TargetView::of(target),
        migrations: entries.iter().map(MigrationView::of).collect(),
        summary: summary(entries),
    };
    if out.json {
        return print_json(out, &report);
    }
    if report.migrations.is_empty() {
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
    let rows = report
        .migrations
        .iter()
        .map(|m| (m.row(), m.style()))
        .collect();
    table(out, &header, rows);
    out.print(&format!("{} ({})", report.summary, target.describe()));
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
        State::Paused,
        State::Missing,
        State::Invalid,
        State::Replaced,
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

/// `check`: whether everything is applied (or ignored), unchanged, with its file, and if not,
/// what is not.
#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    ok: bool,
    target: TargetView<'a>,
    summary: String,
    problems: Vec<MigrationView<'a>>,
    /// What lint finds in the migrations not yet applied.
    lint: LintView<'a>,
}

/// `check`'s report: `up to date` or the migrations that are not, one per line, then what lint
/// finds in those not applied yet.
pub(crate) fn check(
    out: &Output,
    entries: &[Entry],
    problems: &[&Entry],
    target: &Target,
    lint: LintView<'_>,
) {
    let report = CheckReport {
        ok: problems.is_empty() && lint.ok,
        target: TargetView::of(target),
        summary: summary(entries),
        problems: problems.iter().map(|e| MigrationView::of(e)).collect(),
        lint,
    };
    if out.json {
        return print_json(out, &report);
    }
    if problems.is_empty() {
        out.print(&format!(
            "up to date: {} ({})",
            report.summary,
            target.describe()
        ));
    }
    let width = report
        .problems
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(0);
    for problem in &report.problems {
        let line = format!("{:<width$}  {}", problem.name, problem.label());
        out.print(&out.paint(&line, problem.style()));
    }
    if !report.lint.findings.is_empty() {
        lint_findings(out, &report.lint);
        out.print(&lint_summary(&report.lint));
    }
}

/// `version`: the newest applied (or ignored) migration and the counts.
#[derive(Debug, Serialize)]
struct VersionReport<'a> {
    version: Option<&'a str>,
    number: Option<u64>,
    #[serde(serialize_with = "rfc3339")]
    applied_at: Option<DateTime>,
    applied: usize,
    ignored: usize,
    pending: usize,
    total: usize,
    target: TargetView<'a>,
    /// The backfills started and not finished (running, interrupted, paused), with their
    /// progress.
    backfills: Vec<MigrationView<'a>>,
    #[serde(skip)]
    newest: Option<MigrationView<'a>>,
    #[serde(skip)]
    summary: String,
}

/// Whether `m`'s record holds a backfill walk that started and did not finish: running,
/// interrupted, paused or failed on its way up (an applied one keeps its finished checkpoint, and
/// a rollback or a missing file is not a walk in progress).
fn unfinished_walk(m: &MigrationView<'_>) -> bool {
    let walking = matches!(
        m.state,
        State::Running | State::Interrupted | State::Paused | State::Failed
    );
    walking && m.direction != Some(Direction::Down)
}

/// `version`: the newest applied migration (by number) and the counts.
pub(crate) fn version(out: &Output, entries: &[Entry], target: &Target) {
    let newest = plan::version(entries).map(MigrationView::of);
    let count = |state: State| entries.iter().filter(|e| e.state == state).count();
    let report = VersionReport {
        version: newest.as_ref().map(|m| m.name),
        number: newest.as_ref().map(|m| m.number),
        applied_at: newest.as_ref().and_then(|m| m.applied_at),
        applied: count(State::Applied),
        ignored: count(State::Ignored),
        pending: count(State::Pending),
        total: entries.len(),
        target: TargetView::of(target),
        backfills: entries
            .iter()
            .map(MigrationView::of)
            .filter(|m| m.backfill.is_some() && unfinished_walk(m))
            .collect(),
        newest,
        summary: summary(entries),
    };
    if out.json {
        return print_json(out, &report);
    }
    match &report.newest {
        Some(m) => out.print(&format!(
            "{} ({} {} by {})",
            m.name,
            m.state.as_str(),
            m.applied_at.map(timestamp).unwrap_or_default(),
            m.who.unwrap_or_default()
        )),
        None => out.print("no migration applied yet"),
    }
    for m in &report.backfills {
        let progress = m.backfill.as_ref().map(BackfillView::describe);
        let (state, progress) = (m.state.as_str(), progress.unwrap_or_default());
        out.print(&format!("{}: {state} ({progress})", m.name));
    }
    out.print(&format!("{} ({})", report.summary, target.describe()));
}
