//! Migrations run by an interpreter migo keeps alive for the whole run ([`session`]): mongosh
//! scripts (`function up()`, a global `db`), migrate-mongo's CommonJS modules under Node
//! (`module.exports = { up(db, client), … }`), and migopy's Python modules (`up(db)` with a
//! pymongo `Database`, pymongo 2's calls mapped). The interpreter gets the code migo hashed,
//! never a path to read again, and answers over a channel of its own that it found, called and
//! (for a promise, a coroutine, a generator, a callback) finished the requested function. A
//! code backfill ([`super::declaration`]) declares its walk instead of an `up`, and its `batch`
//! is called once per batch the same way.
//!
//! Which kind a file is, is read from its code ([`super::shape`]), not from substrings:
//! - `.js`: CommonJS when it assigns `module.exports` or `exports.x`, a mongosh script
//!   otherwise; a file that looks like both (a CommonJS module that also defines a mongosh
//!   `function up()` taking no `db`) is refused by name, with a hint to set `[migrations] js`;
//!   an ES module is refused (migrate-mongo's ESM files are not supported); a program that is
//!   neither (no `up` at all) runs as a script when it is executable or `[migrations.interpreters]
//!   js` is set. `.cjs` is CommonJS, `.mjs` an ES module.
//! - `.py`: a migopy module when it defines `up` at module level taking the database, whatever
//!   the interpreter setting (`[migrations.interpreters] py` then names the Python that runs
//!   the session); a program (no module-level `up`, or an `up()` taking nothing beside an
//!   `if __name__ == "__main__":`) is a script (see [`super::script`]).
//!
//! Before the first step of a run, every interpreter the run needs is started and must say it is
//! ready ([`start_all`]): a missing program, a missing driver (pymongo, the npm `mongodb`), an
//! interpreter that cannot start stop the run with exit 4 and nothing recorded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{JsRunner, Runners};
use crate::error::{Error, Result};
use crate::ground::escape::escape;
use crate::ground::source::Source;
use crate::ground::stop::Reason;
use crate::ground::Direction;
use crate::halt::Halt;
use crate::migration::backfill::Backfill;
use crate::migration::declaration::{self, Spelling};
use crate::migration::failure::StepError;
use crate::migration::shape::{self, Export};
use crate::process::session::{self, Request, SessionError, Spec};
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

    /// The program that runs the session, as the user's settings give it (program and leading
    /// arguments).
    fn command(self, runners: &Runners) -> Vec<String> {
        let program = |p: &Path| vec![p.display().to_string()];
        match self {
            Kind::Mongosh => program(&runners.mongosh),
            Kind::Node => program(&runners.node),
            Kind::Python => runners
                .interpreters
                .get("py")
                .cloned()
                .unwrap_or_else(|| program(&runners.python)),
        }
    }

    /// The interpreter's own arguments after the user's: the bootstrap, never the connection.
    fn arguments(self) -> Vec<String> {
        match self {
            Kind::Mongosh => vec![
                "--nodb".into(),
                "--quiet".into(),
                "--norc".into(),
                "--eval".into(),
                include_str!("bootstrap/mongosh.js").into(),
            ],
            Kind::Node => vec!["-e".into(), include_str!("bootstrap/node.js").into()],
            Kind::Python => vec![
                "-u".into(),
                "-c".into(),
                format!(
                    "{}\ncheck_pymongo()\n{}\nmain()\n",
                    include_str!("bootstrap/python.py"),
                    include_str!("bootstrap/legacy_pymongo.py")
                ),
            ],
        }
    }

    /// How to get the interpreter when it is missing.
    fn install_hint(self) -> &'static str {
        match self {
            Kind::Mongosh => "install it (`npm install -g mongosh`), or point `[migrations] mongosh` / MIGO_MONGOSH at it",
            Kind::Node => "install Node.js, or point `[migrations] node` at it",
            Kind::Python => "install Python 3 with pymongo, or point `[migrations] python` (or `[migrations.interpreters] py`) at one",
        }
    }

    /// How a code backfill of this kind is spelled.
    fn spelling(self) -> Spelling {
        match self {
            Kind::Mongosh => Spelling::Mongosh,
            Kind::Node => Spelling::CommonJs,
            Kind::Python => Spelling::Python,
        }
    }

    /// What a file of this kind looks like.
    fn shape_hint(self) -> &'static str {
        match self {
            Kind::Mongosh => "a mongosh migration defines `function up() { … }` and `function down() { … }`",
            Kind::Node => "a CommonJS migration is `module.exports = { async up(db, client) { … }, async down(db, client) { … } }`",
            Kind::Python => "a Python migration defines `def up(db):` (and `def down(db):`), given a pymongo Database",
        }
    }
}

