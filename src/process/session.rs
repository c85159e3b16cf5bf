//! Long-lived interpreters: all the migrations of one kind (mongosh `.js`, CommonJS `.js` under
//! Node, migopy `.py`) in one run share one interpreter process, instead of paying its start-up
//! per migration.
//!
//! migo drives it over a channel of its own ([`super::channel`]: fd 3 and fd 4, framed JSON),
//! never over stdout: first the interpreter answers `ready` (its driver loaded, connected) or
//! `unavailable` (why not); then, per step, migo sends the migration's code and the function to
//! call (for a backfill's `batch`, with the batch), and the interpreter answers that it found and called that function and that it
//! returned, or how it failed. Its stdout and stderr are only shown, each line prefixed with the
//! migration's name and scrubbed of secrets; a line without its newline is shown when the step
//! ends. Waiting polls with a timeout and checks [`Halt::reason`]: a lost lease stops the
//! interpreter at once, a signal (forwarded to its process group by the signal handler) ends the
//! wait when the interpreter answers or dies. An interpreter that dies, breaks the protocol or
//! is stopped is never used again. It runs in its own process group, like every child.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::channel::{self, Channel};
use super::{group, ChildEnv};
use crate::ground::secret::Scrubber;
use crate::ground::stop::Reason;
use crate::halt::Halt;

/// How often a wait looks at [`Halt::reason`].
const TICK: Duration = Duration::from_millis(100);
/// How long an interpreter that was sent a signal gets to answer or end before it is killed
/// (the signal handler's own grace period is shorter).
const AFTER_SIGNAL: Duration = Duration::from_secs(30);

/// How long an interpreter may take to answer `ready` (`MIGO_TEST_INTERPRETER_START_MS` for
/// tests).
fn start_limit() -> Duration {
    std::env::var("MIGO_TEST_INTERPRETER_START_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(60), Duration::from_millis)
}

/// How to start one kind of interpreter.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// `mongosh`, `node` or `python`: the session's name.
    pub(crate) kind: &'static str,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    /// Variables besides the connection's (`MIGO_PROJECT_DIR`, `MIGO_MIGRATIONS_DIR`).
    pub(crate) extra_env: Vec<(String, String)>,
}

/// One step to run: the migration's code (as hashed), where it came from, and what to call.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Request {
    pub(crate) name: String,
    /// The original file, for messages, `__filename` and relative imports; never read.
    pub(crate) path: String,
    /// The function to call: `up`, `down`, or a code backfill's `batch`.
    pub(crate) direction: &'static str,
    pub(crate) database: String,
    #[serde(serialize_with = "text")]
    pub(crate) code: Arc<str>,
    /// For `batch`: `{after, up_to, filter, size}`, the `_id`s and filter as Extended JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch: Option<serde_json::Value>,
}

fn text<S: serde::Serializer>(code: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(code)
}

/// A line of a traceback in the migration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Frame {
    pub(crate) file: String,
    pub(crate) line: u64,
    pub(crate) function: String,
    #[serde(default)]
    pub(crate) source: String,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = std::path::Path::new(&self.file)
            .file_name()
            .map_or_else(|| self.file.clone(), |n| n.to_string_lossy().into_owned());
        write!(f, "{file}:{} in {}", self.line, self.function)?;
        if !self.source.is_empty() {
            write!(f, ": {}", self.source)?;
        }
        Ok(())
    }
}

/// Where in a step a migration failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stage {
    /// Loading the file (a syntax error, its top-level code threw).
    Load,
    /// It has no such function.
    Missing,
    /// The function threw, or its promise was rejected, or its callback got an error.
    Call,
}

