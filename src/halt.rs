//! Why a run stops before its end: a signal (SIGINT, SIGTERM), or the lease lost to another run.
//! Migrations check [`Halt::reason`] between their commands; the run checks it between steps.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::store::lease::LeaseWatch;
use crate::store::lock::Loss;

/// The first SIGINT/SIGTERM received, 0 for none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Records that `signal` arrived; returns whether it is the first one.
pub(crate) fn record_signal(signal: i32) -> bool {
    SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// The signal that asked migo to stop, if any.
pub(crate) fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Why to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Signal(i32),
    LostLock(Loss),
}

impl Reason {
    /// In words, for records and messages.
    pub(crate) fn describe(self) -> String {
        match self {
            Reason::Signal(s) => format!("stopped by {}", crate::process::signal_name(s)),
            Reason::LostLock(loss) => format!("the migrations lock was lost: {}", loss.describe()),
        }
    }
}

/// What a running step checks to know whether to stop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Halt {
    lease: Option<LeaseWatch>,
}

impl Halt {
    /// Stops on a signal or when `lease` is lost.
    pub(crate) fn new(lease: Option<LeaseWatch>) -> Halt {
        Halt { lease }
    }

    /// Why to stop now, if at all.
    pub(crate) fn reason(&self) -> Option<Reason> {
        if let Some(signal) = signal() {
            return Some(Reason::Signal(signal));
        }
        self.lease
            .as_ref()
            .and_then(LeaseWatch::loss)
            .map(Reason::LostLock)
    }
}

/// A test knob: when `MIGO_TEST_STOP_AT` names `point`, migo stops itself there (SIGSTOP), so a
/// test can freeze it at an exact step instead of guessing with sleeps. Points: `after-dump`,
/// `before-step:NAME` (before its `running` record), `in-step:NAME` (after it, before the work),
/// `after-step:NAME` (after the work, before its record); dumps and restores have theirs
/// (`dump-failed`, `restore-load:NAME`, `restore-swap:NAME`, `restore-aside:NAME`,
/// `restore-finish`: docs/testing.md).
pub(crate) fn checkpoint(point: &str) {
    if std::env::var_os("MIGO_TEST_STOP_AT").is_some_and(|p| p == point) {
        // SAFETY: raise(2) sends a signal to this process; SIGSTOP cannot be caught.
        #[allow(unsafe_code)]
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
    }
}
