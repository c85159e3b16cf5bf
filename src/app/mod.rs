//! The command line, end to end: parse, resolve the settings (with whatever a custom binary
//! compiled in), dispatch to one subcommand, and render an error once with its exit code.

mod dispatch;
mod environment;
mod fleet;
mod invocation;
mod lint;
mod usage;

use std::ffi::OsString;
use std::sync::Arc;

use clap::Parser;

use crate::api::{Extra, Migration};
use crate::cli::{Cli, ColorChoice};
use crate::error::{exit, Error};
use crate::extensions::Extensions;
use crate::ground::output::{ColorWhen, Output};
use crate::migration::compiled::Compiled;
use crate::run::context::RunContext;
use crate::ui::logging;
use usage::usage_error;

/// A migo command line with compiled migrations and extras: the library's entry point for a
/// team's own binary. `migo` itself is `App::new()` with nothing added.
#[derive(Debug, Clone, Default)]
pub struct App {
    extensions: Extensions,
}

impl App {
    /// Plain migo.
    pub fn new() -> App {
        App::default()
    }

    /// Adds a compiled migration to the numbered sequence.
    pub fn migration(mut self, migration: impl Migration) -> App {
        self.extensions
            .migrations
            .push(Compiled(Arc::new(migration), None));
        self
    }

    /// Adds an extra subcommand.
    pub fn extra(mut self, extra: impl Extra) -> App {
        self.extensions.extras.push(Arc::new(extra));
        self
    }

    /// Runs the process's command line and exits with migo's exit code.
    pub fn main(self) -> ! {
        let code = self.run(std::env::args_os());
        std::process::exit(i32::from(code))
    }

    /// Runs with `args` (including the program name) and returns the exit code.
    pub fn run<I, T>(&self, args: I) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let mut extensions = self.extensions.clone();
        extensions.binary = args
            .first()
            .and_then(|a| std::path::Path::new(a).file_stem())
            .map_or_else(|| "migo".into(), |s| s.to_string_lossy().into_owned());
        run(&args, &extensions)
    }
}

fn run(args: &[OsString], extensions: &Extensions) -> u8 {
    // The binary started again as a child's watchdog: it only waits and kills.
    if let [_, flag, pgid] = args {
        if flag == crate::process::group::WATCHDOG_FLAG {
            return crate::process::group::watchdog_main(&pgid.to_string_lossy());
        }
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // `--help` and `--version`: clap's own text, on stdout.
            let _ = e.print();
            return exit::OK;
        }
        Err(e) => {
            let error = usage_error(&e);
            show(&Output::new(ColorWhen::Auto, false, false), &error);
            return error.exit_code();
        }
    };
    let g = &cli.global;
    let color = match g.color {
        ColorChoice::Auto => ColorWhen::Auto,
        ColorChoice::Always => ColorWhen::Always,
        ColorChoice::Never => ColorWhen::Never,
    };
    let out = Output::new(color, g.json, g.quiet);
    logging::init(g.verbose, g.quiet);
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = RunContext::new().and_then(|run| {
        run.runtime
            .block_on(dispatch::dispatch(&cli, &out, extensions, &words, &run))
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) if e.is_already_shown() => e.exit_code(),
        Err(e) => {
            if out.json && !e.is_reported_in_json() {
                crate::ui::report::error(&out, &e);
            }
            show(&out, &e);
            e.exit_code()
        }
    }
}

/// An error as its one line on stderr, with its hint.
fn show(out: &Output, error: &Error) {
    out.error(&error.to_string(), error.hint().as_deref());
}
