//! `migo.toml`: its schema, and the resolution of every setting into [`Settings`].
//!
//! Layers, highest first: command-line flag > `MIGO_*` variable (both arrive as [`Overrides`]) >
//! `[environments.<name>]` > the base file > built-in default. Unknown keys and bad values are
//! reported with `file:line:column`, so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::api::Extensions;
use crate::error::{Error, Result};
use crate::plan::policy::{OnModified, OutOfOrder, Policies};
use crate::secret::Secret;

/// The default configuration file name, looked up in the working directory.
pub(crate) const DEFAULT_CONFIG: &str = "migo.toml";
/// Default `[migrations] directory`.
pub(crate) const DEFAULT_DIRECTORY: &str = "mongomigrations";
/// Default `[migrations] pattern`: `0003_add_index.json`.
pub(crate) const DEFAULT_PATTERN: &str = r"^(?P<number>[0-9]+)_[A-Za-z0-9_-]+\.(json|js|sh|py)$";
/// Default `[migrations] collection`.
pub(crate) const DEFAULT_COLLECTION: &str = "migrations";
/// Default lease of the migrations lock.
pub(crate) const DEFAULT_LOCK_LEASE_SECS: u64 = 60;
/// Default connection and server-selection timeout.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// `[mongo]`: how to reach the database. Every field is optional so layers can be merged.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MongoSection {
    pub(crate) uri: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) database: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) password_env: Option<String>,
    pub(crate) auth_source: Option<String>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) tls: Option<bool>,
    pub(crate) tls_ca_file: Option<PathBuf>,
    pub(crate) tls_allow_invalid_certificates: Option<bool>,
}

/// `[migrations]`: where the files are and where their state is kept.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrationsSection {
    pub(crate) directory: Option<PathBuf>,
    pub(crate) pattern: Option<Spanned<String>>,
    pub(crate) collection: Option<String>,
    pub(crate) lock_lease_secs: Option<u64>,
    pub(crate) on_modified: Option<OnModified>,
    pub(crate) out_of_order: Option<OutOfOrder>,
    /// mongosh, for `.js` migrations.
    pub(crate) mongosh: Option<PathBuf>,
    /// Extension → command line that runs script migrations of that extension.
    pub(crate) interpreters: Option<BTreeMap<String, String>>,
}

/// `[tasks.<name>]`: a user-defined subcommand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskSection {
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) run: String,
}

/// `[dump]`: backups before `execute` and on demand.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DumpSection {
    pub(crate) enabled: Option<bool>,
    pub(crate) directory: Option<PathBuf>,
    pub(crate) tool: Option<DumpTool>,
    pub(crate) gzip: Option<bool>,
    pub(crate) collections: Option<Vec<String>>,
    pub(crate) keep: Option<usize>,
    pub(crate) mongodump: Option<PathBuf>,
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

/// `[environments.<name>]`: overrides for one deployment target.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvironmentSection {
    #[serde(default)]
    pub(crate) mongo: MongoSection,
    #[serde(default)]
    pub(crate) migrations: MigrationsSection,
    #[serde(default)]
    pub(crate) dump: DumpSection,
    /// Run migo on another machine over SSH instead of here.
    pub(crate) remote: Option<RemoteSection>,
    /// Ask before changing anything (`--yes` answers for scripts).
    pub(crate) confirm: Option<bool>,
}

/// `remote = { … }` of an environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoteSection {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) user: Option<String>,
    pub(crate) identity_file: Option<PathBuf>,
    pub(crate) known_hosts: Option<PathBuf>,
    pub(crate) workdir: String,
    pub(crate) command: Option<String>,
    pub(crate) accept_new_host_key: Option<bool>,
    pub(crate) timeout_secs: Option<u64>,
}

/// The remote of the selected environment, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteSettings {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    /// A private key; without one, the SSH agent authenticates.
    pub(crate) identity_file: Option<PathBuf>,
    pub(crate) known_hosts: PathBuf,
    /// Where migo runs on the remote (its `migo.toml` and migrations are there).
    pub(crate) workdir: String,
    /// The migo to run there, e.g. `migo` or `cargo make migrations`.
    pub(crate) command: String,
    /// Trust (and record) a host key seen for the first time; a changed key is always refused.
    pub(crate) accept_new_host_key: bool,
    pub(crate) timeout: Duration,
}

