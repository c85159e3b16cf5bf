//! Child processes (script and mongosh migrations, interpreters, tasks, mongodump): started with
//! the connection in their environment ([`env`]), in a process group that dies with migo
//! ([`group`]), their output streamed to stderr as it comes (each line prefixed, secrets
//! scrubbed), and a failure reported with the child's own first error line.

pub(crate) mod channel;
pub(crate) mod env;
pub(crate) mod group;
pub(crate) mod session;

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

pub(crate) use env::ChildEnv;

use crate::ground::secret::Scrubber;
use crate::ground::signal::signal_name;

/// One child process to run.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    /// Variables added to the connection's, e.g. `MIGO_DIRECTION`.
    pub(crate) extra_env: Vec<(String, String)>,
    /// Variables removed from the child's environment.
    pub(crate) remove_env: Vec<String>,
    /// Printed before each output line.
    pub(crate) prefix: String,
    /// Where its stdout goes: migo's stdout (tasks), or stderr like everything else.
    pub(crate) stdout_to_stdout: bool,
    /// Give it migo's stdin (a task on a terminal may ask questions).
    pub(crate) interactive: bool,
}

impl Child {
    /// `program` with `args`, output to stderr prefixed with `prefix`, no stdin.
    pub(crate) fn new(program: impl Into<PathBuf>, args: Vec<String>, prefix: String) -> Child {
        Child {
            program: program.into(),
            args,
            extra_env: Vec::new(),
            remove_env: Vec::new(),
            prefix,
            stdout_to_stdout: false,
            interactive: false,
        }
    }
}

/// Why a child failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `exit status 3`, `killed by SIGTERM`, or why it could not start.
    pub(crate) status: String,
    /// The first non-empty line it wrote to stderr, secrets scrubbed.
    pub(crate) first_error: Option<String>,
    /// It was killed by a signal (128 + N as a shell would say).
    pub(crate) signal: Option<i32>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.first_error {
            Some(line) => write!(f, "{line} ({})", self.status),
            None => f.write_str(&self.status),
        }
    }
}

/// Runs `child` to completion on a blocking thread, so that nothing it does can stall migo's
/// runtime (the lock's renewal, signal handling).
pub(crate) async fn run(child: Child, env: &ChildEnv) -> Result<(), Failure> {
    let env = env.clone();
    tokio::task::spawn_blocking(move || run_blocking(&child, &env))
        .await
        .unwrap_or_else(|e| Err(failure(format!("the process runner stopped: {e}"))))
}

fn failure(status: String) -> Failure {
    Failure {
        status,
        first_error: None,
        signal: None,
    }
}

/// How long the output of a child that has exited may still drain (from a descendant that left
/// its group and kept the pipe) before migo stops reading it.
const DRAIN: Duration = Duration::from_secs(1);

/// Runs `child` here, streaming its output. The run ends when the child exits: then whatever it
/// left in its group (a background job that still holds its stdout, say) is killed, and the
/// output is read to its end, or for at most [`DRAIN`] more.
pub(crate) fn run_blocking(child: &Child, env: &ChildEnv) -> Result<(), Failure> {
    let program = child.program.display().to_string();
    tracing::debug!("running {program} {}", child.args.join(" "));
    let mut command = Command::new(&child.program);
    command
        .args(&child.args)
        .envs(env.vars())
        .envs(child.extra_env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in &child.remove_env {
        command.env_remove(var);
    }
    let share_terminal = child.interactive && std::io::stdin().is_terminal();
    command.stdin(if child.interactive {
        Stdio::inherit()
    } else {
        Stdio::null()
    });
    group::prepare(&mut command, share_terminal, group::Tie::Waited);
    let mut process = command
        .spawn()
        .map_err(|e| failure(format!("cannot start `{program}`: {e}")))?;
    let guard = env.children().guard(&process, share_terminal);
    let scrubber = env.scrubber();
    let stdout = process.stdout.take().expect("piped stdout");
    let stderr = process.stderr.take().expect("piped stderr");
    let prefix = format!("{}{}", env.line_prefix, child.prefix);
    let (echo, to_stdout) = (env.echo, child.stdout_to_stdout);
    let (done, drained) = std::sync::mpsc::channel::<Option<String>>();
    {
        let (prefix, scrubber, done) = (prefix.clone(), scrubber.clone(), done.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let line = scrubber.scrub(&line);
                match (to_stdout, echo) {
                    (true, _) => show(&mut std::io::stdout(), &prefix, &line),
                    (false, true) => show(&mut std::io::stderr(), &prefix, &line),
                    (false, false) => {}
                }
            }
            let _ = done.send(None);
        });
    }
    std::thread::spawn(move || {
        let first_error = stream_stderr(stderr, echo, &prefix, &scrubber);
        let _ = done.send(Some(first_error.unwrap_or_default()));
    });
    guard.wait_exit(&process);
    guard.finish();
    let status = process
        .wait()
        .map_err(|e| failure(format!("cannot wait for `{program}`: {e}")))?;
    let mut first_error = None;
    let deadline = std::time::Instant::now() + DRAIN;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match drained.recv_timeout(left) {
            Ok(Some(line)) => first_error = Some(line).filter(|l| !l.is_empty()),
            Ok(None) => {}
            Err(_) => break,
        }
    }
    match describe(status) {
        None => Ok(()),
        Some((status, signal)) => Err(Failure {
            status,
            first_error,
            signal,
        }),
    }
}

/// Writes one line of a child's output; a closed stream (`| head`, a dropped SSH channel) is
/// not an error, and never a panic.
pub(crate) fn show(stream: &mut dyn Write, prefix: &str, line: &str) {
    let _ = writeln!(stream, "{prefix}{line}");
}

/// Echoes stderr as it comes and returns its first non-empty line.
fn stream_stderr(
    stderr: std::process::ChildStderr,
    echo: bool,
    prefix: &str,
    scrubber: &Scrubber,
) -> Option<String> {
    let mut first_error = None;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let line = scrubber.scrub(&line);
        if echo {
            show(&mut std::io::stderr(), prefix, &line);
        }
        if first_error.is_none() && !line.trim().is_empty() {
            first_error = Some(line.trim().to_string());
        }
    }
    first_error
}

/// `None` for success, else the status in words and the signal, if one killed it.
fn describe(status: ExitStatus) -> Option<(String, Option<i32>)> {
    if status.success() {
        return None;
    }
    Some(match (status.code(), status.signal()) {
        (Some(code), _) => (format!("exit status {code}"), None),
        (None, Some(signal)) => (format!("killed by {}", signal_name(signal)), Some(signal)),
        (None, None) => ("ended abnormally".to_string(), None),
    })
}

/// Where `program` would be run from: itself when it names a path, else the first match on PATH.
pub(crate) fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// A file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert!(find_program(Path::new("sh")).is_some());
        assert!(find_program(Path::new("/bin/sh")).is_some());
        assert!(find_program(Path::new("no-such-program-migo")).is_none());
    }
}
