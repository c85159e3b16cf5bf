//! `remove NAME`: deletes a pending migration's file. Touches only the disk.

use super::Context;
use crate::error::{Error, Result};
use crate::plan;

/// Deletes the file of pending migration `name` (or says which, with `--dry-run`).
pub(crate) async fn remove(ctx: Context<'_>, name: &str) -> Result<()> {
    let (_, entries, _) = ctx.entries().await?;
    let file = plan::removable(name, &entries)?;
    let path = file.path.display();
    if ctx.invocation.dry_run {
        ctx.out.print(&format!("would remove {path}"));
        return Ok(());
    }
    std::fs::remove_file(&file.path).map_err(|e| Error::Io {
        context: "cannot remove",
        path: file.path.clone(),
        source: e,
    })?;
    ctx.out.print(&format!("removed {path}"));
    Ok(())
}
