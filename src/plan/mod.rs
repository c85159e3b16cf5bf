//! Pure decisions: the state of each migration ([`state`]), and what a request would do, or why
//! it is refused ([`refusal`]).
//!
//! Nothing here touches the database or the disk: [`entries`] and [`plan`] take the
//! discovered sources and the registry records, so every refusal rule is unit-tested and
//! `--dry-run` prints exactly what execution would walk.

pub(crate) mod checkpoint;
pub(crate) mod policy;
pub(crate) mod request;
pub(crate) mod state;

use crate::error::{Error, Result};
use crate::ground::record::Record;
use crate::ground::refusal::{Blocker, Refusal};
use crate::ground::source::Source;
use crate::ground::Phase;
use policy::{OnModified, OutOfOrder, Policies};
pub(crate) use request::{Action, Backward, Forward, Plan, Request, Step};
use state::{newest_done, newest_done_in_sequence};
pub(crate) use state::{Entry, State};

/// The phase of each migration, and the one `execute --phase` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Phases {
    /// The migrations that run after the deploy (every other one runs before it).
    pub(crate) after_deploy: std::collections::BTreeSet<String>,
    /// `--phase`: only this phase's migrations.
    pub(crate) wanted: Option<Phase>,
}

impl Phases {
    /// The phase of the migration called `name`.
    pub(crate) fn of(&self, name: &str) -> Phase {
        match self.after_deploy.contains(name) {
            true => Phase::AfterDeploy,
            false => Phase::BeforeDeploy,
        }
    }
}

/// Joins sources and records into entries, in number order: each migration's state, the
/// history a checkpoint stands for marked `replaced`, and pending ones numbered below the newest
/// done marked out of order. `run_active` says whether a live process holds the lock: without
/// one, a `running` record is interrupted.
pub(crate) fn entries(files: &[Source], records: &[Record], run_active: bool) -> Vec<Entry> {
    let mut entries = state::join(files, records, run_active);
    checkpoint::mark_replaced(&mut entries);
    state::mark_out_of_order(&mut entries);
    entries
}

/// Decides what `request` does given the current `entries`, or refuses it with the reason. An
/// `execute` of everything pending (or the next N, or up to NAME) runs `before_deploy`
/// migrations first, then `after_deploy` ones (or only `phases.wanted`'s).
pub(crate) fn plan(
    request: Request<'_>,
    entries: &[Entry],
    policies: Policies,
    phases: &Phases,
) -> Result<Plan> {
    let phased = |steps: Vec<Step>| by_phase(steps, |s| phases.of(&s.file.name), phases.wanted);
    let steps = match request {
        Request::Execute(Forward::All) => phased(all_pending(entries, Action::Up)?),
        Request::Execute(Forward::Steps(n)) => {
            let mut steps = phased(all_pending(entries, Action::Up)?);
            steps.truncate(n);
            steps
        }
        Request::Execute(Forward::To(name)) => phased(up_to(name, entries)?),
        Request::Execute(Forward::Name(name)) => vec![forward(name, entries, Action::Up)?],
        Request::Ignore(None) => all_pending(entries, Action::Ignore)?,
        Request::Ignore(Some(name)) => vec![forward(name, entries, Action::Ignore)?],
        Request::Rollback(Backward::Name(name)) => vec![rollback(find(name, entries)?)?],
        Request::Rollback(range) => rollback_range(range, entries)?,
        Request::Accept(name) => vec![accept(name, entries)?],
        Request::Forget(name) => vec![forget(name, entries)?],
    };
    let warnings = match request {
        Request::Execute(_) if !steps.is_empty() => execute_policies(&steps, entries, policies)?,
        _ => Vec::new(),
    };
    Ok(Plan { steps, warnings })
}

