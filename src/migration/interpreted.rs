//! Migrations run by an interpreter migo keeps alive for the whole run ([`Session`]): mongosh
//! scripts (`function up()`, a global `db`), migrate-mongo's CommonJS modules under Node
//! (`module.exports = { up(db, client), … }`), and migopy's Python modules (`up(db)` with a
//! pymongo `Database`). Each file is checked before anything runs: it defines `up`, and its
//! interpreter (with pymongo, for Python) is there.
//!
//! Which kind a `.js` file is: CommonJS when it assigns `module.exports` or `exports.up`
//! (unless `[migrations] js` forces `mongosh` or `node`), mongosh otherwise.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::json;

use crate::config::{JsRunner, Runners};
use crate::error::{Error, Result};
use crate::migration::failure::StepError;
use crate::migration::source::Source;
use crate::migration::Direction;
use crate::process::session::{self, Session};
use crate::process::{self, ChildEnv};

/// The interpreters migo drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Mongosh,
    Node,
    Python,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Mongosh => "mongosh",
            Kind::Node => "node",
            Kind::Python => "python",
        }
    }

    fn bootstrap(self) -> &'static str {
        match self {
            Kind::Mongosh => include_str!("bootstrap/mongosh.js"),
            Kind::Node => include_str!("bootstrap/node.js"),
            Kind::Python => include_str!("bootstrap/python.py"),
        }
    }

    /// The interpreter's arguments: the bootstrap, never the connection.
    fn arguments(self) -> Vec<String> {
        let script = self.bootstrap().to_string();
        match self {
            Kind::Mongosh => vec![
                "--nodb".into(),
                "--quiet".into(),
                "--norc".into(),
                "--eval".into(),
                script,
            ],
            Kind::Node => vec!["-e".into(), script],
            Kind::Python => vec!["-u".into(), "-c".into(), script],
        }
    }
}

/// A validated interpreted migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interpreted {
    pub(crate) kind: Kind,
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) program: PathBuf,
    pub(crate) description: Option<String>,
    pub(crate) reversible: bool,
    /// Collections a `migo: collections a, b` header names, for `migo test`.
    pub(crate) collections: Vec<String>,
}

impl Interpreted {
    /// The kind of `file`, when an interpreter of migo's runs it (`None`: a plain script).
    pub(crate) fn kind_of(file: &Source, text: &str, runners: &Runners) -> Option<Kind> {
        match file.extension() {
            "js" => Some(match runners.js {
                JsRunner::Mongosh => Kind::Mongosh,
                JsRunner::Node => Kind::Node,
                JsRunner::Auto if is_commonjs(text) => Kind::Node,
                JsRunner::Auto => Kind::Mongosh,
            }),
            "py" if !runners.interpreters.contains_key("py") && !is_script(file, text) => {
                Some(Kind::Python)
            }
            _ => None,
        }
    }

    /// Checks the file and its interpreter before anything runs.
    pub(crate) fn load(
        file: &Source,
        text: &str,
        kind: Kind,
        runners: &Runners,
    ) -> Result<Interpreted> {
        let invalid = |message: String, hint: &str| Error::InvalidMigration {
            file: crate::ui::escape::escape(&file.file_name),
            message,
            hint: Some(hint.to_string()),
        };
        let (defines_up, defines_down, shape) = match kind {
            Kind::Mongosh => (
                defines_js(text, "up"),
                defines_js(text, "down"),
                "a mongosh migration defines `function up() { … }` and `function down() { … }`",
            ),
            Kind::Node => (
                exports(text, "up"),
                exports(text, "down"),
                "a CommonJS migration is `module.exports = { async up(db, client) { … }, async down(db, client) { … } }`",
            ),
            Kind::Python => (
                defines_py(text, "up"),
                defines_py(text, "down"),
                "a Python migration defines `def up(db):` (and `def down(db):`), given a pymongo Database",
            ),
        };
        if !defines_up {
            return Err(invalid(
                format!("it defines no `up` ({})", kind.name()),
                shape,
            ));
        }
        let wanted = match kind {
            Kind::Mongosh => &runners.mongosh,
            Kind::Node => &runners.node,
            Kind::Python => &runners.python,
        };
        let program = process::find_program(wanted).ok_or_else(|| {
            invalid(
                format!("it needs {}, and `{}` was not found", kind.name(), wanted.display()),
                match kind {
                    Kind::Mongosh => "install it (`npm install -g mongosh`), or point `[migrations] mongosh` / MIGO_MONGOSH at it",
                    Kind::Node => "install Node.js, or point `[migrations] node` at it",
                    Kind::Python => "install Python 3, or point `[migrations] python` at it",
                },
            )
        })?;
        if kind == Kind::Python {
            check_pymongo(&program).map_err(|message| {
                invalid(
                    message,
                    "install it for that interpreter (`python3 -m pip install pymongo`), or point `[migrations] python` at one that has it",
                )
            })?;
        }
        let path = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
        Ok(Interpreted {
            kind,
            name: file.name.clone(),
            path,
            program,
            description: first_comment(text),
            reversible: defines_down,
            collections: collections_header(text),
        })
    }

