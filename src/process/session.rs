//! Long-lived interpreters: all the migrations of one kind (mongosh `.js`, CommonJS `.js` under
//! Node, migopy `.py`) in one run share one interpreter process, instead of paying its start-up
//! per migration. migo drives it over a line protocol: one JSON request per line on its stdin
//! (this file, this direction, this database), one result line on its stdout, marked so that
//! nothing a migration prints can be taken for it. Everything else the interpreter prints is
//! streamed as it comes, prefixed with the migration's name. An interpreter that dies fails the
//! step in flight and is not used again. It runs in its own process group, like every child.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{group, ChildEnv, Failure};
use crate::secret::Scrubber;

/// The mark that starts a result line (an ASCII record separator, then a word).
pub(crate) const RESULT_MARK: &str = "\u{1e}migo-result ";

/// A running interpreter.
pub(crate) struct Session {
    child: Child,
    stdin: ChildStdin,
    results: Receiver<Value>,
    /// The prefix of the step in flight, for the output threads.
    prefix: Arc<Mutex<String>>,
    /// The first non-empty stderr line of the step in flight.
    first_error: Arc<Mutex<Option<String>>>,
    guard: Option<group::Guard>,
    name: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({})", self.name)
    }
}

impl Session {
    /// Starts `program args` with the connection in its environment.
    pub(crate) fn start(
        name: &str,
        program: &std::path::Path,
        args: &[String],
        env: &ChildEnv,
        extra_env: &[(String, String)],
    ) -> Result<Session, Failure> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.vars())
            .envs(extra_env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        group::prepare(&mut command, false);
        let mut child = command.spawn().map_err(|e| Failure {
            status: format!("cannot start `{}`: {e}", program.display()),
            first_error: None,
            signal: None,
        })?;
        let guard = env.children().guard(&child, false);
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let prefix = Arc::new(Mutex::new(String::new()));
        let first_error = Arc::new(Mutex::new(None));
        let (sender, results) = channel();
        let scrubber = env.scrubber();
        let echo = env.echo;
        {
            let (prefix, scrubber) = (prefix.clone(), scrubber.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(result) = line.strip_prefix(RESULT_MARK) {
                        let value = serde_json::from_str(result).unwrap_or(Value::Null);
                        if sender.send(value).is_err() {
                            return;
                        }
                    } else if echo {
                        super::show(
                            &mut std::io::stderr(),
                            &lock(&prefix),
                            &scrubber.scrub(&line),
                        );
                    }
                }
            });
        }
        {
            let (prefix, first_error) = (prefix.clone(), first_error.clone());
            std::thread::spawn(move || {
                forward_stderr(stderr, echo, &prefix, &first_error, &scrubber);
            });
        }
        Ok(Session {
            child,
            stdin,
            results,
            prefix,
            first_error,
            guard: Some(guard),
            name: name.to_string(),
        })
    }

    /// Sends `request` and waits for its result; output is prefixed with `prefix` meanwhile.
    /// A migration's failure is its own; an interpreter that dies fails the step.
    pub(crate) fn step(&mut self, request: &Value, prefix: &str) -> Result<(), Failure> {
        *lock(&self.prefix) = prefix.to_string();
        *lock(&self.first_error) = None;
        let line = format!("{request}\n");
        let sent = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush());
        let result = match sent {
            Ok(()) => self.results.recv().ok(),
            Err(_) => None,
        };
        match result {
            Some(value) if value.get("ok") == Some(&Value::Bool(true)) => Ok(()),
            Some(value) => Err(Failure {
                status: value
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("the migration failed")
                    .to_string(),
                first_error: None,
                signal: None,
            }),
            None => Err(self.died()),
        }
    }

    /// The failure of an interpreter that ended without answering.
    fn died(&mut self) -> Failure {
        let status = self.child.wait().ok();
        let (status, signal) = match status.map(super::describe) {
            Some(Some((status, signal))) => (status, signal),
            _ => ("exit status 0".to_string(), None),
        };
        Failure {
            status: format!("the {} interpreter ended ({status})", self.name),
            first_error: lock(&self.first_error).clone(),
            signal,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Closing stdin ends the interpreter's loop; what is left is killed with its group.
        let _ = self.child.kill();
        if let Some(guard) = self.guard.take() {
            guard.wait_exit(&self.child);
            guard.finish();
        }
        let _ = self.child.wait();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn forward_stderr(
    stderr: std::process::ChildStderr,
    echo: bool,
    prefix: &Mutex<String>,
    first_error: &Mutex<Option<String>>,
    scrubber: &Scrubber,
) {
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let line = scrubber.scrub(&line);
        if echo {
            super::show(&mut std::io::stderr(), &lock(prefix), &line);
        }
        let mut first = lock(first_error);
        if first.is_none() && !line.trim().is_empty() {
            *first = Some(line.trim().to_string());
        }
    }
}

/// One kind's interpreter: none until started, none again after it died.
type Slot = Arc<Mutex<Option<Session>>>;

/// The sessions of one run, by interpreter kind: started on first use, dropped with the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sessions(Arc<Mutex<std::collections::HashMap<String, Slot>>>);

impl Sessions {
    /// The slot of interpreter `kind` (empty until started, or after it died).
    pub(crate) fn slot(&self, kind: &str) -> Slot {
        lock(&self.0).entry(kind.to_string()).or_default().clone()
    }
}

/// Runs one step in the session of `kind`, starting it with `start` when there is none; on a
/// blocking thread, so that the interpreter cannot stall migo's runtime.
pub(crate) async fn run_step(
    sessions: &Sessions,
    kind: &str,
    start: impl FnOnce() -> Result<Session, Failure> + Send + 'static,
    request: Value,
    prefix: String,
) -> Result<(), Failure> {
    let slot = sessions.slot(kind);
    tokio::task::spawn_blocking(move || {
        let mut session = lock(&slot);
        if session.is_none() {
            *session = Some(start()?);
        }
        let result = session.as_mut().expect("started").step(&request, &prefix);
        if let Err(failure) = &result {
            if failure.status.contains("interpreter ended") {
                *session = None; // never reused after it died
            }
        }
        result
    })
    .await
    .unwrap_or_else(|e| {
        Err(Failure {
            status: format!("the interpreter runner stopped: {e}"),
            first_error: None,
            signal: None,
        })
    })
}
