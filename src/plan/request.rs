//! What the user asked to change (a [`Request`]), and what it resolves to: the ordered steps of
//! a [`Plan`], each one [`Action`] on one migration.

use crate::ground::source::Source;

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

    /// What each of its steps does.
    pub(crate) fn action(self) -> Action {
        match self {
            Request::Execute(_) => Action::Up,
            Request::Ignore(_) => Action::Ignore,
            Request::Rollback(_) => Action::Down,
            Request::Accept(_) => Action::Accept,
            Request::Forget(_) => Action::Forget,
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
