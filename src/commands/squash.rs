//! `migo squash --to NAME [--keep STEP…] [--drop STEP…]`: a checkpoint migration that makes,
//! in one step, the schema that every migration up to NAME makes.
//!
//! 1. The history: what a fresh database runs up to NAME ([`fresh_replay`]), and what those
//!    steps themselves replace. Its data steps (commands that write documents, scripts,
//!    interpreted and compiled migrations: what a snapshot cannot carry) are named; each must
//!    be kept (it stays, and runs after the checkpoint on a fresh database) or dropped (the
//!    checkpoint replaces it).
//! 2. The history is replayed on a scratch database and snapshotted; the checkpoint is that
//!    snapshot's `create` and `createIndexes` commands, numbered right after the history.
//! 3. The check: the checkpoint's file, as written, is applied to an empty scratch database, the
//!    kept steps after it; each time the snapshot must equal the replay's. Only then is the file
//!    written (never over another). The registry is not touched: `execute` records the
//!    checkpoint, without running it, on every database that has the history.

use std::collections::HashSet;

use mongodb::Database;

use super::snapshot::{fresh_replay, write_file};
use super::Context;
use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;
use crate::ground::Direction;
use crate::halt::Halt;
use crate::migration::json::{typed_json, JsonMigration};
use crate::migration::{interpreted, Body};
use crate::plan::{self, Entry};
use crate::run::replay::{self, on_scratch, CHECKPOINT, REPLAY};
use crate::schema::{compare, Snapshot};
use crate::store::connection;
use crate::ui::report::{self, Squashed};

/// The data steps to keep and to drop, as given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decisions<'a> {
    pub(crate) keep: &'a [String],
    pub(crate) drop: &'a [String],
}

/// Squashes the history up to `to` into a checkpoint file.
pub(crate) async fn squash(ctx: Context<'_>, to: &str, decisions: Decisions<'_>) -> Result<()> {
    let files = ctx.discover()?;
    let entries = plan::entries(&files, &[], false);
    let last = plan::find(to, &entries)?.clone();
    let steps = fresh_replay(ctx, &files, Some(&last.name))?;
    let history = history(&entries, &steps);
    let number = checkpoint_number(&entries, &history, &last)?;
    let file_name = file_name(&last, number);
    let m = &ctx.settings.migrations;
    if !m.pattern.is_match(&file_name) {
        return Err(Error::Usage {
            message: format!(
                "the checkpoint `{file_name}` would not match the pattern `{}`",
                m.pattern.as_str()
            ),
            hint: Some(
                "let `[migrations] pattern` accept `.json` files named `<number>_checkpoint.json`"
                    .into(),
            ),
        });
    }
    let data: Vec<(String, String)> = steps
        .iter()
        .filter_map(|(name, body)| data_step(body).map(|why| (name.clone(), why)))
        .collect();
    let (kept, dropped) = decide(&last.name, &data, decisions)?;
    let target = &ctx.settings.target;
    let db = connection::open(target).await?;
    let mut squashed = Squashed {
        to: last.name.clone(),
        replaces: history
            .iter()
            .filter(|name| !kept.contains(name))
            .cloned()
            .collect(),
        kept,
        dropped,
        ..Squashed::default()
    };
    let keep = super::drift::application_collections(ctx);
    ctx.out.note(&format!(
        "replaying the {} migration(s) up to `{}` on a scratch database",
        steps.len(),
        last.name
    ));
    let expected = on_scratch(&db, REPLAY, ctx.run, ctx.out, async |scratch, halt| {
        let env = ctx.child_env().for_database(scratch.name());
        replay::replay(&steps, scratch, &env, halt).await?;
        Snapshot::read(scratch, &keep).await
    })
    .await
    .map_err(|e| connection::classify(target, e))?;
    if expected.collections.is_empty() {
        return Err(Error::Refused(Refusal::NothingToSquash {
            to: last.name.clone(),
        }));
    }
    let text = checkpoint_text(&squashed, &expected);
    let checkpoint = JsonMigration::parse(&text).map_err(|message| {
        Error::Registry(format!(
        "the checkpoint migo wrote does not read back as a migration ({message}); this is a bug"
    ))
    })?;
    squashed.collections = expected.collections.len();
    squashed.indexes = expected.index_count();
    squashed.commands = checkpoint.up.len();
    let kept_steps: Vec<(String, Body)> = steps
        .into_iter()
        .filter(|(name, _)| squashed.kept.contains(name))
        .collect();
    ctx.out
        .note("checking the checkpoint on an empty scratch database");
    let check = on_scratch(&db, CHECKPOINT, ctx.run, ctx.out, async |scratch, halt| {
        let env = ctx.child_env().for_database(scratch.name());
        apply(&checkpoint, &file_name, scratch, halt).await?;
        let made = Snapshot::read(scratch, &keep).await?;
        let differences = compare(&expected, &made, &[]).differences;
        if !differences.is_empty() || kept_steps.is_empty() {
            return Ok((differences, "the checkpoint"));
        }
        replay::replay(&kept_steps, scratch, &env, halt).await?;
        let made = Snapshot::read(scratch, &keep).await?;
        Ok((
            compare(&expected, &made, &[]).differences,
            "the checkpoint and the kept steps",
        ))
    })
    .await
    .map_err(|e| connection::classify(target, e))?;
    if !check.0.is_empty() {
        squashed.differences = check.0;
        squashed.stage = Some(check.1);
        report::squashed(ctx.out, &squashed);
        return Err(Error::CheckpointDiffers {
            to: last.name.clone(),
            summary: format!(
                "{} made {}",
                check.1,
                crate::schema::Comparison {
                    differences: squashed.differences.clone(),
                    ignored: Vec::new(),
                }
                .summary()
            ),
        });
    }
    let path = m.directory.join(&file_name);
    write_file(&path, &text, true)?;
    squashed.file = Some(path.display().to_string());
    report::squashed(ctx.out, &squashed);
    Ok(())
}

