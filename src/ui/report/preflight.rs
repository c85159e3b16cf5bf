//! What `preflight` reports: each check of each pending migration on a line (where, outcome,
//! finding), grouped by migration, then a summary; or, with `--json`, the same as one document.

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::{print_json, TargetView};
use crate::config::Target;
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::preflight::{Check, Outcome, Report};

/// `preflight`'s document.
#[derive(Debug, Serialize)]
struct PreflightReport<'a> {
    ok: bool,
    target: TargetView<'a>,
    pending: &'a [&'a str],
    checks: &'a [Check],
    /// Pending migrations migo cannot read (nothing of them is checked).
    opaque: &'a [String],
}

/// The checks, migration by migration, and the summary line.
pub(crate) fn preflight(out: &Output, report: &Report, pending: &[&str], target: &Target) {
    if out.json {
        return print_json(
            out,
            &PreflightReport {
                ok: report.failures().next().is_none(),
                target: TargetView::of(target),
                pending,
                checks: &report.checks,
                opaque: &report.opaque,
            },
        );
    }
    for name in pending {
        let checks: Vec<&Check> = report
            .checks
            .iter()
            .filter(|c| c.migration == *name)
            .collect();
        let opaque = report.opaque.iter().any(|o| o == name);
        if checks.is_empty() && !opaque {
            continue;
        }
        out.print(&escape(name));
        for check in checks {
            let line = match &check.after {
                Some(after) if check.outcome == Outcome::NotEnforced => format!(
                    "  {}  {}: {}; not enforced: {after} changes `{}` before",
                    check.at,
                    label(&check.outcome),
                    check.detail,
                    escape(&check.collection)
                ),
                _ => format!(
                    "  {}  {}: {}",
                    check.at,
                    label(&check.outcome),
                    check.detail
                ),
            };
            out.print(&out.paint(&line, style(&check.outcome)));
        }
        if opaque {
            out.print("  some of what it does cannot be read without running it: not checked");
        }
    }
    out.print(&summary(report, pending.len(), target));
}

fn label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Fail => "FAIL",
        Outcome::Pass => "pass",
        Outcome::Info => "info",
        Outcome::NotEnforced => "warn",
        Outcome::Unchecked => "unchecked",
    }
}

fn style(outcome: &Outcome) -> Style {
    let color = match outcome {
        Outcome::Fail => AnsiColor::Red,
        Outcome::Pass => AnsiColor::Green,
        Outcome::NotEnforced | Outcome::Unchecked => AnsiColor::Yellow,
        Outcome::Info => return Style::new(),
    };
    Style::new().fg_color(Some(color.into()))
}

/// `preflight: 1 failed, 2 passed in 3 pending migrations (target)`.
fn summary(report: &Report, pending: usize, target: &Target) -> String {
    if pending == 0 {
        return format!("preflight: nothing pending ({})", target.describe());
    }
    let count = |o: Outcome| report.checks.iter().filter(|c| c.outcome == o).count();
    let parts: Vec<String> = [
        (Outcome::Fail, "failed"),
        (Outcome::Pass, "passed"),
        (Outcome::NotEnforced, "not enforced"),
        (Outcome::Unchecked, "unchecked"),
    ]
    .into_iter()
    .map(|(o, word)| (count(o), word))
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}"))
    .collect();
    let checks = if parts.is_empty() {
        "nothing fails".to_string()
    } else {
        parts.join(", ")
    };
    let noun = if pending == 1 {
        "pending migration"
    } else {
        "pending migrations"
    };
    format!(
        "preflight: {checks} in {pending} {noun} ({})",
        target.describe()
    )
}