/// Why an interpreted step did not succeed.
#[derive(Debug)]
pub(crate) enum SessionError {
    /// The interpreter could not be started at all.
    Start { program: String, reason: String },
    /// It started and said it cannot run migrations (no driver, no connection).
    Unavailable {
        message: String,
        hint: Option<String>,
    },
    /// It ended (or closed its channel) without answering.
    Died {
        kind: &'static str,
        status: String,
        first_error: Option<String>,
    },
    /// It did not say it was ready in time.
    Silent { kind: &'static str, limit: Duration },
    /// It answered something migo did not ask for or cannot read.
    Protocol { kind: &'static str, problem: String },
    /// The migration itself failed.
    Migration {
        stage: Stage,
        message: String,
        frames: Vec<Frame>,
    },
    /// The run stopped while waiting; the interpreter is stopped.
    Halted(Reason),
}

impl SessionError {
    /// Whether the interpreter cannot be used again after this.
    fn ends_session(&self) -> bool {
        !matches!(self, SessionError::Migration { .. })
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Start { program, reason } => {
                write!(f, "cannot start `{program}`: {reason}")
            }
            SessionError::Unavailable { message, .. } => f.write_str(message),
            SessionError::Died {
                kind,
                status,
                first_error,
                ..
            } => {
                if let Some(line) = first_error {
                    write!(f, "{line} (")?;
                }
                write!(
                    f,
                    "the {kind} interpreter ended without answering: {status}"
                )?;
                if first_error.is_some() {
                    f.write_str(")")?;
                }
                Ok(())
            }
            SessionError::Silent { kind, limit } => write!(
                f,
                "the {kind} interpreter did not say it was ready within {}s",
                limit.as_secs()
            ),
            SessionError::Protocol { kind, problem } => {
                write!(f, "the {kind} interpreter broke migo's protocol: {problem}")
            }
            SessionError::Migration {
                stage,
                message,
                frames,
            } => {
                if *stage == Stage::Load {
                    f.write_str("loading it: ")?;
                }
                f.write_str(message.lines().next().unwrap_or_default())?;
                match frames.last() {
                    Some(frame) => write!(f, " (at {frame})"),
                    None => Ok(()),
                }
            }
            SessionError::Halted(reason) => f.write_str(&reason.describe()),
        }
    }
}

/// An answer on the channel.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Answer {
    Ready {
        runtime: String,
    },
    Unavailable {
        error: String,
        #[serde(default)]
        hint: Option<String>,
    },
    Result {
        id: u64,
        ok: bool,
        #[serde(default)]
        called: Option<String>,
        #[serde(default)]
        stage: Option<Stage>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        frames: Vec<Frame>,
    },
}

/// One of the interpreter's output streams: lines are shown as they complete.
#[derive(Debug)]
struct Output {
    file: File,
    pending: Vec<u8>,
    open: bool,
    is_stderr: bool,
}

/// A running interpreter.
pub(crate) struct Session {
    child: Child,
    channel: Channel,
    stdout: Output,
    stderr: Output,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    guard: Option<group::Guard>,
    kind: &'static str,
    next_id: u64,
    echo: bool,
    scrubber: Scrubber,
    /// Shown before each output line: the step's `  <name> | `.
    prefix: String,
    /// The first non-empty stderr line since the step began.
    first_error: Option<String>,
    /// What it said it runs (`python 3.11, pymongo 4.2`), for `-v`.
    runtime: String,
    /// A directory only this user can read, for the interpreter's scratch files
    /// (`MIGO_SCRATCH_DIR`: mongosh's wrapped migration); removed with the session.
    scratch: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({}, {})", self.kind, self.runtime)
    }
}

