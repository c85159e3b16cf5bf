//! `migo.toml` and its layers, resolved once into [`Settings`].
//!
//! Layers, highest first: command-line flag > `MIGO_*` variable > `[environments.<name>]` > the
//! base file > built-in default. They are merged as TOML ([`layers`]) and read once into the
//! schema ([`schema`]); every error names where the bad value came from (`file:line:column`,
//! the variable or the flag), so a typo never silently falls back to a default.

pub(crate) mod backfill;
mod drift;
mod dump;
pub(crate) mod file;
pub(crate) mod layers;
pub(crate) mod lint;
mod migrations;
mod remote;
pub(crate) mod schema;
pub(crate) mod target;
mod tasks;
pub(crate) mod variables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::plan::policy::Policies;
use layers::{LayerKind, Origins, Override};
pub(crate) use remote::RemoteSettings;
pub(crate) use schema::{DumpTool, JsRunner, Transport};
pub(crate) use target::Target;

/// The configuration file name, looked up in the working directory and its parents.
pub(crate) const DEFAULT_CONFIG: &str = "migo.toml";
/// Default `[migrations] directory`.
pub(crate) const DEFAULT_DIRECTORY: &str = "mongomigrations";
/// Default `[migrations] pattern`: `0003_add_index.json` (and `.js`, `.sh`, `.py`, and
/// golang-migrate's `1_x.up.json` + `1_x.down.json` pairs).
pub(crate) const DEFAULT_PATTERN: &str =
    r"^(?P<number>[0-9]+)_[A-Za-z0-9_-]+(\.(up|down))?\.(json|js|sh|py)$";
/// Default `[migrations] collection`.
pub(crate) const DEFAULT_COLLECTION: &str = "migrations";
/// Default lease of the migrations lock.
pub(crate) const DEFAULT_LOCK_LEASE_SECS: u64 = 60;
/// The longest lease accepted (a day).
pub(crate) const MAX_LOCK_LEASE_SECS: u64 = 86_400;

/// What selects and overrides the configuration: the file, the environment and the
/// variables' and flags' values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    /// `--config` / `MIGO_CONFIG`; otherwise `migo.toml` is looked up.
    pub(crate) config: Option<PathBuf>,
    /// `--env` / `MIGO_ENV`.
    pub(crate) environment: Option<String>,
    /// Variables and flags, in any order (each knows its layer).
    pub(crate) overrides: Vec<Override>,
    /// Only files are touched (`migo new`): a missing or bad `[mongo]` is no error then.
    pub(crate) offline: bool,
}

/// Where migrations live and how they are recognised and recorded.
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
    /// Node, for CommonJS `.js` migrations (migrate-mongo's).
    pub(crate) node: PathBuf,
    /// Python with pymongo, for migopy's `.py` modules.
    pub(crate) python: PathBuf,
    /// Which of mongosh and Node runs a `.js` file.
    pub(crate) js: JsRunner,
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
    /// Only these collections (all of them when empty).
    pub(crate) collections: Vec<String>,
    /// Keep this many dumps of the environment, removing older ones after a successful dump.
    pub(crate) keep: Option<usize>,
    /// The mongodump program, for `tool = "mongodump"`.
    pub(crate) mongodump: PathBuf,
}

/// `[backfill]`, resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BackfillSettings {
    /// The batch size of backfills that give none.
    pub(crate) batch_size: Option<u64>,
    pub(crate) pace: backfill::Pace,
}

/// `[drift]`, resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct DriftSettings {
    /// Collections the migrations do not make, whose names match one of these, are set aside.
    pub(crate) ignore: Vec<Regex>,
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
    /// The database and deployment, with the selected environment's name.
    pub(crate) target: Target,
    pub(crate) migrations: MigrationSettings,
    pub(crate) dump: DumpSettings,
    /// `[backfill]`: the pace of backfills that do not set their own.
    pub(crate) backfill: BackfillSettings,
    /// `[drift]`: collections set aside.
    pub(crate) drift: DriftSettings,
    /// The selected environment's remote: commands run there, unless `--local`.
    pub(crate) remote: Option<RemoteSettings>,
    /// The selected environment asks before changing anything.
    pub(crate) confirm: bool,
    pub(crate) tasks: BTreeMap<String, Task>,
    /// The directory of migo.toml: the project.
    pub(crate) project_dir: PathBuf,
    /// `[fleet]`, when the file has one.
    pub(crate) fleet: Option<FleetSettings>,
    /// `[lint]`: the severity of each lint rule the configuration sets.
    pub(crate) lint: lint::LintSettings,
}

