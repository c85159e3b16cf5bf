//! migo: MongoDB migrations for Rust teams, run as a cargo-make task.
//!
//! The pipeline, in one direction, one folder per stage: command line (`cli`) → settings
//! (`config`) → migration sources (`migration`) and registry records (`store`) → a pure `plan` →
//! `run` → `ui::report`. [`App`] (in `app.rs`) is the only place that knows the whole pipeline;
//! errors are typed (`error::Error`) and rendered once, there, with their exit code.
//!
//! Teams with compiled migrations build their own binary: implement [`Migration`] (and
//! [`Extra`] for extra subcommands), register them on an [`App`], and call [`App::main`].

pub mod api;
mod app;
mod backup;
mod cli;
mod commands;
mod config;
mod error;
mod extensions;
mod fleet;
mod ground;
mod halt;
mod identity;
mod init;
mod lint;
mod migration;
mod plan;
mod preflight;
mod process;
mod remote;
mod run;
mod schema;
mod store;
mod ui;

pub use api::{BackfillWalk, Batch, Extra, Migration, StepResult};
pub use app::App;
/// Re-exported so implementations of [`Migration`] and [`Extra`] need no extra dependency.
pub use async_trait::async_trait;

/// Runs plain migo (nothing compiled in) with `args`, including the program name, and returns
/// the exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    App::new().run(args)
}
