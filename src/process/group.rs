//! Children die with migo. Each child runs in a process group of its own, with a parent-death
//! signal (so `kill -9 migo` kills it at once) and a watchdog holding one end of a pipe whose
//! other end only migo holds: when migo dies in any way, the pipe closes and the watchdog kills
//! the whole group, grandchildren included (a script's own `mongosh`, say). On SIGINT/SIGTERM,
//! migo forwards the signal to every live group ([`signal_all`]) and, after a grace period,
//! kills what is left ([`kill_all`]).

#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// Process groups of children running now.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// A spawned child under guard: its group is registered and watched until [`Guard::finish`].
#[derive(Debug)]
pub(crate) struct Guard {
    pgid: Option<i32>,
    watchdog: Option<(Child, io::PipeWriter)>,
}

/// Makes `command` start in a group of its own (unless `share_terminal`: an interactive task
/// keeps migo's group, so the terminal and Ctrl-C reach it) and die with migo.
pub(crate) fn prepare(command: &mut Command, share_terminal: bool) {
    if !share_terminal {
        command.process_group(0);
    }
    let parent = std::process::id();
    // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid,
    // raise), and no memory is allocated.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // migo may have died between fork and prctl: then nobody would send the signal.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

/// Registers `child` (started with [`prepare`]) and starts its watchdog.
pub(crate) fn guard(child: &Child, share_terminal: bool) -> Guard {
    if share_terminal {
        return Guard {
            pgid: None,
            watchdog: None,
        };
    }
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(pgid);
    Guard {
        pgid: Some(pgid),
        watchdog: watchdog(pgid).ok(),
    }
}

/// `sh` waiting for EOF on a pipe only migo writes to; at EOF (migo is gone) it kills the group.
fn watchdog(pgid: i32) -> io::Result<(Child, io::PipeWriter)> {
    let (reader, writer) = io::pipe()?;
    let child = Command::new("sh")
        .args([
            "-c",
            "read -r _; kill -KILL -- \"-$1\" 2>/dev/null",
            "migo-watchdog",
        ])
        .arg(pgid.to_string())
        .stdin(Stdio::from(reader))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok((child, writer))
}

impl Guard {
    /// Blocks until `child` has exited, without reaping it, so that its group id cannot be
    /// reused while [`Guard::finish`] kills what the child left behind.
    pub(crate) fn wait_exit(&self, child: &Child) {
        if self.pgid.is_none() {
            return;
        }
        let pid = libc::id_t::from(child.id());
        // SAFETY: `info` is a plain struct the kernel fills; WNOWAIT leaves the child waitable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            while libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) != 0 {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
        }
    }

    /// Kills whatever is left in the group (a script's background jobs), stops the watchdog and
    /// forgets the group.
    pub(crate) fn finish(mut self) {
        if let Some(pgid) = self.pgid.take() {
            send(pgid, libc::SIGKILL);
            LIVE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|g| *g != pgid);
        }
        if let Some((mut watchdog, writer)) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
            drop(writer);
        }
    }
}

/// Sends `signal` to every live child group.
pub(crate) fn signal_all(signal: i32) {
    for pgid in LIVE.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        send(*pgid, signal);
    }
}

/// Kills every live child group.
pub(crate) fn kill_all() {
    signal_all(libc::SIGKILL);
}

/// Whether any child group is alive.
pub(crate) fn any_live() -> bool {
    !LIVE.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
}

fn send(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; errors are ignored.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}
