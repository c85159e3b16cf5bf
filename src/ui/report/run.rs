//! What a change reports: the dry-run plan, a line per step, and the closing summary.

use std::time::Duration;

use serde::Serialize;

use super::{duration, print_json, TargetView};
use crate::config::Target;
use crate::ground::output::Output;
use crate::ground::Direction;
use crate::plan::Action;
use crate::run::backfill::BatchPlan;
use crate::run::execute::{Completed, Prepared};

/// `--dry-run`: every step in order, with the exact commands it would send.
#[derive(Debug, Serialize)]
struct DryRunReport<'a> {
    dry_run: bool,
    steps: Vec<PlannedStep<'a>>,
}

#[derive(Debug, Serialize)]
struct PlannedStep<'a> {
    name: &'a str,
    file: &'a str,
    action: &'static str,
    commands: Vec<String>,
    /// For a backfill: what its filter matches now.
    #[serde(skip_serializing_if = "Option::is_none")]
    backfill: Option<BatchPlan>,
    #[serde(skip)]
    kind: Action,
}

/// What `--dry-run` prints: every step in order, with the exact commands it would send, and for
/// each backfill what its filter matches now (`counts`, by step name).
pub(crate) fn dry_run(
    out: &Output,
    steps: &[Prepared],
    counts: &std::collections::HashMap<String, BatchPlan>,
) {
    let report = DryRunReport {
        dry_run: true,
        steps: steps
            .iter()
            .map(|p| PlannedStep {
                name: &p.step.file.name,
                file: &p.step.file.file_name,
                action: p.step.action.as_str(),
                commands: commands(p),
                backfill: counts.get(&p.step.file.name).copied(),
                kind: p.step.action,
            })
            .collect(),
    };
    if out.json {
        return print_json(out, &report);
    }
    if report.steps.is_empty() {
        out.print("dry run: nothing to do");
        return;
    }
    for step in &report.steps {
        out.print(&format!(
            "would {} {} ({})",
            action_word(step.kind),
            step.name,
            step.file
        ));
        for command in &step.commands {
            out.print(&format!("    {command}"));
        }
        if let Some(plan) = &step.backfill {
            let batches = (plan.matches.max(0) as u64).div_ceil(plan.batch_size.max(1));
            let about = if plan.estimated { "at most " } else { "" };
            out.print(&format!(
                "    now: the filter matches {about}{} document(s): {about}{batches} batch(es) of {}{}",
                super::thousands(plan.matches),
                plan.batch_size,
                if plan.estimated {
                    " (the collection's size: no index serves the filter, and counting would scan it)"
                } else {
                    ""
                }
            ));
        }
    }
    out.print(&format!(
        "dry run: {} step(s), nothing was changed",
        report.steps.len()
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

/// A change's report: what it did, where.
#[derive(Debug, Serialize)]
struct RunReport<'a> {
    command: &'a str,
    target: TargetView<'a>,
    steps: Vec<DoneStep<'a>>,
}

#[derive(Debug, Serialize)]
struct DoneStep<'a> {
    name: &'a str,
    action: &'static str,
    duration_ms: u128,
    #[serde(skip)]
    kind: Action,
    #[serde(skip)]
    took: Duration,
}

/// The closing line of a run (`nothing` when it did nothing), or the report as JSON.
pub(crate) fn run_summary(
    out: &Output,
    command: &str,
    outcomes: &[Completed],
    nothing: &str,
    target: &Target,
) {
    let report = RunReport {
        command,
        target: TargetView::of(target),
        steps: outcomes
            .iter()
            .map(|o| DoneStep {
                name: &o.name,
                action: o.action.as_str(),
                duration_ms: o.duration.as_millis(),
                kind: o.action,
                took: o.duration,
            })
            .collect(),
    };
    if out.json {
        return print_json(out, &report);
    }
    let Some(first) = report.steps.first() else {
        return out.print(nothing);
    };
    let total: Duration = report.steps.iter().map(|s| s.took).sum();
    if report.steps.iter().all(|s| s.kind == first.kind) {
        return out.print(&format!(
            "{} migration(s) {} in {}",
            report.steps.len(),
            first.kind.done_verb(),
            duration(total)
        ));
    }
    // A checkpoint recorded without running, beside migrations applied: each counted.
    let mut parts: Vec<(Action, usize)> = Vec::new();
    for step in &report.steps {
        match parts.iter_mut().find(|(kind, _)| *kind == step.kind) {
            Some((_, n)) => *n += 1,
            None => parts.push((step.kind, 1)),
        }
    }
    let parts: Vec<String> = parts
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.done_verb()))
        .collect();
    out.print(&format!(
        "{} migration(s) in {}: {}",
        report.steps.len(),
        duration(total),
        parts.join(", ")
    ));
}
