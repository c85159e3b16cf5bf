//! Pure decisions: the state of each migration, and what a request would do, or why it is refused.
//!
//! Nothing here touches the database or the disk: [`entries`] and [`plan`] take the discovered
//! files and the registry records, so every refusal rule is unit-tested and `--dry-run` prints
//! exactly what execution would walk.

pub(crate) mod policy;

use crate::error::{Error, Result};
use crate::migration::discover::MigrationFile;
use crate::plan::policy::{OnModified, OutOfOrder, Policies};
use crate::store::registry::{Record, Status};

/// A migration's state, derived from its file and its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Applied,
    Ignored,
    Failed,
    /// Started by a run that still holds the lock.
    Running,
    /// Started by a run that is gone (crashed, killed): it may be half done.
    Interrupted,
    /// Recorded, but its file is gone.
    Missing,
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
            State::Missing => "missing",
        }
    }
}

/// One line of `list`: a migration with its file, its record, or both.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) number: u64,
    pub(crate) name: String,
    pub(crate) file: Option<MigrationFile>,
    pub(crate) record: Option<Record>,
    pub(crate) state: State,
    /// Applied from a file whose content has changed since.
    pub(crate) modified: bool,
    /// Pending, but numbered below a migration already applied or ignored.
    pub(crate) out_of_order: bool,
}

impl Entry {
    /// Applied or ignored: its record says it is done.
    pub(crate) fn is_done(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| matches!(r.status, Status::Applied | Status::Ignored))
    }
}

/// Joins files and records into entries, in number order. `run_active` says whether a live
/// process holds the lock: without one, a `running` record is interrupted.
pub(crate) fn entries(files: &[MigrationFile], records: &[Record], run_active: bool) -> Vec<Entry> {
    let recorded_state = |status| match status {
        Status::Running if run_active => State::Running,
        Status::Running => State::Interrupted,
        Status::Applied => State::Applied,
        Status::Ignored => State::Ignored,
        Status::Failed => State::Failed,
    };
    let mut entries: Vec<Entry> = files
        .iter()
        .map(|file| {
            let record = records.iter().find(|r| r.name == file.name).cloned();
            let state = record
                .as_ref()
                .map_or(State::Pending, |r| recorded_state(r.status));
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
            }
        })
        .collect();
    let missing = records
        .iter()
        .filter(|r| !files.iter().any(|f| f.name == r.name));
    entries.extend(missing.map(|r| Entry {
        number: u64::try_from(r.number).unwrap_or_default(),
        name: r.name.clone(),
        file: None,
        record: Some(r.clone()),
        state: State::Missing,
        modified: false,
        out_of_order: false,
    }));
    entries.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    if let Some(newest) = newest_done(&entries).map(|e| e.number) {
        for entry in entries.iter_mut() {
            entry.out_of_order = entry.state == State::Pending && entry.number < newest;
        }
    }
    entries
}

/// The highest-numbered applied or ignored migration.
fn newest_done(entries: &[Entry]) -> Option<&Entry> {
    entries.iter().rev().find(|e| e.is_done())
}

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
}

impl Action {
    /// The stable word for `--json`: `up`, `down`, `ignore`, `accept`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Ignore => "ignore",
            Action::Accept => "accept",
        }
    }

    /// The past-tense verb for reports.
    pub(crate) fn done_verb(self) -> &'static str {
        match self {
            Action::Up => "applied",
            Action::Down => "rolled back",
            Action::Ignore => "ignored",
            Action::Accept => "accepted",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) action: Action,
    pub(crate) file: MigrationFile,
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
        let what = format!("applied migration `{name}` was modified after it ran");
        match policies.on_modified {
            OnModified::Error => {
                return Err(Error::refused(
                    format!("{what} (its checksum no longer matches the registry); nothing was run"),
                    format!(
                        "restore the file, or record the change deliberately with                          `migo accept {name}`, or set `on_modified = \"warn\"`"
                    ),
                ))
            }
            OnModified::Warn => warnings.push(what),
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
        let what =
            format!("`{name}` is out of order: `{newest}`, numbered after it, is already applied");
        match policies.out_of_order {
            OutOfOrder::Error => {
                return Err(Error::refused(
                    format!("{what}; nothing was run"),
                    format!(
                        "renumber `{name}` after `{newest}`, or set `out_of_order = \"warn\"` \
                         (or `--out-of-order allow`) to run it anyway"
                    ),
                ))
            }
            OutOfOrder::Warn => warnings.push(what),
            OutOfOrder::Allow => {}
        }
    }
    Ok(warnings)
}

/// Every pending migration in order, unless an unfinished one must be dealt with first.
fn all_pending(entries: &[Entry], action: Action) -> Result<Vec<Step>> {
    if let Some(blocker) = entries
        .iter()
        .find(|e| matches!(e.state, State::Failed | State::Running | State::Interrupted))
    {
        return Err(blocked(blocker));
    }
    Ok(entries
        .iter()
        .filter(|e| e.state == State::Pending)
        .filter_map(|e| e.file.clone().map(|file| Step { action, file }))
        .collect())
}

