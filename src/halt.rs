//! Why a run stops before its end: a signal (SIGINT, SIGTERM), or the lease lost to another run.
//!
//! The [`Stop`] token is the run's one cancellation flag: the signal listener (on a thread of
//! its own, so a blocked runtime cannot delay it) sets it, and every wait and every step reads it
//! through a [`Halt`]. Migrations check [`Halt::reason`] between their commands; the run checks it
//! between steps.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::store::lease::LeaseWatch;
use crate::store::lock::Loss;

/// The run's cancellation token: the first SIGINT/SIGTERM received, and how many graceful
/// sections (work under the lock) are open. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop(Arc<StopState>);

#[derive(Debug, Default)]
struct StopState {
    /// The first signal received, 0 for none.
    signal: AtomicI32,
    /// Open [`Graceful`] sections: while any is, a signal stops the run after recording it.
    graceful: AtomicUsize,
}

impl Stop {
    /// Records that `signal` arrived; returns whether it is the first one.
    pub(crate) fn record_signal(&self, signal: i32) -> bool {
        self.0
            .signal
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The signal that asked migo to stop, if any.
    pub(crate) fn signal(&self) -> Option<i32> {
        match self.0.signal.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// Opens a graceful section: until it is dropped, a signal stops the run after the step in
    /// flight instead of at once.
    pub(crate) fn graceful(&self) -> Graceful {
        self.0.graceful.fetch_add(1, Ordering::SeqCst);
        Graceful(self.clone())
    }

    /// Whether a graceful section is open.
    pub(crate) fn is_graceful(&self) -> bool {
        self.0.graceful.load(Ordering::SeqCst) > 0
    }
}

/// An open graceful section of a [`Stop`]; closes when dropped.
#[derive(Debug)]
pub(crate) struct Graceful(Stop);

impl Drop for Graceful {
    fn drop(&mut self) {
        (self.0).0.graceful.fetch_sub(1, Ordering::SeqCst);
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

impl Reason {
    /// The error of a command that stopped for this reason before it started anything.
    pub(crate) fn into_error(self) -> crate::error::Error {
        match self {
            Reason::Signal(signal) => crate::error::Error::Interrupted {
                signal,
                step: None,
                done: Vec::new(),
                rollback: false,
            },
            Reason::LostLock(loss) => crate::error::Error::LostLock {
                reason: loss.describe().to_string(),
                step: None,
                done: Vec::new(),
            },
        }
    }
}

/// What a running step checks to know whether to stop: the run's [`Stop`] and, under the lock,
/// the lease.
#[derive(Debug, Clone, Default)]
pub(crate) struct Halt {
    stop: Stop,
    lease: Option<LeaseWatch>,
}

impl Halt {
    /// Stops on a signal recorded in `stop`, or when `lease` is lost.
    pub(crate) fn new(stop: Stop, lease: Option<LeaseWatch>) -> Halt {
        Halt { stop, lease }
    }

    /// Holds the lease's renewals off while the guard lives (see [`LeaseWatch::hold`]): around
    /// a transaction whose fence writes the lock document.
    pub(crate) fn hold_lease(&self) -> Option<crate::store::lease::Hold> {
        self.lease.as_ref().map(LeaseWatch::hold)
    }

    /// Why to stop now, if at all.
    pub(crate) fn reason(&self) -> Option<Reason> {
        if let Some(signal) = self.stop.signal() {
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
/// `after-step:NAME` (after the work, before its record), `after-record:NAME` (after its
/// `applied` record), `locked` (right after the lease is taken), `before-takeover` (an expired
/// lease was read, and is about to be taken over), `waiting-for-lock` (a held lock was found,
/// and `--wait` waits); dumps and restores have theirs (`dump-failed`, `restore-load:NAME`,
/// `restore-swap:NAME`, `restore-aside:NAME`, `restore-finish`: docs/testing.md), and replays
/// on a scratch database theirs (`replay:NAME`).
pub(crate) fn checkpoint(point: &str) {
    if std::env::var_os("MIGO_TEST_STOP_AT").is_some_and(|p| p == point) {
        // SAFETY: raise(2) sends a signal to this process; SIGSTOP cannot be caught.
        #[allow(unsafe_code)]
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
        // A test that signals migo while it is stopped, then continues it, means the signal to
        // arrive here: the signal thread gets a moment to record it before migo goes on.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
