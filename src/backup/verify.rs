//! A dump read back and proved before a restore replaces anything. With its manifest: the files
//! must be exactly those it lists, each of its size, and each is read to its end, its SHA-256
//! compared, each `.bson` decoded document by document and counted, each metadata file parsed.
//! Without one, only `--trust-dump` goes on, and then every file is still read to its end and
//! decoded (framing and BSON), which catches a cut in the middle of a document but not a dump cut
//! at a document's boundary. Any difference or damage is an error naming the file (and what was
//! expected and found, or the byte where it breaks); nothing has been touched then.

use std::io::Read;
use std::path::{Path, PathBuf};

use mongodb::bson::{Bson, Document};

use super::journal::is_restore_collection;
use super::manifest::{self, FileEntry, Found, Manifest, MANIFEST};
use super::stream::{self, Digest256, Documents};
use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;
use crate::store::catalog;

/// One collection of a dump, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DumpedCollection {
    pub(crate) name: String,
    pub(crate) data: PathBuf,
    pub(crate) metadata: Option<PathBuf>,
    /// From the metadata file: the collection's options and indexes.
    pub(crate) options: Document,
    pub(crate) indexes: Vec<Document>,
    /// Documents in the data file.
    pub(crate) documents: u64,
    /// The data file as it was checked (the load checks it again as it reads it).
    pub(crate) digest: Option<Digest256>,
}

/// A dump that proved itself (or was trusted), ready to restore.
#[derive(Debug, Clone)]
pub(crate) struct Dump {
    /// The dump's directory, as given.
    pub(crate) dir: PathBuf,
    /// The database it is a dump of, as its manifest says.
    pub(crate) database: Option<String>,
    /// The SHA-256 of its manifest; `None` for a dump restored on `--trust-dump`.
    pub(crate) manifest_sha256: Option<String>,
    /// What to restore: every collection but those left out.
    pub(crate) collections: Vec<DumpedCollection>,
}

/// Reads the dump at `dir` (a dump's directory, or the database directory inside it) and proves
/// it against its manifest, leaving out the collections in `skip` (and a restore's own). A dump
/// without a manifest is refused unless `trust`.
pub(crate) async fn open(dir: &Path, skip: &[String], trust: bool) -> Result<Dump> {
    let invalid = |why: String| {
        Error::Refused(Refusal::NotADump {
            dir: dir.display().to_string(),
            why,
        })
    };
    std::fs::read_dir(dir).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let (root, found) = match dir.parent() {
        Some(parent) if !has_manifest(dir) && has_manifest(parent) => {
            (parent.to_path_buf(), manifest::read(parent)?)
        }
        _ => (dir.to_path_buf(), manifest::read(dir)?),
    };
    let wanted = |name: &str| !skip.iter().any(|s| s == name) && !is_restore_collection(name);
    match found {
        Found::Manifest(manifest, sha256) => {
            manifest::check_listing(&root, &manifest)?;
            let database = manifest.database.clone();
            let collections = blocking(move || check_against(&root, &manifest)).await?;
            Ok(Dump {
                dir: dir.to_path_buf(),
                database: Some(database),
                manifest_sha256: Some(sha256),
                collections: collections
                    .into_iter()
                    .filter(|c| wanted(&c.name))
                    .collect(),
            })
        }
        found if !trust => Err(Error::Refused(Refusal::NoManifest {
            dir: dir.display().to_string(),
            old_marker: matches!(found, Found::OldMarker),
        })),
        _ => {
            let mut found = find_collections(dir, &invalid)?;
            found.retain(|c| wanted(&c.name));
            let collections = blocking(move || check_each(found)).await?;
            Ok(Dump {
                dir: dir.to_path_buf(),
                database: None,
                manifest_sha256: None,
                collections,
            })
        }
    }
}

fn has_manifest(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(MANIFEST)).is_ok()
}

/// Runs `work` off the runtime thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Registry(format!("the dump reader stopped: {e}")))?
}

/// Every file `manifest` lists, read to its end and compared with it.
fn check_against(root: &Path, manifest: &Manifest) -> Result<Vec<DumpedCollection>> {
    let mut collections = Vec::with_capacity(manifest.collections.len());
    for listed in &manifest.collections {
        let data = manifest::path_of(root, &listed.data);
        let mut collection = DumpedCollection {
            name: listed.name.clone(),
            metadata: listed.metadata.as_ref().map(|m| manifest::path_of(root, m)),
            data,
            options: Document::new(),
            indexes: Vec::new(),
            documents: 0,
            digest: None,
        };
        check_collection(
            &mut collection,
            Some((&listed.data, listed.metadata.as_ref())),
        )?;
        manifest::expect_documents(&collection.data, listed.documents, collection.documents)?;
        collections.push(collection);
    }
    for other in &manifest.other_files {
        let path = manifest::path_of(root, other);
        let digest = stream::digest_file(&path).map_err(|e| Error::DamagedDump {
            file: path.clone(),
            problem: format!("cannot be read: {e}"),
        })?;
        manifest::expect_digest(&path, other, &digest)?;
    }
    Ok(collections)
}

