//! The command-line grammar: clap types only. `app/` turns them into per-run options, the
//! flags' configuration overrides and one subcommand; nothing past that point sees clap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use mongodb::bson::DateTime;

use crate::config::layers::{LayerKind, Override, Scalar};
use crate::migration::template::Format;
use crate::plan::policy::{OnModified, OutOfOrder};

/// MongoDB migrations for Rust teams, run as a cargo-make task.
#[derive(Debug, Parser)]
#[command(
    name = "migo",
    version = env!("MIGO_LONG_VERSION"),
    disable_help_subcommand = true,
    after_help = "Run `migo help` to list every subcommand, including the tasks of migo.toml."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Flags accepted before or after any built-in subcommand.
#[derive(Debug, Clone, Args)]
pub(crate) struct GlobalArgs {
    /// Configuration file [env: MIGO_CONFIG] [default: migo.toml here or in a parent directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Use the settings of `[environments.NAME]` [env: MIGO_ENV]
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub(crate) environment: Option<String>,
    /// MongoDB connection string; with host/port, the highest layer naming the server wins [env: MIGO_URI]
    #[arg(long, global = true, value_name = "URI")]
    pub(crate) uri: Option<String>,
    /// Server host [env: MIGO_HOST]
    #[arg(long, global = true, value_name = "HOST")]
    pub(crate) host: Option<String>,
    /// Server port [env: MIGO_PORT]
    #[arg(long, global = true, value_name = "PORT")]
    pub(crate) port: Option<u16>,
    /// Database to migrate [env: MIGO_DATABASE]
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) database: Option<String>,
    /// User to authenticate as; the password comes from `MIGO_PASSWORD` or `password_env` [env: MIGO_USER]
    #[arg(long, global = true, value_name = "USER")]
    pub(crate) user: Option<String>,
    /// Database holding the user's credentials [env: MIGO_AUTH_SOURCE]
    #[arg(long, global = true, value_name = "DB")]
    pub(crate) auth_source: Option<String>,
    /// Seconds to wait for the server before giving up [env: MIGO_TIMEOUT]
    #[arg(long, global = true, value_name = "SECS")]
    pub(crate) timeout: Option<u32>,
    /// Directory holding the migration files [env: MIGO_DIRECTORY]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) directory: Option<PathBuf>,
    /// Regex for migration file names, with a named group `number` [env: MIGO_PATTERN]
    #[arg(long, global = true, value_name = "REGEX")]
    pub(crate) pattern: Option<String>,
    /// Collection holding the registry [env: MIGO_COLLECTION]
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) collection: Option<String>,
    /// mongosh, for `.js` migrations [env: MIGO_MONGOSH] [default: mongosh on PATH]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) mongosh: Option<PathBuf>,
    /// What `execute` does while an applied migration's file has changed [env: MIGO_ON_MODIFIED]
    #[arg(long, global = true, value_enum, value_name = "POLICY")]
    pub(crate) on_modified: Option<OnModified>,
    /// What `execute` does with a pending migration numbered below an applied one [env: MIGO_OUT_OF_ORDER]
    #[arg(long, global = true, value_enum, value_name = "POLICY")]
    pub(crate) out_of_order: Option<OutOfOrder>,
    /// Wait up to SECS for a lock held by another migo, instead of failing at once [env: MIGO_WAIT]
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) wait: Option<u64>,
    /// Run the subcommand on every database of `[fleet]` (each with its own registry and lock)
    #[arg(long, global = true)]
    pub(crate) fleet: bool,
    /// With `--fleet`: the databases to run on, a regex (overrides `[fleet] databases`)
    #[arg(long, global = true, value_name = "REGEX")]
    pub(crate) databases: Option<String>,
    /// With `--fleet`: how many databases run at once
    #[arg(long, global = true, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: u16,
    /// With `--fleet`: start no further database after the first failure
    #[arg(long, global = true)]
    pub(crate) fail_fast: bool,
    /// Print what would be done, and change nothing
    #[arg(long, global = true)]
    pub(crate) dry_run: bool,
    /// Run here even when the environment has a `remote` (the remote run itself gets this)
    #[arg(long, global = true)]
    pub(crate) local: bool,
    /// Who started this run over SSH, as the remote hook claims it (recorded as claimed)
    #[arg(long, global = true, hide = true, value_name = "USER@HOST")]
    pub(crate) remote_origin: Option<String>,
    /// Answer yes to confirmations (`rollback --all`, `restore`, `confirm = true` environments)
    #[arg(short, long, global = true)]
    pub(crate) yes: bool,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More log output on stderr (-v, -vv)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
}

