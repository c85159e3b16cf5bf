//! A dump that proves itself: its manifest, `migo-dump.json`, written last (to a temporary name,
//! synced, then renamed), lists every file of the dump with its size and SHA-256, each
//! collection's document count, the database, the tool, gzip, migo's version and when the dump
//! finished. A dump cut off anywhere (a full disk, a kill, a signal) has no manifest; a file cut,
//! changed, added or removed afterwards no longer matches it. `restore` checks every file against
//! it before it replaces anything.
//!
//! For `tool = "mongodump"`, migo writes the manifest itself once mongodump has finished, hashing
//! and counting what mongodump wrote. A dump without a manifest (mongodump run by hand, or a migo
//! dump from before manifests, which carried a completion marker only) proves nothing: `restore`
//! takes it only with `--trust-dump`.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::stream::{self, Digest256, Documents};
use crate::error::{Error, Result};

/// The manifest's file name, in the dump's directory.
pub(crate) const MANIFEST: &str = "migo-dump.json";

/// Where the manifest is written before it is renamed into place.
const PARTIAL: &str = ".migo-dump.json.partial";

/// The manifest's format; 1 was the completion marker, which listed no files.
const FORMAT: u32 = 2;

/// No manifest is larger than this (a hostile or broken file is not read whole).
const MAX_MANIFEST: u64 = 64 << 20;

/// One file of a dump, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    /// Relative to the dump's directory, `/`-separated: `app/users.bson`.
    pub(crate) file: String,
    pub(crate) bytes: u64,
    /// Of the bytes on disk (compressed, for a `.gz`), hex.
    pub(crate) sha256: String,
}

impl FileEntry {
    fn new(file: String, digest: Digest256) -> FileEntry {
        FileEntry {
            file,
            bytes: digest.bytes,
            sha256: digest.sha256,
        }
    }
}

/// One collection of a dump: its documents and its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CollectionFiles {
    pub(crate) name: String,
    pub(crate) documents: u64,
    pub(crate) data: FileEntry,
    /// Options and indexes (mongodump's `<collection>.metadata.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<FileEntry>,
}

/// What a complete dump holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The format, [`FORMAT`].
    pub(crate) manifest: u32,
    pub(crate) database: String,
    /// `native` or `mongodump`.
    pub(crate) tool: String,
    pub(crate) gzip: bool,
    pub(crate) migo_version: String,
    pub(crate) finished_at: String,
    pub(crate) collections: Vec<CollectionFiles>,
    /// Files that belong to no collection (mongodump's `prelude.json`, a view's metadata).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) other_files: Vec<FileEntry>,
}

impl Manifest {
    /// A manifest for a dump of `database` that holds `collections` and `other_files`.
    pub(crate) fn new(
        database: &str,
        tool: &str,
        gzip: bool,
        collections: Vec<CollectionFiles>,
        other_files: Vec<FileEntry>,
    ) -> Manifest {
        Manifest {
            manifest: FORMAT,
            database: database.to_string(),
            tool: tool.to_string(),
            gzip,
            migo_version: env!("CARGO_PKG_VERSION").to_string(),
            finished_at: rfc3339_millis(mongodb::bson::DateTime::now()),
            collections,
            other_files,
        }
    }

    /// Every file it lists, collections' first.
    pub(crate) fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.collections
            .iter()
            .flat_map(|c| std::iter::once(&c.data).chain(c.metadata.as_ref()))
            .chain(&self.other_files)
    }
}

/// `2026-11-22T10:15:00.120Z`: always three digits of milliseconds.
fn rfc3339_millis(at: mongodb::bson::DateTime) -> String {
    let text = at.try_to_rfc3339_string().unwrap_or_default();
    let text = text.trim_end_matches('Z');
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    format!("{seconds}.{millis}Z")
}

/// What a dump's directory says about itself.
#[derive(Debug)]
pub(crate) enum Found {
    /// A manifest, and the SHA-256 of its own bytes (recorded by the restore that uses it).
    Manifest(Manifest, String),
    /// The completion marker of a migo from before manifests: complete, but it lists no files.
    OldMarker,
    /// Nothing: mongodump's own dump, or a dump that was cut off.
    Missing,
}

