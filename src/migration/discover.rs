//! Finding migration files: the directory scan, the pattern, numeric order, and checksums.
//!
//! Every file in the directory must be a migration, unless it is a dotfile, starts with `_`, is
//! Markdown, or is migrate-mongo's template override (`sample-migration.js`): a stray
//! `0004-add-index.json` that silently never runs is worse than an error. Names are unique like
//! numbers: two files whose names differ only by extension would both be called the same. Only
//! regular files are migrations (a symlink only to a regular file inside the project), none over
//! [`MAX_BYTES`], and nothing is read before those checks, so a FIFO or `/dev/zero` named
//! `0001_a.json` is refused by name instead of hanging or filling memory. What is read here is
//! what runs: the bytes travel on the [`Source`] (see [`crate::ground::source::Content`]).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use regex::Regex;

use crate::error::{Error, Result};
use crate::ground::escape::escape;
use crate::ground::source::{text_checksum, Source};

/// The largest migration file migo reads (16 MiB, MongoDB's document limit).
pub(crate) const MAX_BYTES: u64 = 16 << 20;

/// The migrations in `dir` and the `compiled` ones, ordered by number. A missing directory is an
/// error only when nothing is compiled in. Symlinks may point anywhere inside `project`.
pub(crate) fn discover_all(
    dir: &Path,
    pattern: &Regex,
    project: &Path,
    compiled: Vec<Source>,
) -> Result<Vec<Source>> {
    let mut found = match discover(dir, pattern, project) {
        Err(Error::NoDirectory(_)) if !compiled.is_empty() => Vec::new(),
        other => other?,
    };
    found.extend(compiled);
    sort_and_check(found)
}

/// The migration files found in `dir`, ordered by number.
pub(crate) fn discover(dir: &Path, pattern: &Regex, project: &Path) -> Result<Vec<Source>> {
    let io = |e: std::io::Error| Error::Io {
        context: "cannot read the migrations directory",
        path: dir.into(),
        source: e,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoDirectory(dir.to_path_buf()),
        _ => io(e),
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let raw_name = entry.file_name();
        let lossy = raw_name.to_string_lossy().into_owned();
        if is_set_aside(&lossy) || entry.path().is_dir() {
            continue;
        }
        let Some(file_name) = raw_name.to_str() else {
            return Err(Error::InvalidMigration {
                file: escape(&lossy),
                message: "its name is not UTF-8".into(),
                hint: Some("rename it with letters, digits, `_` and `-`".into()),
            });
        };
        found.push(read_migration(dir, file_name, pattern, project)?);
    }
    sort_and_check(pair_up(found)?)
}

/// golang-migrate's `N_name.up.json` + `N_name.down.json` are one migration, `N_name`, whose
/// checksum covers both files. A `.down.json` without its `.up.json` is an error.
fn pair_up(found: Vec<Source>) -> Result<Vec<Source>> {
    let (halves, mut single): (Vec<Source>, Vec<Source>) = found
        .into_iter()
        .partition(|s| s.file_name.ends_with(".up.json") || s.file_name.ends_with(".down.json"));
    let (ups, downs): (Vec<Source>, Vec<Source>) = halves
        .into_iter()
        .partition(|s| s.file_name.ends_with(".up.json"));
    for down in &downs {
        let stem = down.file_name.trim_end_matches(".down.json");
        if !ups
            .iter()
            .any(|u| u.file_name.trim_end_matches(".up.json") == stem)
        {
            return Err(Error::InvalidMigration {
                file: escape(&down.file_name),
                message: format!("it has no `{stem}.up.json` beside it"),
                hint: Some(
                    "a golang-migrate pair is `N_name.up.json` and `N_name.down.json`".into(),
                ),
            });
        }
    }
    for mut up in ups {
        let stem = up.file_name.trim_end_matches(".up.json").to_string();
        if let Some(down) = downs
            .iter()
            .find(|d| d.file_name.trim_end_matches(".down.json") == stem)
        {
            up.checksum = crate::ground::source::checksum(
                format!("{}{}", up.checksum, down.checksum).as_bytes(),
            );
            up.problem = up.problem.or_else(|| down.problem.clone());
            up.down_path = Some(down.path.clone());
            up.content = up.content.with_down(&down.content);
        }
        up.name = stem;
        single.push(up);
    }
    Ok(single)
}

/// Orders by number, refusing two migrations with the same number or the same name.
fn sort_and_check(mut found: Vec<Source>) -> Result<Vec<Source>> {
    found.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    if let Some(pair) = found.windows(2).find(|w| w[0].number == w[1].number) {
        return Err(Error::DuplicateNumber {
            number: pair[0].number,
            first: pair[0].file_name.clone(),
            second: pair[1].file_name.clone(),
        });
    }
    let mut named: std::collections::HashMap<&str, &Source> = std::collections::HashMap::new();
    for source in &found {
        if let Some(first) = named.insert(&source.name, source) {
            return Err(Error::DuplicateName {
                name: escape(&source.name),
                first: escape(&first.file_name),
                second: escape(&source.file_name),
            });
        }
    }
    Ok(found)
}

