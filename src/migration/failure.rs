//! Why a migration's step failed, kept typed (the driver's error with its code and labels, the
//! child's exit status) until it is shown, stored or turned into an exit code.

use std::fmt;

use crate::ground::driver::{is_connection_failure, short_message};
use crate::ground::stop::Reason;
use crate::process::session::SessionError;
use crate::process::Failure;
/// A failed step.
#[derive(Debug)]
pub(crate) enum StepError {
    /// The server answered a command with an error; `at` says which command.
    Command {
        at: String,
        error: mongodb::error::Error,
    },
    /// A write command answered `ok: 1` but with write errors (or a write concern error).
    Write {
        at: String,
        code: i32,
        code_name: String,
        message: String,
        more: usize,
    },
    /// A child process failed.
    Process(Failure),
    /// An interpreted migration failed, or its interpreter could not run it.
    Interpreter(SessionError),
    /// A compiled migration returned an error of its own.
    Compiled(String),
    /// The run stopped (a signal, a lost lease) before the step finished.
    Halted(Reason),
    /// The step could not be set up (a transaction refused, a session not started).
    Setup(String),
    /// A transactional step failed, and its transaction was rolled back: nothing changed.
    RolledBack(Box<StepError>),
}

impl StepError {
    /// Whether the server could not be reached, so the step's effect is unknown.
    pub(crate) fn is_connection_failure(&self) -> bool {
        match self {
            StepError::Command { error, .. } => is_connection_failure(error),
            StepError::RolledBack(inner) => inner.is_connection_failure(),
            _ => false,
        }
    }

    /// Whether the failure is the run stopping rather than the migration failing.
    pub(crate) fn halted(&self) -> Option<Reason> {
        match self {
            StepError::Halted(reason) => Some(*reason),
            _ => None,
        }
    }
}

impl std::error::Error for StepError {}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Command { at, error } => write!(f, "{at}: {}", short_message(error)),
            StepError::Write {
                at,
                code,
                code_name,
                message,
                more,
            } => {
                let more = match more {
                    0 => String::new(),
                    n => format!(" (and {n} more)"),
                };
                match code_name.is_empty() {
                    true => write!(f, "{at}: code {code}: {message}{more}"),
                    false => write!(f, "{at}: {code_name} ({code}): {message}{more}"),
                }
            }
            StepError::Process(failure) => write!(f, "{failure}"),
            StepError::Interpreter(error) => write!(f, "{error}"),
            StepError::Compiled(message) | StepError::Setup(message) => f.write_str(message),
            StepError::Halted(reason) => f.write_str(&reason.describe()),
            StepError::RolledBack(inner) => write!(
                f,
                "{inner} (the transaction was rolled back: nothing changed)"
            ),
        }
    }
}

impl From<SessionError> for StepError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Halted(reason) => StepError::Halted(reason),
            other => StepError::Interpreter(other),
        }
    }
}

impl From<Failure> for StepError {
    fn from(failure: Failure) -> Self {
        StepError::Process(failure)
    }
}
