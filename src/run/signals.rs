//! SIGINT and SIGTERM. Outside a change, migo stops at once (exit 130/143): nothing is half
//! done. During one ([`Graceful`]), the first signal is forwarded to the running child's process
//! group and recorded for [`crate::halt`], so the run finishes no new step, records the step in
//! flight, writes its audit entry and releases the lock; children still alive after a grace
//! period are killed. A second signal kills the children and exits at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::process::group;

/// How many changes are running (a fleet runs several at once); while any is, a signal stops
/// gracefully.
static GRACEFUL: AtomicUsize = AtomicUsize::new(0);

/// How long children get to stop after a forwarded signal (`MIGO_TEST_GRACE_MS` for tests).
fn grace() -> Duration {
    std::env::var("MIGO_TEST_GRACE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// Listens for SIGINT and SIGTERM for the rest of the process (call inside the runtime).
pub(crate) fn install() {
    for kind in [SignalKind::interrupt(), SignalKind::terminate()] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let number = kind.as_raw_value();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                received(number);
            }
        });
    }
}

fn received(signal: i32) {
    let first = crate::halt::record_signal(signal);
    if !first || GRACEFUL.load(Ordering::SeqCst) == 0 {
        group::kill_all();
        std::process::exit(128 + signal);
    }
    eprintln!(
        "migo: {} received: stopping after the step in flight (again to stop at once)",
        crate::process::signal_name(signal)
    );
    group::signal_all(signal);
    std::thread::spawn(|| {
        std::thread::sleep(grace());
        if group::any_live() {
            group::kill_all();
        }
    });
}

/// While alive, a signal stops the run gracefully instead of at once.
#[derive(Debug)]
pub(crate) struct Graceful;

impl Graceful {
    /// Starts a graceful section.
    pub(crate) fn begin() -> Graceful {
        GRACEFUL.fetch_add(1, Ordering::SeqCst);
        Graceful
    }
}

impl Drop for Graceful {
    fn drop(&mut self) {
        GRACEFUL.fetch_sub(1, Ordering::SeqCst);
    }
}
