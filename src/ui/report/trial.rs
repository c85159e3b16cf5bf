//! What `test` reports: each migration's up → down → up, then the verdict.

use serde_json::{json, Value};

use crate::run::trial::Verdict;
use crate::ui::output::Output;

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
