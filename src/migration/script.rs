//! Executable script migrations (any extension the pattern accepts besides `.json`, and `.js` /
//! `.py` files that are programs rather than modules): run as `<file> up|down`, or through the
//! interpreter configured for the extension, with the connection in `MIGO_*` variables.
//!
//! What runs is a private copy of exactly the bytes migo hashed (a file in a directory only this
//! user can read, made when the step starts), not the file as it may be by then. A `#!` line is
//! honoured as the kernel would (`<interpreter> [argument] <copy> up`), so the copy needs no
//! execute permission; the original's path is `MIGO_MIGRATION_FILE`, its directory
//! `MIGO_MIGRATION_DIR` (for a script that reads files beside it).

use std::path::{Path, PathBuf};

use crate::config::Runners;
use crate::error::{Error, Result};
use crate::ground::escape::escape;
use crate::ground::source::{Content, Source};
use crate::ground::Direction;
use crate::migration::failure::StepError;
use crate::process::{self, Child, ChildEnv};

/// A validated script migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptMigration {
    pub(crate) name: String,
    pub(crate) file_name: String,
    /// The original file (absolute), shown in `--dry-run` and given as `MIGO_MIGRATION_FILE`.
    pub(crate) path: PathBuf,
    /// The bytes discovery read and hashed: what runs.
    pub(crate) content: Content,
    /// The interpreter configured for the extension (found) and its leading arguments; none
    /// for a script that runs itself.
    pub(crate) interpreter: Option<Vec<String>>,
    /// Collections a `# migo: collections a, b` header names, for `migo test`.
    pub(crate) collections: Vec<String>,
}

impl ScriptMigration {
    /// Checks the script can run: an interpreter for its extension, or an execute bit.
    pub(crate) fn load(file: &Source, runners: &Runners) -> Result<ScriptMigration> {
        let path = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
        let extension = file.extension();
        let invalid = |message: String, hint: String| Error::InvalidMigration {
            file: escape(&file.file_name),
            message,
            hint: Some(hint),
        };
        let interpreter = match runners.interpreters.get(extension) {
            Some(interpreter) => {
                let Some(program) = process::find_program(Path::new(&interpreter[0])) else {
                    return Err(Error::Interpreter {
                        file: escape(&file.file_name),
                        message: format!("its interpreter `{}` was not found", interpreter[0]),
                        hint: Some(format!(
                            "install it, or fix `[migrations.interpreters] {extension}`"
                        )),
                    });
                };
                let mut command = interpreter.clone();
                command[0] = program.display().to_string();
                Some(command)
            }
            None if process::is_executable(&path) => None,
            None => {
                return Err(invalid(
                    format!("it is not executable and no interpreter is configured for `.{extension}`"),
                    format!(
                        "`chmod +x {}`, or set `[migrations.interpreters] {extension} = \"…\"` in migo.toml",
                        file.path.display()
                    ),
                ))
            }
        };
        Ok(ScriptMigration {
            name: file.name.clone(),
            file_name: file.file_name.clone(),
            path,
            content: file.content.clone(),
            interpreter,
            collections: super::interpreted::collections_header(file.text()),
        })
    }

    /// For `--dry-run`: the command line, as it will run (with the original's path).
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        let mut words = self.interpreter.clone().unwrap_or_default();
        words.push(self.path.display().to_string());
        words.push(direction.as_str().into());
        vec![format!("run: {}", words.join(" "))]
    }

    /// Runs `<command> <copy> up|down` from a private copy of the hashed bytes.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        env: &ChildEnv,
    ) -> std::result::Result<(), StepError> {
        let cannot = |e: std::io::Error| {
            StepError::Setup(format!(
                "cannot make the private copy of `{}` to run: {e}",
                self.file_name
            ))
        };
        let private = tempfile::Builder::new()
            .prefix("migo-script-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(cannot)?;
        let copy = private.path().join(&self.file_name);
        write_private(&copy, self.content.bytes()).map_err(cannot)?;
        let copy_text = copy.display().to_string();
        let mut words = match &self.interpreter {
            Some(interpreter) => interpreter.clone(),
            None => shebang(self.content.bytes()).unwrap_or_default(),
        };
        words.push(copy_text);
        words.push(direction.as_str().into());
        let (program, args) = words.split_first().expect("a command");
        let mut child = Child::new(
            PathBuf::from(program),
            args.to_vec(),
            format!("  {} | ", self.name),
        );
        let directory = self.path.parent().unwrap_or(Path::new("/"));
        child.extra_env = vec![
            ("MIGO_MIGRATION".into(), self.name.clone()),
            ("MIGO_DIRECTION".into(), direction.as_str().into()),
            (
                "MIGO_MIGRATION_FILE".into(),
                self.path.display().to_string(),
            ),
            ("MIGO_MIGRATION_DIR".into(), directory.display().to_string()),
        ];
        let result = process::run(child, env).await.map_err(StepError::from);
        drop(private);
        result
    }
}

/// Writes `bytes` to a new file at `path` that only its owner may read, write and run.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The interpreter and its one argument of a `#!` line, split as the kernel does; `None` for a
/// file without one (a binary, run itself).
fn shebang(bytes: &[u8]) -> Option<Vec<String>> {
    let line = bytes.strip_prefix(b"#!")?;
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = String::from_utf8_lossy(&line[..end]);
    let line = line.trim();
    let (program, argument) = match line.split_once([' ', '\t']) {
        Some((program, argument)) => (program, Some(argument.trim())),
        None => (line, None),
    };
    if program.is_empty() {
        return None;
    }
    let mut words = vec![program.to_string()];
    words.extend(argument.filter(|a| !a.is_empty()).map(String::from));
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines_split_as_the_kernel_splits_them() {
        assert_eq!(shebang(b"#!/bin/sh\necho"), Some(vec!["/bin/sh".into()]));
        assert_eq!(
            shebang(b"#! /usr/bin/env python3 -u\n"),
            Some(vec!["/usr/bin/env".into(), "python3 -u".into()])
        );
        assert_eq!(shebang(b"\x7fELF"), None);
    }
}