/// `lint --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LintFormatArg {
    Text,
    Json,
    Github,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The built-in subcommands; anything else is looked up among the tasks of migo.toml.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show every migration and its state (the default)
    List,
    /// Apply all pending migrations in order, or just NAME, or the next N, or up to NAME
    Execute {
        /// Migration name (`0003_add_index`) or file name
        #[arg(conflicts_with_all = ["steps", "to"])]
        name: Option<String>,
        /// Apply only the next N pending migrations
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "to")]
        steps: Option<u64>,
        /// Apply pending migrations up to and including NAME
        #[arg(long, value_name = "NAME")]
        to: Option<String>,
        /// Only this phase's migrations (without it: `before_deploy` ones, then `after_deploy` ones)
        #[arg(long, value_enum, value_name = "PHASE", conflicts_with = "name")]
        phase: Option<PhaseArg>,
        /// Refuse, before taking the lock, when the database differs from what its applied
        /// migrations make (as `migo drift` finds)
        #[arg(long)]
        require_no_drift: bool,
        /// Run even when a preflight check fails (a unique index over duplicates, a validator
        /// that existing documents fail); recorded in the audit entry
        #[arg(long)]
        force: bool,
    },
    /// Ask a running backfill to stop after its current batch (`execute` resumes it)
    Pause {
        /// The backfill migration's name or file name
        name: String,
    },
    /// Register migrations as applied without running them (all pending, or NAME)
    Ignore {
        /// Migration name or file name
        name: Option<String>,
    },
    /// Run `down` and unregister: NAME, or the last N applied, or back to NAME, or all
    #[command(group(clap::ArgGroup::new("which").required(true).args(["name", "last", "to", "all"])))]
    Rollback {
        /// Migration name or file name (must be applied)
        name: Option<String>,
        /// Roll back the N migrations applied last (newest first)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        last: Option<u64>,
        /// Roll back every migration applied after NAME (NAME stays applied)
        #[arg(long, value_name = "NAME")]
        to: Option<String>,
        /// Roll back every applied migration (asks for confirmation, or `--yes`)
        #[arg(long)]
        all: bool,
    },
    /// Record the current checksum of an applied migration whose file was edited on purpose
    Accept {
        /// Migration name or file name
        name: String,
    },
    /// Exit non-zero (8) when anything is pending, failed, interrupted, modified or missing, or
    /// when lint finds an error in a migration not yet applied
    Check,
    /// Check migration files against MongoDB rules, offline: exit 8 on an error finding
    Lint {
        /// Only these migrations (name or file name)
        names: Vec<String>,
        /// Only the migrations numbered after NAME (the release under review)
        #[arg(long, value_name = "NAME")]
        since: Option<String>,
        /// Output: text, json (as `--json`), or github (annotations on the pull request's lines)
        #[arg(long, value_enum, default_value_t = LintFormatArg::Text, value_name = "FORMAT")]
        format: LintFormatArg,
        /// List the rules, with their severity here and why each exists
        #[arg(long, conflicts_with_all = ["names", "since"])]
        rules: bool,
    },
    /// Check pending migrations against the target's data, read-only: documents each step
    /// touches, duplicates for new unique indexes, documents failing new validators
    Preflight {
        /// Only this pending migration (name or file name)
        name: Option<String>,
    },
    /// Show the audit log: who changed what, when, and how it went (newest first)
    History {
        /// Show at most N entries (0: all)
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: u64,
        /// Only entries since a date (2026-11-20, 2026-11-20T10:00:00Z) or a time ago (30m, 12h, 7d)
        #[arg(long, value_parser = parse_since, value_name = "WHEN")]
        since: Option<DateTime>,
    },
    /// Show the newest applied migration, the counts, and the progress of unfinished backfills
    Version,
    /// Delete a pending migration's file (refused for one with a registry record)
    Remove {
        /// Migration name or file name
        name: String,
    },
    /// Create the next numbered migration file from a template
    New {
        /// Name after the number, e.g. `add_email_index`
        name: String,
        /// Template: declarative commands, a mongosh script, a shell script, a Python (migopy) or
        /// a CommonJS (migrate-mongo) module
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// A backfill: the walk declared, and (in a script) a `batch` function for each batch
        #[arg(long)]
        backfill: bool,
    },
    /// On a scratch database: up, down, up; report whether down restores the data exactly
    #[command(group(clap::ArgGroup::new("what").required(true).args(["name", "pending"])))]
    Test {
        /// Migration name or file name
        name: Option<String>,
        /// Test every pending migration, one after the other
        #[arg(long)]
        pending: bool,
        /// Start from an empty scratch database instead of a copy of the collections involved
        #[arg(long)]
        empty: bool,
    },
    /// Compare the database's schema with its applied migrations replayed on a scratch database;
    /// exit 14 on any difference
    Drift,
    /// Print the database's schema (collections, options, indexes) as one canonical JSON document
    Snapshot {
        /// Write it to FILE instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The schema every migration makes, replayed on a scratch database, instead of the
        /// database's own
        #[arg(long)]
        replay: bool,
    },
    /// Write a checkpoint: one migration that makes the schema of every migration up to NAME
    Squash {
        /// The last migration the checkpoint replaces
        #[arg(long, value_name = "NAME")]
        to: String,
        /// A data step (seed documents, a script) to keep: it runs after the checkpoint on a
        /// fresh database (NAME, a comma-separated list, or `all`)
        #[arg(long, value_name = "NAME", value_delimiter = ',')]
        keep: Vec<String>,
        /// A data step to drop: a fresh database never runs it (NAME, a list, or `all`)
        #[arg(long, value_name = "NAME", value_delimiter = ',')]
        drop: Vec<String>,
    },
    /// Take a backup now, into `[dump] directory`
    Dump,
    /// Replace the database's collections with those of a dump (asks first, or `--yes`); without
    /// DIR, finish a restore that was interrupted
    Restore {
        /// The dump's directory, e.g. `mongodumps/default-20261122T101500.123Z`
        dir: Option<PathBuf>,
        /// Restore a dump that has no manifest (mongodump's own, or an older migo's): nothing
        /// proves it complete, so every file is only read to its end and decoded, and the audit
        /// entry records that it was trusted
        #[arg(long)]
        trust_dump: bool,
    },
    /// Record another tool's history (migopy, migrate-mongo, golang-migrate) as migo's
    Adopt {
        /// The tool whose history to take over
        #[arg(long, value_enum)]
        from: crate::store::foreign::Tool,
        /// Its collection [default: migopy `migrations`, migrate-mongo `changelog`, golang-migrate `schema_migrations`]
        #[arg(long = "from-collection", value_name = "NAME")]
        from_collection: Option<String>,
    },
    /// Remove the record of a migration whose file is gone (asks first, or `--yes`)
    Forget {
        /// Migration name
        name: String,
    },
    /// Release the migrations lock, after showing who holds it
    Unlock,
    /// Set migo up in this project: migo.toml, mongomigrations/, the cargo-make tasks
    #[command(
        after_help = "`--uri` (or `--host`/`--port`), `--database`, `--user`, `--auth-source`, `--timeout` and `--env staging,production` fill in migo.toml; `--dry-run` shows every change."
    )]
    Init {
        /// Scaffold a migrations binary for compiled Rust migrations (`src/bin/migrations/`)
        #[arg(long)]
        compiled: bool,
        /// The tasks install migo on first use from this git repository (`cargo install --git URL migo`)
        #[arg(long, value_name = "URL", conflicts_with = "path")]
        install_from: Option<String>,
        /// The tasks install migo on first use from this directory (`cargo install --path DIR`)
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
    },
    /// List built-in and user-defined subcommands
    Help,
    /// Print a shell completion script: `migo completions bash > /etc/bash_completion.d/migo`
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// A task from `[tasks.<name>]` in migo.toml
    #[command(external_subcommand)]
    Task(Vec<String>),
}