/// The whole file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub(crate) mongo: MongoSection,
    #[serde(default)]
    pub(crate) migrations: MigrationsSection,
    #[serde(default)]
    pub(crate) dump: DumpSection,
    #[serde(default)]
    pub(crate) tasks: BTreeMap<String, Spanned<TaskSection>>,
    #[serde(default)]
    pub(crate) environments: BTreeMap<String, EnvironmentSection>,
}

/// Settings given on the command line or by `MIGO_*` variables (clap merges those two).
#[derive(Debug, Default, Clone)]
pub(crate) struct Overrides {
    pub(crate) config: Option<PathBuf>,
    pub(crate) environment: Option<String>,
    pub(crate) mongo: MongoSection,
    pub(crate) directory: Option<PathBuf>,
    pub(crate) pattern: Option<String>,
    pub(crate) collection: Option<String>,
    pub(crate) on_modified: Option<OnModified>,
    pub(crate) out_of_order: Option<OutOfOrder>,
    pub(crate) mongosh: Option<PathBuf>,
}

/// How to connect, fully resolved.
#[derive(Debug, Clone)]
pub(crate) struct MongoSettings {
    /// A connection string, when one was configured (takes precedence over host/port).
    pub(crate) uri: Option<String>,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) database: String,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<Secret>,
    /// The variable the password was read from, so child processes that must not see it can
    /// be started without it.
    pub(crate) password_env: Option<String>,
    pub(crate) auth_source: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) tls: Option<bool>,
    pub(crate) tls_ca_file: Option<PathBuf>,
    pub(crate) tls_allow_invalid_certificates: Option<bool>,
}

/// Where migrations live and how they are recognised.
#[derive(Debug, Clone)]
pub(crate) struct MigrationSettings {
    /// Absolute, or relative to the working directory.
    pub(crate) directory: PathBuf,
    pub(crate) pattern: Regex,
    pub(crate) collection: String,
    /// How long the lock lasts without renewal; a crashed run's lock is taken over after it.
    pub(crate) lock_lease: Duration,
    pub(crate) policies: Policies,
    pub(crate) runners: Runners,
}

/// The programs that run script migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Runners {
    /// mongosh, for `.js` migrations: a path, or a name looked up on `PATH`.
    pub(crate) mongosh: PathBuf,
    /// Extension (without the dot) → program and leading arguments, e.g. `py` → `["python3"]`.
    pub(crate) interpreters: BTreeMap<String, Vec<String>>,
}

/// `[dump]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpSettings {
    /// Take a dump before `execute` runs anything.
    pub(crate) enabled: bool,
    /// Where dumps go: `<directory>/<environment>-<UTC timestamp>/`.
    pub(crate) directory: PathBuf,
    pub(crate) tool: DumpTool,
    pub(crate) gzip: bool,
    /// Only these collections (all but migo's lock when empty).
    pub(crate) collections: Vec<String>,
    /// Keep this many dumps of the environment, removing older ones after a successful dump.
    pub(crate) keep: Option<usize>,
    /// The mongodump program, for `tool = "mongodump"`.
    pub(crate) mongodump: PathBuf,
}

/// A user-defined task, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) description: String,
    pub(crate) run: String,
}

/// Everything the rest of migo needs, with no trace of where each value came from.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The selected `[environments.<name>]`, if any.
    pub(crate) environment: Option<String>,
    pub(crate) mongo: MongoSettings,
    pub(crate) migrations: MigrationSettings,
    pub(crate) dump: DumpSettings,
    /// The selected environment's remote: commands run there, unless `--local`.
    pub(crate) remote: Option<RemoteSettings>,
    /// The selected environment asks before changing anything.
    pub(crate) confirm: bool,
    pub(crate) tasks: BTreeMap<String, Task>,
    /// Migrations and extras compiled into a custom binary (none for plain `migo`).
    pub(crate) extensions: Extensions,
    /// `user@host` that started this run over SSH (`--remote-origin`), for the audit log.
    pub(crate) remote_origin: Option<String>,
}

