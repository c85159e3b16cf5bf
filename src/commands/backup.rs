//! `dump` and `restore`, and the backup `execute` takes before its first migration.

use std::path::Path;

use mongodb::bson::{doc, DateTime};
use mongodb::Database;

use super::locked::locked;
use super::Context;
use crate::backup::journal::Journal;
use crate::backup::verify::{self, Dump};
use crate::backup::{self, layout, mongodump, restore, retention, DumpReport};
use crate::config::DumpTool;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::store::audit::AuditResult;
use crate::store::audit_collection;
use crate::store::lock::Takeover;
use crate::store::registry::Registry;
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

/// `restore DIR`: proves the whole dump against its manifest, then (after a confirmation, under
/// the lock) loads it beside the collections it replaces and swaps them in. migo's audit log is
/// never restored: history only grows. `restore` without DIR finishes (or undoes) a restore
/// that was interrupted, and nothing else.
pub(crate) async fn restore(ctx: Context<'_>, dir: Option<&Path>, trust: bool) -> Result<()> {
    let Some(dir) = dir else {
        return finish_only(ctx).await;
    };
    let skip = [audit_collection(ctx.collection())];
    let dump = verify::open(dir, &skip, trust).await?;
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    let database = &ctx.settings.target.database;
    let names: Vec<&str> = dump.collections.iter().map(|c| c.name.as_str()).collect();
    if ctx.invocation.dry_run {
        report::restore_plan(ctx.out, database, dir, &names);
        return Ok(());
    }
    confirm(
        &restore_question(&dump, database, &names),
        ctx.invocation.yes,
    )?;
    let restored = locked(
        ctx,
        &db,
        "restore",
        Takeover::Expired,
        async |held, note| {
            note.details = Some(doc! {
                "from": dir.display().to_string(),
                "collections": &names,
                "database": dump.database.as_deref(),
                "manifest_sha256": dump.manifest_sha256.as_deref(),
                // Restored without a manifest, on the user's word.
                "trust_dump": dump.manifest_sha256.is_none(),
            });
            ctx.announce_target();
            let registry = Registry::new(&db, ctx.collection()).fenced(held.lease.fence());
            restore::restore(&db, &dump, &registry, &held.halt, held.who).await
        },
    )
    .await?;
    report::restored(ctx.out, database, &restored);
    Ok(())
}

/// What `restore` asks before it replaces anything; a dump of another database says so.
fn restore_question(dump: &Dump, database: &str, names: &[&str]) -> String {
    let mut question = format!(
        "restore replaces {} collection(s) of `{database}` ({}) with those of `{}`",
        names.len(),
        names.join(", "),
        crate::ground::escape::escape(&dump.dir.display().to_string())
    );
    if let Some(source) = dump.database.as_deref().filter(|d| *d != database) {
        question.push_str(&format!(", a dump of another database, `{source}`"));
    }
    question
}

/// `restore` without DIR: only what the lock door does first, finishing (or undoing) a restore
/// that was interrupted.
async fn finish_only(ctx: Context<'_>) -> Result<()> {
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    if Journal::read(&db, ctx.collection()).await?.is_none() {
        return Err(Error::Usage {
            message: "`migo restore` needs the dump's directory: no interrupted restore to finish"
                .into(),
            hint: Some("e.g. `migo restore mongodumps/default-20261122T101500.123Z`".into()),
        });
    }
    if ctx.invocation.dry_run {
        ctx.out
            .print("dry run: an interrupted restore would be settled, nothing was changed");
        return Ok(());
    }
    // The door settles it before any work; there is no other work.
    locked(ctx, &db, "restore", Takeover::Expired, async |_, note| {
        note.nothing = true;
        Ok(())
    })
    .await
}
