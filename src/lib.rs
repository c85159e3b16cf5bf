//! migo: MongoDB migrations for Rust teams, run as a cargo-make task.
//!
//! The pipeline, in one direction: command line ([`cli`]) → settings ([`config`]) → migration
//! files ([`discover`]) and registry records ([`registry`]) → a pure [`plan`] → [`execute`] →
//! [`report`]. [`run`] is the only place that knows the whole pipeline; errors are typed
//! ([`error::Error`]) and rendered once, here, with their exit code.

pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod discover;
pub mod error;
pub mod execute;
pub mod logging;
pub mod migration;
pub mod output;
pub mod plan;
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
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
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
            if out.json {
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
    if dry_run
        && !matches!(
            command,
            Command::Execute { .. } | Command::Ignore { .. } | Command::Rollback { .. }
        )
    {
        return Err(Error::Usage {
            message: "`--dry-run` applies to `execute`, `ignore` and `rollback` only".into(),
            hint: None,
        });
    }
    match command {
        Command::Help => commands::help(load(), out, &builtins),
        Command::New { name } => commands::new(&load()?, out, name),
        Command::Task(args) => commands::task(&load()?, args),
        command => block_on(async {
            let settings = load()?;
            match command {
                Command::Execute { name } => {
                    commands::change(&settings, out, Request::Execute(name.as_deref()), dry_run)
                        .await
                }
                Command::Ignore { name } => {
                    commands::change(&settings, out, Request::Ignore(name.as_deref()), dry_run)
                        .await
                }
                Command::Rollback { name } => {
                    commands::change(&settings, out, Request::Rollback(name), dry_run).await
                }
                _ => commands::list(&settings, out).await,
            }
        }),
    }
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
