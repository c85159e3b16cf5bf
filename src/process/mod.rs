//! Running a migration as a child process (mongosh, an executable script): the connection in
//! `MIGO_*` variables, never in argv; output streamed to stderr, each line prefixed with the
//! migration's name; a non-zero exit is a failure carrying the script's own first error line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The connection as `MIGO_*` variables for child processes, and whether to echo their output.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildEnv {
    vars: Vec<(String, String)>,
    /// Echo the child's output to stderr (off with `--quiet`).
    pub(crate) echo: bool,
}

impl ChildEnv {
    /// Variables for every child process: `MIGO_URI`, `MIGO_DATABASE`, ….
    pub(crate) fn new(vars: Vec<(&str, String)>, echo: bool) -> ChildEnv {
        ChildEnv {
            vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            echo,
        }
    }

    /// The same connection aimed at `database` (`MIGO_DATABASE`), for `migo test`'s scratch copy.
    pub(crate) fn for_database(&self, database: &str) -> ChildEnv {
        let mut env = self.clone();
        env.vars.retain(|(k, _)| k != "MIGO_DATABASE");
        env.vars.push(("MIGO_DATABASE".into(), database.into()));
        env
    }
}

/// One child process to run.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    /// Variables added to the connection's, e.g. `MIGO_DIRECTION`.
    pub(crate) extra_env: Vec<(String, String)>,
    /// Printed before each output line.
    pub(crate) prefix: String,
}

/// Runs `child` to completion on a blocking thread, so the lock's renewal keeps running.
pub(crate) async fn run(child: Child, env: &ChildEnv) -> Result<(), String> {
    let env = env.clone();
    tokio::task::spawn_blocking(move || run_blocking(&child, &env))
        .await
        .map_err(|e| format!("the process runner stopped: {e}"))?
}

fn run_blocking(child: &Child, env: &ChildEnv) -> Result<(), String> {
    let program = child.program.display().to_string();
    tracing::debug!("running {program} {}", child.args.join(" "));
    let mut process = Command::new(&child.program)
        .args(&child.args)
        .envs(
            env.vars
                .iter()
                .cloned()
                .chain(child.extra_env.iter().cloned()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let stdout = process.stdout.take().expect("piped stdout");
    let stderr = process.stderr.take().expect("piped stderr");
    let (echo, prefix) = (env.echo, child.prefix.clone());
    let out_thread = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if echo {
                eprintln!("{prefix}{line}");
            }
        }
    });
    let mut first_error = None;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if env.echo {
            eprintln!("{}{line}", child.prefix);
        }
        if first_error.is_none() && !line.trim().is_empty() {
            first_error = Some(line.trim().to_string());
        }
    }
    let _ = out_thread.join();
    let status = process
        .wait()
        .map_err(|e| format!("cannot wait for `{program}`: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let status = status.code().map_or_else(
        || "killed by a signal".to_string(),
        |c| format!("exit status {c}"),
    );
    Err(match first_error {
        Some(line) => format!("{line} ({status})"),
        None => status,
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

    #[test]
    fn a_failure_carries_the_first_error_line() {
        let child = Child {
            program: "sh".into(),
            args: vec!["-c".into(), "echo out; echo 'boom: bad' >&2; exit 3".into()],
            extra_env: Vec::new(),
            prefix: String::new(),
        };
        let env = ChildEnv::new(vec![("MIGO_DATABASE", "x".into())], false);
        assert_eq!(
            run_blocking(&child, &env),
            Err("boom: bad (exit status 3)".into())
        );
    }
}