/// Writes `manifest` into `out` as the last file of the dump: to a temporary name, synced, then
/// renamed, so that a dump killed while it is written has no manifest rather than half of one.
pub(crate) fn write(out: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
    let partial = out.join(PARTIAL);
    let written = std::fs::File::create(&partial).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, out.join(MANIFEST))?;
    std::fs::File::open(out)?.sync_all()
}

/// The manifest of the dump at `dir`, the old marker, or nothing. A manifest that cannot be read
/// or is not one is a damaged dump.
pub(crate) fn read(dir: &Path) -> Result<Found> {
    let path = dir.join(MANIFEST);
    let damaged = |problem: String| Error::DamagedDump {
        file: path.clone(),
        problem,
    };
    let kind = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(damaged(format!("cannot be read: {e}"))),
    };
    if !kind.is_file() {
        return Err(damaged(format!("is {}, not a file", describe_kind(&kind))));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_MANIFEST + 1).read_to_end(&mut bytes))
        .map_err(|e| damaged(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(damaged(format!(
            "is larger than {} MB: not a manifest",
            MAX_MANIFEST >> 20
        )));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| damaged(format!("is not a manifest: {e}")))?;
    match value.get("manifest") {
        None if value.get("database").is_some() && value.get("collections").is_some() => {
            return Ok(Found::OldMarker)
        }
        Some(format) if format.as_u64() == Some(u64::from(FORMAT)) => {}
        Some(format) => {
            return Err(damaged(format!(
                "is a manifest of format {format}, which this migo ({}) does not know",
                env!("CARGO_PKG_VERSION")
            )))
        }
        None => {
            return Err(damaged(
                "is not a manifest: it has no `manifest` field".into(),
            ))
        }
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| damaged(format!("is not a manifest: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for entry in manifest.files() {
        if !is_inside(&entry.file) {
            return Err(damaged(format!(
                "lists `{}`, a path outside the dump",
                entry.file
            )));
        }
        if entry.file == MANIFEST || !seen.insert(entry.file.as_str()) {
            return Err(damaged(format!("lists `{}` twice", entry.file)));
        }
    }
    Ok(Found::Manifest(manifest, stream::sha256_hex(&bytes)))
}

/// Whether `file` is a plain relative path that stays inside the dump.
fn is_inside(file: &str) -> bool {
    !file.is_empty()
        && Path::new(file)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Checks that the files of the dump at `dir` are exactly those `manifest` lists, each a regular
/// file of the listed size: a listed file missing, another kind of file, a size that differs, or a
/// file it does not list is a mismatch naming the file, with what was expected and what was found.
/// (The contents are checked as they are read: [`expect_digest`], [`expect_documents`].)
pub(crate) fn check_listing(dir: &Path, manifest: &Manifest) -> Result<()> {
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found).map_err(|e| Error::Io {
        context: "cannot list the dump",
        path: dir.to_path_buf(),
        source: e,
    })?;
    found.remove(MANIFEST);
    for entry in manifest.files() {
        let path = dir.join(&entry.file);
        let difference = match found.remove(&entry.file) {
            None => format!("expected a file of {} bytes, found none", entry.bytes),
            Some(meta) if !meta.is_file() => format!(
                "expected a file of {} bytes, found {}",
                entry.bytes,
                describe_kind(&meta)
            ),
            Some(meta) if meta.len() != entry.bytes => {
                format!("expected {} bytes, found {}", entry.bytes, meta.len())
            }
            Some(_) => continue,
        };
        return Err(Error::DumpMismatch {
            file: path,
            difference,
        });
    }
    if let Some((file, meta)) = found.into_iter().next() {
        let what = if meta.is_file() {
            format!("a file of {} bytes", meta.len())
        } else {
            describe_kind(&meta).to_string()
        };
        return Err(Error::DumpMismatch {
            file: dir.join(file),
            difference: format!("the manifest does not list it (found {what})"),
        });
    }
    Ok(())
}

/// A mismatch unless `found` is what `expected` lists.
pub(crate) fn expect_digest(path: &Path, expected: &FileEntry, found: &Digest256) -> Result<()> {
    let difference = if found.bytes != expected.bytes {
        format!("expected {} bytes, found {}", expected.bytes, found.bytes)
    } else if found.sha256 != expected.sha256 {
        format!(
            "expected SHA-256 {}, found {}",
            expected.sha256, found.sha256
        )
    } else {
        return Ok(());
    };
    Err(Error::DumpMismatch {
        file: path.to_path_buf(),
        difference,
    })
}

/// A mismatch unless the data file at `path` decoded to the `expected` number of documents.
pub(crate) fn expect_documents(path: &Path, expected: u64, found: u64) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(Error::DumpMismatch {
        file: path.to_path_buf(),
        difference: format!("expected {expected} documents, found {found}"),
    })
}

/// Every file under `dir` (symbolic links, FIFOs and the like included, never followed), by its
/// `/`-separated path relative to `root`.
fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, Metadata>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = std::fs::symlink_metadata(entry.path())?;
        if meta.is_dir() {
            walk(root, &entry.path(), found)?;
            continue;
        }
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let name: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        found.insert(name.join("/"), meta);
    }
    Ok(())
}

