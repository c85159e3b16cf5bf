//! Backups in mongodump's layout (`<out>/<db>/<collection>.bson` + `.metadata.json`, optionally
//! gzipped): taken natively through the driver ([`native`]) or by the `mongodump` program
//! ([`mongodump`]), marked complete only when everything was written ([`layout`]), pruned per
//! environment ([`retention`]), and restored without ever destroying data first ([`restore`]).

pub(crate) mod layout;
pub(crate) mod mongodump;
pub(crate) mod native;
pub(crate) mod restore;
pub(crate) mod retention;
pub(crate) mod stream;

use crate::halt::Stop;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mongodb::Database;

use crate::config::{DumpTool, Settings};
use crate::error::{Error, Result};
use crate::process::ChildEnv;

/// What a dump wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpReport {
    /// The dump's directory (holding `<db>/` and the completion marker).
    pub(crate) path: PathBuf,
    pub(crate) collections: usize,
    /// Documents and BSON bytes written (native dumps only; mongodump does not say).
    pub(crate) documents: Option<u64>,
    pub(crate) bytes: Option<u64>,
    pub(crate) took: Duration,
    /// Per collection: name and documents, for the marker.
    pub(crate) contents: Vec<(String, Option<u64>)>,
}

/// Takes a dump of `db` into the new directory `out` with the configured tool, then writes the
/// completion marker. A dump that fails leaves no directory behind (and never a marker).
pub(crate) async fn take(
    db: &Database,
    settings: &Settings,
    env: &ChildEnv,
    out: &Path,
    progress: &(dyn Fn(&str) + Sync),
    stop: &Stop,
) -> Result<DumpReport> {
    let started = Instant::now();
    let failed = |message: String| Error::DumpFailed {
        path: out.to_path_buf(),
        message,
        hint: None,
    };
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::create_dir(out))
        .map_err(|e| failed(format!("cannot create the directory: {e}")))?;
    let taken = match settings.dump.tool {
        DumpTool::Native => native::dump(db, settings, out, progress, stop).await,
        DumpTool::Mongodump => mongodump::dump(settings, env, out).await,
    };
    let written = taken.and_then(|report| {
        layout::write_marker(out, &settings.target.database, settings, &report)
            .map_err(|e| failed(format!("cannot write the completion marker: {e}")))?;
        Ok(report)
    });
    let mut report = match written {
        Ok(report) => report,
        Err(e) => {
            // Nothing that looks like a dump may stay behind.
            let _ = std::fs::remove_dir_all(out);
            return Err(e);
        }
    };
    report.took = started.elapsed();
    // The audit log and the output name it absolutely: it is read from elsewhere, later.
    report.path = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    Ok(report)
}
