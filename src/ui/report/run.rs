//! What a change reports: the dry-run plan, a line per step, and the closing summary.

use std::time::Duration;

use serde_json::{json, Value};

use super::{duration, target_json};
use crate::config::Target;
use crate::migration::Direction;
use crate::plan::Action;
use crate::run::execute::{Completed, Prepared};
use crate::ui::output::Output;

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