impl Session {
    /// Starts the interpreter of `spec` with the connection in its environment and waits until
    /// it is ready.
    pub(crate) fn start(spec: &Spec, env: &ChildEnv, halt: &Halt) -> Result<Session, SessionError> {
        let program = spec.program.display().to_string();
        let cannot = |reason: String| SessionError::Start {
            program: program.clone(),
            reason,
        };
        let mut channel = Channel::new().map_err(|e| cannot(format!("no channel: {e}")))?;
        let scratch = tempfile::Builder::new()
            .prefix("migo-session-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|e| cannot(format!("no scratch directory: {e}")))?;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(env.vars())
            .envs(spec.extra_env.iter().cloned())
            .env("MIGO_SCRATCH_DIR", scratch.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        group::prepare(&mut command, false, group::Tie::Kept);
        channel.attach(&mut command);
        tracing::debug!("starting the {} interpreter: {program}", spec.kind);
        let mut child = command.spawn().map_err(|e| cannot(e.to_string()))?;
        channel.spawned();
        let guard = env.children().guard(&child, false);
        let output = |fd: OwnedFd, is_stderr: bool| -> Output {
            let file = File::from(fd);
            let _ = channel::set_nonblocking(file.as_raw_fd());
            Output {
                file,
                pending: Vec::new(),
                open: true,
                is_stderr,
            }
        };
        let stdout = output(child.stdout.take().expect("piped stdout").into(), false);
        let stderr = output(child.stderr.take().expect("piped stderr").into(), true);
        let mut session = Session {
            child,
            channel,
            stdout,
            stderr,
            inbox: Vec::new(),
            outbox: Vec::new(),
            guard: Some(guard),
            kind: spec.kind,
            next_id: 0,
            echo: env.echo,
            scrubber: env.scrubber(),
            prefix: format!("{}  {} | ", env.line_prefix, spec.kind),
            first_error: None,
            runtime: String::new(),
            scratch: Some(scratch),
        };
        let limit = start_limit();
        let answer = session.wait(halt, Some(Instant::now() + limit));
        session.show_rest();
        match answer {
            Ok(Answer::Ready { runtime }) => {
                tracing::debug!("the {} interpreter is ready: {runtime}", spec.kind);
                session.runtime = runtime;
                Ok(session)
            }
            Ok(Answer::Unavailable { error, hint }) => Err(SessionError::Unavailable {
                message: session.scrubber.scrub(&error),
                hint,
            }),
            Ok(Answer::Result { .. }) => Err(SessionError::Protocol {
                kind: spec.kind,
                problem: "it answered a step before saying it was ready".into(),
            }),
            Err(Waited::Timeout) => Err(SessionError::Silent {
                kind: spec.kind,
                limit,
            }),
            Err(Waited::Failed(error)) => Err(error),
        }
    }

    /// Sends `request` and waits until the interpreter says how it went; output is prefixed
    /// with `prefix` meanwhile.
    pub(crate) fn step(
        &mut self,
        request: &Request,
        prefix: &str,
        halt: &Halt,
    ) -> Result<(), SessionError> {
        self.prefix = prefix.to_string();
        self.first_error = None;
        self.next_id += 1;
        let id = self.next_id;
        #[derive(Serialize)]
        struct Framed<'a> {
            id: u64,
            #[serde(flatten)]
            request: &'a Request,
        }
        let body =
            serde_json::to_vec(&Framed { id, request }).map_err(|e| SessionError::Protocol {
                kind: self.kind,
                problem: format!("the request cannot be encoded: {e}"),
            })?;
        self.outbox = channel::frame(&body);
        let answer = self.wait(halt, None);
        self.show_rest();
        let answer = match answer {
            Ok(answer) => answer,
            Err(Waited::Failed(error)) => return Err(error),
            // A step has no time limit: a migration may take hours.
            Err(Waited::Timeout) => {
                return Err(SessionError::Protocol {
                    kind: self.kind,
                    problem: "a step timed out, which it cannot".into(),
                })
            }
        };
        match answer {
            Answer::Result {
                id: answered,
                ok,
                called,
                stage,
                error,
                frames,
            } if answered == id => {
                if ok && called.as_deref() == Some(request.direction) {
                    return Ok(());
                }
                if ok {
                    return Err(SessionError::Protocol {
                        kind: self.kind,
                        problem: format!(
                            "it answered success without saying it called `{}`",
                            request.direction
                        ),
                    });
                }
                for frame in &frames {
                    tracing::debug!("{}: at {frame}", request.name);
                }
                Err(SessionError::Migration {
                    stage: stage.unwrap_or(Stage::Call),
                    message: self.scrubber.scrub(
                        error
                            .as_deref()
                            .unwrap_or("the migration failed without saying why"),
                    ),
                    frames,
                })
            }
            Answer::Result { id: answered, .. } => Err(SessionError::Protocol {
                kind: self.kind,
                problem: format!("it answered request {answered} while migo waited for {id}"),
            }),
            Answer::Ready { .. } | Answer::Unavailable { .. } => Err(SessionError::Protocol {
                kind: self.kind,
                problem: "it answered a step with a start-up message".into(),
            }),
        }
    }

    /// Waits for the next answer, sending the outbox and showing output meanwhile.
    fn wait(&mut self, halt: &Halt, deadline: Option<Instant>) -> Result<Answer, Waited> {
        let mut signalled: Option<Instant> = None;
        let mut answers_open = true;
        loop {
            match channel::next_frame(&mut self.inbox) {
                Ok(Some(body)) => {
                    return serde_json::from_slice(&body).map_err(|e| {
                        Waited::Failed(self.broken(format!("an answer migo cannot read: {e}")))
                    });
                }
                Ok(None) if !answers_open => return Err(Waited::Failed(self.died())),
                Ok(None) => {}
                Err(problem) => return Err(Waited::Failed(self.broken(problem))),
            }
            match halt.reason() {
                Some(reason @ Reason::LostLock(_)) => {
                    self.stop();
                    return Err(Waited::Failed(SessionError::Halted(reason)));
                }
                Some(reason @ Reason::Signal(_)) => {
                    let since = *signalled.get_or_insert_with(Instant::now);
                    if since.elapsed() > AFTER_SIGNAL {
                        self.stop();
                        return Err(Waited::Failed(SessionError::Halted(reason)));
                    }
                }
                None => {}
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(Waited::Timeout);
            }
            let mut watched = vec![(self.channel.answers.as_raw_fd(), false)];
            let mut outputs = Vec::new();
            for (n, output) in [&self.stdout, &self.stderr].into_iter().enumerate() {
                if output.open {
                    watched.push((output.file.as_raw_fd(), false));
                    outputs.push(n);
                }
            }
            let requests = self.channel.requests.as_ref().map(AsRawFd::as_raw_fd);
            if let (false, Some(fd)) = (self.outbox.is_empty(), requests) {
                watched.push((fd, true));
            }
            let ready = channel::poll(&watched, TICK)
                .map_err(|e| Waited::Failed(self.broken(format!("poll: {e}"))))?;
            if ready[0].readable {
                match channel::read_available(&mut self.channel.answers, &mut self.inbox) {
                    Ok(true) => {}
                    // The end: an answer it sent last is read on the next turn, else it died.
                    Ok(false) | Err(_) => answers_open = false,
                }
            }
            for (slot, n) in outputs.iter().enumerate() {
                if ready[1 + slot].readable {
                    self.read_output(*n);
                }
            }
            let writable =
                watched.len() > 1 + outputs.len() && ready.last().is_some_and(|r| r.writable);
            if let (true, Some(requests)) = (writable, self.channel.requests.as_mut()) {
                if let Err(e) = channel::write_available(requests, &mut self.outbox) {
                    tracing::debug!("the {} interpreter's request pipe: {e}", self.kind);
                    return Err(Waited::Failed(self.died()));
                }
            }
        }
    }

    /// Reads and shows what output `n` (0: stdout, 1: stderr) has now.
    fn read_output(&mut self, n: usize) {
        let output = if n == 0 {
            &mut self.stdout
        } else {
            &mut self.stderr
        };
        match channel::read_available(&mut output.file, &mut output.pending) {
            Ok(true) => {}
            Ok(false) | Err(_) => output.open = false,
        }
        let is_stderr = output.is_stderr;
        while let Some(end) = output.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = output.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            let text = text.strip_suffix('\r').unwrap_or(&text).to_string();
            Self::show(
                self.echo,
                &self.prefix,
                &self.scrubber,
                &mut self.first_error,
                is_stderr,
                &text,
            );
        }
    }

