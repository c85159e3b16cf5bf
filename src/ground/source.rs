//! A migration's source, as discovery finds it: a file, or a migration compiled into the binary.
//! This is a leaf: it knows names, numbers, checksums and the bytes that were hashed, and
//! nothing of how a migration runs.
//!
//! A file is read once, by discovery: the bytes it checked and hashed travel with the source
//! ([`Content`]) to the run, so what runs is exactly what was hashed, even when the file changes
//! after discovery (an edit during `--wait`, a checkout in the middle of a run).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// One migration's identity and content fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// The file stem, e.g. `0003_add_index`: the migration's name everywhere.
    pub(crate) name: String,
    /// The file name, e.g. `0003_add_index.json` (for a compiled one: `0004_x (compiled)`).
    pub(crate) file_name: String,
    /// The number captured by the pattern's `number` group.
    pub(crate) number: u64,
    /// The file (empty for a compiled migration); for a golang-migrate pair, the `.up.json`.
    pub(crate) path: PathBuf,
    /// For a golang-migrate pair: the `.down.json`.
    pub(crate) down_path: Option<PathBuf>,
    /// SHA-256 of the content (text with its line endings normalised), lower-case hex.
    pub(crate) checksum: String,
    /// For a compiled migration: the binary it is compiled into.
    pub(crate) binary: Option<String>,
    /// Why the file cannot be used as a migration (not UTF-8, a BOM), when it cannot; `list`
    /// shows it and every command that would run it refuses.
    pub(crate) problem: Option<String>,
    /// The bytes discovery read and hashed (none for a compiled migration or a missing file).
    pub(crate) content: Content,
    /// For a checkpoint (a `.json` migration with `"checkpoint": {"replaces": [...]}`): the
    /// migrations whose history it stands for (see `plan::checkpoint`).
    pub(crate) checkpoint: Option<Vec<String>>,
}

/// The bytes of a migration file as discovery read them, shared by every copy of its source;
/// for a golang-migrate pair, also the `.down.json`'s.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Content {
    bytes: Arc<[u8]>,
    down: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Content({} bytes)", self.bytes.len())
    }
}

impl Content {
    /// The content of a file read as `bytes`.
    pub(crate) fn new(bytes: Vec<u8>) -> Content {
        Content {
            bytes: bytes.into(),
            down: None,
        }
    }

    /// The same content with `down`, the second file of a golang-migrate pair.
    pub(crate) fn with_down(self, down: &Content) -> Content {
        Content {
            down: Some(down.bytes.clone()),
            ..self
        }
    }

    /// The bytes, as read.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes of a pair's `.down.json`, if any.
    pub(crate) fn down_bytes(&self) -> Option<&[u8]> {
        self.down.as_deref()
    }
}

impl Source {
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

    /// Whether it is compiled into a binary rather than a file.
    pub(crate) fn is_compiled(&self) -> bool {
        self.binary.is_some()
    }

    /// The file's text as discovery read it (discovery checked it is UTF-8 without a BOM,
    /// unless [`Source::problem`] says otherwise).
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(self.content.bytes()).unwrap_or_default()
    }

    /// A pair's `.down.json` text, as read.
    pub(crate) fn down_text(&self) -> Option<&str> {
        self.content
            .down_bytes()
            .map(|b| std::str::from_utf8(b).unwrap_or_default())
    }
}

/// SHA-256 of `bytes` as lower-case hex.
pub(crate) fn checksum(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The checksum of a text migration: CRLF line endings count as LF, so a checkout with
/// `core.autocrlf` (Windows) does not look modified.
pub(crate) fn text_checksum(text: &str) -> String {
    if text.contains("\r\n") {
        checksum(text.replace("\r\n", "\n").as_bytes())
    } else {
        checksum(text.as_bytes())
    }
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
    fn line_endings_do_not_change_the_checksum() {
        assert_eq!(text_checksum("a\r\nb\r\n"), text_checksum("a\nb\n"));
    }
}
