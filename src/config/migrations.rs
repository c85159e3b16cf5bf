//! `[migrations]`: where the files are, how they are recognised, the registry, the lease, the
//! policies and the programs that run scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use super::layers::Origins;
use super::{path_of, schema, variables, MigrationSettings, Runners};
use super::{
    DEFAULT_COLLECTION, DEFAULT_DIRECTORY, DEFAULT_LOCK_LEASE_SECS, DEFAULT_PATTERN,
    MAX_LOCK_LEASE_SECS,
};
use crate::error::Result;
use crate::plan::policy::Policies;

/// `[migrations]`, resolved.
pub(super) fn resolve(
    m: &schema::Migrations,
    base_dir: &Path,
    origins: &Origins<'_>,
) -> Result<MigrationSettings> {
    let directory = m.directory.as_ref().map_or_else(
        || base_dir.join(DEFAULT_DIRECTORY),
        |d| path_of(d, base_dir, origins),
    );
    let pattern = resolve_pattern(m, origins)?;
    let collection = m
        .collection
        .as_ref()
        .map_or(DEFAULT_COLLECTION, |c| c.get_ref().as_str());
    let bad_collection = collection.is_empty()
        || collection.starts_with("system.")
        || collection.contains(['$', '\0'])
        || collection.len() > 100;
    if bad_collection {
        let span = m.collection.as_ref().expect("the default is valid").span();
        return Err(origins.error(
            &span,
            format!(
                "`[migrations] collection` {} is not a valid collection name",
                crate::ground::escape::quoted(collection)
            ),
            "the default is \"migrations\"",
        ));
    }
    Ok(MigrationSettings {
        directory,
        pattern,
        collection: collection.to_string(),
        lock_lease: lock_lease(m, origins)?,
        runners: resolve_runners(m, base_dir, origins)?,
        policies: Policies {
            on_modified: m
                .on_modified
                .as_ref()
                .map(|p| *p.get_ref())
                .unwrap_or_default(),
            out_of_order: m
                .out_of_order
                .as_ref()
                .map(|p| *p.get_ref())
                .unwrap_or_default(),
        },
    })
}

fn resolve_pattern(m: &schema::Migrations, origins: &Origins<'_>) -> Result<Regex> {
    let Some(spanned) = &m.pattern else {
        return Ok(Regex::new(DEFAULT_PATTERN).expect("the default pattern is valid"));
    };
    let text = preset(spanned.get_ref()).unwrap_or(spanned.get_ref());
    let pattern = Regex::new(text).map_err(|e| {
        origins.error(
            &spanned.span(),
            format!(
                "`[migrations] pattern` {text:?} is not a valid regex: {}",
                super::regex_problem(&e)
            ),
            "the pattern is a Rust regex with a named group `number`",
        )
    })?;
    if !pattern.capture_names().any(|n| n == Some("number")) {
        return Err(origins.error(
            &spanned.span(),
            format!("`[migrations] pattern` {text:?} has no group named `number`"),
            r"capture the migration number with `(?P<number>[0-9]+)`",
        ));
    }
    Ok(pattern)
}

/// The lease: `lock_lease_secs`, or (for tests only) `MIGO_TEST_LEASE_MS` milliseconds.
fn lock_lease(m: &schema::Migrations, origins: &Origins<'_>) -> Result<Duration> {
    if let Some(ms) = variables::text("MIGO_TEST_LEASE_MS")? {
        let ms = variables::number("MIGO_TEST_LEASE_MS", &ms)?;
        return Ok(Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(1)));
    }
    let Some(secs) = &m.lock_lease_secs else {
        return Ok(Duration::from_secs(DEFAULT_LOCK_LEASE_SECS));
    };
    if !(3..=MAX_LOCK_LEASE_SECS).contains(secs.get_ref()) {
        return Err(origins.error(
            &secs.span(),
            format!(
                "`[migrations] lock_lease_secs` = {} is out of range: from 3 to {MAX_LOCK_LEASE_SECS}",
                secs.get_ref()
            ),
            "the default is 60",
        ));
    }
    Ok(Duration::from_secs(*secs.get_ref()))
}

fn resolve_runners(
    m: &schema::Migrations,
    base_dir: &Path,
    origins: &Origins<'_>,
) -> Result<Runners> {
    // A relative path with a directory part is relative to its origin; a bare name is looked
    // up on PATH when it runs.
    let program = |value: &Option<toml::Spanned<PathBuf>>, default: &str| match value {
        Some(path) if path.get_ref().components().count() > 1 => path_of(path, base_dir, origins),
        Some(path) => path.get_ref().clone(),
        None => PathBuf::from(default),
    };
    let mongosh = program(&m.mongosh, "mongosh");
    let mut interpreters = BTreeMap::new();
    if let Some(table) = &m.interpreters {
        for (extension, command) in table.get_ref() {
            let words: Vec<String> = command.split_whitespace().map(String::from).collect();
            if words.is_empty() || extension.is_empty() || extension.contains('.') {
                return Err(origins.error(
                    &table.span(),
                    format!("`[migrations.interpreters] {extension}` = {command:?} is not usable"),
                    "map an extension without its dot to a command, e.g. py = \"python3\"",
                ));
            }
            interpreters.insert(extension.clone(), words);
        }
    }
    Ok(Runners {
        mongosh,
        node: program(&m.node, "node"),
        python: program(&m.python, "python3"),
        js: m.js.as_ref().map(|j| *j.get_ref()).unwrap_or_default(),
        interpreters,
    })
}

/// The patterns other tools name their files with, by the tool's name.
pub(crate) fn preset(name: &str) -> Option<&'static str> {
    match name {
        // 20160608155948-blacklist_the_beatles.js
        "migrate-mongo" => Some(r"^(?P<number>[0-9]{14})-[A-Za-z0-9_.-]+\.(js|cjs)$"),
        // 1_create_users.up.json + 1_create_users.down.json
        "golang-migrate" => Some(r"^(?P<number>[0-9]+)_[A-Za-z0-9_-]+\.(up|down)\.json$"),
        // 0001_add_users.py
        "migopy" => Some(r"^(?P<number>[0-9]+)_[a-z0-9_]+\.py$"),
        _ => None,
    }
}
