//! `adopt --from migopy|migrate-mongo|golang-migrate`: another tool's history, recorded as migo's
//! `applied` records (with `adopted_from` and the original time where the tool kept one), in one
//! locked, audited action. The other tool's collection is only read. `--dry-run` shows the
//! mapping; records that match no file, or files applied out of order, are refused unless
//! `--yes`.

use mongodb::bson::{doc, DateTime};

use super::locked::locked;
use super::Context;
use crate::error::{Error, Result};
use crate::ground::record::{Record, Status};
use crate::ground::refusal::Refusal;
use crate::ground::source::Source;
use crate::store::foreign::{self, History, Tool};
use crate::store::lock::Takeover;
use crate::store::registry::Registry;
/// One line of the mapping: what the tool says, and what migo makes of it.
struct Line {
    theirs: String,
    ours: Option<Source>,
    applied_at: Option<DateTime>,
    note: &'static str,
}

/// Takes over `tool`'s history from `collection` (the tool's default when `None`).
pub(crate) async fn adopt(ctx: Context<'_>, tool: Tool, collection: Option<&str>) -> Result<()> {
    let files = ctx.discover()?;
    let db = crate::store::connection::open(&ctx.settings.target).await?;
    let registry = Registry::new(&db, ctx.collection());
    let (records, _) = registry
        .state_beside_foreign()
        .await
        .map_err(|e| crate::store::connection::classify(&ctx.settings.target, e))?;
    let collection = collection.unwrap_or(tool.default_collection());
    let history = foreign::read(&db, tool, collection).await?;
    let lines = map(&history, &files, &records)?;
    let adopted: Vec<&Line> = lines.iter().filter(|l| l.note == "adopt").collect();
    let problems = lines
        .iter()
        .filter(|l| l.ours.is_none() || l.note == "out of order")
        .count();
    ctx.out.print(&format!(
        "{} history in `{collection}`: {} record(s)",
        tool.name(),
        lines.len()
    ));
    for line in &lines {
        let ours = line
            .ours
            .as_ref()
            .map_or("no such migration file", |s| s.name.as_str());
        ctx.out
            .print(&format!("  {}  →  {ours}  ({})", line.theirs, line.note));
    }
    if ctx.invocation.dry_run {
        ctx.out.print(&format!(
            "dry run: {} record(s) would be adopted, nothing was changed",
            adopted.len()
        ));
        return Ok(());
    }
    if problems > 0 && !ctx.invocation.yes {
        return Err(Error::Refused(Refusal::AdoptUnsure {
            tool: tool.name(),
            problems,
        }));
    }
    let new = locked(ctx, &db, "adopt", Takeover::Expired, async |held, note| {
        ctx.announce_target();
        let started = DateTime::now();
        let new: Vec<Record> = adopted
            .iter()
            .filter_map(|line| {
                let source = line.ours.as_ref()?;
                let mut record = Record::new(source, Status::Applied, held.who);
                record.applied_at = Some(line.applied_at.unwrap_or(started));
                record.duration_ms = Some(0);
                record.adopted_from = Some(tool.name().to_string());
                Some(record)
            })
            .collect();
        note.migrations = new.iter().map(|r| r.name.clone()).collect();
        note.details = Some(doc! {"from": tool.name(), "collection": collection});
        if !new.is_empty() {
            registry.fenced(held.lease.fence()).put(&new, None).await?;
        }
        note.completed = note.migrations.clone();
        Ok(new)
    })
    .await?;
    ctx.out.print(&format!(
        "adopted {} migration(s) from {}; its `{collection}` was left as it was",
        new.len(),
        tool.name()
    ));
    Ok(())
}

/// Matches the tool's history to the discovered migrations.
fn map(history: &History, files: &[Source], records: &[Record]) -> Result<Vec<Line>> {
    let recorded = |s: &Source| records.iter().any(|r| r.name == s.name);
    let mut lines: Vec<Line> = match history {
        History::Version {
            version,
            dirty: true,
        } => return Err(Error::Refused(Refusal::DirtyVersion { version: *version })),
        History::Version { version, .. } => files
            .iter()
            .filter(|s| i64::try_from(s.number).is_ok_and(|n| n <= *version))
            .map(|s| Line {
                theirs: format!("version {} (≤ {version})", s.number),
                ours: Some(s.clone()),
                applied_at: None,
                note: "adopt",
            })
            .collect(),
        History::Files(entries) => entries
            .iter()
            .map(|(name, at)| {
                let stem = std::path::Path::new(name)
                    .file_stem()
                    .map_or(name.as_str(), |s| s.to_str().unwrap_or(name));
                let ours = files
                    .iter()
                    .find(|s| s.file_name == *name || s.name == stem);
                Line {
                    theirs: name.clone(),
                    ours: ours.cloned(),
                    applied_at: *at,
                    note: if ours.is_some() {
                        "adopt"
                    } else {
                        "no file: left out"
                    },
                }
            })
            .collect(),
    };
    for line in &mut lines {
        if line.ours.as_ref().is_some_and(recorded) {
            line.note = "already in migo's registry";
        }
    }
    // A file the tool never applied, numbered below one it did: it would run out of order.
    let newest = lines
        .iter()
        .filter_map(|l| l.ours.as_ref())
        .map(|s| s.number)
        .max();
    if let Some(newest) = newest {
        for file in files.iter().filter(|s| s.number < newest) {
            let adopted = lines
                .iter()
                .any(|l| l.ours.as_ref().is_some_and(|s| s.name == file.name));
            if !adopted && !recorded(file) {
                lines.push(Line {
                    theirs: format!("(never applied) {}", file.file_name),
                    ours: Some(file.clone()),
                    applied_at: None,
                    note: "out of order",
                });
            }
        }
    }
    Ok(lines)
}
