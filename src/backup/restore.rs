//! `migo restore`: a dump in mongodump's layout (native or mongodump's, gzipped or not) read
//! back into the configured database, collection by collection: drop, recreate with its
//! options, insert its documents in batches, rebuild its indexes.

use std::io::Read;
use std::path::{Path, PathBuf};

use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::Database;

use crate::error::{Error, Result};
use crate::store::catalog;

/// One collection found in a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpedCollection {
    pub(crate) name: String,
    pub(crate) data: PathBuf,
    pub(crate) metadata: Option<PathBuf>,
}

/// The collections of the dump at `dir`, which is either a database directory (holding
/// `*.bson`) or a dump directory holding exactly one database directory. `skip` are left out.
pub(crate) fn find_collections(dir: &Path, skip: &[String]) -> Result<Vec<DumpedCollection>> {
    let invalid = |message: String| Error::Refused {
        message: format!("`{}` {message}", dir.display()),
        hint: Some(
            "give the directory of a dump, e.g. `mongodumps/default-20261122T101500.123Z`".into(),
        ),
    };
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
            })
        })
        .filter(|c| !skip.contains(&c.name))
        .collect())
}

/// What a restore put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RestoreReport {
    pub(crate) collections: usize,
    pub(crate) documents: u64,
    pub(crate) indexes: usize,
}

/// Replaces each collection in `db` with its dumped copy.
pub(crate) async fn restore(
    db: &Database,
    collections: &[DumpedCollection],
) -> Result<RestoreReport> {
    let mut report = RestoreReport::default();
    for dumped in collections {
        let failed = |message: String| Error::RestoreFailed {
            collection: dumped.name.clone(),
            message,
        };
        let (options, indexes) = match &dumped.metadata {
            Some(path) => read_metadata(path).map_err(failed)?,
            None => (Document::new(), Vec::new()),
        };
        let name = &dumped.name;
        db.collection::<Document>(name)
            .drop()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut create = doc! {"create": name};
        create.extend(options);
        db.run_command(create)
            .await
            .map_err(|e| failed(e.to_string()))?;
        report.documents += insert_documents(db, dumped).await.map_err(failed)?;
        let indexes: Vec<Document> = indexes
            .into_iter()
            .filter(|i| i.get_str("name") != Ok("_id_"))
            .collect();
        if !indexes.is_empty() {
            report.indexes += indexes.len();
            db.run_command(doc! {"createIndexes": name, "indexes": indexes})
                .await
                .map_err(|e| failed(format!("cannot rebuild its indexes: {e}")))?;
        }
        report.collections += 1;
    }
    Ok(report)
}

/// The options and index specifications (without server bookkeeping) of a metadata file.
fn read_metadata(path: &Path) -> std::result::Result<(Document, Vec<Document>), String> {
    let mut text = String::new();
    reader(path)?
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let Ok(Bson::Document(metadata)) = Bson::try_from(value) else {
        return Err(format!("{} is not a metadata document", path.display()));
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

/// Reads the concatenated BSON documents and inserts them in batches of about 8 MB.
async fn insert_documents(
    db: &Database,
    dumped: &DumpedCollection,
) -> std::result::Result<u64, String> {
    const BATCH_BYTES: usize = 8 << 20;
    let collection = db.collection::<RawDocumentBuf>(&dumped.name);
    let mut input = reader(&dumped.data)?;
    let (mut batch, mut batch_bytes, mut count) = (Vec::new(), 0usize, 0u64);
    while let Some(document) =
        next_document(&mut input).map_err(|e| format!("{}: {e}", dumped.data.display()))?
    {
        batch_bytes += document.as_bytes().len();
        batch.push(document);
        count += 1;
        if batch_bytes >= BATCH_BYTES || batch.len() >= 10_000 {
            collection
                .insert_many(std::mem::take(&mut batch))
                .await
                .map_err(|e| e.to_string())?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        collection
            .insert_many(batch)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(count)
}

/// The next length-prefixed BSON document, or `None` at the end of the stream.
fn next_document(input: &mut impl Read) -> std::result::Result<Option<RawDocumentBuf>, String> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let size = i32::from_le_bytes(length);
    if !(5..=48 << 20).contains(&size) {
        return Err(format!("a document claims {size} bytes: not a BSON dump"));
    }
    let mut bytes = vec![0u8; size as usize];
    bytes[..4].copy_from_slice(&length);
    input
        .read_exact(&mut bytes[4..])
        .map_err(|e| format!("truncated document: {e}"))?;
    RawDocumentBuf::from_bytes(bytes)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn reader(path: &Path) -> std::result::Result<Box<dyn Read>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let buffered = std::io::BufReader::with_capacity(1 << 20, file);
    let gz = path.extension().is_some_and(|e| e == "gz");
    Ok(if gz {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_concatenated_bson() {
        let mut bytes = Vec::new();
        for i in 0..3 {
            let doc = RawDocumentBuf::from_document(&doc! {"i": i}).unwrap();
            bytes.extend_from_slice(doc.as_bytes());
        }
        let mut input = bytes.as_slice();
        let mut seen = 0;
        while let Some(doc) = next_document(&mut input).unwrap() {
            assert_eq!(doc.get_i32("i").unwrap(), seen);
            seen += 1;
        }
        assert_eq!(seen, 3);
        assert!(next_document(&mut &b"\x01\x00\x00\x00"[..]).is_err());
    }
}
