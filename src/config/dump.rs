//! `[dump]`: backups before `execute` and on demand.

use std::path::Path;

use super::layers::Origins;
use super::{path_of, schema, DumpSettings};
use crate::error::Result;

/// `[dump]`, resolved.
pub(super) fn resolve(
    d: &schema::Dump,
    base_dir: &Path,
    origins: &Origins<'_>,
) -> Result<DumpSettings> {
    if let Some(keep) = d.keep.as_ref().filter(|k| *k.get_ref() == 0) {
        return Err(origins.error(
            &keep.span(),
            "`[dump] keep` = 0 would delete the dump just taken".into(),
            "keep at least 1, or leave `keep` out to keep every dump",
        ));
    }
    Ok(DumpSettings {
        enabled: d.enabled.as_ref().is_some_and(|e| *e.get_ref()),
        directory: d.directory.as_ref().map_or_else(
            || base_dir.join("mongodumps"),
            |p| path_of(p, base_dir, origins),
        ),
        tool: d.tool.as_ref().map(|t| *t.get_ref()).unwrap_or_default(),
        gzip: d.gzip.as_ref().is_some_and(|g| *g.get_ref()),
        collections: d
            .collections
            .as_ref()
            .map(|c| c.get_ref().clone())
            .unwrap_or_default(),
        keep: d.keep.as_ref().map(|k| *k.get_ref()),
        mongodump: d
            .mongodump
            .as_ref()
            .map_or_else(|| "mongodump".into(), |p| p.get_ref().clone()),
    })
}
