//! What a fleet reports: the table of members for `list`, `check` and `version`, and the
//! closing summary of a run (one row per member), each also as one JSON document.

use std::time::Duration;

use anstyle::{AnsiColor, Style};
use mongodb::bson::DateTime;
use serde::Serialize;
use serde_json::Value;

use super::outcome::{totals, Counts, Ending, Failure, MemberRun, Row, Standing};
use super::Status;
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::plan::Action;
use crate::ui::report::{duration, print_json, rfc3339, table, timestamp, TargetView};

/// The members' table and the totals; `check` shows only the members that are not up to date.
pub(crate) fn fleet_status(out: &Output, kind: Status, rows: &[Row<'_>]) {
    let checking = kind == Status::Check;
    if out.json {
        let report = FleetStatusReport {
            databases: rows.iter().map(RowView::of).collect(),
            totals: StatusTotals::of(rows),
            ok: checking.then(|| rows.iter().all(|r| !r.problem)),
        };
        return print_json(out, &report);
    }
    let shown: Vec<&Row<'_>> = rows.iter().filter(|r| !checking || r.problem).collect();
    if !shown.is_empty() {
        let header = [
            "DATABASE", "STATE", "APPLIED", "PENDING", "FAILED", "MODIFIED", "NEWEST",
        ];
        let cells = shown
            .iter()
            .map(|r| (status_cells(r), state_style(r)))
            .collect();
        table(out, &header, cells);
    }
    out.print(&status_line(rows, checking));
}

fn status_cells(row: &Row<'_>) -> [String; 7] {
    let c = &row.counts;
    let count = |n: usize| n.to_string();
    match &row.failure {
        Some(failure) => [
            escape(&row.member.name),
            row.standing().as_str().into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            failure.message.clone(),
        ],
        None => [
            escape(&row.member.name),
            row.standing().as_str().into(),
            count(c.applied + c.ignored),
            count(c.pending),
            count(c.failed + c.missing),
            count(c.modified),
            row.newest
                .as_ref()
                .map(|(name, at)| match at {
                    Some(at) => format!("{} ({})", escape(name), timestamp(*at)),
                    None => escape(name),
                })
                .unwrap_or_default(),
        ],
    }
}

fn state_style(row: &Row<'_>) -> Style {
    let color = match row.standing() {
        Standing::UpToDate => AnsiColor::Green,
        Standing::Behind => return Style::new(),
        Standing::Attention | Standing::Error => AnsiColor::Red,
    };
    Style::new().fg_color(Some(color.into()))
}

/// `24 databases: 20 up to date, 3 behind, 1 error; 66 migrations applied, 9 pending`.
fn status_line(rows: &[Row<'_>], checking: bool) -> String {
    let parts: Vec<String> = Standing::ALL
        .iter()
        .map(|s| (s, standing_count(rows, *s)))
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let t = totals(rows);
    let mut migrations = vec![format!("{} applied", t.applied + t.ignored)];
    for (n, what) in [
        (t.pending, "pending"),
        (t.failed, "failed"),
        (t.missing, "missing"),
        (t.modified, "modified"),
    ] {
        if n > 0 {
            migrations.push(format!("{n} {what}"));
        }
    }
    let lead = match (checking, rows.iter().all(|r| !r.problem)) {
        (true, true) => "up to date: ",
        _ => "",
    };
    format!(
        "{lead}{} databases: {}; migrations: {}",
        rows.len(),
        parts.join(", "),
        migrations.join(", ")
    )
}

/// `--fleet list`, `version` and `check`: a row per database and the totals.
#[derive(Debug, Serialize)]
struct FleetStatusReport<'a> {
    databases: Vec<RowView<'a>>,
    totals: StatusTotals,
    /// `check` only: whether every database is up to date.
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<bool>,
}

fn standing_count(rows: &[Row<'_>], standing: Standing) -> usize {
    rows.iter().filter(|r| r.standing() == standing).count()
}

#[derive(Debug, Serialize)]
struct RowView<'a> {
    database: &'a str,
    state: &'static str,
    target: TargetView<'a>,
    #[serde(flatten)]
    counts: Counts,
    newest: Option<NewestView<'a>>,
    error: Option<&'a Failure>,
}

#[derive(Debug, Serialize)]
struct NewestView<'a> {
    name: &'a str,
    #[serde(serialize_with = "rfc3339")]
    applied_at: Option<DateTime>,
}

impl<'a> RowView<'a> {
    fn of(row: &'a Row<'_>) -> RowView<'a> {
        RowView {
            database: &row.member.name,
            state: row.standing().as_str(),
            target: TargetView::of(&row.member.settings.target),
            counts: row.counts,
            newest: row.newest.as_ref().map(|(name, at)| NewestView {
                name,
                applied_at: *at,
            }),
            error: row.failure.as_ref(),
        }
    }
}

#[derive(Debug, Serialize)]
struct StatusTotals {
    databases: usize,
    up_to_date: usize,
    behind: usize,
    attention: usize,
    error: usize,
    applied: usize,
    ignored: usize,
    pending: usize,
    failed: usize,
    missing: usize,
    modified: usize,
}

