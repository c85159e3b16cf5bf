//! `[dump] keep`: the newest N complete dumps of the environment stay, older ones go. Only dumps
//! of exactly this environment are touched (`eu` never prunes `eu-1`'s), and only directories
//! whose names are dump names.

use std::path::PathBuf;

use super::layout::{environment_label, parse_dir_name};
use crate::config::Settings;
use crate::error::{Error, Result};

/// Removes all but the `keep` newest dumps of this environment; returns what it removed.
pub(crate) fn prune(settings: &Settings, keep: usize) -> Result<Vec<PathBuf>> {
    let environment = environment_label(settings);
    let dir = &settings.dump.directory;
    let io = |e| Error::Io {
        context: "cannot prune old dumps in",
        path: dir.clone(),
        source: e,
    };
    let mut dumps: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(std::result::Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let (env, key) = parse_dir_name(&name)?;
            (env == environment).then(|| (key, e.path()))
        })
        .collect();
    // The keys sort as time does, so the newest come last.
    dumps.sort();
    let old = dumps.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = dumps.into_iter().take(old).map(|(_, p)| p).collect();
    for path in &removed {
        std::fs::remove_dir_all(path).map_err(|e| Error::Io {
            context: "cannot remove the old dump",
            path: path.clone(),
            source: e,
        })?;
    }
    Ok(removed)
}
