//! `.js` migrations: mongosh scripts defining `up()` and `down()`.
//!
//! mongosh starts with `--nodb` and a fixed bootstrap (`--eval`) that connects from `MIGO_URI`,
//! selects `MIGO_DATABASE` as `db`, loads the file and calls the function `MIGO_DIRECTION` names.
//! So the connection string, with its password, never appears in mongosh's argv.

use std::path::PathBuf;

use regex::Regex;

use crate::error::{Error, Result};
use crate::migration::failure::StepError;
use crate::migration::source::Source;
use crate::migration::Direction;
use crate::process::{self, Child, ChildEnv};

/// The bootstrap mongosh evaluates; it holds no secret.
const BOOTSTRAP: &str = r#"db = connect(process.env.MIGO_URI).getSiblingDB(process.env.MIGO_DATABASE);
load(process.env.MIGO_MIGRATION_PATH);
const migoStep = process.env.MIGO_DIRECTION === "down"
  ? (typeof down === "function" ? down : undefined)
  : (typeof up === "function" ? up : undefined);
if (migoStep === undefined) {
  throw new Error(process.env.MIGO_MIGRATION + " defines no " + process.env.MIGO_DIRECTION + "() function");
}
migoStep();"#;

/// A validated `.js` migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MongoshMigration {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) mongosh: PathBuf,
    pub(crate) description: Option<String>,
    pub(crate) reversible: bool,
}

impl MongoshMigration {
    /// Checks the file defines `up` and that mongosh can be found, before anything runs.
    pub(crate) fn load(file: &Source, mongosh: &std::path::Path) -> Result<MongoshMigration> {
        let invalid = |message: String, hint: &str| Error::InvalidMigration {
            file: crate::ui::escape::escape(&file.file_name),
            message,
            hint: Some(hint.to_string()),
        };
        let text = std::fs::read_to_string(&file.path).map_err(|e| Error::Io {
            context: "cannot read migration",
            path: file.path.clone(),
            source: e,
        })?;
        if !defines(&text, "up") {
            return Err(invalid(
                "it defines no `up()` function".into(),
                "a .js migration defines `function up() { … }` and `function down() { … }`",
            ));
        }
        let found = process::find_program(mongosh).ok_or_else(|| {
            invalid(
                format!(
                    "it needs mongosh, and `{}` was not found",
                    mongosh.display()
                ),
                "install it (`npm install -g mongosh`), or point `[migrations] mongosh` / \
                 MIGO_MONGOSH at it",
            )
        })?;
        let path = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
        Ok(MongoshMigration {
            name: file.name.clone(),
            path,
            mongosh: found,
            description: first_comment(&text),
            reversible: defines(&text, "down"),
        })
    }

    /// For `--dry-run`.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        vec![format!(
            "mongosh: {}() of {}",
            direction.as_str(),
            self.path.display()
        )]
    }

    /// Runs `up()` or `down()` with mongosh.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        env: &ChildEnv,
    ) -> std::result::Result<(), StepError> {
        let mut child = Child::new(
            self.mongosh.clone(),
            ["--nodb", "--quiet", "--norc", "--eval", BOOTSTRAP]
                .map(String::from)
                .to_vec(),
            format!("  {} | ", self.name),
        );
        child.extra_env = vec![
            ("MIGO_MIGRATION".into(), self.name.clone()),
            (
                "MIGO_MIGRATION_PATH".into(),
                self.path.display().to_string(),
            ),
            ("MIGO_DIRECTION".into(), direction.as_str().into()),
        ];
        process::run(child, env).await.map_err(StepError::from)
    }
}

/// Whether the script defines a function `name` (`function up(`, `up = …`, `const up = …`).
fn defines(text: &str, name: &str) -> bool {
    Regex::new(&format!(r"(function\s+{name}\s*\(|\b{name}\s*=)"))
        .expect("valid regex")
        .is_match(text)
}

/// The first `// comment` line, as the description.
fn first_comment(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim();
    line.strip_prefix("//").map(|c| c.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_function_definitions() {
        assert!(defines("function up() {}", "up"));
        assert!(defines("const down = () => 1", "down"));
        assert!(!defines("function upgrade() {}", "up"));
        assert!(!defines("// no down here\nfunction up() {}", "down"));
    }
}
