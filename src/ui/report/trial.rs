//! What `test` reports: each migration's up → down → up, then the verdict.

use serde::Serialize;

use super::print_json;
use crate::ground::output::Output;
use crate::run::trial::Verdict;

/// `test --json`: whether every migration passed, and each one's round trip.
#[derive(Debug, Serialize)]
struct TestReport<'a> {
    ok: bool,
    tests: Vec<TrialView<'a>>,
}

#[derive(Debug, Serialize)]
struct TrialView<'a> {
    name: &'a str,
    passed: bool,
    up_error: Option<&'a str>,
    down_difference: Option<&'a str>,
    repeat_difference: Option<&'a str>,
    empty_start: bool,
}

impl<'a> TrialView<'a> {
    fn of(verdict: &'a Verdict) -> TrialView<'a> {
        TrialView {
            name: &verdict.name,
            passed: verdict.passed(),
            up_error: verdict.up.as_ref().err().map(String::as_str),
            down_difference: verdict.down_difference.as_deref(),
            repeat_difference: verdict.repeat_difference.as_deref(),
            empty_start: verdict.empty_start,
        }
    }
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

/// The end of `test`: the JSON report, or a closing line, which says when the scratch database
/// started empty and why: `--empty` (`asked_empty`), or a script whose collections migo cannot
/// tell.
pub(crate) fn trial_summary(out: &Output, verdicts: &[Verdict], asked_empty: bool) {
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    if out.json {
        let report = TestReport {
            ok: passed == verdicts.len(),
            tests: verdicts.iter().map(TrialView::of).collect(),
        };
        print_json(out, &report);
    } else if verdicts.is_empty() {
        out.print("nothing to test: no migration is pending");
    } else {
        let empty = verdicts.iter().any(|v| v.empty_start);
        let start = if asked_empty {
            ", on an empty scratch database (--empty)"
        } else if empty {
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