/// `[fleet]`, resolved: which databases, on which environments' deployments.
#[derive(Debug, Clone)]
pub(crate) struct FleetSettings {
    pub(crate) databases: Selector,
    pub(crate) exclude: Vec<String>,
    /// Empty: the selected environment's deployment only.
    pub(crate) environments: Vec<String>,
}

/// How fleet members are chosen.
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    /// Every database of the deployment whose name matches.
    Pattern(Regex),
    /// Exactly these databases.
    List(Vec<String>),
}

impl Settings {
    /// The selected `[environments.<name>]`, if any.
    pub(crate) fn environment(&self) -> Option<&str> {
        self.target.environment.as_deref()
    }

    /// Reads the configuration file and applies the layers. `reserved` are the names a task
    /// may not take (built-in subcommands, compiled extras).
    pub(crate) fn load(sources: &Sources, reserved: &[&str]) -> Result<Settings> {
        let (path, text) = read_file(sources.config.as_deref())?;
        let mut origins = Origins::new(Some(&path), &text);
        let file = parse_file(&text, &origins)?;
        let environment = sources.environment.as_deref();
        let selected = select_environment(&file, environment, &origins)?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let literals = layers::literals(&sources.overrides);
        let table = DeTable::parse(&text).map_err(|e| toml_error(&e, &origins))?;
        let merged = layers::merge(
            Some(table),
            environment,
            &sources.overrides,
            &literals,
            &mut origins,
        )?;
        let deserializer = toml::de::Deserializer::from(Spanned::new(0..0, merged));
        let layer =
            schema::Layer::deserialize(deserializer).map_err(|e| toml_error(&e, &origins))?;
        Ok(Settings {
            target: match target::resolve(&layer.mongo, environment, &base_dir, &origins) {
                Err(_) if sources.offline => Target::offline(environment),
                target => target?,
            },
            migrations: migrations::resolve(&layer.migrations, &base_dir, &origins)?,
            dump: dump::resolve(&layer.dump, &base_dir, &origins)?,
            backfill: backfill::resolve(&layer.backfill, &origins)?,
            drift: drift::resolve(&layer.drift, &origins)?,
            lint: lint::resolve(&layer.lint, &origins),
            remote: selected
                .and_then(|e| e.remote.as_ref())
                .map(|r| remote::resolve(r, &base_dir, &origins))
                .transpose()?,
            confirm: selected.and_then(|e| e.confirm).unwrap_or(false),
            tasks: tasks::resolve(&file.tasks, reserved, &origins)?,
            fleet: file
                .fleet
                .as_ref()
                .map(|f| resolve_fleet(f, &file, &origins))
                .transpose()?,
            project_dir: base_dir,
        })
    }
}

fn resolve_fleet(
    fleet: &Spanned<schema::Fleet>,
    file: &schema::File,
    origins: &Origins<'_>,
) -> Result<FleetSettings> {
    let f = fleet.get_ref();
    let databases = match &f.databases {
        Some(schema::Databases::List(names)) => {
            if let Some(bad) = names.iter().find(|n| !target::is_valid_database_name(n)) {
                return Err(origins.error(
                    &fleet.span(),
                    format!(
                        "`[fleet] databases` lists {bad:?}, which is not a valid database name"
                    ),
                    "use letters, digits, `_` and `-` (at most 63 characters)",
                ));
            }
            Selector::List(names.clone())
        }
        Some(schema::Databases::Pattern(text)) => {
            Selector::Pattern(Regex::new(text).map_err(|e| {
                origins.error(
                    &fleet.span(),
                    format!(
                        "`[fleet] databases` {text:?} is not a valid regex: {}",
                        regex_problem(&e)
                    ),
                    "give a Rust regex, e.g. \"^tenant_\", or a list of names",
                )
            })?)
        }
        None => Selector::Pattern(Regex::new(".*").expect("valid")),
    };
    if let Some(unknown) = f
        .environments
        .iter()
        .find(|e| !file.environments.contains_key(*e))
    {
        return Err(origins.error(
            &fleet.span(),
            format!("`[fleet] environments` names `{unknown}`, which is not defined"),
            "define `[environments.<name>]` for each cluster of the fleet",
        ));
    }
    Ok(FleetSettings {
        databases,
        exclude: f.exclude.clone(),
        environments: f.environments.clone(),
    })
}

/// What is wrong with a regex, in a few words: the last line of the regex crate's report
/// (`unclosed group`), which otherwise draws the pattern over several lines.
pub(crate) fn regex_problem(e: &regex::Error) -> String {
    let report = e.to_string();
    let last = report.lines().last().unwrap_or_default().trim();
    last.trim_start_matches("error: ").to_string()
}