/// Files that live beside migrations without being ones (migrate-mongo's `create` template,
/// `sample-migration.js`, included).
pub(crate) fn is_set_aside(file_name: &str) -> bool {
    file_name.starts_with('.')
        || file_name.starts_with('_')
        || file_name.ends_with(".md")
        || file_name == "sample-migration.js"
}

/// The number in `digits`, or why it is not one migo can order by.
pub(crate) fn parse_number(digits: &str, file_name: &str) -> Result<u64> {
    let invalid = |message: String, hint: &str| Error::InvalidMigration {
        file: escape(file_name),
        message,
        hint: Some(hint.into()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            format!("its number {:?} is not a whole number", escape(digits)),
            "the pattern's `number` group must capture digits only",
        ));
    }
    match digits.parse::<u64>() {
        Ok(n) if i64::try_from(n).is_ok() => Ok(n),
        _ => Err(invalid(
            format!(
                "its number {digits} is too large (at most {}, as the registry stores it)",
                i64::MAX
            ),
            "renumber it; numbers need not be contiguous, only ordered",
        )),
    }
}

fn read_migration(dir: &Path, file_name: &str, pattern: &Regex, project: &Path) -> Result<Source> {
    let captures = pattern
        .captures(file_name)
        .ok_or_else(|| Error::BadFileName {
            file: escape(file_name),
            dir: dir.to_path_buf(),
            pattern: pattern.as_str().to_string(),
        })?;
    let digits = captures.name("number").map_or("", |m| m.as_str());
    let number = parse_number(digits, file_name)?;
    let path = dir.join(file_name);
    let bytes = read_regular(&path, file_name, project)?;
    let name = Path::new(file_name).file_stem().map_or_else(
        || file_name.to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let (checksum, problem) = match text(&bytes) {
        Ok(text) => (text_checksum(text), None),
        Err(problem) => (crate::ground::source::checksum(&bytes), Some(problem)),
    };
    Ok(Source {
        name,
        file_name: file_name.to_string(),
        number,
        path,
        checksum,
        binary: None,
        problem,
        down_path: None,
        content: crate::ground::source::Content::new(bytes),
        checkpoint: None,
    })
}

/// The content as text, or why it is not usable text.
pub(crate) fn text(bytes: &[u8]) -> std::result::Result<&str, String> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err("it starts with a byte-order mark (BOM, bytes 0 to 2)".into());
    }
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        )
    })
}

/// Reads a migration file that is a regular file (or a symlink to one inside `project`) no
/// larger than [`MAX_BYTES`], without ever blocking on a FIFO or a device.
fn read_regular(path: &Path, file_name: &str, project: &Path) -> Result<Vec<u8>> {
    let refuse = |message: String, hint: &str| Error::InvalidMigration {
        file: escape(file_name),
        message,
        hint: Some(hint.into()),
    };
    let io = |e: std::io::Error| Error::Io {
        context: "cannot read migration",
        path: path.to_path_buf(),
        source: e,
    };
    let link = std::fs::symlink_metadata(path).map_err(io)?;
    if link.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).map_err(io)?;
        let project = if project.as_os_str().is_empty() {
            Path::new(".")
        } else {
            project
        };
        let root = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
        if !target.starts_with(&root) {
            return Err(refuse(
                format!(
                    "it is a symlink to `{}`, outside the project",
                    target.display()
                ),
                "copy the file into the migrations directory",
            ));
        }
    }
    let kind = std::fs::metadata(path).map_err(io)?;
    if !kind.file_type().is_file() {
        return Err(refuse(
            format!(
                "it is not a regular file ({})",
                crate::ground::words::file_kind(&kind.file_type())
            ),
            "only regular files are migrations; move it out of the migrations directory",
        ));
    }
    if kind.len() > MAX_BYTES {
        return Err(refuse(
            format!(
                "it is {} bytes, over the limit of {MAX_BYTES} (16 MiB)",
                kind.len()
            ),
            "split it, or load bulk data from a task instead of a migration",
        ));
    }
    // O_NONBLOCK: if the file was swapped for a FIFO since the check, opening it cannot hang.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(refuse(
            "it is not a regular file".into(),
            "only regular files are migrations",
        ));
    }
    let mut bytes = Vec::new();
    file.by_ref()
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(refuse(
            format!("it is over the limit of {MAX_BYTES} bytes (16 MiB)"),
            "split it, or load bulk data from a task instead of a migration",
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_aside_files() {
        assert!(is_set_aside(".keep") && is_set_aside("_draft.json") && is_set_aside("README.md"));
        assert!(!is_set_aside("0001_a.json"));
    }

    #[test]
    fn numbers_fit_the_registry() {
        assert_eq!(parse_number("0003", "x").unwrap(), 3);
        let big = parse_number("99999999999999999999", "x")
            .unwrap_err()
            .to_string();
        assert!(
            big.contains("too large (at most 9223372036854775807"),
            "{big}"
        );
        assert!(parse_number("18446744073709551615", "x").is_err());
    }

    #[test]
    fn text_must_be_utf8_without_bom() {
        assert!(text(b"\xEF\xBB\xBF{}").unwrap_err().contains("BOM"));
        assert!(text(b"ab\xFFc").unwrap_err().contains("offset 2"));
        assert_eq!(text(b"ok"), Ok("ok"));
    }
}