impl Settings {
    /// Reads the configuration file and applies the layers. `reserved` are the built-in
    /// subcommand names, which a task may not take.
    pub(crate) fn load(overrides: &Overrides, reserved: &[&str]) -> Result<Settings> {
        let (file, config_file, text) = read_file(overrides.config.as_deref())?;
        let origin = Origin {
            file: config_file.as_deref(),
            text: &text,
        };
        let base_dir = config_file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();

        let env_section = select_environment(&file, overrides.environment.as_deref(), &origin)?;
        let mongo = merge_mongo(
            &overrides.mongo,
            &merge_mongo(&env_section.mongo, &file.mongo),
        );
        let migrations = MigrationsSection {
            directory: env_section
                .migrations
                .directory
                .or(file.migrations.directory),
            pattern: env_section.migrations.pattern.or(file.migrations.pattern),
            collection: env_section
                .migrations
                .collection
                .or(file.migrations.collection),
            lock_lease_secs: env_section
                .migrations
                .lock_lease_secs
                .or(file.migrations.lock_lease_secs),
            on_modified: env_section
                .migrations
                .on_modified
                .or(file.migrations.on_modified),
            out_of_order: env_section
                .migrations
                .out_of_order
                .or(file.migrations.out_of_order),
            mongosh: env_section.migrations.mongosh.or(file.migrations.mongosh),
            interpreters: merge_interpreters(
                env_section.migrations.interpreters,
                file.migrations.interpreters,
            ),
        };

        Ok(Settings {
            mongo: resolve_mongo(mongo, &origin)?,
            migrations: resolve_migrations(overrides, migrations, &base_dir, &origin)?,
            dump: resolve_dump(&env_section.dump, &file.dump, &base_dir, &origin)?,
            remote: env_section
                .remote
                .clone()
                .map(|r| resolve_remote(r, &base_dir, &origin))
                .transpose()?,
            confirm: env_section.confirm.unwrap_or(false),
            tasks: resolve_tasks(file.tasks, reserved, &origin)?,
            environment: overrides.environment.clone(),
            extensions: Extensions::default(),
            remote_origin: None,
        })
    }
}

/// The file being resolved, for error locations.
struct Origin<'a> {
    file: Option<&'a Path>,
    text: &'a str,
}

impl Origin<'_> {
    fn name(&self) -> String {
        self.file
            .map_or_else(|| "configuration".to_string(), |p| p.display().to_string())
    }

    /// `file:line:column` for a byte offset into the file.
    fn at(&self, offset: usize) -> String {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("{}:{line}:{column}", self.name())
    }

    fn error(&self, offset: Option<usize>, message: String, hint: Option<&str>) -> Error {
        Error::Config {
            location: offset.map_or_else(|| self.name(), |o| self.at(o)),
            message,
            hint: hint.map(str::to_string),
        }
    }
}

fn read_file(explicit: Option<&Path>) -> Result<(FileConfig, Option<PathBuf>, String)> {
    let path = explicit.map_or_else(|| PathBuf::from(DEFAULT_CONFIG), Path::to_path_buf);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
            return Ok((FileConfig::default(), None, String::new()));
        }
        Err(e) => {
            return Err(Error::Config {
                location: path.display().to_string(),
                message: format!("cannot read the configuration file: {e}"),
                hint: Some("check `--config` / `MIGO_CONFIG`".into()),
            })
        }
    };
    let origin = Origin {
        file: Some(&path),
        text: &text,
    };
    let file: FileConfig = toml::from_str(&text).map_err(|e| {
        let message = e.message().trim_end().replace('\n', " ");
        origin.error(
            e.span().map(|s| s.start),
            message,
            Some("every key is documented in migo.reference.toml"),
        )
    })?;
    Ok((file, Some(path), text))
}

fn select_environment(
    file: &FileConfig,
    name: Option<&str>,
    origin: &Origin<'_>,
) -> Result<EnvironmentSection> {
    let Some(name) = name else {
        return Ok(EnvironmentSection::default());
    };
    file.environments.get(name).cloned().ok_or_else(|| {
        let known: Vec<_> = file.environments.keys().map(|k| format!("`{k}`")).collect();
        let hint = if known.is_empty() {
            "define `[environments.<name>]` in the configuration file".to_string()
        } else {
            format!("known environments: {}", known.join(", "))
        };
        origin.error(None, format!("unknown environment `{name}`"), Some(&hint))
    })
}

/// Both layers' interpreters, the environment's winning per extension.
fn merge_interpreters(
    high: Option<BTreeMap<String, String>>,
    low: Option<BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    match (high, low) {
        (Some(high), Some(mut low)) => {
            low.extend(high);
            Some(low)
        }
        (high, low) => high.or(low),
    }
}

