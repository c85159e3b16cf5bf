//! The shape of `migo.toml`, as serde reads it. Every value is [`Spanned`], so an error about it
//! names where it came from: `file:line:column`, the `MIGO_*` variable or the flag (see
//! [`super::layers`], which gives overrides spans of their own).
//!
//! One [`Layer`] type serves every layer: the base file, an `[environments.<name>]` section, the
//! variables and the flags are merged as TOML first and deserialised into it once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::lint::Severity;
use crate::plan::policy::{OnModified, OutOfOrder};

/// A value and where it was written.
pub(crate) type Value<T> = Option<Spanned<T>>;

/// The whole file, as written: checked strictly (unknown keys anywhere are errors). Its layer
/// sections are only validated here; their values are read from the merged [`Layer`].
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    #[serde(default)]
    pub(crate) mongo: Mongo,
    #[serde(default)]
    pub(crate) migrations: Migrations,
    #[serde(default)]
    pub(crate) dump: Dump,
    #[serde(default)]
    pub(crate) backfill: Backfill,
    #[serde(default)]
    pub(crate) drift: Drift,
    #[serde(default)]
    pub(crate) lint: BTreeMap<String, Spanned<Severity>>,
    #[serde(default)]
    pub(crate) tasks: BTreeMap<String, Spanned<Task>>,
    #[serde(default)]
    pub(crate) environments: BTreeMap<String, Environment>,
    pub(crate) fleet: Option<Spanned<Fleet>>,
}

/// `[fleet]`: the databases (and clusters) `--fleet` runs a command on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fleet {
    /// A regex matched against the server's databases, or a list of names.
    pub(crate) databases: Option<Databases>,
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
    /// Environments standing for clusters; every matching database of each.
    #[serde(default)]
    pub(crate) environments: Vec<String>,
}

/// `databases = "^tenant_"` or `databases = ["a", "b"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Databases {
    Pattern(String),
    List(Vec<String>),
}

/// The settings every layer may give, merged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    #[serde(default)]
    pub(crate) mongo: Mongo,
    #[serde(default)]
    pub(crate) migrations: Migrations,
    #[serde(default)]
    pub(crate) dump: Dump,
    #[serde(default)]
    pub(crate) backfill: Backfill,
    #[serde(default)]
    pub(crate) drift: Drift,
    #[serde(default)]
    pub(crate) lint: BTreeMap<String, Spanned<Severity>>,
}

/// `[backfill]`: the pace of backfills that do not set their own.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Backfill {
    pub(crate) batch_size: Value<u64>,
    pub(crate) max_lag_secs: Value<Number>,
    pub(crate) target_batch_ms: Value<u64>,
    pub(crate) max_rate: Value<Number>,
    pub(crate) pause_when: Value<String>,
}

/// A number written whole (`10`) or with a fraction (`0.5`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Number {
    Whole(i64),
    Fraction(f64),
}

impl Number {
    /// As a float.
    pub(crate) fn get(self) -> f64 {
        match self {
            Number::Whole(n) => n as f64,
            Number::Fraction(f) => f,
        }
    }
}

/// `[mongo]`: how to reach the database.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Mongo {
    pub(crate) uri: Value<String>,
    pub(crate) host: Value<String>,
    pub(crate) port: Value<u16>,
    pub(crate) database: Value<String>,
    pub(crate) user: Value<String>,
    pub(crate) password: Value<String>,
    pub(crate) password_env: Value<String>,
    pub(crate) auth_source: Value<String>,
    pub(crate) timeout_secs: Value<u64>,
    pub(crate) tls: Value<bool>,
    pub(crate) tls_ca_file: Value<PathBuf>,
    pub(crate) tls_allow_invalid_certificates: Value<bool>,
}

/// `[migrations]`: where the files are and how their state is kept.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Migrations {
    pub(crate) directory: Value<PathBuf>,
    pub(crate) pattern: Value<String>,
    pub(crate) collection: Value<String>,
    pub(crate) lock_lease_secs: Value<u64>,
    pub(crate) on_modified: Value<OnModified>,
    pub(crate) out_of_order: Value<OutOfOrder>,
    pub(crate) mongosh: Value<PathBuf>,
    pub(crate) node: Value<PathBuf>,
    pub(crate) python: Value<PathBuf>,
    pub(crate) js: Value<JsRunner>,
    pub(crate) interpreters: Value<BTreeMap<String, String>>,
}

/// Which interpreter runs `.js` migrations.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JsRunner {
    /// CommonJS modules (`module.exports`) under Node, other scripts under mongosh.
    #[default]
    Auto,
    Mongosh,
    Node,
}

/// `[dump]`: backups before `execute` and on demand.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dump {
    pub(crate) enabled: Value<bool>,
    pub(crate) directory: Value<PathBuf>,
    pub(crate) tool: Value<DumpTool>,
    pub(crate) gzip: Value<bool>,
    pub(crate) collections: Value<Vec<String>>,
    pub(crate) keep: Value<usize>,
    pub(crate) mongodump: Value<PathBuf>,
}

/// `[drift]`: what `migo drift` sets aside.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Drift {
    /// Regexes over collection names: a collection the migrations do not make is set aside
    /// when one matches (the application creates it).
    pub(crate) ignore: Value<Vec<String>>,
}

/// How dumps are taken.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DumpTool {
    /// Through the driver, in mongodump's layout: needs nothing installed.
    #[default]
    Native,
    /// The `mongodump` program.
    Mongodump,
}

/// `[tasks.<name>]`: a user-defined subcommand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Task {
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) run: String,
}

/// `[environments.<name>]`: a layer of its own (validated here, read merged), plus what only an
/// environment has.
#[allow(dead_code)]
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Environment {
    #[serde(default)]
    pub(crate) mongo: Mongo,
    #[serde(default)]
    pub(crate) migrations: Migrations,
    #[serde(default)]
    pub(crate) dump: Dump,
    #[serde(default)]
    pub(crate) backfill: Backfill,
    #[serde(default)]
    pub(crate) drift: Drift,
    #[serde(default)]
    pub(crate) lint: BTreeMap<String, Spanned<Severity>>,
    /// Run migo on another machine over SSH instead of here.
    pub(crate) remote: Option<Spanned<Remote>>,
    /// Ask before changing anything (`--yes` answers for scripts).
    pub(crate) confirm: Option<bool>,
}

/// `remote = { … }` of an environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Remote {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) user: Option<String>,
    pub(crate) identity_file: Option<PathBuf>,
    pub(crate) known_hosts: Option<PathBuf>,
    pub(crate) workdir: String,
    pub(crate) command: Option<String>,
    pub(crate) accept_new_host_key: Option<bool>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) transport: Option<Transport>,
    pub(crate) ssh_config: Option<PathBuf>,
}

/// How the remote hook connects.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    /// The `ssh2` crate (libssh2).
    #[default]
    Ssh2,
    /// The system `ssh`, with the user's ssh configuration.
    Openssh,
}
