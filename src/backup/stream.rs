//! The bytes of a dump: files of concatenated BSON documents (plain or gzipped) read back with
//! their byte offsets, so a damaged file is named with where it breaks, and written through a
//! buffered, optionally gzipped sink.

use std::io::{Read, Write};
use std::path::Path;

use mongodb::bson::RawDocumentBuf;

/// The largest document a dump may hold (MongoDB's limit plus room for `insert` overhead).
const MAX_DOCUMENT: i32 = 48 << 20;

/// Opens `path` for reading, gunzipping a `.gz`.
pub(crate) fn open(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path)?;
    let buffered = std::io::BufReader::with_capacity(1 << 20, file);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}

/// The documents of a `.bson` stream, each checked, with the offset where each starts.
pub(crate) struct Documents<R> {
    input: R,
    offset: u64,
}

impl<R: Read> Documents<R> {
    /// Reads `input` from its start.
    pub(crate) fn new(input: R) -> Documents<R> {
        Documents { input, offset: 0 }
    }

    /// The next document, `None` at a clean end, or what is wrong and at which byte.
    pub(crate) fn next_document(&mut self) -> Result<Option<RawDocumentBuf>, String> {
        let at = self.offset;
        let mut length = [0u8; 4];
        let mut read = 0;
        while read < 4 {
            match self.input.read(&mut length[read..]) {
                Ok(0) if read == 0 => return Ok(None),
                Ok(0) => return Err(format!("truncated document at byte {at}")),
                Ok(n) => read += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("unreadable at byte {at}: {e}")),
            }
        }
        let size = i32::from_le_bytes(length);
        if !(5..=MAX_DOCUMENT).contains(&size) {
            return Err(format!(
                "a document at byte {at} claims {size} bytes: not a BSON dump"
            ));
        }
        let size = usize::try_from(size).expect("checked positive");
        let mut bytes = vec![0u8; size];
        bytes[..4].copy_from_slice(&length);
        self.input
            .read_exact(&mut bytes[4..])
            .map_err(|_| format!("truncated document at byte {at}"))?;
        self.offset += size as u64;
        let document = RawDocumentBuf::from_bytes(bytes)
            .map_err(|e| format!("invalid BSON document at byte {at}: {e}"))?;
        // A full decode checks every element, not just the framing.
        document
            .to_document()
            .map_err(|e| format!("invalid BSON document at byte {at}: {e}"))?;
        Ok(Some(document))
    }
}

/// A file being written, plain or gzipped.
pub(crate) enum Sink {
    Plain(std::io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>),
}

impl Sink {
    /// Creates `path`.
    pub(crate) fn create(path: &Path, gzip: bool) -> std::io::Result<Sink> {
        let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        Ok(if gzip {
            Sink::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ))
        } else {
            Sink::Plain(file)
        })
    }

    /// Appends `bytes`.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
        }
    }

    /// Finishes the file and syncs it to disk.
    pub(crate) fn finish(self) -> std::io::Result<()> {
        let mut inner = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
        };
        inner.flush()?;
        inner.get_ref().sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn reads_concatenated_bson_and_names_where_it_breaks() {
        let mut bytes = Vec::new();
        for i in 0..3 {
            let doc = RawDocumentBuf::from_document(&doc! {"i": i}).unwrap();
            bytes.extend_from_slice(doc.as_bytes());
        }
        let mut documents = Documents::new(bytes.as_slice());
        let mut seen = 0;
        while let Some(doc) = documents.next_document().unwrap() {
            assert_eq!(doc.get_i32("i").unwrap(), seen);
            seen += 1;
        }
        assert_eq!(seen, 3);
        let cut = &bytes[..bytes.len() - 3];
        let mut documents = Documents::new(cut);
        documents.next_document().unwrap();
        documents.next_document().unwrap();
        assert_eq!(
            documents.next_document().unwrap_err(),
            "truncated document at byte 24"
        );
        let err = Documents::new(&b"\x01\x00\x00\x00"[..])
            .next_document()
            .unwrap_err();
        assert!(err.contains("claims 1 bytes"), "{err}");
    }
}