/// Applies `on_modified` and `out_of_order` to an `execute` about to run `steps`: a refusal under
/// `error`, the warnings to print otherwise.
fn execute_policies(steps: &[Step], entries: &[Entry], policies: Policies) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for entry in entries.iter().filter(|e| e.modified) {
        let name = &entry.name;
        match policies.on_modified {
            OnModified::Error => return Err(refuse(Refusal::Modified { name: name.clone() })),
            OnModified::Warn => {
                warnings.push(format!(
                    "applied migration `{name}` was modified after it ran"
                ));
            }
        }
    }
    for entry in entries.iter().filter(|e| e.state == State::Missing) {
        warnings.push(format!(
            "applied migration `{}` has no file any more",
            entry.name
        ));
    }
    let newest = newest_done_in_sequence(entries).map_or("", |e| e.name.as_str());
    let late = entries
        .iter()
        .filter(|e| e.out_of_order && steps.iter().any(|s| s.file.name == e.name));
    for entry in late {
        let name = &entry.name;
        match policies.out_of_order {
            OutOfOrder::Error => {
                return Err(refuse(Refusal::OutOfOrder {
                    name: name.clone(),
                    newest: newest.to_string(),
                }))
            }
            OutOfOrder::Warn => warnings.push(format!(
                "`{name}` is out of order: `{newest}`, numbered after it, is already applied"
            )),
            OutOfOrder::Allow => {}
        }
    }
    Ok(warnings)
}

fn refuse(refusal: Refusal) -> Error {
    Error::Refused(refusal)
}

/// Every pending migration in order, unless an unfinished one must be dealt with first; a
/// backfill that stopped after a recorded batch is resumed by `execute` (and left as it is by
/// `ignore`). A pending checkpoint runs where it covers the database, first of all; elsewhere it
/// is recorded after its history ([`checkpoint`]).
fn all_pending(entries: &[Entry], action: Action) -> Result<Vec<Step>> {
    let resumes = |e: &Entry| action == Action::Up && e.resumable();
    if let Some(blocker) = entries.iter().find(|e| {
        matches!(
            e.state,
            State::Failed | State::Running | State::Interrupted | State::Invalid
        ) && !e.resumable()
    }) {
        return Err(blocked(blocker));
    }
    let steps = entries
        .iter()
        .filter(|e| e.state == State::Pending || resumes(e))
        .filter_map(|e| {
            let action = match action {
                Action::Up if e.is_checkpoint() => checkpoint::action(e, entries),
                other => other,
            };
            e.file.clone().map(|file| Step { action, file })
        })
        .collect();
    Ok(checkpoint::checkpoints_first(steps, entries))
}

/// `steps` for `execute --phase` (only that phase) or a plain `execute` (`before_deploy` ones
/// first, then `after_deploy` ones, each in number order), given each step's phase.
fn by_phase(
    mut steps: Vec<Step>,
    phase_of: impl Fn(&Step) -> Phase,
    wanted: Option<Phase>,
) -> Vec<Step> {
    steps.retain(|s| wanted.is_none_or(|w| phase_of(s) == w));
    steps.sort_by_key(|s| phase_of(s));
    steps
}

/// Why `entry` stops a run: unfinished, or (an invalid file) unusable.
fn blocked(entry: &Entry) -> Error {
    if entry.state == State::Invalid {
        return invalid_file(entry);
    }
    let down = entry.rollback_unfinished();
    let how = match entry.state {
        State::Failed if down => Blocker::FailedDown,
        State::Failed => Blocker::Failed,
        State::Running => Blocker::Running,
        _ if down => Blocker::InterruptedDown,
        _ => Blocker::Interrupted,
    };
    let error = entry.record.as_ref().and_then(|r| {
        r.rollback
            .as_ref()
            .and_then(|rb| rb.error.clone())
            .or_else(|| r.error.clone())
    });
    refuse(Refusal::Blocked {
        name: entry.name.clone(),
        how,
        error,
    })
}

/// An invalid file, as the error its loading gives (exit 4, naming the file and the problem).
fn invalid_file(entry: &Entry) -> Error {
    let file = entry.file.as_ref().expect("invalid entries have a file");
    Error::InvalidMigration {
        file: crate::ground::escape::escape(&file.file_name),
        message: file.problem.clone().unwrap_or_default(),
        hint: Some("save it as UTF-8 text without a byte-order mark".into()),
    }
}