    /// For `--dry-run`.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        vec![format!(
            "{}: {}() of {}",
            self.kind.name(),
            direction.as_str(),
            self.path.display()
        )]
    }

    /// Runs `up` or `down` in the run's interpreter of this kind.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        database: &str,
        env: &ChildEnv,
    ) -> std::result::Result<(), StepError> {
        let request = json!({
            "path": self.path.display().to_string(),
            "direction": direction.as_str(),
            "database": database,
            "name": self.name,
        });
        let (kind, program) = (self.kind, self.program.clone());
        let starting = env.clone();
        let start = move || {
            let extra = vec![(
                "MIGO_PROJECT_DIR".to_string(),
                starting.project_dir().display().to_string(),
            )];
            Session::start(kind.name(), &program, &kind.arguments(), &starting, &extra)
        };
        let prefix = format!("{}  {} | ", env.line_prefix, self.name);
        session::run_step(env.sessions(), kind.name(), start, request, prefix)
            .await
            .map_err(StepError::from)
    }
}

/// `module.exports` or `exports.up`: migrate-mongo's CommonJS shape.
fn is_commonjs(text: &str) -> bool {
    static SHAPE: OnceLock<Regex> = OnceLock::new();
    SHAPE
        .get_or_init(|| Regex::new(r"\bmodule\.exports\b|\bexports\.(up|down)\b").expect("valid"))
        .is_match(text)
}

/// An executable `.py` with a `#!` line runs as a script (`<file> up|down`), as before.
fn is_script(file: &Source, text: &str) -> bool {
    text.starts_with("#!") && process::is_executable(&file.path)
}

/// Whether a mongosh script defines function `name` (`function up(`, `up = …`).
fn defines_js(text: &str, name: &str) -> bool {
    Regex::new(&format!(r"(function\s+{name}\s*\(|\b{name}\s*=)"))
        .expect("valid regex")
        .is_match(text)
}

/// Whether a CommonJS module exports `name` (`up(`, `up:`, `async up`, `exports.up =`).
fn exports(text: &str, name: &str) -> bool {
    Regex::new(&format!(
        r"(\b{name}\s*\(|\b{name}\s*:|exports\.{name}\s*=|\b{name}\s*,|\b{name}\s*\}})"
    ))
    .expect("valid regex")
    .is_match(text)
}

/// Whether a Python module defines `def name(`.
fn defines_py(text: &str, name: &str) -> bool {
    Regex::new(&format!(r"(?m)^def\s+{name}\s*\("))
        .expect("valid regex")
        .is_match(text)
}

/// The first `//` or `#` comment line, as the description.
fn first_comment(text: &str) -> Option<String> {
    let line = text.lines().find(|l| !l.starts_with("#!"))?.trim();
    line.strip_prefix("//")
        .or_else(|| line.strip_prefix('#'))
        .map(|c| c.trim().to_string())
        .filter(|c| !c.starts_with("migo:"))
}

/// `// migo: collections users, posts` (or `# migo: …`): what `migo test` copies.
pub(crate) fn collections_header(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("//").or_else(|| l.strip_prefix('#'))?;
            rest.trim().strip_prefix("migo: collections")
        })
        .flat_map(|names| names.split(','))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Whether `python` can import pymongo, asked once per interpreter per run.
fn check_pymongo(python: &Path) -> std::result::Result<(), String> {
    static CHECKED: OnceLock<std::sync::Mutex<Vec<(PathBuf, bool)>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(Default::default);
    let mut known = checked
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ok = match known.iter().find(|(p, _)| p == python) {
        Some((_, ok)) => *ok,
        None => {
            let ok = std::process::Command::new(python)
                .args(["-c", "import pymongo"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            known.push((python.to_path_buf(), ok));
            ok
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{}` cannot import pymongo", python.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart() {
        assert!(is_commonjs("module.exports = { async up(db) {} }"));
        assert!(is_commonjs("exports.up = async function (db) {}"));
        assert!(!is_commonjs("function up() { db.x.insertOne({}) }"));
        assert!(defines_js("function up() {}", "up"));
        assert!(!defines_js("function upgrade() {}", "up"));
        assert!(exports(
            "module.exports = {\n  async up(db, client) {},\n}",
            "up"
        ));
        assert!(!exports(
            "module.exports = {\n  async up(db, client) {},\n}",
            "down"
        ));
        assert!(defines_py("import x\n\ndef up(db):\n    pass\n", "up"));
        assert!(!defines_py("def upgrade(db): pass", "up"));
    }

    #[test]
    fn headers_name_the_collections_to_test_with() {
        assert_eq!(
            collections_header("// users index\n// migo: collections users, posts\n"),
            ["users", "posts"]
        );
        assert_eq!(
            collections_header("# migo: collections events\n"),
            ["events"]
        );
        assert_eq!(
            first_comment("// add index\nfunction up() {}").as_deref(),
            Some("add index")
        );
    }
}