/// A validated interpreted migration: its code as hashed, and the interpreter that runs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Interpreted {
    pub(crate) kind: Kind,
    pub(crate) name: String,
    pub(crate) file_name: String,
    /// The original file (absolute): for messages, `__filename`, relative imports. Never read.
    pub(crate) path: PathBuf,
    /// The bytes discovery read and hashed, as text.
    pub(crate) code: Arc<str>,
    /// The interpreter (found) and its leading arguments.
    pub(crate) command: Vec<String>,
    pub(crate) description: Option<String>,
    pub(crate) reversible: bool,
    /// Collections a `migo: collections a, b` header names, for `migo test`.
    pub(crate) collections: Vec<String>,
    /// A code backfill's walk (its `up` is then the walk, each batch handed to `batch`).
    pub(crate) backfill: Option<Box<Backfill>>,
}

impl Interpreted {
    /// The kind of `file`, when an interpreter of migo's runs it (`None`: a script); an error
    /// for a file migo cannot tell, or cannot run.
    pub(crate) fn kind_of(file: &Source, text: &str, runners: &Runners) -> Result<Option<Kind>> {
        let invalid = |message: &str, hint: &str| Error::InvalidMigration {
            file: escape(&file.file_name),
            message: message.to_string(),
            hint: Some(hint.to_string()),
        };
        let es_module = || {
            invalid(
                "it is an ES module (top-level `import`/`export`), which migo does not run",
                "write it as CommonJS: `module.exports = { async up(db, client) { … } }` and `require(…)`",
            )
        };
        match file.extension() {
            "mjs" => Err(es_module()),
            "cjs" if shape::js(text).esm => Err(es_module()),
            "cjs" => Ok(Some(Kind::Node)),
            "js" => {
                let shape = shape::js(text);
                if shape.esm {
                    return Err(es_module());
                }
                let program = !shape.commonjs
                    && !shape.defines[0]
                    && !declaration::is_backfill(text, Spelling::Mongosh);
                if program
                    && (runners.interpreters.contains_key("js")
                        || process::is_executable(&file.path))
                {
                    // Neither a module nor a mongosh script: a program, run as a script.
                    return Ok(None);
                }
                Ok(Some(match runners.js {
                    JsRunner::Mongosh => Kind::Mongosh,
                    JsRunner::Node => Kind::Node,
                    JsRunner::Auto if shape.commonjs && shape.bare_up => {
                        return Err(invalid(
                            "it is both a CommonJS module (it assigns `module.exports`) and a mongosh script (`function up()` taking no `db`)",
                            "say which runs it: `[migrations] js = \"node\"` or `js = \"mongosh\"` in migo.toml",
                        ))
                    }
                    JsRunner::Auto if shape.commonjs => Kind::Node,
                    JsRunner::Auto => Kind::Mongosh,
                }))
            }
            "py" => {
                let shape = shape::python(text);
                match shape.up {
                    Some(up) if up.takes_arguments => Ok(Some(Kind::Python)),
                    Some(_) if shape.main_guard => Ok(None),
                    Some(_) => Err(invalid(
                        "its `up` takes no argument, but migo calls `up(db)` with the database, as migopy did",
                        "write `def up(db):`; a script that runs itself has an `if __name__ == \"__main__\":` block",
                    )),
                    None if declaration::is_backfill(text, Spelling::Python) => {
                        Ok(Some(Kind::Python))
                    }
                    None if runners.interpreters.contains_key("py")
                        || process::is_executable(&file.path) =>
                    {
                        Ok(None)
                    }
                    None => Err(invalid(
                        "it defines no `up` (python)",
                        Kind::Python.shape_hint(),
                    )),
                }
            }
            _ => Ok(None),
        }
    }

