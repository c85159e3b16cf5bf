//! Pure decisions: the state of each migration, and what a request would do, or why it is refused.
//!
//! Nothing here touches the database or the disk: [`entries`] and [`plan`] take the discovered
//! files and the registry records, so every refusal rule is unit-tested and `--dry-run` prints
//! exactly what execution would walk.

use crate::discover::MigrationFile;
use crate::error::{Error, Result};
use crate::registry::{Record, Status};

/// A migration's state, derived from its file and its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
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
    pub fn as_str(self) -> &'static str {
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
pub struct Entry {
    pub number: u64,
    pub name: String,
    pub file: Option<MigrationFile>,
    pub record: Option<Record>,
    pub state: State,
    /// Applied from a file whose content has changed since.
    pub modified: bool,
}

/// Joins files and records into entries, in number order. `run_active` says whether a live
/// process holds the lock: without one, a `running` record is interrupted.
pub fn entries(files: &[MigrationFile], records: &[Record], run_active: bool) -> Vec<Entry> {
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
    }));
    entries.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    entries
}

/// What the user asked to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// Apply all pending migrations, or the named one.
    Execute(Option<&'a str>),
    /// Register as applied without running: all pending, or the named one.
    Ignore(Option<&'a str>),
    /// Run the named migration's `down` and unregister it.
    Rollback(&'a str),
}

/// What one step does to one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Ignore,
}

impl Action {
    /// The past-tense verb for reports.
    pub fn done_verb(self) -> &'static str {
        match self {
            Action::Up => "applied",
            Action::Down => "rolled back",
            Action::Ignore => "ignored",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub file: MigrationFile,
}

/// The ordered steps a request resolves to; empty when there is nothing to do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// Decides what `request` does given the current `entries`, or refuses it with the reason.
pub fn plan(request: Request<'_>, entries: &[Entry]) -> Result<Plan> {
    let steps = match request {
        Request::Execute(None) => all_pending(entries, Action::Up)?,
        Request::Ignore(None) => all_pending(entries, Action::Ignore)?,
        Request::Execute(Some(name)) => vec![forward(name, entries, Action::Up)?],
        Request::Ignore(Some(name)) => vec![forward(name, entries, Action::Ignore)?],
        Request::Rollback(name) => vec![rollback(name, entries)?],
    };
    Ok(Plan { steps })
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

/// The named migration, which must be applied, ignored or failed, and still have its file.
fn rollback(name: &str, entries: &[Entry]) -> Result<Step> {
    let entry = find(name, entries)?;
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

/// The entry called `name` (stem or file name), or a refusal naming it.
pub fn find<'a>(name: &str, entries: &'a [Entry]) -> Result<&'a Entry> {
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
        }
    }

    fn record(f: &MigrationFile, status: Status) -> Record {
        Record::new(f, status, "me@here")
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
        let plan = plan(Request::Execute(None), &entries(&files, &records, false)).unwrap();
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
            let err = plan(Request::Execute(None), &entries(&files, &records, false)).unwrap_err();
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
        assert!(plan(Request::Execute(Some("0001_a")), &e)
            .unwrap_err()
            .to_string()
            .contains("already applied"));
        assert_eq!(
            names(&plan(Request::Execute(Some("0002_b")), &e).unwrap()),
            [("0002_b", Action::Up)]
        );
        assert_eq!(
            names(&plan(Request::Ignore(Some("0003_c.json")), &e).unwrap()),
            [("0003_c", Action::Ignore)]
        );
        let unknown = plan(Request::Execute(Some("../0003_c")), &e).unwrap_err();
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
            names(&plan(Request::Rollback("0001_a"), &e).unwrap()),
            [("0001_a", Action::Down)]
        );
        assert!(plan(Request::Rollback("0002_b"), &e)
            .unwrap_err()
            .to_string()
            .contains("not applied"));
        assert!(plan(Request::Rollback("0003_gone"), &e)
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
}
