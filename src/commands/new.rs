//! `new NAME [--format F] [--backfill]`: the next numbered migration file, from a template.
//! Needs no database.

use crate::config::Settings;
use crate::error::Result;
use crate::extensions::Extensions;
use crate::ground::output::Output;
use crate::migration::template::{self, Format};

/// Creates the file and says where.
pub(crate) fn new(
    settings: &Settings,
    app: &Extensions,
    out: &Output,
    name: &str,
    format: Format,
    backfill: bool,
) -> Result<()> {
    let compiled = app
        .migrations
        .iter()
        .map(|c| c.source(&app.binary))
        .collect::<Result<Vec<_>>>()?;
    let path = template::new_migration(
        &settings.migrations,
        &settings.project_dir,
        compiled,
        name,
        format,
        backfill,
    )?;
    out.print(&format!("created {}", path.display()));
    Ok(())
}
