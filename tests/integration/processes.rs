//! Helpers for tests that stop, continue and kill real processes, and wait for them without
//! guessing with sleeps: every wait polls for the state it needs, with a deadline.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Polls `ready` every 20 ms until it holds; panics with `what` after 60 s.
pub(crate) fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The state letter of process `pid` (`R`, `S`, `T` for stopped, `Z`), `None` once it is gone.
pub(crate) fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S …`: the state follows the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub(crate) fn alive(pid: u32) -> bool {
    !matches!(state(pid), None | Some('Z' | 'X'))
}

/// Sends `signal` to `pid`.
pub(crate) fn signal(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).expect("a pid");
    // SAFETY: kill(2) on a process this test started.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Waits until `child` has stopped itself (SIGSTOP at a `MIGO_TEST_STOP_AT` point).
pub(crate) fn wait_stopped(child: &Child) {
    wait_until("migo stopped itself", || state(child.id()) == Some('T'));
}

/// The pid written to `path` by a script (`echo $$ > path`), once it is there.
pub(crate) fn pid_in(path: &Path) -> u32 {
    wait_until(&format!("{} exists", path.display()), || {
        std::fs::read_to_string(path).is_ok_and(|t| t.trim().parse::<u32>().is_ok())
    });
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A `.sh` migration that records its pid in `pid`, then waits for the file `go` to exist
/// before inserting `{_id: id}` into `counters` (so a test decides when it finishes). Its own
/// child (`sleep`) shows that grandchildren die too.
pub(crate) fn gated_script(dir: &Path, id: &str) -> String {
    format!(
        r#"#!/bin/sh
set -e
echo $$ > {pid}
while [ ! -e {go} ]; do sleep 0.05; done
"{python}" -c 'import os, pymongo; pymongo.MongoClient(os.environ["MIGO_URI"])[os.environ["MIGO_DATABASE"]].counters.update_one({{"_id": "{id}"}}, {{"$inc": {{"n": 1}}}}, upsert=True)'
"#,
        pid = dir.join(format!("{id}.pid")).display(),
        go = dir.join("go").display(),
        python = crate::tools::python().display(),
    )
}
