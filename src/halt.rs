//! Why a run stops before its end: a signal (SIGINT, SIGTERM), or the lease lost to another run.
//!
//! The [`Stop`] token is the run's one cancellation flag: the signal listener (on a thread of
//! its own, so a blocked runtime cannot delay it) sets it, and every wait and every step reads it
//! through a [`Halt`]. Migrations check [`Halt::reason`] between their commands; the run checks it
//! between steps.

use crate::ground::stop::{Reason, Stop};
use crate::store::lease::LeaseWatch;

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