/// The configuration file: the one given, or `migo.toml` in the working directory or the
/// nearest parent that has one (as cargo finds `Cargo.toml`), read through [`file::read`]'s
/// guards.
fn read_file(explicit: Option<&Path>) -> Result<(PathBuf, String)> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => find_config()?,
    };
    let text = file::read(&path)?;
    Ok((path, text))
}

/// `migo.toml` in the working directory or its parents: the nearest path of that name, whatever
/// it is (a FIFO or a directory named so is then refused by name, not passed over).
pub(crate) fn find_config() -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::Io {
        context: "cannot read the working directory",
        path: ".".into(),
        source: e,
    })?;
    let exists = |path: &Path| path.symlink_metadata().is_ok();
    if exists(Path::new(DEFAULT_CONFIG)) {
        // Here: messages say `migo.toml:3:1`, not the whole path.
        return Ok(PathBuf::from(DEFAULT_CONFIG));
    }
    cwd.ancestors()
        .map(|dir| dir.join(DEFAULT_CONFIG))
        .find(|candidate| exists(candidate))
        .ok_or_else(|| Error::NoConfig(cwd))
}

/// The file, checked strictly against the schema (unknown keys anywhere are errors).
fn parse_file(text: &str, origins: &Origins<'_>) -> Result<schema::File> {
    toml::from_str(text).map_err(|e| toml_error(&e, origins))
}

/// A TOML or schema error, located by its span.
fn toml_error(e: &toml::de::Error, origins: &Origins<'_>) -> Error {
    let message = e.message().trim_end().replace('\n', " ");
    let location = e
        .span()
        .map_or_else(|| origins.file_name(), |span| origins.of(&span).label);
    Error::Config {
        location,
        message,
        hint: Some("every key is documented in migo.reference.toml".into()),
    }
}

fn select_environment<'f>(
    file: &'f schema::File,
    name: Option<&str>,
    origins: &Origins<'_>,
) -> Result<Option<&'f schema::Environment>> {
    let Some(name) = name else {
        return Ok(None);
    };
    file.environments.get(name).map(Some).ok_or_else(|| {
        let known: Vec<_> = file.environments.keys().map(|k| format!("`{k}`")).collect();
        let hint = if known.is_empty() {
            "define `[environments.<name>]` in the configuration file".to_string()
        } else {
            format!("known environments: {}", known.join(", "))
        };
        origins.file_error(
            format!(
                "unknown environment `{}`",
                crate::ground::escape::escape(name)
            ),
            &hint,
        )
    })
}

/// A path from the file is relative to the file's directory; one from a variable or a flag to
/// the working directory.
pub(super) fn path_of(value: &Spanned<PathBuf>, base_dir: &Path, origins: &Origins<'_>) -> PathBuf {
    let from_file = origins.of(&value.span()).layer <= LayerKind::Environment;
    match value.get_ref() {
        p if p.is_relative() && from_file => base_dir.join(p),
        p => p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_line_and_column() {
        let origins = Origins::new(Some(Path::new("m.toml")), "a\nbc\nd");
        assert_eq!(origins.at(0), "m.toml:1:1");
        assert_eq!(origins.at(3), "m.toml:2:2");
        assert_eq!(origins.at(5), "m.toml:3:1");
    }

    #[test]
    fn the_reference_config_parses_with_every_key() {
        std::env::set_var("MIGO_REFERENCE_PASSWORD", "reference");
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migo.reference.toml");
        let sources = Sources {
            config: Some(path),
            ..Sources::default()
        };
        let settings = Settings::load(&sources, &["list"]).unwrap();
        assert_eq!(settings.target.database, "app");
        assert_eq!(settings.migrations.pattern.as_str(), DEFAULT_PATTERN);
        let ignored: Vec<&str> = settings.drift.ignore.iter().map(Regex::as_str).collect();
        assert_eq!(ignored, ["^sessions$", "^cache_"]);
        assert_eq!(
            settings.lint.severity("update-empty-filter"),
            Some(lint::Severity::Error)
        );
        assert_eq!(
            settings.lint.severity("drop-index-unhidden"),
            Some(lint::Severity::Off)
        );
        assert_eq!(
            settings.tasks["seed"].description,
            "Load seed data into the database"
        );
        let staging = Sources {
            environment: Some("staging".into()),
            ..sources
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
        assert_eq!(settings.target.hosts(), "staging-db.internal:27017");
        assert_eq!(settings.target.database, "app_staging");
    }
}