/// `high` wins field by field over `low`.
fn merge_mongo(high: &MongoSection, low: &MongoSection) -> MongoSection {
    let h = high.clone();
    let l = low.clone();
    MongoSection {
        uri: h.uri.or(l.uri),
        host: h.host.or(l.host),
        port: h.port.or(l.port),
        database: h.database.or(l.database),
        user: h.user.or(l.user),
        password: h.password.or(l.password),
        password_env: h.password_env.or(l.password_env),
        auth_source: h.auth_source.or(l.auth_source),
        timeout_secs: h.timeout_secs.or(l.timeout_secs),
        tls: h.tls.or(l.tls),
        tls_ca_file: h.tls_ca_file.or(l.tls_ca_file),
        tls_allow_invalid_certificates: h
            .tls_allow_invalid_certificates
            .or(l.tls_allow_invalid_certificates),
    }
}

fn resolve_mongo(m: MongoSection, origin: &Origin<'_>) -> Result<MongoSettings> {
    let invalid = |message: String, hint: &str| origin.error(None, message, Some(hint));
    let database = m
        .database
        .or_else(|| m.uri.as_deref().and_then(uri_database))
        .ok_or_else(|| {
            invalid(
                "missing `[mongo] database`".into(),
                "set `database` under `[mongo]`, or `MIGO_DATABASE`, or `--database`",
            )
        })?;
    if database.is_empty() || database.contains(['/', '\\', '.', ' ', '"', '$']) {
        return Err(invalid(
            format!("`[mongo] database` = {database:?} is not a valid database name"),
            "use letters, digits, `_` and `-`",
        ));
    }
    let password = match (std::env::var("MIGO_PASSWORD").ok(), &m.password_env) {
        (Some(p), _) => Some(p),
        (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
            invalid(
                format!("`[mongo] password_env` names `{var}`, which is not set"),
                &format!("export {var}=… before running migo"),
            )
        })?),
        (None, None) => m.password,
    };
    if password.is_some() && m.user.is_none() && m.uri.is_none() {
        return Err(invalid(
            "a password is configured but `[mongo] user` is not".into(),
            "set `user` under `[mongo]` or `MIGO_USER`",
        ));
    }
    if m.timeout_secs == Some(0) {
        return Err(invalid(
            "`[mongo] timeout_secs` must be at least 1".into(),
            "the default is 10",
        ));
    }
    Ok(MongoSettings {
        uri: m.uri,
        host: m.host.unwrap_or_else(|| "localhost".into()),
        port: m.port.unwrap_or(27017),
        database,
        user: m.user,
        password: password.map(Secret::new),
        password_env: m.password_env,
        auth_source: m.auth_source,
        timeout: Duration::from_secs(m.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)),
        tls: m.tls,
        tls_ca_file: m.tls_ca_file,
        tls_allow_invalid_certificates: m.tls_allow_invalid_certificates,
    })
}

/// The default database in a connection string's path, if any.
fn uri_database(uri: &str) -> Option<String> {
    let rest = &uri[uri.find("://")? + 3..];
    let path = &rest[rest.find('/')? + 1..];
    let db = path.split('?').next().unwrap_or_default();
    (!db.is_empty()).then(|| db.to_string())
}

