//! Reading `migo.toml` without trusting what sits at its path: only a regular file (or a symlink
//! to one) no larger than [`MAX_BYTES`] is read, opened without blocking, so a FIFO or
//! `/dev/zero` given to `--config` (or found as `migo.toml` in a parent directory) is one error
//! naming it instead of a hang or a process that fills memory.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest configuration file read: a real one is a few kilobytes.
pub(crate) const MAX_BYTES: u64 = 1 << 20;

/// The text of the configuration file at `path`, checked before a byte is read.
pub(crate) fn read(path: &Path) -> Result<String> {
    let refuse = |message: String| Error::Config {
        location: path.display().to_string(),
        message,
        hint: Some(
            "migo.toml must be a regular file of at most 1 MiB; check `--config` / `MIGO_CONFIG`"
                .into(),
        ),
    };
    let cannot = |e: std::io::Error| Error::Config {
        location: path.display().to_string(),
        message: format!("cannot read the configuration file: {e}"),
        hint: Some("check `--config` / `MIGO_CONFIG`".into()),
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(refuse(format!(
            "not a regular file ({})",
            crate::ground::words::file_kind(&meta.file_type())
        )));
    }
    if meta.len() > MAX_BYTES {
        return Err(refuse(too_big(meta.len())));
    }
    // O_NONBLOCK: a path swapped for a FIFO since the check cannot make the open hang.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    let opened = file.metadata().map_err(cannot)?;
    if !opened.is_file() {
        return Err(refuse(format!(
            "not a regular file ({})",
            crate::ground::words::file_kind(&opened.file_type())
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(refuse(too_big(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map_err(|e| Error::Config {
        location: path.display().to_string(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        hint: Some("save migo.toml as UTF-8".into()),
    })
}

fn too_big(len: u64) -> String {
    format!("{len} bytes, over the limit of {MAX_BYTES} (1 MiB)")
}
