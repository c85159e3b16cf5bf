//! Children die with migo. Each child runs in a process group of its own, with a parent-death
//! signal (so `kill -9 migo` kills it at once) and a watchdog holding one end of a pipe whose
//! other end only migo holds: when migo dies in any way, the pipe closes and the watchdog kills
//! the whole group, grandchildren included (a script's own `mongosh`, say). The watchdog is migo
//! itself, started again in a mode that only waits and kills ([`watchdog_main`]): no shell is in
//! the kill path, whatever `/bin/sh` is. On SIGINT/SIGTERM, migo forwards the signal to every live
//! group ([`Children::signal_all`]) and, after a grace period, kills what is left.

#![allow(unsafe_code)]

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The first argument that turns the binary into a watchdog: `<binary> --migo-watchdog PGID`.
pub(crate) const WATCHDOG_FLAG: &str = "--migo-watchdog";

/// The process groups of the children running now, shared by everything that starts one and by
/// the signal listener that stops them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Children(Arc<Mutex<Vec<i32>>>);

impl Children {
    fn live(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends `signal` to every live child group.
    pub(crate) fn signal_all(&self, signal: i32) {
        for pgid in self.live().iter() {
            send(*pgid, signal);
        }
    }

    /// Kills every live child group.
    pub(crate) fn kill_all(&self) {
        self.signal_all(libc::SIGKILL);
    }

    /// Whether any child group is alive.
    pub(crate) fn any_live(&self) -> bool {
        !self.live().is_empty()
    }

    /// Registers `child` (started with [`prepare`]) and starts its watchdog.
    pub(crate) fn guard(&self, child: &Child, share_terminal: bool) -> Guard {
        if share_terminal {
            return Guard {
                pgid: None,
                watchdog: None,
                children: self.clone(),
            };
        }
        let pgid = i32::try_from(child.id()).unwrap_or(0);
        self.live().push(pgid);
        let watchdog = watchdog(pgid);
        if let Err(e) = &watchdog {
            tracing::warn!("no watchdog for process group {pgid}: {e}");
        }
        Guard {
            pgid: Some(pgid),
            watchdog: watchdog.ok(),
            children: self.clone(),
        }
    }
}

/// A spawned child under guard: its group is registered and watched until [`Guard::finish`].
#[derive(Debug)]
pub(crate) struct Guard {
    pgid: Option<i32>,
    watchdog: Option<(Child, io::PipeWriter)>,
    children: Children,
}

/// How a child is tied to migo's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tie {
    /// A child that the spawning thread waits for: a parent-death signal kills it the moment
    /// migo dies (the signal follows the *thread* that spawned it, which outlives the child).
    Waited,
    /// A child that outlives the thread that started it (an interpreter kept for the whole
    /// run): no parent-death signal, which would fire when that pooled thread retires; the
    /// watchdog and its closed pipes end it when migo dies.
    Kept,
}

/// Makes `command` start in a group of its own (unless `share_terminal`: an interactive task
/// keeps migo's group, so the terminal and Ctrl-C reach it) and die with migo.
pub(crate) fn prepare(command: &mut Command, share_terminal: bool, tie: Tie) {
    if !share_terminal {
        command.process_group(0);
    }
    if tie == Tie::Kept {
        return;
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

/// This binary again (`/proc/self/exe`, which still works if the file was replaced since), as a
/// watchdog reading a pipe only migo writes to; at EOF (migo is gone) it kills the group.
fn watchdog(pgid: i32) -> io::Result<(Child, io::PipeWriter)> {
    let (reader, writer) = io::pipe()?;
    let child = Command::new("/proc/self/exe")
        .args([WATCHDOG_FLAG, &pgid.to_string()])
        .env_clear()
        .stdin(Stdio::from(reader))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok((child, writer))
}

/// The watchdog's whole life: wait for EOF on stdin, then kill process group `pgid`. Returns the
/// exit code.
pub(crate) fn watchdog_main(pgid: &str) -> u8 {
    let Ok(pgid) = pgid.parse::<i32>() else {
        return 2;
    };
    let mut buffer = [0u8; 64];
    let mut stdin = io::stdin().lock();
    loop {
        match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    send(pgid, libc::SIGKILL);
    0
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
            self.children.live().retain(|g| *g != pgid);
        }
        if let Some((mut watchdog, writer)) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
            drop(writer);
        }
    }
}

fn send(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; errors are ignored.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}
