//! Every reason a request is refused, as a value: its message, its hint (the way out), and a
//! stable `reason` word for `--json`, so scripts and tests match the reason, not the prose.

use crate::ground::escape::escape;

/// Why a request does not fit the current state. Nothing was written when one is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No migration has this name.
    Unknown { name: String },
    /// `execute`/`ignore` of a migration already applied or ignored (`record` says when, by whom).
    AlreadyDone {
        verb: &'static str,
        name: String,
        record: String,
    },
    /// `execute --to` a migration that is already done.
    TargetDone { name: String, record: String },
    /// `rollback` of a migration that is not applied.
    NotApplied { name: String },
    /// `rollback --to` a migration that is not applied.
    RollbackTargetNotApplied { name: String, state: &'static str },
    /// `rollback` of a migration without `down`.
    Irreversible { name: String, file: String },
    /// A failed, running or interrupted migration must be dealt with first.
    Blocked {
        name: String,
        how: Blocker,
        error: Option<String>,
    },
    /// `execute` of a migration whose rollback failed: `up`'s effects may still be there.
    RollbackUnfinished { name: String },
    /// An applied migration's file changed (`on_modified = "error"`).
    Modified { name: String },
    /// A pending migration numbered below an applied one (`out_of_order = "error"`).
    OutOfOrder { name: String, newest: String },
    /// The migration's file is gone.
    MissingFile { name: String },
    /// A compiled migration of another binary.
    CompiledElsewhere { name: String, binary: String },
    /// `accept` of an unchanged migration.
    NothingToAccept { name: String },
    /// `accept` of a migration that is not applied.
    NotAcceptable { name: String, state: &'static str },
    /// `remove` of a migration with a record.
    RemoveRecorded {
        name: String,
        record: String,
        done: bool,
    },
    /// `remove` of a compiled migration.
    RemoveCompiled { name: String },
    /// `forget` of a migration whose file is still there.
    ForgetWithFile { name: String },
    /// `pause` of a migration that is not a backfill running now.
    NotPausable { name: String, state: &'static str },
    /// A confirmation is needed and there is no terminal to ask on.
    NeedsConfirmation { what: String },
    /// The person answered no.
    NotConfirmed,
    /// The dump given to `restore` is not one.
    NotADump { dir: String, why: String },
    /// The dump given to `restore` has no manifest (`old_marker`: a migo dump from before
    /// manifests), and `--trust-dump` was not given.
    NoManifest { dir: String, old_marker: bool },
    /// `adopt` found records without files, or files applied out of order.
    AdoptUnsure { tool: &'static str, problems: usize },
    /// golang-migrate's last migration failed half way.
    DirtyVersion { version: i64 },
    /// `execute`/`ignore` of a migration a checkpoint stands for on this database.
    Replaced {
        verb: &'static str,
        name: String,
        by: String,
    },
    /// `execute` of a checkpoint on a database that has only part of the history it replaces.
    HistoryUnfinished { checkpoint: String, first: String },
    /// `squash`: data steps of the history that a checkpoint cannot carry, neither kept nor
    /// dropped (`steps`: each named with why).
    DataStepsUndecided { to: String, steps: Vec<String> },
    /// `squash`: the number after the history, which the checkpoint needs, is another
    /// migration's.
    CheckpointNumberTaken { to: String, by: String },
    /// `squash`: a migration numbered within the history would run after the checkpoint.
    NotInHistory { to: String, name: String },
    /// `squash`: the history makes no collection, so there is nothing for a checkpoint to make.
    NothingToSquash { to: String },
}

/// What blocks a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocker {
    Failed,
    Running,
    Interrupted,
    /// Its rollback failed.
    FailedDown,
    /// Its rollback was interrupted.
    InterruptedDown,
}

impl Refusal {
    /// The stable word for `--json` (`"reason": "blocked"`).
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Refusal::Unknown { .. } => "unknown_migration",
            Refusal::AlreadyDone { .. } | Refusal::TargetDone { .. } => "already_applied",
            Refusal::NotApplied { .. } | Refusal::RollbackTargetNotApplied { .. } => "not_applied",
            Refusal::Irreversible { .. } => "irreversible",
            Refusal::Blocked { .. } => "blocked",
            Refusal::RollbackUnfinished { .. } => "rollback_unfinished",
            Refusal::Modified { .. } => "modified",
            Refusal::OutOfOrder { .. } => "out_of_order",
            Refusal::MissingFile { .. } => "missing_file",
            Refusal::CompiledElsewhere { .. } => "compiled_elsewhere",
            Refusal::NothingToAccept { .. } | Refusal::NotAcceptable { .. } => "not_acceptable",
            Refusal::RemoveRecorded { .. } | Refusal::RemoveCompiled { .. } => "not_removable",
            Refusal::ForgetWithFile { .. } => "file_present",
            Refusal::NotPausable { .. } => "not_pausable",
            Refusal::NeedsConfirmation { .. } => "needs_confirmation",
            Refusal::NotConfirmed => "not_confirmed",
            Refusal::NotADump { .. } => "not_a_dump",
            Refusal::NoManifest { .. } => "no_manifest",
            Refusal::AdoptUnsure { .. } => "adopt_unsure",
            Refusal::DirtyVersion { .. } => "dirty",
            Refusal::Replaced { .. } => "replaced",
            Refusal::HistoryUnfinished { .. } => "history_unfinished",
            Refusal::DataStepsUndecided { .. } => "data_steps_undecided",
            Refusal::CheckpointNumberTaken { .. } => "checkpoint_number_taken",
            Refusal::NotInHistory { .. } => "not_in_history",
            Refusal::NothingToSquash { .. } => "nothing_to_squash",
        }
    }

    /// The one-line message.
    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::Unknown { name } => format!("no migration named `{}`", escape(name)),
            Refusal::AlreadyDone { verb, name, record } => {
                format!("cannot {verb} `{name}`: it is already {record}")
            }
            Refusal::TargetDone { name, record } => {
                format!("cannot execute up to `{name}`: it is already {record}")
            }
            Refusal::NotApplied { name } => format!("cannot roll back `{name}`: it is not applied"),
            Refusal::RollbackTargetNotApplied { name, state } => {
                format!("cannot roll back to `{name}`: it is {state}, not applied")
            }
            Refusal::Irreversible { name, .. } => {
                format!("cannot roll back `{name}`: it has no `down`, so it is irreversible")
            }
            Refusal::Blocked { name, how, error } => {
                let what = match how {
                    Blocker::Failed => "failed on its last run",
                    Blocker::Running => "is being run by another migo right now",
                    Blocker::Interrupted => {
                        "was interrupted: its run stopped before finishing, so it may be half applied"
                    }
                    Blocker::FailedDown => {
                        "failed to roll back: its `down` stopped part way, so it may be half undone"
                    }
                    Blocker::InterruptedDown => {
                        "was interrupted while rolling back, so it may be half undone"
                    }
                };
                let error = error
                    .as_deref()
                    .map(|e| format!(" ({})", escape(e)))
                    .unwrap_or_default();
                format!("migration `{name}` {what}{error}; nothing was run")
            }
            Refusal::RollbackUnfinished { name } => format!(
                "cannot execute `{name}`: its rollback did not finish, so `up`'s effects may still be there"
            ),
            Refusal::Modified { name } => format!(
                "applied migration `{name}` was modified after it ran (its checksum no longer \
                 matches the registry); nothing was run"
            ),
            Refusal::OutOfOrder { name, newest } => format!(
                "`{name}` is out of order: `{newest}`, numbered after it, is already applied; \
                 nothing was run"
            ),
            Refusal::MissingFile { name } => {
                format!("the file of migration `{name}` is missing, so it cannot be run")
            }
            Refusal::CompiledElsewhere { name, binary } => format!(
                "`{name}` is a compiled migration of the binary `{binary}`; this binary cannot run it"
            ),
            Refusal::NothingToAccept { name } => {
                format!("nothing to accept: `{name}` matches the checksum it was applied with")
            }
            Refusal::NotAcceptable { name, state } => {
                format!("cannot accept `{name}`: it is {state}, not applied")
            }
            Refusal::RemoveRecorded { name, record, done } => match done {
                true => format!("cannot remove `{name}`: it is {record}"),
                false => format!("cannot remove `{name}`: it is {record} and has a registry record"),
            },
            Refusal::RemoveCompiled { name } => {
                format!("cannot remove `{name}`: it is compiled into this binary")
            }
            Refusal::NotPausable { name, state } => {
                format!("cannot pause `{name}`: it is not a backfill running now (it is {state})")
            }
            Refusal::ForgetWithFile { name } => {
                format!("cannot forget `{name}`: its file is still there")
            }
            Refusal::NeedsConfirmation { what } => format!("{what}, and needs confirmation"),
            Refusal::NotConfirmed => "not confirmed; nothing was changed".into(),
            Refusal::NotADump { dir, why } => format!("`{}` {why}", escape(dir)),
            Refusal::NoManifest { dir, old_marker } => format!(
                "`{}` has no manifest (`migo-dump.json` listing its files), so nothing proves it \
                 complete{}",
                escape(dir),
                if *old_marker {
                    ": an older migo wrote only a completion marker"
                } else {
                    ": mongodump writes none, and a migo dump that was cut off has none"
                }
            ),
            Refusal::AdoptUnsure { tool, problems } => format!(
                "{problems} of {tool}'s records match no migration file or were applied out of order (listed above); nothing was adopted"
            ),
            Refusal::DirtyVersion { version } => format!(
                "golang-migrate marks version {version} dirty: it failed half way; nothing was adopted"
            ),
            Refusal::Replaced { verb, name, by } => format!(
                "cannot {verb} `{name}`: the checkpoint `{by}` stands for it on this database, so \
                 it never runs here"
            ),
            Refusal::HistoryUnfinished { checkpoint, first } => format!(
                "cannot execute `{checkpoint}`: this database has part of the history it replaces, \
                 and `{first}` is not applied yet; nothing was run"
            ),
            Refusal::DataStepsUndecided { to, steps } => format!(
                "the migrations up to `{to}` have {} data step(s) a checkpoint cannot carry: {}; \
                 nothing was written",
                steps.len(),
                steps.join(", ")
            ),
            Refusal::CheckpointNumberTaken { to, by } => format!(
                "cannot squash up to `{to}`: the checkpoint takes the next number, and `{by}` \
                 has it; nothing was written"
            ),
            Refusal::NotInHistory { to, name } => format!(
                "cannot squash up to `{to}`: `{name}`, numbered before the checkpoint, runs after \
                 `{to}` on a fresh database; nothing was written"
            ),
            Refusal::NothingToSquash { to } => format!(
                "the migrations up to `{to}` make no collection: a checkpoint would make nothing; \
                 nothing was written"
            ),
        }
    }

    /// The way out.
    pub(crate) fn hint(&self) -> String {
        match self {
            Refusal::Unknown { .. } => "`migo list` shows every migration's name".into(),
            Refusal::AlreadyDone { name, .. } => {
                format!("roll it back first with `migo rollback {name}`")
            }
            Refusal::TargetDone { .. } => "`migo list` shows which migrations are pending".into(),
            Refusal::NotApplied { .. } => "`migo list` shows which migrations are applied".into(),
            Refusal::RollbackTargetNotApplied { .. } => {
                "`--to` names the applied migration to keep".into()
            }
            Refusal::Irreversible { file, .. } => {
                format!("add a `down` to `{file}` if the change can be undone")
            }
            Refusal::Blocked { name, how, .. } => match how {
                Blocker::FailedDown | Blocker::InterruptedDown => format!(
                    "fix its `down` and retry with `migo rollback {name}`, or, if `up`'s effects \
                     are all still there, record it applied again with `migo ignore {name}`"
                ),
                // Nothing may touch it while its run holds the lock.
                Blocker::Running => "wait for that run to end, then run this again \
                                     (`--wait SECS` waits for its lock)"
                    .into(),
                Blocker::Failed | Blocker::Interrupted => format!(
                    "fix it and retry with `migo execute {name}`, or `migo rollback {name}`, \
                     or mark it done with `migo ignore {name}`"
                ),
            },
            Refusal::RollbackUnfinished { name } => format!(
                "finish the rollback with `migo rollback {name}`, or record it applied again \
                 with `migo ignore {name}`"
            ),
            Refusal::Modified { name } => format!(
                "restore the file, or record the change deliberately with `migo accept {name}`, \
                 or set `on_modified = \"warn\"`"
            ),
            Refusal::OutOfOrder { name, newest } => format!(
                "renumber `{name}` after `{newest}`, or set `out_of_order = \"warn\"` (or \
                 `--out-of-order allow`) to run it anyway"
            ),
            Refusal::MissingFile { name } => format!(
                "restore the file from version control, or drop the record with `migo forget {name}`"
            ),
            Refusal::CompiledElsewhere { binary, .. } => {
                format!("run it with that binary, e.g. `cargo run --quiet --bin {binary} -- …`")
            }
            Refusal::NothingToAccept { .. } => "`migo list` marks changed files `(modified)`".into(),
            Refusal::NotAcceptable { .. } => {
                "accept records the new checksum of an applied migration whose file was edited"
                    .into()
            }
            Refusal::RemoveRecorded { name, done, .. } => match done {
                true => format!("roll it back first with `migo rollback {name}`"),
                false => format!(
                    "roll it back (`migo rollback {name}`) or mark it done (`migo ignore {name}`) first"
                ),
            },
            Refusal::RemoveCompiled { .. } => "remove it from the binary's source instead".into(),
            Refusal::NotPausable { .. } => {
                "`pause` stops a running backfill after its batch; `migo list` shows what runs".into()
            }
            Refusal::ForgetWithFile { name } => format!(
                "`forget` is for records whose file is gone; use `migo rollback {name}` or `migo remove {name}`"
            ),
            Refusal::NeedsConfirmation { .. } => "pass `--yes` to confirm without a terminal".into(),
            Refusal::NotConfirmed => "answer `y`, or pass `--yes`".into(),
            Refusal::NotADump { .. } => {
                "give the directory of a complete dump, e.g. `mongodumps/default-20261122T101500.123Z`"
                    .into()
            }
            Refusal::NoManifest { .. } => {
                "if you know it is complete, pass `--trust-dump`: every file is still read to its \
                 end and decoded first, and the audit entry records that it was trusted"
                    .into()
            }
            Refusal::AdoptUnsure { .. } => {
                "check the list; `--yes` adopts the records that match and leaves the others".into()
            }
            Refusal::DirtyVersion { version } => format!(
                "repair the database, then `migrate force {version}` (or the version before) with golang-migrate, and adopt again"
            ),
            Refusal::Replaced { by, .. } => format!(
                "`migo execute` runs `{by}` instead; `migo list` shows what it replaces"
            ),
            Refusal::HistoryUnfinished { checkpoint, .. } => format!(
                "run `migo execute`: it applies the rest of the history, then records \
                 `{checkpoint}` without running it"
            ),
            Refusal::DataStepsUndecided { steps, .. } => {
                let names: Vec<&str> = steps
                    .iter()
                    .map(|s| s.split('`').nth(1).unwrap_or(s))
                    .collect();
                format!(
                    "decide for each: `--keep {0}` runs them after the checkpoint on a fresh \
                     database, `--drop {0}` never runs them there (`all` names every one)",
                    names.join(",")
                )
            }
            Refusal::CheckpointNumberTaken { .. } | Refusal::NotInHistory { .. } => {
                "squash up to the newest migration, or renumber the migrations after the history"
                    .into()
            }
            Refusal::NothingToSquash { .. } => {
                "squash up to a migration that creates collections or indexes".into()
            }
        }
    }
}
