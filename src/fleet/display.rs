//! What a person sees while a fleet runs on a terminal: a line per running member (what it is
//! doing, for how long) under a bar of the members done, with the members' lines printed above.
//! Off a terminal, or with `--json` or `--quiet`, there is none: members' lines are prefixed
//! with their name instead (`[tenant_42] applied 0003_x (12ms)`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ground::output::Output;

/// The display of one fleet run.
pub(super) struct Display {
    multi: MultiProgress,
    total: ProgressBar,
    failed: usize,
}

impl Display {
    /// A display for `count` members, when stdout and stderr are terminals and output is for
    /// a person.
    pub(super) fn new(out: &Output, count: usize) -> Option<Display> {
        let person = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        if !person || out.json || out.is_quiet() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new(count as u64));
        total.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} databases {elapsed} {msg}")
                .expect("a valid template"),
        );
        Some(Display {
            multi,
            total,
            failed: 0,
        })
    }

    /// The line of a member that starts.
    pub(super) fn start(&self, name: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix} {msg} {elapsed}")
                .expect("a valid template"),
        );
        bar.set_prefix(crate::ground::escape::escape(name));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A member ended.
    pub(super) fn finish(&mut self, bar: &ProgressBar, failed: bool) {
        bar.finish_and_clear();
        self.multi.remove(bar);
        self.failed += usize::from(failed);
        self.total.inc(1);
        if self.failed > 0 {
            self.total.set_message(format!("({} failed)", self.failed));
        }
    }

    /// Removes the display before the summary.
    pub(super) fn clear(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}
