//! Pure decisions: the state of each migration ([`state`]), and what a request would do, or why
//! it is refused ([`refusal`]).
//!
//! Nothing here touches the database or the disk: [`state::entries`] and [`plan`] take the
//! discovered sources and the registry records, so every refusal rule is unit-tested and
//! `--dry-run` prints exactly what execution would walk.

pub(crate) mod policy;
pub(crate) mod refusal;
pub(crate) mod state;

use crate::error::{Error, Result};
use crate::migration::source::Source;
use policy::{OnModified, OutOfOrder, Policies};
use refusal::{Blocker, Refusal};
use state::newest_done;
pub(crate) use state::{entries, Entry, State};

/// What the user asked to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// Apply pending migrations.
    Execute(Forward<'a>),
    /// Register as applied without running: all pending, or the named one.
    Ignore(Option<&'a str>),
    /// Run `down` and unregister.
    Rollback(Backward<'a>),
    /// Record the current checksum of an applied migration whose file was changed on purpose.
    Accept(&'a str),
    /// Remove the record of a migration whose file is gone.
    Forget(&'a str),
}

/// Which pending migrations `execute` applies, in number order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forward<'a> {
    /// All of them.
    All,
    /// Just this one (pending, failed or interrupted).
    Name(&'a str),
    /// The next N.
    Steps(usize),
    /// Up to and including this one.
    To(&'a str),
}

/// Which applied migrations `rollback` undoes, newest-applied first (by when they were applied,
/// not by number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backward<'a> {
    /// Just this one.
    Name(&'a str),
    /// The N applied last.
    Last(usize),
    /// Every one applied after this one, which stays.
    To(&'a str),
    /// Every applied migration.
    All,
}

impl Request<'_> {
    /// The subcommand's name, as in the audit log and `--json`.
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Request::Execute(_) => "execute",
            Request::Ignore(_) => "ignore",
            Request::Rollback(_) => "rollback",
            Request::Accept(_) => "accept",
            Request::Forget(_) => "forget",
        }
    }
}

/// What one step does to one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Up,
    Down,
    Ignore,
    /// Record the file's current checksum.
    Accept,
    /// Remove the record.
    Forget,
}

impl Action {
    /// The stable word for `--json`: `up`, `down`, `ignore`, `accept`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Ignore => "ignore",
            Action::Accept => "accept",
            Action::Forget => "forget",
        }
    }

    /// The past-tense verb for reports.
    pub(crate) fn done_verb(self) -> &'static str {
        match self {
            Action::Up => "applied",
            Action::Down => "rolled back",
            Action::Ignore => "ignored",
            Action::Accept => "accepted",
            Action::Forget => "forgot",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) action: Action,
    pub(crate) file: Source,
}

/// The ordered steps a request resolves to (empty when there is nothing to do), and the
/// warnings the policies ask to show before running them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) steps: Vec<Step>,
    pub(crate) warnings: Vec<String>,
}

