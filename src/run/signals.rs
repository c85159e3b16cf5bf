//! SIGINT and SIGTERM, heard on a thread of their own, so that whatever blocks migo's runtime
//! thread (an SSH session, a prompt, a compiled migration) cannot delay them.
//!
//! Outside a graceful section (no lock held, nothing half done), a signal stops migo at once
//! (exit 130/143), killing its children. Inside one ([`crate::ground::stop::Stop::graceful`]), the first
//! signal is recorded in the run's [`Stop`] token and forwarded to the children's process groups,
//! so the run finishes no new step, records the step in flight, writes its audit entry and
//! releases the lock; children still alive after a grace period are killed. A second signal
//! kills the children and exits at once.

use std::io::Write;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::ground::stop::Stop;
use crate::process::group::Children;

/// How long children get to stop after a forwarded signal (`MIGO_TEST_GRACE_MS` for tests).
fn grace() -> Duration {
    std::env::var("MIGO_TEST_GRACE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// The listening thread; stops listening when dropped.
#[derive(Debug)]
pub(crate) struct Listener {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts listening for SIGINT and SIGTERM for `stop` and `children`. The handlers are installed
/// before this returns, so a signal that comes right after is not lost.
pub(crate) fn listen(stop: Stop, children: Children) -> std::io::Result<Listener> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let (mut interrupt, mut terminate) = {
        let _entered = runtime.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    let (shutdown, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("migo-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let number = tokio::select! {
                        _ = &mut stopped => return,
                        Some(()) = interrupt.recv() => libc::SIGINT,
                        Some(()) = terminate.recv() => libc::SIGTERM,
                    };
                    received(&stop, &children, number);
                }
            });
        })?;
    Ok(Listener {
        shutdown: Some(shutdown),
        thread: Some(thread),
    })
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn received(stop: &Stop, children: &Children, signal: i32) {
    let first = stop.record_signal(signal);
    if !first || !stop.is_graceful() {
        children.kill_all();
        std::process::exit(128 + signal);
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "migo: {} received: stopping after the step in flight (again to stop at once)",
        crate::ground::signal::signal_name(signal)
    );
    children.signal_all(signal);
    let children = children.clone();
    std::thread::spawn(move || {
        std::thread::sleep(grace());
        if children.any_live() {
            children.kill_all();
        }
    });
}
