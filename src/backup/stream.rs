//! The bytes of a dump: files of concatenated BSON documents (plain or gzipped) read back with
//! their byte offsets, so a damaged file is named with where it breaks, and written through a
//! buffered, optionally gzipped sink. Both ways, the bytes on disk are counted and hashed
//! (SHA-256) as they pass, so a dump's manifest costs no second read and a restore checks a file
//! in the same pass that decodes it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use mongodb::bson::RawDocumentBuf;
use sha2::{Digest, Sha256};

/// The largest document a dump may hold (MongoDB's limit plus room for `insert` overhead).
const MAX_DOCUMENT: i32 = 48 << 20;

/// What a file holds on disk: its size and the SHA-256 of its bytes (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digest256 {
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
}

/// SHA-256 of `bytes`, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the file at `path` holds on disk (read as it is, never gunzipped).
pub(crate) fn digest_file(path: &Path) -> std::io::Result<Digest256> {
    let mut file = Hashing::new(File::open(path)?);
    std::io::copy(&mut file, &mut std::io::sink())?;
    Ok(file.digest().1)
}

/// A reader or writer that counts and hashes the bytes passing through it.
pub(crate) struct Hashing<T> {
    inner: T,
    hasher: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Hashing<T> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn digest(self) -> (T, Digest256) {
        let sha256 = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let digest = Digest256 {
            bytes: self.bytes,
            sha256,
        };
        (self.inner, digest)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A file being read, plain or gunzipped, its raw bytes hashed as they are read.
pub(crate) enum Input {
    Plain(BufReader<Hashing<File>>),
    Gzip(flate2::read::MultiGzDecoder<BufReader<Hashing<File>>>),
}

impl Input {
    /// Reads the rest of the file (bytes a decoder left unread count too) and returns what it
    /// holds on disk.
    pub(crate) fn finish(self) -> std::io::Result<Digest256> {
        let buffered = match self {
            Input::Plain(r) => r,
            Input::Gzip(r) => r.into_inner(),
        };
        // Bytes still in the buffer were hashed when they were read into it.
        let mut raw = buffered.into_inner();
        std::io::copy(&mut raw, &mut std::io::sink())?;
        Ok(raw.digest().1)
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Gzip(r) => r.read(buf),
        }
    }
}

/// Opens `path` for reading, gunzipping a `.gz`.
pub(crate) fn open(path: &Path) -> std::io::Result<Input> {
    let file = Hashing::new(File::open(path)?);
    let buffered = BufReader::with_capacity(1 << 20, file);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Input::Gzip(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Input::Plain(buffered)
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

    /// The input, to finish reading it.
    pub(crate) fn into_inner(self) -> R {
        self.input
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

/// A file being written, plain or gzipped, its bytes on disk hashed as they are written.
pub(crate) enum Sink {
    Plain(BufWriter<Hashing<File>>),
    Gzip(flate2::write::GzEncoder<BufWriter<Hashing<File>>>),
}

impl Sink {
    /// Creates `path`.
    pub(crate) fn create(path: &Path, gzip: bool) -> std::io::Result<Sink> {
        let file = BufWriter::with_capacity(1 << 20, Hashing::new(File::create(path)?));
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

    /// Finishes the file, syncs it to disk, and says what it holds.
    pub(crate) fn finish(self) -> std::io::Result<Digest256> {
        let buffered = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
        };
        let hashing = buffered.into_inner().map_err(|e| e.into_error())?;
        let (file, digest) = hashing.digest();
        file.sync_all()?;
        Ok(digest)
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

    #[test]
    fn what_is_written_and_read_back_hashes_the_same_bytes_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        for gzip in [false, true] {
            let path = dir.path().join(if gzip { "d.bson.gz" } else { "d.bson" });
            let mut sink = Sink::create(&path, gzip).unwrap();
            let mut raw = Vec::new();
            for i in 0..100 {
                let doc = RawDocumentBuf::from_document(&doc! {"i": i}).unwrap();
                sink.write_all(doc.as_bytes()).unwrap();
                raw.extend_from_slice(doc.as_bytes());
            }
            let written = sink.finish().unwrap();
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(written.bytes, on_disk.len() as u64);
            assert_eq!(written.sha256, sha256_hex(&on_disk));
            assert_eq!(digest_file(&path).unwrap(), written);
            let mut documents = Documents::new(open(&path).unwrap());
            let mut count = 0;
            while documents.next_document().unwrap().is_some() {
                count += 1;
            }
            assert_eq!(count, 100);
            assert_eq!(documents.into_inner().finish().unwrap(), written);
            assert_eq!(gzip, on_disk != raw);
        }
    }
}
