//! Finding migration files: the directory scan, the pattern, numeric order, and checksums.
//!
//! Every file in the directory must be a migration, unless it is a dotfile, starts with `_`, or is
//! Markdown: a stray `0004-add-index.json` that silently never runs is worse than an error.

use std::path::{Path, PathBuf};

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::migration::compiled::Compiled;

/// One migration: a file on disk, or a compiled one standing in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MigrationFile {
    /// The file stem, e.g. `0003_add_index`: the migration's name everywhere.
    pub(crate) name: String,
    /// The file name, e.g. `0003_add_index.json`.
    pub(crate) file_name: String,
    /// The number captured by the pattern's `number` group.
    pub(crate) number: u64,
    pub(crate) path: PathBuf,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub(crate) checksum: String,
    /// Set for a migration compiled into the binary (`path` is then empty).
    pub(crate) compiled: Option<Compiled>,
}

impl MigrationFile {
    /// Whether users may call it `name`: its stem (`0003_add_index`) or its file name.
    pub(crate) fn is_called(&self, name: &str) -> bool {
        self.name == name || self.file_name == name
    }

    /// The extension, e.g. `json`; empty when there is none.
    pub(crate) fn extension(&self) -> &str {
        Path::new(&self.file_name)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
    }
}

/// The migrations found in `dir` and the `compiled` ones, ordered by number. A missing directory
/// is an error only when nothing is compiled in.
pub(crate) fn discover_all(
    dir: &Path,
    pattern: &Regex,
    compiled: &[Compiled],
) -> Result<Vec<MigrationFile>> {
    let mut found = match discover(dir, pattern) {
        Err(Error::NoDirectory(_)) if !compiled.is_empty() => Vec::new(),
        other => other?,
    };
    for migration in compiled {
        found.push(migration.as_file()?);
    }
    sort_and_check(found)
}

/// The migration files found in `dir`, ordered by number.
pub(crate) fn discover(dir: &Path, pattern: &Regex) -> Result<Vec<MigrationFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoDirectory(dir.to_path_buf()),
        _ => Error::Io {
            context: "cannot read the migrations directory",
            path: dir.into(),
            source: e,
        },
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::Io {
            context: "cannot read the migrations directory",
            path: dir.into(),
            source: e,
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if is_set_aside(&file_name) || entry.path().is_dir() {
            continue;
        }
        found.push(read_migration(dir, &file_name, pattern)?);
    }
    sort_and_check(found)
}

/// Orders by number, refusing two migrations with the same one.
fn sort_and_check(mut found: Vec<MigrationFile>) -> Result<Vec<MigrationFile>> {
    found.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    if let Some(pair) = found.windows(2).find(|w| w[0].number == w[1].number) {
        return Err(Error::DuplicateNumber {
            number: pair[0].number,
            first: pair[0].file_name.clone(),
            second: pair[1].file_name.clone(),
        });
    }
    Ok(found)
}

/// Files that live beside migrations without being ones.
fn is_set_aside(file_name: &str) -> bool {
    file_name.starts_with('.') || file_name.starts_with('_') || file_name.ends_with(".md")
}

fn read_migration(dir: &Path, file_name: &str, pattern: &Regex) -> Result<MigrationFile> {
    let bad_name = || Error::BadFileName {
        file: file_name.to_string(),
        dir: dir.to_path_buf(),
        pattern: pattern.as_str().to_string(),
    };
    let captures = pattern.captures(file_name).ok_or_else(bad_name)?;
    let digits = captures
        .name("number")
        .map(|m| m.as_str())
        .unwrap_or_default();
    let number = digits.parse::<u64>().map_err(|_| Error::InvalidMigration {
        file: file_name.to_string(),
        message: format!("its number {digits:?} is not a whole number"),
        hint: Some("the pattern's `number` group must capture digits only".into()),
    })?;
    let path = dir.join(file_name);
    let bytes = std::fs::read(&path).map_err(|e| Error::Io {
        context: "cannot read migration",
        path: path.clone(),
        source: e,
    })?;
    let name = Path::new(file_name).file_stem().map_or_else(
        || file_name.to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Ok(MigrationFile {
        name,
        file_name: file_name.to_string(),
        number,
        path,
        checksum: checksum(&bytes),
        compiled: None,
    })
}

/// SHA-256 of `bytes` as lower-case hex.
pub(crate) fn checksum(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_hex() {
        assert_eq!(
            checksum(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn set_aside_files() {
        assert!(is_set_aside(".keep") && is_set_aside("_draft.json") && is_set_aside("README.md"));
        assert!(!is_set_aside("0001_a.json"));
    }
}