fn blocked(entry: &Entry) -> Error {
    let name = &entry.name;
    let what = match entry.state {
        State::Failed => "failed on its last run",
        State::Running => "is being run by another migo right now",
        _ => "was interrupted: its run stopped before finishing, so it may be half applied",
    };
    let error = entry
        .record
        .as_ref()
        .and_then(|r| r.error.as_deref())
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    Error::refused(
        format!("migration `{name}` {what}{error}; nothing was run"),
        format!(
            "fix it and retry with `migo execute {name}`, or `migo rollback {name}`, \
             or mark it done with `migo ignore {name}`"
        ),
    )
}

/// The named migration, which must be pending (or failed, to retry it).
fn forward(name: &str, entries: &[Entry], action: Action) -> Result<Step> {
    let entry = find(name, entries)?;
    let verb = if action == Action::Up {
        "execute"
    } else {
        "ignore"
    };
    match (entry.state, &entry.file) {
        (State::Pending | State::Failed | State::Interrupted, Some(file)) => Ok(Step {
            action,
            file: file.clone(),
        }),
        (State::Applied | State::Ignored, _) => Err(Error::refused(
            format!(
                "cannot {verb} `{}`: it is already {}",
                entry.name,
                describe_record(entry)
            ),
            format!("roll it back first with `migo rollback {}`", entry.name),
        )),
        (State::Running, _) => Err(blocked(entry)),
        (_, _) => Err(missing_file(entry)),
    }
}

/// Pending migrations in order, up to and including `name`.
fn up_to(name: &str, entries: &[Entry]) -> Result<Vec<Step>> {
    let target = find(name, entries)?;
    if target.is_done() {
        return Err(Error::refused(
            format!(
                "cannot execute up to `{}`: it is already {}",
                target.name,
                describe_record(target)
            ),
            "`migo list` shows which migrations are pending",
        ));
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
                return Err(Error::refused(
                    format!(
                        "cannot roll back to `{}`: it is {}, not applied",
                        target.name,
                        target.state.as_str()
                    ),
                    "`--to` names the applied migration to keep",
                ));
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

/// One migration to roll back: applied, ignored or failed, and still with its file.
fn rollback(entry: &Entry) -> Result<Step> {
    match (entry.state, &entry.file) {
        (State::Pending, _) => Err(Error::refused(
            format!("cannot roll back `{}`: it is not applied", entry.name),
            "`migo list` shows which migrations are applied",
        )),
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
        Some(_) if entry.is_done() => Err(Error::refused(
            format!("nothing to accept: `{name}` matches the checksum it was applied with"),
            "`migo list` marks changed files `(modified)`",
        )),
        Some(_) => Err(Error::refused(
            format!(
                "cannot accept `{name}`: it is {}, not applied",
                entry.state.as_str()
            ),
            "accept records the new checksum of an applied migration whose file was edited",
        )),
    }
}

/// The file of pending migration `name`, which `remove` may delete: one with any registry record
/// (applied, failed, running) is refused.
pub(crate) fn removable<'a>(name: &str, entries: &'a [Entry]) -> Result<&'a MigrationFile> {
    let entry = find(name, entries)?;
    match (&entry.record, &entry.file) {
        (None, Some(file)) if file.compiled.is_some() => Err(Error::refused(
            format!(
                "cannot remove `{}`: it is compiled into this binary",
                entry.name
            ),
            "remove it from the binary's source instead",
        )),
        (None, Some(file)) => Ok(file),
        (Some(_), _) if entry.is_done() => Err(Error::refused(
            format!(
                "cannot remove `{}`: it is {}",
                entry.name,
                describe_record(entry)
            ),
            format!("roll it back first with `migo rollback {}`", entry.name),
        )),
        _ => Err(Error::refused(
            format!(
                "cannot remove `{}`: it is {} and has a registry record",
                entry.name,
                entry.state.as_str()
            ),
            format!(
                "roll it back (`migo rollback {0}`) or mark it done (`migo ignore {0}`) first",
                entry.name
            ),
        )),
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
        Error::refused(
            format!("no migration named `{name}`"),
            "`migo list` shows every migration's name",
        )
    })
}

fn missing_file(entry: &Entry) -> Error {
    Error::refused(
        format!(
            "the file of migration `{}` is missing, so it cannot be run",
            entry.name
        ),
        "restore the file from version control",
    )
}

fn describe_record(entry: &Entry) -> String {
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
    use std::path::PathBuf;

    fn file(number: u64, name: &str) -> MigrationFile {
        MigrationFile {
            name: name.into(),
            file_name: format!("{name}.json"),
            number,
            path: PathBuf::from(format!("{name}.json")),
            checksum: format!("sum-{name}"),
            compiled: None,
        }
    }

    fn record(f: &MigrationFile, status: Status) -> Record {
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
    fn applied_at(f: &MigrationFile, ms: i64) -> Record {
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
