//! What a fleet run found, member by member (a run's ending, a status row), and the fleet's
//! exit: the rules that turn the members' results into one code and one message.

use std::time::Duration;

use super::members::Member;
use crate::error::{exit, Error, Result};
use crate::plan::{self, Entry, State};

/// How a member's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Ok,
    Failed,
    /// Another run held its lock (exit 7 for it alone).
    Locked,
    /// Stopped by a signal, as a single run stops.
    Interrupted,
    /// `drift` found differences (exit 14 for it alone).
    Drift,
    /// Never started: `--fail-fast` after a failure, or a signal.
    NotStarted,
}

impl Ending {
    /// `ok`, `failed`, `locked`, `interrupted`, `not started`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ending::Ok => "ok",
            Ending::Failed => "failed",
            Ending::Locked => "locked",
            Ending::Interrupted => "interrupted",
            Ending::Drift => "drift",
            Ending::NotStarted => "not started",
        }
    }
}

/// A member's error, as its single run would have reported it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    pub(crate) reason: Option<&'static str>,
    pub(crate) exit_code: u8,
}

/// One member's run.
#[derive(Debug, Clone)]
pub(crate) struct MemberRun<'m> {
    pub(crate) member: &'m Member,
    pub(crate) ending: Ending,
    /// Migrations the run completed (changes only), failed runs included.
    pub(crate) steps: Option<usize>,
    pub(crate) took: Duration,
    pub(crate) failure: Option<Failure>,
    /// What the member printed as its result (its JSON document under `--json`).
    pub(crate) report: Vec<String>,
}

impl<'m> MemberRun<'m> {
    pub(super) fn not_started(member: &'m Member) -> MemberRun<'m> {
        MemberRun {
            member,
            ending: Ending::NotStarted,
            steps: None,
            took: Duration::ZERO,
            failure: None,
            report: Vec::new(),
        }
    }

    pub(super) fn new(
        member: &'m Member,
        result: &Result<Option<usize>>,
        took: Duration,
    ) -> MemberRun<'m> {
        let (ending, steps, failure) = match result {
            Ok(steps) => (Ending::Ok, *steps, None),
            Err(e) => (ending_of(e), steps_done(e), Some(failure_of(member, e))),
        };
        MemberRun {
            member,
            ending,
            steps,
            took,
            failure,
            report: Vec::new(),
        }
    }

    /// Whether the member did not finish (a member not started is not a failure of its own).
    pub(crate) fn failed(&self) -> bool {
        !matches!(self.ending, Ending::Ok | Ending::NotStarted)
    }
}

fn ending_of(error: &Error) -> Ending {
    match error {
        Error::Locked { .. } => Ending::Locked,
        Error::Interrupted { .. } => Ending::Interrupted,
        Error::Drift { .. } => Ending::Drift,
        _ => Ending::Failed,
    }
}

fn steps_done(error: &Error) -> Option<usize> {
    match error {
        Error::MigrationFailed { done, .. }
        | Error::Interrupted { done, .. }
        | Error::LostLock { done, .. } => Some(done.len()),
        Error::Drift { count, .. } => Some(*count),
        _ => None,
    }
}

/// The error as the member's single run reports it, its hint's commands (`migo execute X`)
/// naming the member (`migo --database tenant_7 execute X`).
pub(super) fn failure_of(member: &Member, error: &Error) -> Failure {
    let clean =
        |text: &str| crate::ground::escape::escape(&crate::ground::secret::redact_text(text));
    let for_member = |hint: String| hint.replace("`migo ", &format!("`migo {} ", member.flags));
    Failure {
        message: clean(&error.to_string()),
        hint: error.hint().map(|h| clean(&for_member(h))),
        reason: error.reason(),
        exit_code: error.exit_code(),
    }
}

/// The fleet's exit: 0 when every member finished; after a signal, the signal's code; else the
/// failed members' code when they agree (7 when all were locked), otherwise 1.
pub(super) fn verdict(runs: &[MemberRun<'_>], signal: Option<i32>) -> Result<()> {
    let failed: Vec<&MemberRun<'_>> = runs.iter().filter(|o| o.failed()).collect();
    let not_started = runs
        .iter()
        .filter(|o| o.ending == Ending::NotStarted)
        .count();
    let total = runs.len();
    let hint = "run the same command again: each database picks up what is left; \
                `migo --database NAME list` shows one"
        .to_string();
    if let Some(signal) = signal {
        let done = runs.iter().filter(|o| o.ending == Ending::Ok).count();
        return Err(Error::Fleet {
            message: format!(
                "stopped by {}: {done} of {total} databases done, {} stopped, {not_started} not \
                 started",
                crate::ground::signal::signal_name(signal),
                failed.len()
            ),
            hint,
            code: 128u8.saturating_add(u8::try_from(signal).unwrap_or(0)),
        });
    }
    if failed.is_empty() && not_started == 0 {
        return Ok(());
    }
    let code = agreed(
        failed
            .iter()
            .filter_map(|o| o.failure.as_ref().map(|f| f.exit_code)),
    );
    let drifted = !failed.is_empty() && failed.iter().all(|o| o.ending == Ending::Drift);
    let mut message = format!(
        "{} of {total} databases {}: {}",
        failed.len(),
        match drifted {
            true => "differ from what their migrations make",
            false => "failed",
        },
        named(failed.iter().map(|o| (&o.member.name, o.ending.as_str())))
    );
    let hint = match drifted {
        true => "`migo --database NAME drift` lists one database's differences, each with the \
                 command that reconciles it"
            .to_string(),
        false => hint,
    };
    if not_started > 0 {
        message.push_str(&format!("; {not_started} not started (--fail-fast)"));
    }
    Err(Error::Fleet {
        message,
        hint,
        code,
    })
}

/// The exit code the members' `codes` agree on, else 1.
fn agreed(mut codes: impl Iterator<Item = u8>) -> u8 {
    let first = codes.next();
    match first {
        Some(first) if codes.all(|c| c == first) => first,
        _ => exit::MIGRATION_FAILED,
    }
}

/// `tenant_05 (failed), tenant_11 (locked)`, the first ten.
fn named<'a>(members: impl ExactSizeIterator<Item = (&'a String, &'a str)>) -> String {
    first_ten(members.map(|(name, label)| format!("{name} ({label})")))
}