/// The names the checkpoint stands for, in number order: the steps a fresh database runs up to
/// the last one, and what those steps replace (an earlier checkpoint's history).
fn history(entries: &[Entry], steps: &[(String, Body)]) -> Vec<String> {
    let ran: HashSet<&str> = steps.iter().map(|(name, _)| name.as_str()).collect();
    entries
        .iter()
        .filter(|e| {
            ran.contains(e.name.as_str())
                || e.replaced_by.as_deref().is_some_and(|by| ran.contains(by))
        })
        .map(|e| e.name.clone())
        .collect()
}

/// The checkpoint's number: right after the history's highest, free, and with nothing outside
/// the history below it.
fn checkpoint_number(entries: &[Entry], history: &[String], last: &Entry) -> Result<u64> {
    let highest = entries
        .iter()
        .filter(|e| history.contains(&e.name))
        .map(|e| e.number)
        .max()
        .unwrap_or(last.number);
    let number = highest.saturating_add(1);
    if let Some(taken) = entries.iter().find(|e| e.number == number) {
        return Err(Error::Refused(Refusal::CheckpointNumberTaken {
            to: last.name.clone(),
            by: taken.name.clone(),
        }));
    }
    if let Some(outside) = entries
        .iter()
        .find(|e| e.number < number && !history.contains(&e.name))
    {
        return Err(Error::Refused(Refusal::NotInHistory {
            to: last.name.clone(),
            name: outside.name.clone(),
        }));
    }
    Ok(number)
}

/// Why `body` is a data step (what a snapshot cannot carry), or `None` when it only changes the
/// schema.
fn data_step(body: &Body) -> Option<String> {
    match body {
        body if body.backfill_of(Direction::Up).is_some() => Some(format!(
            "a backfill of `{}`, which changes documents",
            body.backfill_of(Direction::Up)
                .map_or("", |b| b.collection.as_str())
        )),
        Body::Json(m) if m.checkpoint.is_some() || m.is_schema_only() => None,
        Body::Json(m) => {
            let verb =
                m.up.iter()
                    .filter_map(|c| c.keys().next())
                    .find(|verb| !JsonMigration::is_schema_command(verb));
            Some(match verb {
                Some(verb) => format!("its `{verb}` command changes documents"),
                None => "it changes documents".to_string(),
            })
        }
        Body::Interpreted(m) => Some(format!(
            "a {} migration, which may change documents",
            match m.kind {
                interpreted::Kind::Mongosh => "mongosh",
                interpreted::Kind::Node => "Node",
                interpreted::Kind::Python => "Python",
            }
        )),
        Body::Script(_) => Some("a script, which may change documents".into()),
        Body::Compiled(_) => Some("compiled code, which may change documents".into()),
    }
}