fn resolve_migrations(
    overrides: &Overrides,
    file: MigrationsSection,
    base_dir: &Path,
    origin: &Origin<'_>,
) -> Result<MigrationSettings> {
    let directory = match (&overrides.directory, file.directory) {
        (Some(flag), _) => flag.clone(),
        (None, Some(dir)) => base_dir.join(dir),
        (None, None) => base_dir.join(DEFAULT_DIRECTORY),
    };
    let (pattern, location) = match (&overrides.pattern, file.pattern) {
        (Some(p), _) => (p.clone(), None),
        (None, Some(p)) => (p.get_ref().clone(), Some(p.span().start)),
        (None, None) => (DEFAULT_PATTERN.to_string(), None),
    };
    let pattern = Regex::new(&pattern).map_err(|e| {
        let text = e.to_string();
        let detail = text
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .trim_start_matches("error: ");
        origin.error(
            location,
            format!("`[migrations] pattern` {pattern:?} is not a valid regex: {detail}"),
            Some("the pattern is a Rust regex with a named group `number`"),
        )
    })?;
    if !pattern.capture_names().any(|n| n == Some("number")) {
        return Err(origin.error(
            location,
            format!(
                "`[migrations] pattern` {:?} has no group named `number`",
                pattern.as_str()
            ),
            Some(r"capture the migration number with `(?P<number>[0-9]+)`"),
        ));
    }
    let collection = overrides
        .collection
        .clone()
        .or(file.collection)
        .unwrap_or_else(|| DEFAULT_COLLECTION.into());
    if collection.is_empty() || collection.starts_with("system.") || collection.contains('$') {
        return Err(origin.error(
            None,
            format!("`[migrations] collection` {collection:?} is not a valid collection name"),
            Some("the default is \"migrations\""),
        ));
    }
    let lease_secs = file.lock_lease_secs.unwrap_or(DEFAULT_LOCK_LEASE_SECS);
    if lease_secs < 3 {
        return Err(origin.error(
            None,
            format!("`[migrations] lock_lease_secs` = {lease_secs} is too short"),
            Some("use at least 3 seconds; the default is 60"),
        ));
    }
    Ok(MigrationSettings {
        directory,
        pattern,
        collection,
        lock_lease: Duration::from_secs(lease_secs),
        runners: resolve_runners(overrides, file.mongosh, file.interpreters, base_dir, origin)?,
        policies: Policies {
            on_modified: overrides
                .on_modified
                .or(file.on_modified)
                .unwrap_or_default(),
            out_of_order: overrides
                .out_of_order
                .or(file.out_of_order)
                .unwrap_or_default(),
        },
    })
}

fn resolve_dump(
    high: &DumpSection,
    low: &DumpSection,
    base_dir: &Path,
    origin: &Origin<'_>,
) -> Result<DumpSettings> {
    let h = high.clone();
    let l = low.clone();
    let keep = h.keep.or(l.keep);
    if keep == Some(0) {
        return Err(origin.error(
            None,
            "`[dump] keep` = 0 would delete the dump just taken".into(),
            Some("keep at least 1, or leave `keep` out to keep every dump"),
        ));
    }
    let relative = |p: PathBuf| if p.is_relative() { base_dir.join(p) } else { p };
    Ok(DumpSettings {
        enabled: h.enabled.or(l.enabled).unwrap_or(false),
        directory: relative(
            h.directory
                .or(l.directory)
                .unwrap_or_else(|| "mongodumps".into()),
        ),
        tool: h.tool.or(l.tool).unwrap_or_default(),
        gzip: h.gzip.or(l.gzip).unwrap_or(false),
        collections: h.collections.or(l.collections).unwrap_or_default(),
        keep,
        mongodump: h
            .mongodump
            .or(l.mongodump)
            .unwrap_or_else(|| "mongodump".into()),
    })
}

fn resolve_remote(
    r: RemoteSection,
    base_dir: &Path,
    origin: &Origin<'_>,
) -> Result<RemoteSettings> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    // `~/x` is the user's home, as in ssh's own configuration; other relative paths are
    // relative to this file.
    let path = |p: PathBuf| match p.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) if p.is_relative() => base_dir.join(p),
        Err(_) => p,
    };
    if r.host.is_empty() || r.workdir.is_empty() {
        return Err(origin.error(
            None,
            "`remote` needs a `host` and a `workdir`".into(),
            Some("e.g. remote = { host = \"staging.example.com\", workdir = \"/srv/app\" }"),
        ));
    }
    if r.timeout_secs == Some(0) {
        return Err(origin.error(
            None,
            "`remote.timeout_secs` must be at least 1".into(),
            Some("the default is 10"),
        ));
    }
    Ok(RemoteSettings {
        host: r.host,
        port: r.port.unwrap_or(22),
        user: r.user.unwrap_or_else(whoami::username),
        identity_file: r.identity_file.map(path),
        known_hosts: path(r.known_hosts.unwrap_or_else(|| "~/.ssh/known_hosts".into())),
        workdir: r.workdir,
        command: r.command.unwrap_or_else(|| "migo".into()),
        accept_new_host_key: r.accept_new_host_key.unwrap_or(false),
        timeout: Duration::from_secs(r.timeout_secs.unwrap_or(10)),
    })
}