/// `a, b, c, …, j, and 5 more`: the first ten of `items`.
pub(super) fn first_ten(items: impl ExactSizeIterator<Item = String>) -> String {
    const SHOWN: usize = 10;
    let count = items.len();
    let mut parts: Vec<String> = items.take(SHOWN).collect();
    if count > SHOWN {
        parts.push(format!("and {} more", count - SHOWN));
    }
    parts.join(", ")
}

/// A member's migrations, counted by state.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct Counts {
    pub(crate) total: usize,
    pub(crate) applied: usize,
    pub(crate) ignored: usize,
    pub(crate) pending: usize,
    /// Failed, interrupted, or still running.
    pub(crate) failed: usize,
    /// Recorded without their file, or with a file migo cannot read.
    pub(crate) missing: usize,
    pub(crate) modified: usize,
}

impl Counts {
    fn of(entries: &[Entry]) -> Counts {
        let count = |states: &[State]| entries.iter().filter(|e| states.contains(&e.state)).count();
        Counts {
            total: entries.len(),
            applied: count(&[State::Applied]),
            ignored: count(&[State::Ignored]),
            pending: count(&[State::Pending]),
            failed: count(&[State::Failed, State::Interrupted, State::Running]),
            missing: count(&[State::Missing, State::Invalid]),
            modified: entries.iter().filter(|e| e.modified).count(),
        }
    }

    fn add(&mut self, other: &Counts) {
        self.total += other.total;
        self.applied += other.applied;
        self.ignored += other.ignored;
        self.pending += other.pending;
        self.failed += other.failed;
        self.missing += other.missing;
        self.modified += other.modified;
    }
}

/// Where a member stands, as `list --fleet` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    UpToDate,
    /// Only pending migrations.
    Behind,
    /// Failed, interrupted, modified or missing migrations.
    Attention,
    /// Could not be read.
    Error,
}

impl Standing {
    /// Every standing, in the order reports count them.
    pub(crate) const ALL: [Standing; 4] = [
        Standing::UpToDate,
        Standing::Behind,
        Standing::Attention,
        Standing::Error,
    ];

    /// `up to date`, `behind`, `attention`, `error`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Standing::UpToDate => "up to date",
            Standing::Behind => "behind",
            Standing::Attention => "attention",
            Standing::Error => "error",
        }
    }
}

/// A member's row in `list`, `check` and `version`: counts only, so a fleet of thousands stays
/// small in memory.
#[derive(Debug, Clone)]
pub(crate) struct Row<'m> {
    pub(crate) member: &'m Member,
    pub(crate) counts: Counts,
    /// The newest applied (or ignored) migration and when.
    pub(crate) newest: Option<(String, Option<mongodb::bson::DateTime>)>,
    /// Whether `check` would fail on it alone.
    pub(crate) problem: bool,
    /// Why it could not be read.
    pub(crate) failure: Option<Failure>,
}

impl<'m> Row<'m> {
    pub(super) fn read(member: &'m Member, entries: &[Entry]) -> Row<'m> {
        Row {
            member,
            counts: Counts::of(entries),
            newest: plan::version(entries).map(|e| {
                let at = e.record.as_ref().and_then(|r| r.applied_at);
                (e.name.clone(), at)
            }),
            problem: entries.iter().any(Entry::is_problem),
            failure: None,
        }
    }

    pub(super) fn unreadable(member: &'m Member, error: &Error) -> Row<'m> {
        Row {
            member,
            counts: Counts::default(),
            newest: None,
            problem: true,
            failure: Some(failure_of(member, error)),
        }
    }

    /// Where it stands.
    pub(crate) fn standing(&self) -> Standing {
        let c = &self.counts;
        match () {
            () if self.failure.is_some() => Standing::Error,
            () if c.failed + c.missing + c.modified > 0 => Standing::Attention,
            () if self.problem => Standing::Behind,
            () => Standing::UpToDate,
        }
    }
}

/// The counts of every readable member together.
pub(crate) fn totals(rows: &[Row<'_>]) -> Counts {
    let mut totals = Counts::default();
    rows.iter().for_each(|r| totals.add(&r.counts));
    totals
}

/// `list` and `version` fail only for members that could not be read; `check` for every member
/// that is not up to date (exit 8 when that is all, the members' code when they agree, else 1).
pub(super) fn status_verdict(rows: &[Row<'_>], checking: bool) -> Result<()> {
    let bad: Vec<&Row<'_>> = rows
        .iter()
        .filter(|r| r.failure.is_some() || (checking && r.problem))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let code = agreed(bad.iter().map(|r| {
        r.failure
            .as_ref()
            .map_or(exit::CHECK_FAILED, |f| f.exit_code)
    }));
    let what = if checking {
        "are not up to date"
    } else {
        "could not be read"
    };
    Err(Error::Fleet {
        message: format!(
            "{} of {} databases {what}: {}",
            bad.len(),
            rows.len(),
            named(bad.iter().map(|r| (&r.member.name, r.standing().as_str())))
        ),
        hint: "`migo --database NAME list` shows one database's migrations".into(),
        code,
    })
}
