//! migo: MongoDB migrations for Rust teams, run as a cargo-make task.
//!
//! The pipeline, in one direction: command line ([`cli`]) → settings ([`config`]) → migration
//! files ([`discover`]) and registry records ([`registry`]) → a pure [`plan`] → [`execute`] →
//! [`report`]. [`run`] is the only place that knows the whole pipeline; errors are typed
//! ([`error::Error`]) and rendered once, here, with their exit code.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod discover;
pub mod error;
pub mod execute;
pub mod lock;
pub mod logging;
pub mod migration;
pub mod output;
pub mod plan;
pub mod policy;
pub mod registry;
pub mod report;
pub mod scaffold;
pub mod secret;
pub mod tasks;

use std::ffi::OsString;

use clap::Parser;

use cli::{Cli, ColorChoice, Command};
use config::Settings;
use error::{exit, Error, Result};
use output::{ColorWhen, Output};
use plan::Request;

/// Runs migo with `args` (including the program name) and returns the exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // `--help` and `--version`: clap's own text, on stdout.
            let _ = e.print();
            return exit::OK;
        }
        Err(e) => {
            let error = usage_error(&e);
            Output::new(ColorWhen::Auto, false, false).error(&error);
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
    match dispatch(&cli, &out) {
        Ok(()) => exit::OK,
        Err(e) => {
            if out.json && !e.is_reported_in_json() {
                out.print(
                    &serde_json::json!({"error": {
                        "message": e.to_string(), "hint": e.hint(), "exit_code": e.exit_code()
                    }})
                    .to_string(),
                );
            }
            out.error(&e);
            e.exit_code()
        }
    }
}

fn dispatch(cli: &Cli, out: &Output) -> Result<()> {
    let builtins = cli::builtins();
    let reserved: Vec<&str> = builtins.iter().map(|(n, _)| n.as_str()).collect();
    let load = || Settings::load(&cli.global.overrides(), &reserved);
    let dry_run = cli.global.dry_run;
    let command = cli.command.as_ref().unwrap_or(&Command::List);
    let line = command_line();
    let options = commands::ChangeOptions {
        dry_run,
        wait: cli.global.wait.map(std::time::Duration::from_secs),
        command_line: &line,
    };
    if dry_run
        && !matches!(
            command,
            Command::Execute { .. }
                | Command::Ignore { .. }
                | Command::Rollback { .. }
                | Command::Accept { .. }
        )
    {
        return Err(Error::Usage {
            message: "`--dry-run` applies to `execute`, `ignore`, `rollback` and `accept` only"
                .into(),
            hint: Some("`list`, `check` and `history` never change anything".into()),
        });
    }
    match command {
        Command::Help => commands::help(load(), out, &builtins),
        Command::New { name } => commands::new(&load()?, out, name),
        Command::Task(args) => commands::task(&load()?, args),
        command => block_on(async {
            let settings = load()?;
            let request = match command {
                Command::Execute { name } => Request::Execute(name.as_deref()),
                Command::Ignore { name } => Request::Ignore(name.as_deref()),
                Command::Rollback { name } => Request::Rollback(name),
                Command::Accept { name } => Request::Accept(name),
                Command::Unlock => return commands::unlock(&settings, out, &line).await,
                Command::Check => return commands::check(&settings, out).await,
                Command::History { limit, since } => {
                    let filter = commands::HistoryFilter {
                        limit: (*limit > 0).then_some(*limit),
                        since: *since,
                    };
                    return commands::history(&settings, out, filter).await;
                }
                _ => return commands::list(&settings, out).await,
            };
            commands::change(&settings, out, request, options).await
        }),
    }
}

/// Clap's multi-line usage error as migo's one line: the first line is the message, the rest
/// (possible values, tips, usage) the hint.
fn usage_error(e: &clap::Error) -> Error {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut message = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" continues on the next line.
    if message.ends_with(':') {
        if let Some(next) = lines.next() {
            message = format!("{} {next}", message.trim_end_matches(':'));
        }
    }
    let rest: Vec<&str> = lines.collect();
    Error::Usage {
        message,
        hint: (!rest.is_empty()).then(|| rest.join("; ")),
    }
}

/// The arguments migo was started with, for the lock document (`migo execute 0003_x`).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("migo {}", args.join(" "))
}

/// Runs the database work on a single-threaded runtime: migo does one thing at a time.
fn block_on<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the async runtime",
            path: ".".into(),
            source: e,
        })?
        .block_on(future)
}
