//! `dump` and `restore`, and the backup `execute` takes before its first migration.

use std::path::Path;

use mongodb::bson::{doc, DateTime};
use mongodb::Database;

use super::locked::locked;
use super::Context;
use crate::backup::{self, layout, mongodump, restore, retention, DumpReport};
use crate::config::DumpTool;
use crate::error::Result;
use crate::identity::Identity;
use crate::store::audit::AuditResult;
use crate::store::audit_collection;
use crate::store::lock::Takeover;
use crate::ui::prompt::confirm;
use crate::ui::report;

/// Takes a dump into a fresh directory, says where, and prunes older ones past `[dump] keep`.
pub(crate) async fn backup(ctx: Context<'_>, db: &Database) -> Result<DumpReport> {
    let dir = layout::new_dump_dir(ctx.settings);
    let out = ctx.out;
    let note = |line: &str| out.note(line);
    let report = backup::take(
        db,
        ctx.settings,
        &ctx.child_env(),
        &dir,
        &note,
        &ctx.run.stop,
    )
    .await?;
    report::dumped(ctx.out, &report);
    if let Some(keep) = ctx.settings.dump.keep {
        for removed in retention::prune(ctx.settings, keep)? {
            ctx.out
                .note(&format!("removed the old dump {}", removed.display()));
        }
    }
    Ok(report)
}

/// `dump`: a backup now. Reads the database only, so it takes no lock.
pub(crate) async fn dump(ctx: Context<'_>) -> Result<()> {
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    if ctx.settings.dump.tool == DumpTool::Mongodump {
        mongodump::program(ctx.settings, &ctx.settings.dump.directory)?;
    }
    ctx.announce_target();
    let started = DateTime::now();
    let graceful = ctx.run.stop.graceful();
    let result = backup(ctx, &db).await;
    drop(graceful);
    let mut entry = ctx.audit_entry("dump", started, &Identity::current().to_string());
    match &result {
        Ok(report) => entry.dump = Some(report.path.display().to_string()),
        Err(e) => {
            entry.result = AuditResult::Failed;
            entry.error = Some(e.to_string());
        }
    }
    ctx.append_audit(&db, &entry).await;
    result.map(drop)
}

/// `restore DIR`: checks the whole dump, then (after a confirmation, under the lock) loads it
/// beside the collections it replaces and swaps them in. migo's audit log is never restored:
/// history only grows.
pub(crate) async fn restore(ctx: Context<'_>, dir: &Path, trust: bool) -> Result<()> {
    let skip = [audit_collection(ctx.collection())];
    let found = restore::find_collections(dir, &skip, trust)?;
    let collections = restore::validate(found).await?;
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    let database = &ctx.settings.target.database;
    let names: Vec<&str> = collections.iter().map(|c| c.name.as_str()).collect();
    if ctx.invocation.dry_run {
        report::restore_plan(ctx.out, database, dir, &names);
        return Ok(());
    }
    confirm(
        &format!(
            "restore replaces {} collection(s) of `{database}` ({}) with those of {}",
            names.len(),
            names.join(", "),
            dir.display()
        ),
        ctx.invocation.yes,
    )?;
    let restored = locked(
        ctx,
        &db,
        "restore",
        Takeover::Expired,
        async |_held, note| {
            note.details = Some(doc! {"from": dir.display().to_string(), "collections": &names});
            ctx.announce_target();
            restore::restore(&db, &collections, ctx.collection()).await
        },
    )
    .await?;
    report::restored(ctx.out, database, &restored);
    Ok(())
}
