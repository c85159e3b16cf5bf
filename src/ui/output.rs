//! The two streams: results on stdout, errors, warnings and progress on stderr, each coloured
//! only when it is a terminal (or `--color always`) and `NO_COLOR` is not set.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};

use crate::error::Error;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// Where and how migo speaks to the user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    stdout_color: bool,
    stderr_color: bool,
    quiet: bool,
    /// `--json`: stdout carries one JSON document and nothing else.
    pub(crate) json: bool,
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
        }
    }

    /// `--quiet`: only errors on stderr.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Writes a line of results to stdout; a closed pipe (`migo list | head`) is not an error.
    pub(crate) fn print(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// Progress and notes on stderr, unless `--quiet`.
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning on stderr, unless `--quiet`.
    pub(crate) fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!(
                "{} {message}",
                paint(self.stderr_color, "warning:", warn_style())
            );
        }
    }

    /// The one line that reports a failure: `error: <what>; hint: <fix>`.
    /// Each error's message is complete in itself (the driver's errors are shortened where they
    /// are wrapped); control characters are escaped and connection strings redacted, so the line
    /// stays one line and holds no credential, whatever a file name or a server said.
    pub(crate) fn error(&self, error: &Error) {
        let mut line = error.to_string();
        if let Some(hint) = error.hint() {
            line.push_str(&format!("; hint: {hint}"));
        }
        let line = crate::ui::escape::escape(&crate::secret::redact_text(&line));
        eprintln!(
            "{} {line}",
            paint(self.stderr_color, "error:", error_style())
        );
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