/// Decides what `request` does given the current `entries`, or refuses it with the reason.
pub(crate) fn plan(request: Request<'_>, entries: &[Entry], policies: Policies) -> Result<Plan> {
    let steps = match request {
        Request::Execute(Forward::All) => all_pending(entries, Action::Up)?,
        Request::Execute(Forward::Steps(n)) => {
            let mut steps = all_pending(entries, Action::Up)?;
            steps.truncate(n);
            steps
        }
        Request::Execute(Forward::To(name)) => up_to(name, entries)?,
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
    let newest = newest_done(entries).map_or("", |e| e.name.as_str());
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

/// Every pending migration in order, unless an unfinished one must be dealt with first.
fn all_pending(entries: &[Entry], action: Action) -> Result<Vec<Step>> {
    if let Some(blocker) = entries.iter().find(|e| {
        matches!(
            e.state,
            State::Failed | State::Running | State::Interrupted | State::Invalid
        )
    }) {
        return Err(blocked(blocker));
    }
    Ok(entries
        .iter()
        .filter(|e| e.state == State::Pending)
        .filter_map(|e| e.file.clone().map(|file| Step { action, file }))
        .collect())
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
        file: crate::ui::escape::escape(&file.file_name),
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
    match (entry.state, &entry.file) {
        (State::Invalid, _) => Err(invalid_file(entry)),
        (State::Failed | State::Interrupted, Some(_))
            if action == Action::Up && entry.rollback_unfinished() =>
        {
            Err(refuse(Refusal::RollbackUnfinished {
                name: entry.name.clone(),
            }))
        }
        (State::Pending | State::Failed | State::Interrupted, Some(file)) => Ok(Step {
            action,
            file: file.clone(),
        }),
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

/// Pending migrations in order, up to and including `name`.
fn up_to(name: &str, entries: &[Entry]) -> Result<Vec<Step>> {
    let target = find(name, entries)?;
    if target.is_done() {
        return Err(refuse(Refusal::TargetDone {
            name: target.name.clone(),
            record: describe_record(target),
        }));
    }
    let mut steps = all_pending(entries, Action::Up)?;
    steps.retain(|s| s.file.number <= target.number);
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
        (State::Pending, _) => Err(refuse(Refusal::NotApplied {
            name: entry.name.clone(),
        })),
        (State::Invalid, _) => Err(invalid_file(entry)),
        (State::Running, _) => Err(blocked(entry)),
        (_, None) => Err(missing_file(entry)),
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
            let at = r
                .applied_at
                .unwrap_or(r.started_at)
                .try_to_rfc3339_string()
                .unwrap_or_default();
            format!("{state} (at {at} by {})", r.who)
        }
        None => state.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::registry::{Record, Status};
    use std::path::PathBuf;

    fn file(number: u64, name: &str) -> Source {
        Source {
            name: name.into(),
            file_name: format!("{name}.json"),
            number,
            path: PathBuf::from(format!("{name}.json")),
            checksum: format!("sum-{name}"),
            binary: None,
            problem: None,
        }
    }

    fn record(f: &Source, status: Status) -> Record {
        Record::new(f, status, "me@here")
    }

    /// `plan` under the default policies.
    fn plan(request: Request<'_>, entries: &[Entry]) -> Result<Plan> {
        super::plan(request, entries, Policies::default())
    }

    fn names(plan: &Plan) -> Vec<(&str, Action)> {
        plan.steps
            .iter()
            .map(|s| (s.file.name.as_str(), s.action))
            .collect()
    }

    #[test]
    fn execute_all_runs_pending_in_number_order() {
        let files = [file(1, "0001_a"), file(2, "0002_b"), file(10, "0010_c")];
        let records = [record(&files[1], Status::Applied)];
        let plan = plan(
            Request::Execute(Forward::All),
            &entries(&files, &records, false),
        )
        .unwrap();
        assert_eq!(
            names(&plan),
            [("0001_a", Action::Up), ("0010_c", Action::Up)]
        );
    }

    #[test]
    fn a_failed_or_running_migration_blocks_execute_all() {
        let files = [file(1, "0001_a"), file(2, "0002_b")];
        for status in [Status::Failed, Status::Running] {
            let records = [record(&files[0], status)];
            let err = plan(
                Request::Execute(Forward::All),
                &entries(&files, &records, false),
            )
            .unwrap_err();
            assert!(err.to_string().contains("`0001_a`"), "{err}");
            assert!(err.hint().unwrap().contains("migo execute 0001_a"));
        }
    }

    #[test]
    fn named_execute_accepts_pending_and_failed_only() {
        let files = [file(1, "0001_a"), file(2, "0002_b"), file(3, "0003_c")];
        let records = [
            record(&files[0], Status::Applied),
            record(&files[1], Status::Failed),
        ];
        let e = entries(&files, &records, false);
        assert!(plan(Request::Execute(Forward::Name("0001_a")), &e)
            .unwrap_err()
            .to_string()
            .contains("already applied"));
        assert_eq!(
            names(&plan(Request::Execute(Forward::Name("0002_b")), &e).unwrap()),
            [("0002_b", Action::Up)]
        );
        assert_eq!(
            names(&plan(Request::Ignore(Some("0003_c.json")), &e).unwrap()),
            [("0003_c", Action::Ignore)]
        );
        let unknown = plan(Request::Execute(Forward::Name("../0003_c")), &e).unwrap_err();
        assert_eq!(unknown.to_string(), "no migration named `../0003_c`");
    }

    #[test]
    fn rollback_needs_an_applied_migration_with_its_file() {
        let files = [file(1, "0001_a"), file(2, "0002_b")];
        let gone = file(3, "0003_gone");
        let records = [
            record(&files[0], Status::Applied),
            record(&gone, Status::Applied),
        ];
        let e = entries(&files, &records, false);
        assert_eq!(
            names(&plan(Request::Rollback(Backward::Name("0001_a")), &e).unwrap()),
            [("0001_a", Action::Down)]
        );
        assert!(plan(Request::Rollback(Backward::Name("0002_b")), &e)
            .unwrap_err()
            .to_string()
            .contains("not applied"));
        assert!(plan(Request::Rollback(Backward::Name("0003_gone")), &e)
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }

    #[test]
    fn entries_flag_modified_and_missing() {
        let files = [file(1, "0001_a")];
        let mut changed = record(&files[0], Status::Applied);
        changed.checksum = "old".into();
        let gone = record(&file(2, "0002_gone"), Status::Applied);
        let e = entries(&files, &[changed, gone], false);
        assert!(e[0].modified && e[0].state == State::Applied);
        assert_eq!(
            (e[1].name.as_str(), e[1].state),
            ("0002_gone", State::Missing)
        );
    }

    #[test]
    fn a_modified_applied_file_blocks_execute_unless_the_policy_warns() {
        let files = [file(1, "0001_a"), file(2, "0002_b")];
        let mut changed = record(&files[0], Status::Applied);
        changed.checksum = "old".into();
        let e = entries(&files, &[changed], false);
        let err = plan(Request::Execute(Forward::All), &e).unwrap_err();
        assert!(err.to_string().contains("`0001_a` was modified"), "{err}");
        assert!(err.hint().unwrap().contains("migo accept 0001_a"));
        let warn = Policies {
            on_modified: OnModified::Warn,
            ..Policies::default()
        };
        let planned = super::plan(Request::Execute(Forward::All), &e, warn).unwrap();
        assert_eq!(names(&planned), [("0002_b", Action::Up)]);
        assert_eq!(planned.warnings.len(), 1);
        assert_eq!(
            names(&plan(Request::Accept("0001_a"), &e).unwrap()),
            [("0001_a", Action::Accept)]
        );
        assert!(plan(Request::Accept("0002_b"), &e).is_err());
    }

    #[test]
    fn out_of_order_pending_files_follow_the_policy() {
        let files = [file(1, "0001_a"), file(2, "0002_b"), file(3, "0003_c")];
        let records = [
            record(&files[0], Status::Applied),
            record(&files[2], Status::Applied),
        ];
        let e = entries(&files, &records, false);
        assert!(e[1].out_of_order && !e[0].out_of_order);
        let with = |out_of_order| Policies {
            out_of_order,
            ..Policies::default()
        };
        let warned =
            super::plan(Request::Execute(Forward::All), &e, with(OutOfOrder::Warn)).unwrap();
        assert_eq!(names(&warned), [("0002_b", Action::Up)]);
        assert!(warned.warnings[0].contains("`0003_c`, numbered after it"));
        let allowed =
            super::plan(Request::Execute(Forward::All), &e, with(OutOfOrder::Allow)).unwrap();
        assert!(allowed.warnings.is_empty() && allowed.steps.len() == 1);
        let refused = super::plan(Request::Execute(Forward::All), &e, with(OutOfOrder::Error));
        assert!(refused.unwrap_err().to_string().contains("out of order"));
        // Ignoring is the deliberate way out, whatever the policy.
        assert!(super::plan(Request::Ignore(None), &e, with(OutOfOrder::Error)).is_ok());
    }

    /// A record applied at `ms` (milliseconds since the epoch).
    fn applied_at(f: &Source, ms: i64) -> Record {
        let mut r = record(f, Status::Applied);
        r.applied_at = Some(mongodb::bson::DateTime::from_millis(ms));
        r
    }

    #[test]
    fn ranges_forward_follow_number_order() {
        let files: Vec<_> = (1..=6).map(|n| file(n, &format!("000{n}_x{n}"))).collect();
        let records = [applied_at(&files[0], 1)];
        let e = entries(&files, &records, false);
        let two = plan(Request::Execute(Forward::Steps(2)), &e).unwrap();
        assert_eq!(
            names(&two),
            [("0002_x2", Action::Up), ("0003_x3", Action::Up)]
        );
        let to = plan(Request::Execute(Forward::To("0004_x4")), &e).unwrap();
        assert_eq!(to.steps.len(), 3);
        assert!(plan(Request::Execute(Forward::To("0001_x1")), &e).is_err());
    }

    #[test]
    fn ranges_backward_follow_applied_order() {
        let files: Vec<_> = (1..=4).map(|n| file(n, &format!("000{n}_x{n}"))).collect();
        // 3 was applied before 2; 4 in the same millisecond as 2 (one run, number order).
        let records = [
            applied_at(&files[0], 10),
            applied_at(&files[2], 20),
            applied_at(&files[1], 30),
            applied_at(&files[3], 30),
        ];
        let e = entries(&files, &records, false);
        let last = plan(Request::Rollback(Backward::Last(2)), &e).unwrap();
        assert_eq!(
            names(&last),
            [("0004_x4", Action::Down), ("0002_x2", Action::Down)]
        );
        let to = plan(Request::Rollback(Backward::To("0003_x3")), &e).unwrap();
        assert_eq!(names(&to), names(&last));
        let all = plan(Request::Rollback(Backward::All), &e).unwrap();
        let order: Vec<_> = names(&all).into_iter().map(|(n, _)| n).collect();
        assert_eq!(order, ["0004_x4", "0002_x2", "0003_x3", "0001_x1"]);
        let pending = entries(&files, &records[..1], false);
        assert!(plan(Request::Rollback(Backward::To("0002_x2")), &pending).is_err());
    }
}