    /// Shows everything the interpreter printed before its answer, including a last line
    /// without its newline.
    fn show_rest(&mut self) {
        for n in 0..2 {
            self.read_output(n);
            let output = if n == 0 {
                &mut self.stdout
            } else {
                &mut self.stderr
            };
            if output.pending.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(&output.pending).into_owned();
            output.pending.clear();
            let is_stderr = output.is_stderr;
            Self::show(
                self.echo,
                &self.prefix,
                &self.scrubber,
                &mut self.first_error,
                is_stderr,
                &text,
            );
        }
    }

    fn show(
        echo: bool,
        prefix: &str,
        scrubber: &Scrubber,
        first_error: &mut Option<String>,
        is_stderr: bool,
        line: &str,
    ) {
        let line = scrubber.scrub(line);
        if echo {
            let _ = writeln!(std::io::stderr().lock(), "{prefix}{line}");
        }
        if is_stderr && first_error.is_none() && !line.trim().is_empty() {
            *first_error = Some(line.trim().to_string());
        }
    }

    /// The error for an interpreter that ended, or closed its channel, without answering.
    fn died(&mut self) -> SessionError {
        // Its output, up to its end, says why.
        let deadline = Instant::now() + Duration::from_secs(2);
        while (self.stdout.open || self.stderr.open) && Instant::now() < deadline {
            let watched: Vec<(i32, bool)> = [&self.stdout, &self.stderr]
                .iter()
                .filter(|o| o.open)
                .map(|o| (o.file.as_raw_fd(), false))
                .collect();
            let _ = channel::poll(&watched, TICK);
            self.read_output(0);
            self.read_output(1);
        }
        self.show_rest();
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(exit)) = self.child.try_wait() {
                status = Some(exit);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = match status {
            Some(exit) => super::describe(exit).map_or_else(|| "exit status 0".into(), |d| d.0),
            None => {
                self.stop();
                "it closed migo's channel and was stopped".into()
            }
        };
        SessionError::Died {
            kind: self.kind,
            status,
            first_error: self.first_error.clone(),
        }
    }