/// `a FIFO`, `a directory`, … for messages.
pub(crate) fn describe_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a file"
    }
}

/// What mongodump wrote into `out`, hashed and counted, for the manifest migo writes after it:
/// each `<db>/<collection>.bson[.gz]` with its metadata file, and every other file as it is.
pub(crate) fn describe(out: &Path) -> Result<(Vec<CollectionFiles>, Vec<FileEntry>)> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| Error::Io {
            context: "cannot read what mongodump wrote in",
            path,
            source: e,
        }
    };
    let mut found = BTreeMap::new();
    walk(out, out, &mut found).map_err(io(out))?;
    found.remove(MANIFEST);
    let mut collections = Vec::new();
    let mut metadata: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut others = Vec::new();
    for (file, meta) in found {
        let path = out.join(&file);
        if !meta.is_file() {
            return Err(Error::DumpFailed {
                path: out.to_path_buf(),
                message: format!("mongodump left {} at `{file}`", describe_kind(&meta)),
                hint: None,
            });
        }
        if let Some(name) = collection_of(&file, ".bson") {
            let mut documents = Documents::new(stream::open(&path).map_err(io(&path))?);
            let mut count = 0u64;
            while documents
                .next_document()
                .map_err(|problem| Error::DamagedDump {
                    file: path.clone(),
                    problem,
                })?
                .is_some()
            {
                count += 1;
            }
            let digest = documents.into_inner().finish().map_err(io(&path))?;
            collections.push(CollectionFiles {
                name,
                documents: count,
                data: FileEntry::new(file, digest),
                metadata: None,
            });
            continue;
        }
        let digest = stream::digest_file(&path).map_err(io(&path))?;
        let entry = FileEntry::new(file.clone(), digest);
        match collection_of(&file, ".metadata.json") {
            Some(name) => {
                metadata.insert(name, entry);
            }
            None => others.push(entry),
        }
    }
    for collection in &mut collections {
        collection.metadata = metadata.remove(&collection.name);
    }
    others.extend(metadata.into_values());
    others.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((collections, others))
}

/// The collection a `<db>/<name><suffix>[.gz]` file belongs to.
fn collection_of(file: &str, suffix: &str) -> Option<String> {
    let (_, name) = file.split_once('/')?;
    if name.contains('/') {
        return None;
    }
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.strip_suffix(suffix)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The path of a listed file.
pub(crate) fn path_of(dir: &Path, entry: &FileEntry) -> PathBuf {
    dir.join(&entry.file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_always_has_three_digits_of_milliseconds() {
        use mongodb::bson::DateTime;
        assert_eq!(
            rfc3339_millis(DateTime::from_millis(1_700_000_000_990)),
            "2023-11-14T22:13:20.990Z"
        );
        assert_eq!(
            rfc3339_millis(DateTime::from_millis(1_700_000_000_000)),
            "2023-11-14T22:13:20.000Z"
        );
    }

    #[test]
    fn listed_paths_stay_inside_the_dump() {
        assert!(is_inside("app/users.bson"));
        assert!(!is_inside("../users.bson"));
        assert!(!is_inside("/etc/passwd"));
        assert!(!is_inside("app/../../x"));
        assert!(!is_inside(""));
    }

    #[test]
    fn collection_files_are_told_from_others() {
        assert_eq!(
            collection_of("app/users.bson.gz", ".bson").as_deref(),
            Some("users")
        );
        assert_eq!(
            collection_of("app/users.metadata.json", ".metadata.json").as_deref(),
            Some("users")
        );
        assert_eq!(collection_of("prelude.json", ".bson"), None);
        assert_eq!(collection_of("app/users.metadata.json", ".bson"), None);
    }
}
