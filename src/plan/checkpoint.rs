//! How a checkpoint stands for the history it replaces. A checkpoint is a `.json` migration
//! (written by `migo squash`) whose `up` makes the schema that the migrations it lists
//! (`"checkpoint": {"replaces": [...]}`) make, in one step.
//!
//! The rules, all decided from the registry records alone:
//!
//! - A checkpoint *covers* a database when it has a record there (it ran, or was recorded), or
//!   when none of the migrations it replaces has one (a fresh database). Then each replaced
//!   migration without a record is [`State::Replaced`]: it never runs there, and the
//!   checkpoint runs first, before any other pending migration numbered below it (the data steps
//!   `squash` kept, which need its collections).
//! - Otherwise (the database has some of the history), the checkpoint does not run: once every
//!   migration it replaces is applied or ignored, it is recorded as `ignored` (applied without
//!   running), at its place in number order, so the database receives no write but that record.
//! - A replay (`migo drift`) follows what each database really ran: its applied and ignored
//!   migrations in the order they were recorded, but not a checkpoint that was only recorded
//!   over the history it replaces (that history is replayed instead).

use super::state::{Entry, State};
use super::{Action, Step};

/// The names `entry` replaces, when it is a checkpoint.
pub(crate) fn replaces(entry: &Entry) -> Option<&[String]> {
    entry.replaces()
}

/// Whether any migration of `history` has a registry record.
fn history_recorded(history: &[String], entries: &[Entry]) -> bool {
    entries
        .iter()
        .any(|e| e.record.is_some() && history.contains(&e.name))
}

/// Whether checkpoint `entry` stands for its history here: it has a record, or none of its
/// history has one.
pub(crate) fn covers(entry: &Entry, entries: &[Entry]) -> bool {
    match replaces(entry) {
        Some(history) => entry.record.is_some() || !history_recorded(history, entries),
        None => false,
    }
}

/// Marks as [`State::Replaced`] each pending migration that a covering checkpoint replaces
/// (the newest checkpoint first, so a checkpoint replaced by a newer one replaces nothing more).
pub(crate) fn mark_replaced(entries: &mut [Entry]) {
    let mut checkpoints: Vec<(String, Vec<String>)> = entries
        .iter()
        .filter(|e| e.state != State::Replaced && covers(e, entries))
        .filter_map(|e| replaces(e).map(|r| (e.name.clone(), r.to_vec())))
        .collect();
    checkpoints.reverse();
    for (checkpoint, history) in checkpoints {
        let replaced_now = entries
            .iter()
            .any(|e| e.name == checkpoint && e.state == State::Replaced);
        if replaced_now {
            continue;
        }
        for entry in entries.iter_mut() {
            if entry.state == State::Pending && history.contains(&entry.name) {
                entry.state = State::Replaced;
                entry.replaced_by = Some(checkpoint.clone());
            }
        }
    }
}

/// What executing pending checkpoint `entry` does: run its `up` where it covers the database,
/// else record it without running (its history is, or is about to be, applied).
pub(crate) fn action(entry: &Entry, entries: &[Entry]) -> Action {
    match covers(entry, entries) {
        true => Action::Up,
        false => Action::Ignore,
    }
}

/// The first migration of checkpoint `entry`'s history that is not applied or ignored here,
/// when it is to be recorded over that history.
pub(crate) fn unfinished_history<'a>(entry: &Entry, entries: &'a [Entry]) -> Option<&'a Entry> {
    let history = replaces(entry)?;
    if covers(entry, entries) {
        return None;
    }
    entries
        .iter()
        .find(|e| history.contains(&e.name) && !e.is_done())
}

/// `steps` (pending migrations in number order) with each covering checkpoint moved before the
/// pending migrations numbered below it: on a fresh database the checkpoint makes the
/// collections first, then the data steps kept beside it run.
pub(crate) fn checkpoints_first(mut steps: Vec<Step>, entries: &[Entry]) -> Vec<Step> {
    let covering: Vec<String> = steps
        .iter()
        .filter(|s| s.file.checkpoint.is_some() && s.action == Action::Up)
        .filter(|s| {
            entries
                .iter()
                .any(|e| e.name == s.file.name && covers(e, entries))
        })
        .map(|s| s.file.name.clone())
        .collect();
    for name in covering {
        let Some(from) = steps.iter().position(|s| s.file.name == name) else {
            continue;
        };
        let number = steps[from].file.number;
        let to = steps
            .iter()
            .position(|s| s.file.number < number && s.file.checkpoint.is_none())
            .filter(|to| *to < from);
        if let Some(to) = to {
            let step = steps.remove(from);
            steps.insert(to, step);
        }
    }
    steps
}

/// Whether `entry` is a checkpoint recorded over the history it replaces (so a replay runs that
/// history instead of it).
fn recorded_over_history(entry: &Entry, entries: &[Entry]) -> bool {
    replaces(entry).is_some_and(|history| history_recorded(history, entries))
}

/// Whether `entry` is a checkpoint recorded over its history, some of whose files are gone: a
/// replay runs the checkpoint in place of that history.
fn stands_in(entry: &Entry, entries: &[Entry]) -> bool {
    entry.is_done()
        && recorded_over_history(entry, entries)
        && replaces(entry).is_some_and(|history| {
            entries
                .iter()
                .any(|e| e.file.is_none() && e.record.is_some() && history.contains(&e.name))
        })
}

/// The migrations to replay to rebuild what this database ran: applied and ignored ones, in the
/// order they were recorded (then by number). A checkpoint recorded over its history is left
/// out (the history is replayed), unless files of that history are gone: then the checkpoint
/// is replayed in its place, where the history began.
pub(crate) fn replay(entries: &[Entry]) -> Vec<&Entry> {
    let when = |e: &Entry| {
        let r = e.record.as_ref().expect("done entries have a record");
        r.applied_at.unwrap_or(r.started_at)
    };
    let stand_ins: Vec<&Entry> = entries.iter().filter(|e| stands_in(e, entries)).collect();
    let stood_for = |e: &Entry| {
        stand_ins
            .iter()
            .any(|c| replaces(c).is_some_and(|history| history.contains(&e.name)))
    };
    let mut done: Vec<(&Entry, mongodb::bson::DateTime)> = entries
        .iter()
        .filter(|e| e.is_done() && !stood_for(e))
        .filter_map(|e| match stand_ins.iter().any(|c| c.name == e.name) {
            true => {
                let history = replaces(e).unwrap_or_default();
                let began = entries
                    .iter()
                    .filter(|h| h.is_done() && history.contains(&h.name))
                    .map(when)
                    .min()
                    .unwrap_or_else(|| when(e));
                Some((e, began))
            }
            false if recorded_over_history(e, entries) => None,
            false => Some((e, when(e))),
        })
        .collect();
    done.sort_by_key(|(e, at)| (*at, e.number));
    done.into_iter().map(|(e, _)| e).collect()
}