/// Every file of a dump without a manifest, read to its end.
fn check_each(mut collections: Vec<DumpedCollection>) -> Result<Vec<DumpedCollection>> {
    for collection in &mut collections {
        for path in std::iter::once(&collection.data).chain(&collection.metadata) {
            // Never opened unless it is a file: a FIFO would block the read forever.
            let meta = std::fs::symlink_metadata(path).map_err(|e| Error::DamagedDump {
                file: path.clone(),
                problem: format!("cannot be read: {e}"),
            })?;
            if !meta.is_file() {
                return Err(Error::DamagedDump {
                    file: path.clone(),
                    problem: format!("is {}, not a file", manifest::describe_kind(&meta)),
                });
            }
        }
        check_collection(collection, None)?;
    }
    Ok(collections)
}

/// Reads a collection's metadata and data files, filling in its options, indexes, document count
/// and digest; with `expected` (the manifest's entries), a file whose bytes differ is a mismatch,
/// reported before what its bytes would decode to.
fn check_collection(
    collection: &mut DumpedCollection,
    expected: Option<(&FileEntry, Option<&FileEntry>)>,
) -> Result<()> {
    if let Some(path) = &collection.metadata {
        let (parsed, digest) = scan_metadata(path);
        if let (Some((_, Some(listed))), Some(digest)) = (expected, &digest) {
            manifest::expect_digest(path, listed, digest)?;
        }
        let (options, indexes) = parsed.map_err(|problem| Error::DamagedDump {
            file: path.clone(),
            problem,
        })?;
        collection.options = options;
        collection.indexes = indexes;
    }
    let (counted, digest) = scan_data(&collection.data);
    if let (Some((listed, _)), Some(digest)) = (expected, &digest) {
        manifest::expect_digest(&collection.data, listed, digest)?;
    }
    collection.documents = counted.map_err(|problem| Error::DamagedDump {
        file: collection.data.clone(),
        problem,
    })?;
    collection.digest = digest;
    Ok(())
}

/// What reading a file found: its contents or what is wrong with them, and its digest when it
/// could be read to its end.
type Scan<T> = (std::result::Result<T, String>, Option<Digest256>);

/// The documents of a data file, counted (each decoded), and the file's digest.
fn scan_data(path: &Path) -> Scan<u64> {
    let input = match stream::open(path) {
        Ok(input) => input,
        Err(e) => return (Err(format!("cannot be read: {e}")), None),
    };
    let mut documents = Documents::new(input);
    let mut count = 0u64;
    let counted = loop {
        match documents.next_document() {
            Ok(Some(_)) => count += 1,
            Ok(None) => break Ok(count),
            Err(problem) => break Err(problem),
        }
    };
    let digest = documents.into_inner().finish();
    match (counted, digest) {
        (Ok(n), Ok(digest)) => (Ok(n), Some(digest)),
        (Ok(_), Err(e)) => (Err(format!("cannot be read: {e}")), None),
        (Err(problem), digest) => (Err(problem), digest.ok()),
    }
}

/// The options and index specifications (without server bookkeeping) of a metadata file, and
/// the file's digest.
fn scan_metadata(path: &Path) -> Scan<(Document, Vec<Document>)> {
    let mut input = match stream::open(path) {
        Ok(input) => input,
        Err(e) => return (Err(format!("cannot be read: {e}")), None),
    };
    let mut text = String::new();
    let read = input.read_to_string(&mut text);
    let digest = input.finish().ok();
    if let Err(e) = read {
        return (Err(format!("cannot be read: {e}")), digest);
    }
    (parse_metadata(&text), digest)
}

fn parse_metadata(text: &str) -> std::result::Result<(Document, Vec<Document>), String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
    let Ok(Bson::Document(metadata)) = Bson::try_from(value) else {
        return Err("is not a metadata document".into());
    };
    let options = metadata
        .get_document("options")
        .cloned()
        .unwrap_or_default();
    let indexes = metadata
        .get_array("indexes")
        .map(|list| {
            list.iter()
                .filter_map(Bson::as_document)
                .map(catalog::creatable)
                .collect()
        })
        .unwrap_or_default();
    Ok((options, indexes))
}

/// The collections of a dump without a manifest at `dir` (a dump directory holding one database
/// directory, or that database directory): each `.bson` file with its metadata file.
fn find_collections(
    dir: &Path,
    invalid: &dyn Fn(String) -> Error,
) -> Result<Vec<DumpedCollection>> {
    let listing = |d: &Path| -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(d).map_err(|e| invalid(format!("cannot be read: {e}")))?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        Ok(paths)
    };
    let is_data = |p: &PathBuf| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.ends_with(".bson") || name.ends_with(".bson.gz")
    };
    let mut files = listing(dir)?;
    if !files.iter().any(is_data) {
        let subdirs: Vec<PathBuf> = files.into_iter().filter(|p| p.is_dir()).collect();
        match subdirs.as_slice() {
            [only] => files = listing(only)?,
            [] => return Err(invalid("holds no dump (no `.bson` files)".into())),
            _ => return Err(invalid("holds several databases; name one of them".into())),
        }
    }
    Ok(files
        .iter()
        .filter(|p| is_data(p))
        .filter_map(|data| {
            let file = data.file_name()?.to_string_lossy().into_owned();
            let (name, gz) = match file.strip_suffix(".bson.gz") {
                Some(name) => (name.to_string(), ".gz"),
                None => (file.strip_suffix(".bson")?.to_string(), ""),
            };
            let metadata = data.with_file_name(format!("{name}.metadata.json{gz}"));
            Some(DumpedCollection {
                metadata: metadata.exists().then_some(metadata),
                data: data.clone(),
                name,
                options: Document::new(),
                indexes: Vec::new(),
                documents: 0,
                digest: None,
            })
        })
        .collect())
}
