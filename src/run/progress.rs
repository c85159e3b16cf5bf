//! What a person sees while a run goes. On a terminal: a spinner with the elapsed time on stderr,
//! only for a step running longer than 2 s, cleared when it ends. Elsewhere (CI logs, pipes): a
//! line on stderr as each step starts (`applying NAME…`), so a log shows which migration was
//! running if one hangs. Either way, the result on stdout as each step ends (`applied NAME
//! (12ms)`); nothing of this with `--json`, no progress with `--quiet`.
//!
//! A backfill shows how far it is: on a terminal a bar (done of total, documents per second, the
//! time left); elsewhere a line every 10 s and whenever it resumes or waits; with `--json`, the
//! same numbers as one JSON object per line on stderr.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::time::Instant;

use super::backfill::Progress as BackfillProgress;
use crate::ground::output::{Output, ProgressView};
use crate::ground::record::Checkpoint;
use crate::ground::words::{duration, thousands};
use crate::plan::{Action, Step};

/// How long a step runs before the spinner shows.
const QUIET_PERIOD: Duration = Duration::from_secs(2);

/// How often a backfill's line is written off a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// The progress of one run.
pub(crate) struct Progress<'a> {
    out: &'a Output,
    view: ProgressView,
    spinner: Option<(ProgressBar, Arc<AtomicBool>)>,
    /// A backfill's bar, on a terminal.
    bar: Option<ProgressBar>,
    /// When a backfill's last line was written, off a terminal.
    last_line: Option<Instant>,
}

impl<'a> Progress<'a> {
    /// Progress for `out`: a live display when both streams are terminals.
    pub(crate) fn new(out: &'a Output) -> Progress<'a> {
        Progress {
            out,
            view: out.progress_view(),
            spinner: None,
            bar: None,
            last_line: None,
        }
    }

    /// A step starts.
    pub(crate) fn started(&mut self, step: &Step) {
        if self.out.json {
            return;
        }
        let what = format!("{} {}", doing(step.action), step.file.name);
        match self.view {
            ProgressView::FleetLine => return self.out.status(what),
            // Progress, not a result: stdout keeps only what happened.
            ProgressView::Lines => return self.out.note(&format!("{what}…")),
            ProgressView::Terminal => {}
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
        if !self.out.json {
            let (verb, name) = (step.action.done_verb(), &step.file.name);
            self.out
                .print(&format!("{verb} {name} ({})", duration(took)));
        }
    }

    /// A backfill step's progress.
    pub(crate) fn backfill(&mut self, step: &Step, at: &BackfillProgress) {
        let name = &step.file.name;
        if self.out.json {
            let line = json_line(name, at);
            self.out.note(&line);
            return;
        }
        match at {
            BackfillProgress::Resumed(c) => {
                self.clear();
                let after = c
                    .last_id
                    .clone()
                    .map(|id| id.into_relaxed_extjson().to_string())
                    .unwrap_or_else(|| "the start".into());
                self.out.note(&format!(
                    "{name}: resuming after _id {}, {} done",
                    crate::ground::escape::escape(&after),
                    c.done_of_total()
                ));
            }
            // On a terminal the wait shows on the bar, which stays; elsewhere it is a line.
            BackfillProgress::Waiting(why) => match &self.bar {
                Some(bar) if self.view == ProgressView::Terminal => {
                    bar.set_message(format!("waiting: {why}"))
                }
                _ => {
                    self.clear();
                    self.out.note(&format!("{name}: waiting: {why}"));
                }
            },
            BackfillProgress::Batch {
                checkpoint,
                eta,
                rate,
            } => {
                let left = eta.map(|d| format!(", about {} left", duration(d)));
                let line = format!(
                    "{}, {} documents/s{}",
                    checkpoint.done_of_total(),
                    thousands(rate.round() as i64),
                    left.unwrap_or_default()
                );
                match self.view {
                    ProgressView::FleetLine => self.out.status(format!("{name}: {line}")),
                    ProgressView::Terminal => self.show_bar(name, checkpoint, line),
                    ProgressView::Lines
                        if self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) =>
                    {
                        self.last_line = Some(Instant::now());
                        self.out.note(&format!("{name}: {line}"));
                    }
                    ProgressView::Lines => {}
                }
            }
        }
    }

    /// The backfill's bar, on a terminal (it replaces the step's spinner).
    fn show_bar(&mut self, name: &str, checkpoint: &Checkpoint, line: String) {
        if let Some((spinner, done)) = self.spinner.take() {
            done.store(true, Ordering::SeqCst);
            spinner.finish_and_clear();
        }
        let total = checkpoint.total.unwrap_or(0).max(checkpoint.done);
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(total).unwrap_or(0)),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template(&format!("{name} [{{bar:30}}] {{msg}}"))
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        bar.set_length(u64::try_from(total).unwrap_or(0));
        bar.set_position(u64::try_from(checkpoint.done).unwrap_or(0));
        bar.set_message(line);
    }

    /// Removes the spinner, if any (also when a step failed).
    pub(crate) fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
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

/// A backfill's progress as one JSON object, for `--json` runs.
fn json_line(name: &str, at: &BackfillProgress) -> String {
    let value = match at {
        BackfillProgress::Resumed(c) => serde_json::json!({
            "backfill": name, "event": "resumed", "done": c.done, "total": c.total,
            "estimated": c.estimated,
            "last_id": c.last_id.clone().map(|id| id.into_relaxed_extjson()),
        }),
        BackfillProgress::Waiting(why) => serde_json::json!({
            "backfill": name, "event": "waiting", "why": why,
        }),
        BackfillProgress::Batch {
            checkpoint: c,
            eta,
            rate,
        } => serde_json::json!({
            "backfill": name, "event": "batch", "done": c.done, "total": c.total,
            "estimated": c.estimated, "batches": c.batches, "batch_size": c.batch_size,
            "rate": (rate * 10.0).round() / 10.0, "eta_secs": eta.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
        }),
    };
    value.to_string()
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
