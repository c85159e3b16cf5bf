//! Executable script migrations (any extension the pattern accepts besides `.json` and `.js`):
//! run as `<file> up|down`, or through the interpreter configured for the extension, with the
//! connection in `MIGO_*` variables.

use std::path::PathBuf;

use crate::config::Runners;
use crate::error::{Error, Result};
use crate::migration::failure::StepError;
use crate::migration::source::Source;
use crate::migration::Direction;
use crate::process::{self, Child, ChildEnv};

/// A validated script migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptMigration {
    pub(crate) name: String,
    /// The program and leading arguments: the file itself, or an interpreter and the file.
    pub(crate) command: Vec<String>,
    /// Collections a `# migo: collections a, b` header names, for `migo test`.
    pub(crate) collections: Vec<String>,
}

impl ScriptMigration {
    /// Checks the script can run: an interpreter for its extension, or an execute bit.
    pub(crate) fn load(file: &Source, text: &str, runners: &Runners) -> Result<ScriptMigration> {
        let path = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
        let path_text = path.display().to_string();
        let extension = file.extension();
        let invalid = |message: String, hint: String| Error::InvalidMigration {
            file: crate::ui::escape::escape(&file.file_name),
            message,
            hint: Some(hint),
        };
        let command = match runners.interpreters.get(extension) {
            Some(interpreter) => {
                let program = PathBuf::from(&interpreter[0]);
                if process::find_program(&program).is_none() {
                    return Err(invalid(
                        format!("its interpreter `{}` was not found", interpreter[0]),
                        format!("install it, or fix `[migrations.interpreters] {extension}`"),
                    ));
                }
                interpreter.iter().cloned().chain([path_text]).collect()
            }
            None if process::is_executable(&path) => vec![path_text],
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
            command,
            collections: super::interpreted::collections_header(text),
        })
    }

    /// For `--dry-run`: the command line, as it will run.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        vec![format!(
            "run: {} {}",
            self.command.join(" "),
            direction.as_str()
        )]
    }

    /// Runs `<command> up|down`.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        env: &ChildEnv,
    ) -> std::result::Result<(), StepError> {
        let (program, args) = self.command.split_first().expect("a command");
        let args = args
            .iter()
            .cloned()
            .chain([direction.as_str().to_string()])
            .collect();
        let mut child = Child::new(PathBuf::from(program), args, format!("  {} | ", self.name));
        child.extra_env = vec![
            ("MIGO_MIGRATION".into(), self.name.clone()),
            ("MIGO_DIRECTION".into(), direction.as_str().into()),
        ];
        process::run(child, env).await.map_err(StepError::from)
    }
}
