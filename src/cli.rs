//! The command-line grammar: clap types only. `lib.rs` turns them into [`Overrides`] and a
//! subcommand; nothing past that point sees clap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::config::{MongoSection, Overrides};

/// MongoDB migrations for Rust teams, run as a cargo-make task.
#[derive(Debug, Parser)]
#[command(
    name = "migo",
    version,
    disable_help_subcommand = true,
    after_help = "Run `migo help` to list every subcommand, including the tasks of migo.toml."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags accepted before or after any built-in subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: migo.toml]
    #[arg(long, global = true, env = "MIGO_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Use the settings of `[environments.NAME]`
    #[arg(long = "env", global = true, env = "MIGO_ENV", value_name = "NAME")]
    pub environment: Option<String>,
    /// MongoDB connection string (overrides host/port)
    #[arg(
        long,
        global = true,
        env = "MIGO_URI",
        hide_env_values = true,
        value_name = "URI"
    )]
    pub uri: Option<String>,
    /// Server host
    #[arg(long, global = true, env = "MIGO_HOST", value_name = "HOST")]
    pub host: Option<String>,
    /// Server port
    #[arg(long, global = true, env = "MIGO_PORT", value_name = "PORT")]
    pub port: Option<u16>,
    /// Database to migrate
    #[arg(long, global = true, env = "MIGO_DATABASE", value_name = "NAME")]
    pub database: Option<String>,
    /// User to authenticate as (the password comes from `MIGO_PASSWORD` or `password_env`)
    #[arg(long, global = true, env = "MIGO_USER", value_name = "USER")]
    pub user: Option<String>,
    /// Database holding the user's credentials
    #[arg(long, global = true, env = "MIGO_AUTH_SOURCE", value_name = "DB")]
    pub auth_source: Option<String>,
    /// Seconds to wait for the server before giving up
    #[arg(long, global = true, env = "MIGO_TIMEOUT", value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Directory holding the migration files
    #[arg(long, global = true, env = "MIGO_DIRECTORY", value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// Regex for migration file names, with a named group `number`
    #[arg(long, global = true, env = "MIGO_PATTERN", value_name = "REGEX")]
    pub pattern: Option<String>,
    /// Collection holding the registry
    #[arg(long, global = true, env = "MIGO_COLLECTION", value_name = "NAME")]
    pub collection: Option<String>,
    /// Wait up to SECS for a lock held by another migo, instead of failing at once
    #[arg(long, global = true, env = "MIGO_WAIT", value_name = "SECS")]
    pub wait: Option<u64>,
    /// Print what would be done, and change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v, -vv)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The built-in subcommands; anything else is looked up among the tasks of migo.toml.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show every migration and its state (the default)
    List,
    /// Apply all pending migrations in order, or just NAME
    Execute {
        /// Migration name (`0003_add_index`) or file name
        name: Option<String>,
    },
    /// Register migrations as applied without running them (all pending, or NAME)
    Ignore {
        /// Migration name or file name
        name: Option<String>,
    },
    /// Run NAME's `down` and unregister it (NAME must be applied)
    Rollback {
        /// Migration name or file name
        name: String,
    },
    /// Create the next numbered migration file from a template
    New {
        /// Name after the number, e.g. `add_email_index`
        name: String,
    },
    /// Release the migrations lock, after showing who holds it
    Unlock,
    /// List built-in and user-defined subcommands
    Help,
    /// A task from `[tasks.<name>]` in migo.toml
    #[command(external_subcommand)]
    Task(Vec<String>),
}

impl GlobalArgs {
    /// The settings given on the command line or by `MIGO_*` variables.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            environment: self.environment.clone(),
            mongo: MongoSection {
                uri: self.uri.clone(),
                host: self.host.clone(),
                port: self.port,
                database: self.database.clone(),
                user: self.user.clone(),
                auth_source: self.auth_source.clone(),
                timeout_secs: self.timeout,
                ..MongoSection::default()
            },
            directory: self.directory.clone(),
            pattern: self.pattern.clone(),
            collection: self.collection.clone(),
        }
    }
}

/// The built-in subcommands with their one-line descriptions, in `--help` order.
pub fn builtins() -> Vec<(String, String)> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .map(|c| {
            (
                c.get_name().to_string(),
                c.get_about().map(ToString::to_string).unwrap_or_default(),
            )
        })
        .collect()
}