impl GlobalArgs {
    /// The configuration keys set by flags.
    pub(crate) fn overrides(&self) -> Vec<Override> {
        let text = |key, label: &str, value: Option<String>| {
            value.map(|v| (key, Scalar::Str(v), label.to_string()))
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        [
            text("mongo.uri", "--uri", self.uri.clone()),
            text("mongo.host", "--host", self.host.clone()),
            self.port
                .map(|p| ("mongo.port", Scalar::Int(i64::from(p)), "--port".into())),
            text("mongo.database", "--database", self.database.clone()),
            text("mongo.user", "--user", self.user.clone()),
            text(
                "mongo.auth_source",
                "--auth-source",
                self.auth_source.clone(),
            ),
            self.timeout.map(|t| {
                (
                    "mongo.timeout_secs",
                    Scalar::Int(i64::from(t)),
                    "--timeout".into(),
                )
            }),
            text("migrations.directory", "--directory", path(&self.directory)),
            text("migrations.pattern", "--pattern", self.pattern.clone()),
            text(
                "migrations.collection",
                "--collection",
                self.collection.clone(),
            ),
            text("migrations.mongosh", "--mongosh", path(&self.mongosh)),
            text(
                "migrations.on_modified",
                "--on-modified",
                value_name(self.on_modified),
            ),
            text(
                "migrations.out_of_order",
                "--out-of-order",
                value_name(self.out_of_order),
            ),
        ]
        .into_iter()
        .flatten()
        .map(|(key, value, label)| Override {
            key,
            value,
            label,
            layer: LayerKind::Flag,
        })
        .collect()
    }
}

/// A value's name as written on the command line and in migo.toml.
fn value_name<T: ValueEnum>(value: Option<T>) -> Option<String> {
    value
        .and_then(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
}

/// The built-in subcommands with their one-line descriptions, in `--help` order.
pub(crate) fn builtins() -> Vec<(String, String)> {
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

/// `--since`: an RFC 3339 date or timestamp, or an age such as `30m`, `12h`, `7d`.
fn parse_since(text: &str) -> Result<DateTime, String> {
    let unit_ms = |unit: char| match unit {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        'w' => Some(604_800_000),
        _ => None,
    };
    let invalid = || {
        format!(
            "`{}` is neither a date (2026-11-20, 2026-11-20T10:00:00Z) nor an age (30m, 12h, 7d)",
            crate::ground::escape::escape(text)
        )
    };
    let mut chars = text.chars();
    let unit = chars.next_back().unwrap_or_default();
    if let (Ok(amount), Some(ms)) = (chars.as_str().parse::<i64>(), unit_ms(unit)) {
        let too_far = || format!("`{text}` is too far back; give a date instead");
        if amount < 0 {
            return Err(invalid());
        }
        let ago = amount.checked_mul(ms).ok_or_else(too_far)?;
        let at = DateTime::now()
            .timestamp_millis()
            .checked_sub(ago)
            .ok_or_else(too_far)?;
        return Ok(DateTime::from_millis(at));
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    DateTime::parse_rfc3339_str(&full).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_timestamps_and_ages() {
        let day = parse_since("2026-11-20").unwrap();
        assert_eq!(day.try_to_rfc3339_string().unwrap(), "2026-11-20T00:00:00Z");
        assert!(parse_since("2026-11-20T10:00:00Z").is_ok());
        let hour_ago = parse_since("1h").unwrap().timestamp_millis();
        let now = DateTime::now().timestamp_millis();
        assert!((now - hour_ago - 3_600_000).abs() < 5_000);
        for bad in [
            "yesterday",
            "5x",
            "h",
            "2026-13-01",
            "é",
            "-9223372036854775s",
            "9223372036854775807w",
            "",
            "日本語",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}

/// `--phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum PhaseArg {
    /// Schema steps the new code needs, before it is deployed
    BeforeDeploy,
    /// Backfills and clean-ups, after the new code is out
    AfterDeploy,
}
