//! Backups in mongodump's layout (`<out>/<db>/<collection>.bson` + `.metadata.json`, optionally
//! gzipped): taken natively through the driver ([`native`]) or by the `mongodump` program
//! ([`mongodump`]), proved by a manifest written last ([`manifest`]), named and pruned per
//! environment ([`layout`], [`retention`]), and restored ([`restore`]) only once the dump proved
//! itself ([`verify`]), through a journal ([`journal`]) that lets any later migo finish or undo a
//! restore that was stopped ([`swap`]).

pub(crate) mod journal;
pub(crate) mod layout;
pub(crate) mod manifest;
pub(crate) mod mongodump;
pub(crate) mod native;
pub(crate) mod restore;
pub(crate) mod retention;
pub(crate) mod stream;
pub(crate) mod swap;
pub(crate) mod verify;

use crate::ground::stop::Stop;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mongodb::Database;

use crate::config::{DumpTool, Settings};
use crate::error::{Error, Result};
use crate::process::ChildEnv;
use manifest::{CollectionFiles, FileEntry, Manifest};

/// What a dump wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpReport {
    /// The dump's directory (holding `<db>/` and the manifest).
    pub(crate) path: PathBuf,
    pub(crate) collections: usize,
    pub(crate) documents: u64,
    /// BSON bytes written (native dumps only; mongodump does not say).
    pub(crate) bytes: Option<u64>,
    pub(crate) took: Duration,
    /// Per collection: its documents and files, for the manifest.
    pub(crate) contents: Vec<CollectionFiles>,
    /// Files that belong to no collection.
    pub(crate) other_files: Vec<FileEntry>,
}

/// Takes a dump of `db` into the new directory `out` with the configured tool, then writes its
/// manifest. A dump that fails leaves no directory behind (and never a manifest).
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
        DumpTool::Mongodump => match mongodump::dump(settings, env, out).await {
            Ok(report) => described(report, out).await,
            Err(e) => Err(e),
        },
    };
    let written = taken.and_then(|report| {
        let tool = match settings.dump.tool {
            DumpTool::Native => "native",
            DumpTool::Mongodump => "mongodump",
        };
        let manifest = Manifest::new(
            &settings.target.database,
            tool,
            settings.dump.gzip,
            report.contents.clone(),
            report.other_files.clone(),
        );
        manifest::write(out, &manifest)
            .map_err(|e| failed(format!("cannot write the manifest: {e}")))?;
        Ok(report)
    });
    let mut report = match written {
        Ok(report) => report,
        Err(e) => {
            crate::ground::knob::checkpoint("dump-failed");
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

/// What mongodump wrote, hashed and counted (off the runtime thread), for its manifest.
async fn described(mut report: DumpReport, out: &Path) -> Result<DumpReport> {
    let dir = out.to_path_buf();
    let (contents, others) = tokio::task::spawn_blocking(move || manifest::describe(&dir))
        .await
        .map_err(|e| Error::DumpFailed {
            path: out.to_path_buf(),
            message: format!("the dump reader stopped: {e}"),
            hint: None,
        })??;
    report.collections = contents.len();
    report.documents = contents.iter().map(|c| c.documents).sum();
    report.contents = contents;
    report.other_files = others;
    Ok(report)
}
