//! Why a run stops before its end, and the token that says so: the first SIGINT/SIGTERM (which
//! the signal listener records in the run's [`Stop`]), or the lease lost to another run.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

use super::signal::signal_name;

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
            Reason::Signal(s) => format!("stopped by {}", signal_name(s)),
            Reason::LostLock(loss) => format!("the migrations lock was lost: {}", loss.describe()),
        }
    }
}

/// Why a lease is no longer ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    /// Another run took it over (its lease had expired) or `migo unlock` released it.
    TakenOver,
    /// Renewals failed for longer than the lease.
    Unrenewable,
}

impl Loss {
    /// Why, in words.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Loss::TakenOver => "another migo took the lock over after its lease ran out",
            Loss::Unrenewable => "the lease could not be renewed before it ran out",
        }
    }
}
