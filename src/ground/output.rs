//! The two streams: results on stdout, errors, warnings and progress on stderr, each coloured
//! only when it is a terminal (or `--color always`) and `NO_COLOR` is not set.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;

use anstyle::{AnsiColor, Style};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// How progress shows: see [`Output::progress_view`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgressView {
    /// Both streams are terminals: a spinner or a bar, redrawn.
    Terminal,
    /// A fleet member: what it does goes on its line of the fleet's display.
    FleetLine,
    /// Off a terminal: plain lines.
    Lines,
}

/// Where and how migo speaks to the user.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    stdout_color: bool,
    stderr_color: bool,
    quiet: bool,
    /// `--json`: stdout carries one JSON document and nothing else.
    pub(crate) json: bool,
    /// Before each line of a fleet member: `[tenant_7] ` (its name escaped: the server named it).
    prefix: Option<Arc<str>>,
    /// Results kept here instead of printed: a fleet member's report, which the fleet prints as
    /// a block (or inside its one JSON document).
    capture: Option<Arc<Mutex<Vec<String>>>>,
    /// Lines go above a progress display instead of straight to the streams.
    above: Option<ProgressBar>,
}

impl Output {
    /// Decides colour once per stream.
    pub(crate) fn new(when: ColorWhen, json: bool, quiet: bool) -> Output {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && !no_color,
        };
        Output {
            stdout_color: decide(std::io::stdout().is_terminal()) && !json,
            stderr_color: decide(std::io::stderr().is_terminal()),
            quiet,
            json,
            prefix: None,
            capture: None,
            above: None,
        }
    }

    /// The same streams for fleet member `name`: its lines prefixed with it, printed above the
    /// fleet's progress display `above` when there is one, and its results kept in `capture`
    /// when given.
    pub(crate) fn member(
        &self,
        name: &str,
        above: Option<ProgressBar>,
        capture: Option<Arc<Mutex<Vec<String>>>>,
    ) -> Output {
        Output {
            prefix: Some(format!("[{}] ", super::escape::escape(name)).into()),
            capture,
            above,
            ..self.clone()
        }
    }

    /// Shows what a fleet member is doing on its line of the progress display, if it has one.
    pub(crate) fn status(&self, message: String) {
        if let Some(bar) = &self.above {
            bar.set_message(message);
        }
    }

    fn emit(&self, to_stdout: bool, line: &str) {
        let line = match &self.prefix {
            Some(prefix) => line
                .lines()
                .map(|l| format!("{prefix}{l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            None => line.to_string(),
        };
        match (&self.above, to_stdout) {
            (Some(bar), _) => bar.println(line),
            (None, true) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
            // A closed stderr (`2>&-`, a dropped SSH channel) must not stop a run half way.
            (None, false) => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }

    /// How a run's progress shows on this output: a live display on a terminal, the fleet's line
    /// for a fleet member (the fleet draws its own display), plain lines otherwise.
    pub(crate) fn progress_view(&self) -> ProgressView {
        if self.prefix.is_some() {
            ProgressView::FleetLine
        } else if self.quiet {
            // Lines are notes, which `--quiet` drops: nothing is drawn.
            ProgressView::Lines
        } else if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
            ProgressView::Terminal
        } else {
            ProgressView::Lines
        }
    }

    /// A note about the run as a whole (its target, what it replays): a single run shows it; a
    /// fleet member leaves it to the fleet, which says it once for all.
    pub(crate) fn run_note(&self, line: &str) {
        if self.prefix.is_none() {
            self.note(line);
        }
    }

    /// A run's closing summary: a single run shows it, and so does a fleet member under
    /// `--json` (its document goes into the fleet's); otherwise a member's summary is its row
    /// in the fleet's table.
    pub(crate) fn closing(&self, show: impl FnOnce()) {
        if self.prefix.is_none() || self.json {
            show();
        }
    }

    /// What goes before each of this output's lines (a fleet member's `[tenant_7] `), for the
    /// lines of child processes too.
    pub(crate) fn line_prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or_default()
    }

    /// `--quiet`: only errors on stderr.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Writes a line of results to stdout; a closed pipe (`migo list | head`) is not an error.
    pub(crate) fn print(&self, line: &str) {
        match &self.capture {
            Some(kept) => kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line.to_string()),
            None => self.emit(true, line),
        }
    }

    /// Progress and notes on stderr, unless `--quiet`.
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet {
            self.emit(false, line);
        }
    }

    /// A warning on stderr, unless `--quiet`.
    pub(crate) fn warn(&self, message: &str) {
        if !self.quiet {
            let line = format!(
                "{} {message}",
                paint(self.stderr_color, "warning:", warn_style())
            );
            self.emit(false, &line);
        }
    }

    /// The one line that reports a failure: `error: <what>; hint: <fix>`.
    /// Each error's message is complete in itself (the driver's errors are shortened where they
    /// are wrapped); control characters are escaped and connection strings redacted, so the line
    /// stays one line and holds no credential, whatever a file name or a server said.
    pub(crate) fn error(&self, message: &str, hint: Option<&str>) {
        let mut line = message.to_string();
        if let Some(hint) = hint {
            line.push_str(&format!("; hint: {hint}"));
        }
        let line = super::escape::escape(&super::secret::redact_text(&line));
        let line = format!(
            "{} {line}",
            paint(self.stderr_color, "error:", error_style())
        );
        self.emit(false, &line);
    }

    /// `text` in `style` when stdout is coloured.
    pub(crate) fn paint(&self, text: &str, style: Style) -> String {
        paint(self.stdout_color, text, style)
    }
}

fn paint(enabled: bool, text: &str, style: Style) -> String {
    if enabled {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn error_style() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Red.into()))
}

fn warn_style() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Yellow.into()))
}
