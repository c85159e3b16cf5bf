//! The state of each migration, derived from its source and its registry record: what `list`
//! shows and what every rule of [`super::plan`] reads.

use crate::ground::record::{Record, Status};
use crate::ground::source::Source;
use crate::ground::Direction;
/// A migration's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Applied,
    Ignored,
    Failed,
    /// Started by a run that still holds the lock.
    Running,
    /// Started by a run that is gone (crashed, killed, stopped by a signal): it may be half done.
    Interrupted,
    /// A backfill stopped on purpose after a batch (`migo pause`): `execute` resumes it.
    Paused,
    /// Recorded, but its file is gone.
    Missing,
    /// Its file cannot be used (not UTF-8, a BOM).
    Invalid,
    /// Pending, but a checkpoint stands for it here: it never runs (see `plan::checkpoint`).
    Replaced,
}

impl State {
    /// The lower-case word used in output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Applied => "applied",
            State::Ignored => "ignored",
            State::Failed => "failed",
            State::Running => "running",
            State::Interrupted => "interrupted",
            State::Paused => "paused",
            State::Missing => "missing",
            State::Invalid => "invalid",
            State::Replaced => "replaced",
        }
    }
}

/// One line of `list`: a migration with its source, its record, or both.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) number: u64,
    pub(crate) name: String,
    pub(crate) file: Option<Source>,
    pub(crate) record: Option<Record>,
    pub(crate) state: State,
    /// Applied from a file whose content has changed since.
    pub(crate) modified: bool,
    /// Pending, but numbered below a migration already applied or ignored.
    pub(crate) out_of_order: bool,
    /// The checkpoint that stands for it: when it is [`State::Replaced`], or applied here with
    /// its file gone since.
    pub(crate) replaced_by: Option<String>,
}

impl Entry {
    /// Applied or ignored: its record says it is done.
    pub(crate) fn is_done(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| matches!(r.status, Status::Applied | Status::Ignored))
    }

    /// The binary a compiled migration belongs to, when this binary does not have it.
    pub(crate) fn compiled_elsewhere(&self) -> Option<&str> {
        match (&self.file, &self.record) {
            (None, Some(r)) => r.binary.as_deref(),
            _ => None,
        }
    }

    /// A backfill that stopped after a recorded batch (paused, interrupted, or its run gone),
    /// whose file is unchanged: `execute` resumes it where it stopped instead of refusing.
    pub(crate) fn resumable(&self) -> bool {
        let (Some(file), Some(record)) = (&self.file, &self.record) else {
            return false;
        };
        matches!(self.state, State::Paused | State::Interrupted)
            && record.backfill.is_some()
            && record.direction == Direction::Up
            && record.checksum == file.checksum
    }

    /// Whether its last run was a rollback that did not finish.
    pub(crate) fn rollback_unfinished(&self) -> bool {
        self.record.as_ref().is_some_and(|r| {
            r.direction == Direction::Down && !matches!(r.status, Status::Applied | Status::Ignored)
        })
    }

    /// Something `check` reports: not done, changed, or its file unusable.
    pub(crate) fn is_problem(&self) -> bool {
        self.modified
            || !matches!(
                self.state,
                State::Applied | State::Ignored | State::Replaced
            )
    }

    /// Whether it is a checkpoint (it stands for the history it lists).
    pub(crate) fn is_checkpoint(&self) -> bool {
        self.replaces().is_some()
    }

    /// The names it replaces, when it is a checkpoint.
    pub(crate) fn replaces(&self) -> Option<&[String]> {
        self.file.as_ref().and_then(|f| f.checkpoint.as_deref())
    }
}

/// Joins sources and records into entries, in number order (before checkpoints mark what they
/// replace: see [`super::entries`]). `run_active` says whether a live process holds the lock:
/// without one, a `running` record is interrupted.
pub(crate) fn join(files: &[Source], records: &[Record], run_active: bool) -> Vec<Entry> {
    let recorded_state = |status| match status {
        Status::Running if run_active => State::Running,
        Status::Running | Status::Interrupted => State::Interrupted,
        Status::Paused => State::Paused,
        Status::Applied => State::Applied,
        Status::Ignored => State::Ignored,
        Status::Failed => State::Failed,
        Status::RolledBack => State::Pending,
    };
    let mut entries: Vec<Entry> = files
        .iter()
        .map(|file| {
            let record = records.iter().find(|r| r.name == file.name).cloned();
            let state = match (&file.problem, &record) {
                (Some(_), _) => State::Invalid,
                (None, Some(r)) => recorded_state(r.status),
                (None, None) => State::Pending,
            };
            let modified = record.as_ref().is_some_and(|r| {
                matches!(r.status, Status::Applied | Status::Ignored) && r.checksum != file.checksum
            });
            Entry {
                number: file.number,
                name: file.name.clone(),
                file: Some(file.clone()),
                record,
                state,
                modified,
                out_of_order: false,
                replaced_by: None,
            }
        })
        .collect();
    let missing = records
        .iter()
        .filter(|r| !files.iter().any(|f| f.name == r.name));
    // The history of a checkpoint recorded here may lose its files: the checkpoint has it.
    let standing_for = |name: &str| {
        entries.iter().find_map(|e| {
            let done = e.is_done();
            e.replaces()
                .filter(|history| done && history.iter().any(|h| h == name))
                .map(|_| e.name.clone())
        })
    };
    let missing: Vec<Entry> = missing
        .map(|r| {
            let by = standing_for(&r.name);
            Entry {
                number: u64::try_from(r.number).unwrap_or_default(),
                name: r.name.clone(),
                file: None,
                record: Some(r.clone()),
                // A compiled migration of another binary is not missing: that binary has it.
                state: match (&r.binary, &by) {
                    (None, None) => State::Missing,
                    _ => recorded_state(r.status),
                },
                modified: false,
                out_of_order: false,
                replaced_by: by,
            }
        })
        .collect();
    entries.extend(missing);
    entries.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    entries
}

/// Marks pending migrations numbered below the newest one done (out of order).
pub(crate) fn mark_out_of_order(entries: &mut [Entry]) {
    if let Some(newest) = newest_done_in_sequence(entries).map(|e| e.number) {
        for entry in entries.iter_mut() {
            entry.out_of_order = entry.state == State::Pending && entry.number < newest;
        }
    }
}

/// The highest-numbered applied or ignored migration.
pub(crate) fn newest_done(entries: &[Entry]) -> Option<&Entry> {
    entries.iter().rev().find(|e| e.is_done())
}

/// The highest-numbered applied or ignored migration that is not a checkpoint: what a pending
/// migration numbered below is out of order against (the data steps a squash kept run after
/// their checkpoint, though numbered below it).
pub(crate) fn newest_done_in_sequence(entries: &[Entry]) -> Option<&Entry> {
    entries
        .iter()
        .rev()
        .find(|e| e.is_done() && !e.is_checkpoint())
}