impl StatusTotals {
    fn of(rows: &[Row<'_>]) -> StatusTotals {
        let t = totals(rows);
        StatusTotals {
            databases: rows.len(),
            up_to_date: standing_count(rows, Standing::UpToDate),
            behind: standing_count(rows, Standing::Behind),
            attention: standing_count(rows, Standing::Attention),
            error: standing_count(rows, Standing::Error),
            applied: t.applied,
            ignored: t.ignored,
            pending: t.pending,
            failed: t.failed,
            missing: t.missing,
            modified: t.modified,
        }
    }
}

/// What a fleet run counts per member, for its column and its totals line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tally {
    /// The steps of a change, and what each did (`applied`, `rolled back`, …).
    Steps(Action),
    /// The differences `drift` found.
    Differences,
}

impl Tally {
    /// The column's header.
    fn column(self) -> String {
        match self {
            Tally::Steps(action) => action.done_verb().to_uppercase(),
            Tally::Differences => "DIFFERENCES".into(),
        }
    }

    /// `; 57 migration(s) applied`, `; 3 difference(s)`.
    fn total(self, n: usize) -> String {
        match self {
            Tally::Steps(action) => format!("; {n} migration(s) {}", action.done_verb()),
            Tally::Differences => format!("; {n} difference(s)"),
        }
    }
}

/// The closing summary of a fleet run: a row per member (result, its tally, duration, error)
/// and a line of totals.
pub(crate) fn fleet_run(
    out: &Output,
    command: &str,
    tally: Option<Tally>,
    runs: &[MemberRun<'_>],
    took: Duration,
) {
    let steps: usize = runs.iter().filter_map(|o| o.steps).sum();
    if out.json {
        let count = |e: Ending| runs.iter().filter(|o| o.ending == e).count();
        let report = FleetRunReport {
            command,
            databases: runs.iter().map(RunView::of).collect(),
            totals: RunTotals {
                databases: runs.len(),
                ok: count(Ending::Ok),
                failed: count(Ending::Failed),
                locked: count(Ending::Locked),
                interrupted: count(Ending::Interrupted),
                drift: count(Ending::Drift),
                not_started: count(Ending::NotStarted),
                steps,
            },
            duration_ms: took.as_millis(),
        };
        return print_json(out, &report);
    }
    let column = tally.map(Tally::column).unwrap_or_default();
    let header = ["DATABASE", "RESULT", column.as_str(), "DURATION", "ERROR"];
    let rows = runs
        .iter()
        .map(|o| {
            let cells = [
                escape(&o.member.name),
                o.ending.as_str().to_string(),
                o.steps.map(|n| n.to_string()).unwrap_or_default(),
                match o.ending {
                    Ending::NotStarted => String::new(),
                    _ => duration(o.took),
                },
                o.failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_default(),
            ];
            (cells, ending_style(o.ending))
        })
        .collect();
    table(out, &header, rows);
    out.print(&run_line(tally, runs, steps, took));
}

fn ending_style(ending: Ending) -> Style {
    let color = match ending {
        Ending::Ok => AnsiColor::Green,
        Ending::NotStarted => return Style::new(),
        Ending::Locked | Ending::Drift => AnsiColor::Yellow,
        Ending::Failed | Ending::Interrupted => AnsiColor::Red,
    };
    Style::new().fg_color(Some(color.into()))
}

/// `24 databases: 21 ok, 1 failed, 1 locked, 1 not started; 57 migration(s) applied in 3.2s`.
fn run_line(tally: Option<Tally>, runs: &[MemberRun<'_>], steps: usize, took: Duration) -> String {
    let endings = [
        Ending::Ok,
        Ending::Drift,
        Ending::Failed,
        Ending::Locked,
        Ending::Interrupted,
        Ending::NotStarted,
    ];
    let parts: Vec<String> = endings
        .iter()
        .map(|e| (e, runs.iter().filter(|o| o.ending == *e).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(e, n)| format!("{n} {}", e.as_str()))
        .collect();
    let done = tally.map(|t| t.total(steps)).unwrap_or_default();
    format!(
        "{} databases: {}{done} in {}",
        runs.len(),
        parts.join(", "),
        duration(took)
    )
}

/// A fleet run: a row per database, the totals, how long it took.
#[derive(Debug, Serialize)]
struct FleetRunReport<'a> {
    command: &'a str,
    databases: Vec<RunView<'a>>,
    totals: RunTotals,
    duration_ms: u128,
}

#[derive(Debug, Serialize)]
struct RunTotals {
    databases: usize,
    ok: usize,
    failed: usize,
    locked: usize,
    interrupted: usize,
    drift: usize,
    not_started: usize,
    steps: usize,
}

#[derive(Debug, Serialize)]
struct RunView<'a> {
    database: &'a str,
    target: TargetView<'a>,
    result: &'static str,
    steps: Option<usize>,
    duration_ms: u128,
    error: Option<&'a Failure>,
    /// The database's own report: the JSON document its single run prints.
    report: Option<Value>,
}

impl<'a> RunView<'a> {
    fn of(run: &'a MemberRun<'_>) -> RunView<'a> {
        RunView {
            database: &run.member.name,
            target: TargetView::of(&run.member.settings.target),
            result: run.ending.as_str(),
            steps: run.steps,
            duration_ms: run.took.as_millis(),
            error: run.failure.as_ref(),
            report: run
                .report
                .last()
                .and_then(|line| serde_json::from_str::<Value>(line).ok()),
        }
    }
}
