//! `migo snapshot [--replay] [--output FILE]`: a schema as one canonical JSON document, for
//! review in a pull request: the database's own, or (`--replay`) the one every migration makes
//! on a fresh database, replayed on a scratch database. Reads only.
//!
//! [`fresh_replay`] is the replay a fresh database would run, which `squash` replays too.

use std::io::Write;
use std::path::Path;

use super::drift::application_collections;
use super::Context;
use crate::error::{Error, Result};
use crate::ground::source::Source;
use crate::migration::Body;
use crate::plan::{self, Action, Forward, Request};
use crate::run::replay::{self, on_scratch, REPLAY};
use crate::schema::Snapshot;
use crate::store::connection;
use crate::ui::report;

/// Prints or saves the snapshot.
pub(crate) async fn snapshot(ctx: Context<'_>, output: Option<&Path>, replay: bool) -> Result<()> {
    if let Some(path) = output {
        check_output(path)?;
    }
    let keep = application_collections(ctx);
    let target = &ctx.settings.target;
    let snapshot = if replay {
        let files = ctx.discover()?;
        let steps = fresh_replay(ctx, &files, None)?;
        let db = connection::open(target).await?;
        on_scratch(&db, REPLAY, ctx.run, ctx.out, async |scratch, halt| {
            let env = ctx.child_env().for_database(scratch.name());
            replay::replay(&steps, scratch, &env, halt).await?;
            Snapshot::read(scratch, &keep).await
        })
        .await
        .map_err(|e| connection::classify(target, e))?
    } else {
        let db = connection::open(target).await?;
        Snapshot::read(&db, &keep)
            .await
            .map_err(|e| connection::classify(target, e))?
    };
    let Some(path) = output else {
        report::snapshot(ctx.out, &snapshot);
        return Ok(());
    };
    write_file(path, &report::snapshot_text(&snapshot), false)?;
    ctx.out.note(&format!(
        "wrote the schema of {} ({} collection(s), {} index(es)) to {}",
        match replay {
            true => "every migration, replayed".to_string(),
            false => format!("`{}`", target.database),
        },
        snapshot.collections.len(),
        snapshot.index_count(),
        crate::ground::escape::escape(&path.display().to_string())
    ));
    Ok(())
}

/// `--output` must name a regular file or nothing yet: a directory, a FIFO, a device, a socket
/// or a symlink there is refused by name (the file is replaced by a rename, which would put a
/// regular file in its place).
fn check_output(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = path.symlink_metadata() else {
        return Ok(());
    };
    let kind = meta.file_type();
    let what = match () {
        () if kind.is_file() => return Ok(()),
        () if kind.is_dir() => "a directory",
        () if kind.is_symlink() => "a symlink",
        () if kind.is_fifo() => "a FIFO",
        () if kind.is_socket() => "a socket",
        () => "a device",
    };
    Err(Error::Usage {
        message: format!(
            "`--output {}` is {what}, not a regular file",
            crate::ground::escape::escape(&path.display().to_string())
        ),
        hint: Some("name the file to write, e.g. `--output schema.json`".into()),
    })
}

/// What a fresh database runs, up to and including `to` (all, without it), in that order, each
/// migration loaded: its pending migrations as `execute` would plan them, a checkpoint instead of
/// the history it replaces.
pub(crate) fn fresh_replay(
    ctx: Context<'_>,
    files: &[Source],
    to: Option<&str>,
) -> Result<Vec<(String, Body)>> {
    let entries = plan::entries(files, &[], false);
    let request = Request::Execute(to.map_or(Forward::All, Forward::To));
    let plan = plan::plan(
        request,
        &entries,
        ctx.settings.migrations.policies,
        &Default::default(),
    )?;
    plan.steps
        .iter()
        .filter(|step| step.action == Action::Up)
        .map(|step| {
            let body = Body::load(
                &step.file,
                &ctx.settings.migrations.runners,
                &ctx.app.migrations,
            )?;
            Ok((step.file.name.clone(), body))
        })
        .collect()
}

/// Writes `text` to `path` whole or not at all: into a temporary file beside it, synced, then
/// renamed over it (never written through a FIFO or a symlink that sits there); `new_only`
/// refuses to replace an existing file.
pub(crate) fn write_file(path: &Path, text: &str, new_only: bool) -> Result<()> {
    let io = |context: &'static str| {
        move |e: std::io::Error| Error::Io {
            context,
            path: path.to_path_buf(),
            source: e,
        }
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".migo-")
        .tempfile_in(dir)
        .map_err(io("cannot create a file beside"))?;
    // As any file of the project (a temporary file is private to its owner).
    use std::os::unix::fs::PermissionsExt;
    file.as_file_mut()
        .write_all(text.as_bytes())
        .and_then(|()| {
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
        })
        .and_then(|()| file.as_file().sync_all())
        .map_err(io("cannot write"))?;
    let kept = match new_only {
        true => file.persist_noclobber(path),
        false => file.persist(path),
    };
    kept.map(drop).map_err(|e| io("cannot write")(e.error))
}
