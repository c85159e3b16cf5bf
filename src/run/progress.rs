//! What a person sees while a run goes. On a terminal: a spinner with the elapsed time on stderr,
//! only for a step running longer than 2 s, cleared when it ends. Elsewhere (CI logs, pipes): a
//! line as each step starts, so a log shows which migration was running if one hangs. Either
//! way, a line with the duration as each step ends; nothing of this with `--json`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::{Action, Step};
use crate::ui::output::Output;
use crate::ui::report;

/// How long a step runs before the spinner shows.
const QUIET_PERIOD: Duration = Duration::from_secs(2);

/// The progress of one run.
pub(crate) struct Progress<'a> {
    out: &'a Output,
    interactive: bool,
    spinner: Option<(ProgressBar, Arc<AtomicBool>)>,
}

impl<'a> Progress<'a> {
    /// Progress for `out`: interactive when both streams are terminals.
    pub(crate) fn new(out: &'a Output) -> Progress<'a> {
        // A fleet member's steps are lines: the fleet has its own progress display.
        let interactive =
            std::io::stdout().is_terminal() && std::io::stderr().is_terminal() && !out.is_member();
        Progress {
            out,
            interactive,
            spinner: None,
        }
    }

    /// A step starts.
    pub(crate) fn started(&mut self, step: &Step) {
        if self.out.json {
            return;
        }
        let what = format!("{} {}", doing(step.action), step.file.name);
        if self.out.is_member() {
            // A fleet member shows it on its line of the fleet's display, if there is one.
            self.out.status(what);
            return;
        }
        if !self.interactive {
            self.out.print(&format!("{what}…"));
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
        );
        bar.set_message(what);
        let done = Arc::new(AtomicBool::new(false));
        let (shown, finished) = (bar.clone(), done.clone());
        std::thread::spawn(move || {
            std::thread::sleep(QUIET_PERIOD);
            if !finished.load(Ordering::SeqCst) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        self.spinner = Some((bar, done));
    }

    /// A step ended after `took`.
    pub(crate) fn finished(&mut self, step: &Step, took: Duration) {
        self.clear();
        report::step_done(self.out, &step.file.name, step.action, took);
    }

    /// Removes the spinner, if any (also when a step failed).
    pub(crate) fn clear(&mut self) {
        if let Some((bar, done)) = self.spinner.take() {
            done.store(true, Ordering::SeqCst);
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `applying`, `rolling back`, …
fn doing(action: Action) -> &'static str {
    match action {
        Action::Up => "applying",
        Action::Down => "rolling back",
        Action::Ignore => "ignoring",
        Action::Accept => "accepting",
        Action::Forget => "forgetting",
    }
}
