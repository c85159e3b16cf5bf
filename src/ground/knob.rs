//! Test knobs that freeze migo at an exact point, so that a test can stop, kill or signal it there
//! instead of guessing with sleeps.

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