/// Splits the data steps into kept and dropped as `decisions` says; every one must be decided,
/// and every name given must be one of them.
fn decide(
    to: &str,
    data: &[(String, String)],
    decisions: Decisions<'_>,
) -> Result<(Vec<String>, Vec<String>)> {
    let all = |list: &[String]| list.iter().any(|n| n == "all");
    let known = |name: &str| {
        data.iter()
            .any(|(step, _)| step == name || name.strip_suffix(".json") == Some(step.as_str()))
    };
    for (flag, list) in [("--keep", decisions.keep), ("--drop", decisions.drop)] {
        if let Some(unknown) = list.iter().find(|n| *n != "all" && !known(n)) {
            let steps: Vec<&str> = data.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::Usage {
                message: format!(
                    "`{flag} {}`: it is not a data step of the migrations up to `{to}`",
                    crate::ground::escape::escape(unknown)
                ),
                hint: Some(match steps.is_empty() {
                    true => "they have no data step: leave out `--keep` and `--drop`".into(),
                    false => format!("their data steps: {}", steps.join(", ")),
                }),
            });
        }
    }
    let named = |list: &[String], step: &str| all(list) || list.iter().any(|n| n == step);
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut undecided = Vec::new();
    for (step, why) in data {
        match (named(decisions.keep, step), named(decisions.drop, step)) {
            (true, true) => {
                return Err(Error::Usage {
                    message: format!("`{step}` is both kept and dropped"),
                    hint: Some("name each data step in `--keep` or in `--drop`, not both".into()),
                })
            }
            (true, false) => kept.push(step.clone()),
            (false, true) => dropped.push(step.clone()),
            (false, false) => undecided.push(format!("`{step}` ({why})")),
        }
    }
    if !undecided.is_empty() {
        return Err(Error::Refused(Refusal::DataStepsUndecided {
            to: to.to_string(),
            steps: undecided,
        }));
    }
    Ok((kept, dropped))
}

/// Runs the checkpoint's commands on `scratch`, as `execute` would on a fresh database.
async fn apply(
    checkpoint: &JsonMigration,
    file_name: &str,
    scratch: &Database,
    halt: &Halt,
) -> Result<()> {
    checkpoint
        .run(Direction::Up, scratch, None, halt)
        .await
        .map_err(|error| match error.halted().or_else(|| halt.reason()) {
            Some(reason) => reason.into(),
            None => Error::ReplayFailed {
                name: file_name.trim_end_matches(".json").to_string(),
                scratch: scratch.name().to_string(),
                message: error.to_string(),
            },
        })
}

/// `0201_checkpoint.json`, its number as wide as the last migration's.
fn file_name(last: &Entry, number: u64) -> String {
    let width = last
        .file
        .as_ref()
        .and_then(|f| f.file_name.find('_'))
        .unwrap_or(4)
        .max(1);
    format!("{number:0width$}_checkpoint.json")
}

/// The checkpoint's file: a description, what it replaces, and its commands, one field per line.
fn checkpoint_text(squashed: &Squashed, schema: &Snapshot) -> String {
    let mut description = format!(
        "checkpoint of the migrations up to {}, written by migo squash: it makes their schema in \
         one step on a fresh database, in place of the {} it replaces",
        squashed.to,
        squashed.replaces.len()
    );
    if !squashed.kept.is_empty() {
        description.push_str(&format!(
            "; kept, run after it: {}",
            squashed.kept.join(", ")
        ));
    }
    if !squashed.dropped.is_empty() {
        description.push_str(&format!("; dropped: {}", squashed.dropped.join(", ")));
    }
    let up: Vec<serde_json::Value> = schema
        .commands()
        .into_iter()
        .map(|c| typed_json(&mongodb::bson::Bson::Document(c)))
        .collect();
    let file = serde_json::json!({
        "description": description,
        "checkpoint": {"replaces": squashed.replaces},
        "up": up,
    });
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}