    /// Checks the file defines `up` and its interpreter is there, before anything runs.
    pub(crate) fn load(
        file: &Source,
        text: &str,
        kind: Kind,
        runners: &Runners,
    ) -> Result<Interpreted> {
        let (defines_up, defines_down) = match kind {
            Kind::Mongosh => {
                let shape = shape::js(text);
                (shape.defines[0], shape.defines[1])
            }
            Kind::Node => {
                let shape = shape::js(text);
                (
                    shape.exports[0] != Export::No,
                    shape.exports[1] != Export::No,
                )
            }
            Kind::Python => {
                let shape = shape::python(text);
                (shape.up.is_some(), shape.down.is_some())
            }
        };
        let backfill = declaration::read(text, kind.spelling()).map_err(|message| {
            Error::InvalidMigration {
                file: escape(&file.file_name),
                message,
                hint: Some(kind.spelling().hint().to_string()),
            }
        })?;
        if !defines_up && backfill.is_none() {
            let what = match kind {
                Kind::Node => "exports",
                _ => "defines",
            };
            return Err(Error::InvalidMigration {
                file: escape(&file.file_name),
                message: format!("it {what} no `up` ({})", kind.name()),
                hint: Some(kind.shape_hint().to_string()),
            });
        }
        let mut command = kind.command(runners);
        let wanted = PathBuf::from(&command[0]);
        let program = process::find_program(&wanted).ok_or_else(|| Error::Interpreter {
            file: escape(&file.file_name),
            message: format!(
                "it needs {}, and `{}` was not found",
                kind.name(),
                wanted.display()
            ),
            hint: Some(kind.install_hint().to_string()),
        })?;
        command[0] = program.display().to_string();
        Ok(Interpreted {
            kind,
            name: file.name.clone(),
            file_name: file.file_name.clone(),
            path: absolute(&file.path),
            code: Arc::from(text),
            command,
            description: first_comment(text),
            reversible: defines_down,
            collections: collections_header(text),
            backfill: backfill.map(Box::new),
        })
    }

    /// For `--dry-run`.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        if let (Some(backfill), Direction::Up) = (&self.backfill, direction) {
            let mut lines = vec![format!(
                "{}: batch() of {}",
                self.kind.name(),
                self.path.display()
            )];
            lines.extend(backfill.describe());
            return lines;
        }
        vec![format!(
            "{}: {}() of {}",
            self.kind.name(),
            direction.as_str(),
            self.path.display()
        )]
    }

    /// How to start this migration's interpreter.
    fn spec(&self, env: &ChildEnv) -> Spec {
        let directory = self.path.parent().unwrap_or(Path::new("/"));
        let mut args: Vec<String> = self.command[1..].to_vec();
        args.extend(self.kind.arguments());
        Spec {
            kind: self.kind.name(),
            program: PathBuf::from(&self.command[0]),
            args,
            extra_env: vec![
                (
                    "MIGO_PROJECT_DIR".into(),
                    absolute(env.project_dir()).display().to_string(),
                ),
                (
                    "MIGO_MIGRATIONS_DIR".into(),
                    directory.display().to_string(),
                ),
            ],
        }
    }

    /// Runs `up` or `down` in the run's interpreter of this kind.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        database: &str,
        env: &ChildEnv,
        halt: &Halt,
    ) -> std::result::Result<(), StepError> {
        self.send(direction.as_str(), None, database, env, halt)
            .await
    }

    /// Runs a code backfill's `batch` on one batch, in the run's interpreter of this kind; the
    /// `_id`s and the filter travel as canonical Extended JSON, so that their types survive.
    pub(crate) async fn run_batch(
        &self,
        batch: &crate::api::Batch,
        database: &str,
        env: &ChildEnv,
        halt: &Halt,
    ) -> std::result::Result<(), StepError> {
        let ejson = |b: &mongodb::bson::Bson| b.clone().into_canonical_extjson();
        let payload = serde_json::json!({
            "after": batch.after.as_ref().map_or(serde_json::Value::Null, ejson),
            "up_to": ejson(&batch.up_to),
            "filter": ejson(&mongodb::bson::Bson::Document(batch.filter.clone())),
            "size": batch.size,
        });
        self.send("batch", Some(payload), database, env, halt).await
    }

    /// One request to the interpreter: call `function` (with `batch`, for a backfill's batch).
    async fn send(
        &self,
        function: &'static str,
        batch: Option<serde_json::Value>,
        database: &str,
        env: &ChildEnv,
        halt: &Halt,
    ) -> std::result::Result<(), StepError> {
        let request = Request {
            name: self.name.clone(),
            path: self.path.display().to_string(),
            direction: function,
            database: database.to_string(),
            code: self.code.clone(),
            batch,
        };
        let prefix = format!("{}  {} | ", env.line_prefix, self.name);
        session::run_step(self.spec(env), request, prefix, env, halt)
            .await
            .map_err(StepError::from)
    }
}