fn resolve_runners(
    overrides: &Overrides,
    mongosh: Option<PathBuf>,
    interpreters: Option<BTreeMap<String, String>>,
    base_dir: &Path,
    origin: &Origin<'_>,
) -> Result<Runners> {
    // A relative path with a directory part is relative to the config file; a bare name is
    // looked up on PATH when it runs.
    let mongosh = match (&overrides.mongosh, mongosh) {
        (Some(flag), _) => flag.clone(),
        (None, Some(path)) if path.components().count() > 1 && path.is_relative() => {
            base_dir.join(path)
        }
        (None, Some(path)) => path,
        (None, None) => PathBuf::from("mongosh"),
    };
    let interpreters = interpreters
        .unwrap_or_default()
        .into_iter()
        .map(|(extension, command)| {
            let words: Vec<String> = command.split_whitespace().map(String::from).collect();
            if words.is_empty() || extension.is_empty() || extension.contains('.') {
                return Err(origin.error(
                    None,
                    format!("`[migrations.interpreters] {extension}` = {command:?} is not usable"),
                    Some("map an extension without its dot to a command, e.g. py = \"python3\""),
                ));
            }
            Ok((extension, words))
        })
        .collect::<Result<_>>()?;
    Ok(Runners {
        mongosh,
        interpreters,
    })
}

fn resolve_tasks(
    tasks: BTreeMap<String, Spanned<TaskSection>>,
    reserved: &[&str],
    origin: &Origin<'_>,
) -> Result<BTreeMap<String, Task>> {
    tasks
        .into_iter()
        .map(|(name, section)| {
            let at = Some(section.span().start);
            if reserved.contains(&name.as_str()) {
                return Err(origin.error(
                    at,
                    format!("task `{name}` would shadow the built-in subcommand `{name}`"),
                    Some("rename the task"),
                ));
            }
            let valid = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if name.is_empty() || name.starts_with('-') || !valid {
                return Err(origin.error(
                    at,
                    format!("task name {name:?} is not a valid subcommand name"),
                    Some("use letters, digits, `-` and `_`"),
                ));
            }
            let section = section.into_inner();
            if section.run.trim().is_empty() {
                return Err(origin.error(
                    at,
                    format!("task `{name}` has an empty `run`"),
                    Some("give the shell command to run"),
                ));
            }
            Ok((
                name,
                Task {
                    description: section.description,
                    run: section.run,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_database_reads_the_path() {
        assert_eq!(
            uri_database("mongodb://h:1/app?x=1").as_deref(),
            Some("app")
        );
        assert_eq!(uri_database("mongodb://h:1/?x=1"), None);
        assert_eq!(uri_database("mongodb://h:1"), None);
    }

    #[test]
    fn locations_are_line_and_column() {
        let origin = Origin {
            file: Some(Path::new("m.toml")),
            text: "a\nbc\nd",
        };
        assert_eq!(origin.at(0), "m.toml:1:1");
        assert_eq!(origin.at(3), "m.toml:2:2");
        assert_eq!(origin.at(5), "m.toml:3:1");
    }

    #[test]
    fn the_reference_config_parses_with_every_key() {
        std::env::set_var("MIGO_REFERENCE_PASSWORD", "reference");
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migo.reference.toml");
        let overrides = Overrides {
            config: Some(path),
            ..Overrides::default()
        };
        let settings = Settings::load(&overrides, &["list"]).unwrap();
        assert_eq!(settings.mongo.database, "app");
        assert_eq!(settings.migrations.pattern.as_str(), DEFAULT_PATTERN);
        assert_eq!(
            settings.tasks["seed"].description,
            "Load seed data into the database"
        );
        let staging = Overrides {
            environment: Some("staging".into()),
            ..overrides
        };
        let settings = Settings::load(&staging, &["list"]).unwrap();
        assert!(settings.dump.enabled && settings.dump.gzip && settings.confirm);
        let remote = settings.remote.expect("staging has a remote");
        assert_eq!(
            (remote.host.as_str(), remote.port),
            ("staging.internal", 22)
        );
        assert!(remote
            .identity_file
            .unwrap()
            .ends_with(".ssh/deploy_ed25519"));
        assert_eq!(settings.dump.keep, Some(10));
        assert_eq!(
            settings.mongo.uri.as_deref(),
            Some("mongodb://staging-db.internal:27017/app")
        );
    }

    #[test]
    fn merge_prefers_the_higher_layer() {
        let high = MongoSection {
            port: Some(1),
            ..Default::default()
        };
        let low = MongoSection {
            port: Some(2),
            host: Some("h".into()),
            ..Default::default()
        };
        let merged = merge_mongo(&high, &low);
        assert_eq!((merged.port, merged.host.as_deref()), (Some(1), Some("h")));
    }
}