/// The named migration, which must be pending (or failed or interrupted, to retry it).
fn forward(name: &str, entries: &[Entry], action: Action) -> Result<Step> {
    let entry = find(name, entries)?;
    let verb = if action == Action::Up {
        "execute"
    } else {
        "ignore"
    };
    if let Some(binary) = entry.compiled_elsewhere() {
        return Err(compiled_elsewhere(entry, binary));
    }
    if let (State::Replaced, Some(by)) = (entry.state, &entry.replaced_by) {
        return Err(refuse(Refusal::Replaced {
            verb,
            name: entry.name.clone(),
            by: by.clone(),
        }));
    }
    if let (Action::Up, Some(first)) = (action, checkpoint::unfinished_history(entry, entries)) {
        return Err(refuse(Refusal::HistoryUnfinished {
            checkpoint: entry.name.clone(),
            first: first.name.clone(),
        }));
    }
    let action = match action {
        Action::Up if entry.is_checkpoint() => checkpoint::action(entry, entries),
        other => other,
    };
    match (entry.state, &entry.file) {
        (State::Invalid, _) => Err(invalid_file(entry)),
        (State::Failed | State::Interrupted, Some(_))
            if action == Action::Up && entry.rollback_unfinished() =>
        {
            Err(refuse(Refusal::RollbackUnfinished {
                name: entry.name.clone(),
            }))
        }
        (State::Pending | State::Failed | State::Interrupted | State::Paused, Some(file)) => {
            Ok(Step {
                action,
                file: file.clone(),
            })
        }
        (State::Applied | State::Ignored, _) => Err(refuse(Refusal::AlreadyDone {
            verb,
            name: entry.name.clone(),
            record: describe_record(entry),
        })),
        (State::Running, _) => Err(blocked(entry)),
        (_, _) => Err(missing_file(entry)),
    }
}

fn compiled_elsewhere(entry: &Entry, binary: &str) -> Error {
    refuse(Refusal::CompiledElsewhere {
        name: entry.name.clone(),
        binary: binary.to_string(),
    })
}

/// Pending migrations in the order they run, up to and including `name`.
fn up_to(name: &str, entries: &[Entry]) -> Result<Vec<Step>> {
    let target = find(name, entries)?;
    if target.is_done() {
        return Err(refuse(Refusal::TargetDone {
            name: target.name.clone(),
            record: describe_record(target),
        }));
    }
    if let (State::Replaced, Some(by)) = (target.state, &target.replaced_by) {
        return Err(refuse(Refusal::Replaced {
            verb: "execute up to",
            name: target.name.clone(),
            by: by.clone(),
        }));
    }
    let mut steps = all_pending(entries, Action::Up)?;
    match steps.iter().position(|s| s.file.name == target.name) {
        Some(at) => steps.truncate(at + 1),
        None => steps.retain(|s| s.file.number <= target.number),
    }
    Ok(steps)
}

/// Applied and ignored migrations, newest-applied first. Runs are stamped to the millisecond and
/// apply in number order, so equal stamps fall back to the number.
fn newest_applied_first(entries: &[Entry]) -> Vec<&Entry> {
    let mut done: Vec<&Entry> = entries.iter().filter(|e| e.is_done()).collect();
    let applied = |e: &Entry| {
        let r = e.record.as_ref().expect("done entries have a record");
        (r.applied_at.unwrap_or(r.started_at), e.number)
    };
    done.sort_by_key(|e| std::cmp::Reverse(applied(e)));
    done
}

/// `--last N`, `--to NAME`, `--all`: every migration in the range must be reversible (checked
/// when the bodies are attached) and still have its file.
fn rollback_range(range: Backward<'_>, entries: &[Entry]) -> Result<Vec<Step>> {
    let newest = newest_applied_first(entries);
    let chosen: Vec<&Entry> = match range {
        Backward::Last(n) => newest.into_iter().take(n).collect(),
        Backward::All => newest,
        Backward::To(name) => {
            let target = find(name, entries)?;
            if !target.is_done() {
                return Err(refuse(Refusal::RollbackTargetNotApplied {
                    name: target.name.clone(),
                    state: target.state.as_str(),
                }));
            }
            newest
                .into_iter()
                .take_while(|e| e.name != target.name)
                .collect()
        }
        Backward::Name(name) => vec![find(name, entries)?],
    };
    chosen.into_iter().map(rollback).collect()
}