    /// A protocol error; the interpreter is stopped.
    fn broken(&mut self, problem: String) -> SessionError {
        self.stop();
        SessionError::Protocol {
            kind: self.kind,
            problem,
        }
    }

    /// Whether the interpreter still runs (it may have ended between steps: a crash of a
    /// promise a migration left behind, say).
    fn is_alive(&mut self) -> bool {
        self.guard.is_some() && matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the interpreter and what it started.
    fn stop(&mut self) {
        let _ = self.child.kill();
        if let Some(guard) = self.guard.take() {
            guard.wait_exit(&self.child);
            guard.finish();
        }
        let _ = self.child.wait();
    }
}

/// How a wait ended without an answer.
enum Waited {
    Timeout,
    Failed(SessionError),
}

impl Drop for Session {
    fn drop(&mut self) {
        // Nothing is left to flush: the interpreter and its group are killed (an interpreter's
        // own exit takes longer, mongosh's hundreds of milliseconds), then its scratch files go.
        self.stop();
        drop(self.scratch.take());
    }
}

/// One kind's interpreter: none until started, none again after it died.
type Slot = Arc<Mutex<Option<Session>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sessions of one run, by interpreter kind: started on first use (or before the first
/// step, by [`start`]), dropped with the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sessions(Arc<Mutex<HashMap<&'static str, Slot>>>);

impl Sessions {
    fn slot(&self, kind: &'static str) -> Slot {
        lock(&self.0).entry(kind).or_default().clone()
    }
}

/// Starts the interpreter of `spec` unless it runs already; on a blocking thread.
pub(crate) async fn start(spec: Spec, env: &ChildEnv, halt: &Halt) -> Result<(), SessionError> {
    let slot = env.sessions().slot(spec.kind);
    let (env, halt) = (env.clone(), halt.clone());
    tokio::task::spawn_blocking(move || {
        let mut session = lock(&slot);
        if session.is_none() {
            *session = Some(Session::start(&spec, &env, &halt)?);
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| Err(stopped(&e)))
}

/// Runs one step in the interpreter of `spec`, starting it when there is none; on a blocking
/// thread, so that the interpreter cannot stall migo's runtime.
pub(crate) async fn run_step(
    spec: Spec,
    request: Request,
    prefix: String,
    env: &ChildEnv,
    halt: &Halt,
) -> Result<(), SessionError> {
    let slot = env.sessions().slot(spec.kind);
    let (env, halt) = (env.clone(), halt.clone());
    tokio::task::spawn_blocking(move || {
        let mut session = lock(&slot);
        if session.as_mut().is_some_and(|s| !s.is_alive()) {
            // It ended between steps (nothing was sent to it): a new one runs this step.
            if let Some(ended) = session.as_mut() {
                ended.show_rest();
            }
            tracing::warn!(
                "the {} interpreter ended between migrations; starting a new one",
                spec.kind
            );
            *session = None;
        }
        if session.is_none() {
            *session = Some(Session::start(&spec, &env, &halt)?);
        }
        let result = session
            .as_mut()
            .expect("started")
            .step(&request, &prefix, &halt);
        if result.as_ref().is_err_and(SessionError::ends_session) {
            *session = None; // never reused after it died
        }
        result
    })
    .await
    .unwrap_or_else(|e| Err(stopped(&e)))
}

fn stopped(e: &tokio::task::JoinError) -> SessionError {
    SessionError::Start {
        program: "the interpreter runner".into(),
        reason: e.to_string(),
    }
}