/// Starts the interpreter of every kind among `migrations` and waits until each is ready, so
/// that a missing driver or an interpreter that cannot start stops the run before its first
/// step, with nothing recorded.
pub(crate) async fn start_all<'a>(
    migrations: impl IntoIterator<Item = &'a Interpreted>,
    env: &ChildEnv,
    halt: &Halt,
) -> Result<()> {
    let mut started: Vec<Kind> = Vec::new();
    for migration in migrations {
        if started.contains(&migration.kind) {
            continue;
        }
        started.push(migration.kind);
        let spec = migration.spec(env);
        session::start(spec, env, halt)
            .await
            .map_err(|e| unavailable(migration, e))?;
    }
    Ok(())
}

/// The error for an interpreter that could not get ready for `migration`.
fn unavailable(migration: &Interpreted, error: SessionError) -> Error {
    let kind = migration.kind;
    let program = &migration.command[0];
    let (message, hint) = match error {
        SessionError::Halted(Reason::Signal(signal)) => {
            return Error::Interrupted {
                signal,
                step: None,
                done: Vec::new(),
                rollback: false,
            }
        }
        SessionError::Halted(Reason::LostLock(loss)) => {
            return Error::LostLock {
                reason: loss.describe().to_string(),
                step: None,
                done: Vec::new(),
            }
        }
        SessionError::Start { .. } => (error.to_string(), kind.install_hint().to_string()),
        SessionError::Unavailable { ref hint, .. } => (
            error.to_string(),
            hint.clone()
                .unwrap_or_else(|| kind.install_hint().to_string()),
        ),
        SessionError::Died {
            ref status,
            ref first_error,
            ..
        } => (
            format!(
                "the {} interpreter ended before it was ready ({status}){}",
                kind.name(),
                first_error
                    .as_ref()
                    .map(|line| format!(": {line}"))
                    .unwrap_or_default()
            ),
            format!(
                "check that `{program}` is {} and runs on this machine",
                kind.name()
            ),
        ),
        SessionError::Silent { .. } => (
            error.to_string(),
            format!(
                "check that `{program}` is {} and runs on this machine",
                kind.name()
            ),
        ),
        SessionError::Protocol { .. } | SessionError::Migration { .. } => (
            error.to_string(),
            format!("is `{program}` really {}?", kind.name()),
        ),
    };
    Error::Interpreter {
        file: escape(&migration.file_name),
        message,
        hint: Some(hint),
    }
}

/// `path` made absolute and canonical, as far as possible (the current directory for `""`).
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_python_bootstrap_fits_in_one_argument() {
        // Linux refuses a single argument over 128 KiB.
        let longest = Kind::Python
            .arguments()
            .iter()
            .chain(Kind::Mongosh.arguments().iter())
            .chain(Kind::Node.arguments().iter())
            .map(String::len)
            .max()
            .unwrap();
        assert!(longest < 128 * 1024, "{longest}");
    }
}