/// One migration to roll back: applied, ignored, failed or interrupted, and with its file.
fn rollback(entry: &Entry) -> Result<Step> {
    if let Some(binary) = entry.compiled_elsewhere() {
        return Err(compiled_elsewhere(entry, binary));
    }
    match (entry.state, &entry.file) {
        (State::Pending | State::Replaced, _) => Err(refuse(Refusal::NotApplied {
            name: entry.name.clone(),
        })),
        (State::Invalid, _) => Err(invalid_file(entry)),
        (State::Running, _) => Err(blocked(entry)),
        (_, None) => Err(missing_file(entry)),
        // A checkpoint recorded over its history never ran: only its record goes.
        (State::Ignored, Some(file)) if entry.is_checkpoint() => Ok(Step {
            action: Action::Forget,
            file: file.clone(),
        }),
        (_, Some(file)) => Ok(Step {
            action: Action::Down,
            file: file.clone(),
        }),
    }
}

/// The named migration, which must be applied or ignored from a file that changed since.
fn accept(name: &str, entries: &[Entry]) -> Result<Step> {
    let entry = find(name, entries)?;
    match &entry.file {
        Some(file) if entry.modified => Ok(Step {
            action: Action::Accept,
            file: file.clone(),
        }),
        None => Err(missing_file(entry)),
        Some(_) if entry.is_done() => Err(refuse(Refusal::NothingToAccept {
            name: name.to_string(),
        })),
        Some(_) => Err(refuse(Refusal::NotAcceptable {
            name: name.to_string(),
            state: entry.state.as_str(),
        })),
    }
}

/// The record `forget` removes: one whose file is gone.
fn forget(name: &str, entries: &[Entry]) -> Result<Step> {
    let entry = find(name, entries)?;
    match (&entry.file, &entry.record) {
        (None, Some(record)) => Ok(Step {
            action: Action::Forget,
            file: Source {
                name: record.name.clone(),
                file_name: record.name.clone(),
                number: entry.number,
                path: std::path::PathBuf::new(),
                checksum: record.checksum.clone(),
                binary: record.binary.clone(),
                problem: None,
                down_path: None,
                content: Default::default(),
                checkpoint: None,
            },
        }),
        _ => Err(refuse(Refusal::ForgetWithFile {
            name: entry.name.clone(),
        })),
    }
}

/// The file of pending migration `name`, which `remove` may delete: one with any registry record
/// (applied, failed, running) is refused.
pub(crate) fn removable<'a>(name: &str, entries: &'a [Entry]) -> Result<&'a Source> {
    let entry = find(name, entries)?;
    match (&entry.record, &entry.file) {
        (Some(_), None) => Err(missing_file(entry)),
        (None, Some(file)) if file.is_compiled() => Err(refuse(Refusal::RemoveCompiled {
            name: entry.name.clone(),
        })),
        (None, Some(file)) => Ok(file),
        (Some(_), _) => Err(refuse(Refusal::RemoveRecorded {
            name: entry.name.clone(),
            record: match entry.is_done() {
                true => describe_record(entry),
                false => entry.state.as_str().to_string(),
            },
            done: entry.is_done(),
        })),
        (None, None) => Err(missing_file(entry)),
    }
}

/// The schema version: the highest-numbered applied or ignored migration.
pub(crate) fn version(entries: &[Entry]) -> Option<&Entry> {
    newest_done(entries)
}

/// The entry called `name` (stem or file name), or a refusal naming it.
pub(crate) fn find<'a>(name: &str, entries: &'a [Entry]) -> Result<&'a Entry> {
    let called = |e: &&Entry| e.name == name || e.file.as_ref().is_some_and(|f| f.is_called(name));
    entries.iter().find(called).ok_or_else(|| {
        refuse(Refusal::Unknown {
            name: name.to_string(),
        })
    })
}

fn missing_file(entry: &Entry) -> Error {
    refuse(Refusal::MissingFile {
        name: entry.name.clone(),
    })
}

/// `applied (at T by W)`.
pub(crate) fn describe_record(entry: &Entry) -> String {
    let state = entry.state.as_str();
    match &entry.record {
        Some(r) => {
            let at = crate::ground::words::timestamp(r.applied_at.unwrap_or(r.started_at));
            format!("{state} (at {at} by {})", r.who)
        }
        None => state.to_string(),
    }
}

#[cfg(test)]
mod tests;
