//! What a migration does: one module per file format, behind [`Body`].
//!
//! Loading a file parses and validates it completely, so that a run can check every file it will
//! touch before the first one executes. Loading reads nothing from disk: it works on the bytes
//! discovery read and hashed, which are the bytes that run.

pub(crate) mod backfill;
pub(crate) mod compiled;
pub(crate) mod declaration;
pub(crate) mod discover;
pub(crate) mod failure;
pub(crate) mod interpreted;
pub(crate) mod json;
pub(crate) mod operation;
pub(crate) mod reading;
pub(crate) mod recognize;
pub(crate) mod script;
pub(crate) mod shape;
pub(crate) mod template;

use mongodb::{ClientSession, Database};

use crate::config::Runners;
use crate::error::{Error, Result};
use crate::ground::source::Source;
use crate::ground::{Direction, Phase};
use crate::halt::Halt;
use crate::process::ChildEnv;
use compiled::Compiled;
use failure::StepError;

/// A parsed, validated migration.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// Declarative database commands (`.json`).
    Json(Box<json::JsonMigration>),
    /// A mongosh script, a CommonJS module or a migopy module, run by the run's interpreter.
    Interpreted(interpreted::Interpreted),
    /// An executable script run as `<file> up|down` (any other extension).
    Script(script::ScriptMigration),
    /// Rust code compiled into the binary.
    Compiled(compiled::Compiled),
}

impl Body {
    /// Validates `source` (the bytes discovery read) according to its kind, with the programs in
    /// `runners`; a compiled source is looked up among `compiled`.
    pub(crate) fn load(source: &Source, runners: &Runners, compiled: &[Compiled]) -> Result<Body> {
        if let Some(problem) = &source.problem {
            return Err(Error::InvalidMigration {
                file: crate::ground::escape::escape(&source.file_name),
                message: problem.clone(),
                hint: Some("save it as UTF-8 text without a byte-order mark".into()),
            });
        }
        if let Some(binary) = &source.binary {
            return compiled
                .iter()
                .find(|c| c.0.name() == source.name)
                .ok_or_else(|| {
                    Error::Refused(crate::ground::refusal::Refusal::CompiledElsewhere {
                        name: source.name.clone(),
                        binary: binary.clone(),
                    })
                })?
                .checked()
                .map(Body::Compiled);
        }
        if source.extension() == "json" {
            return json::JsonMigration::load(source).map(|m| Body::Json(Box::new(m)));
        }
        let text = source.text();
        match interpreted::Interpreted::kind_of(source, text, runners)? {
            Some(kind) => {
                interpreted::Interpreted::load(source, text, kind, runners).map(Body::Interpreted)
            }
            None => script::ScriptMigration::load(source, runners).map(Body::Script),
        }
    }

    /// The backfill that runs for `direction`, if that half is one: a `.json` declaration, or a
    /// code backfill's walk (its `up`).
    pub(crate) fn backfill_of(&self, direction: Direction) -> Option<&backfill::Backfill> {
        match (self, direction) {
            (Body::Json(m), _) => m.backfill_of(direction),
            (Body::Interpreted(m), Direction::Up) => m.backfill.as_deref(),
            (Body::Compiled(m), Direction::Up) => m.1.as_deref(),
            _ => None,
        }
    }

    /// Runs a code backfill's `batch` on one batch (in `session`'s transaction, for a compiled
    /// one that asked for it).
    pub(crate) async fn run_batch(
        &self,
        batch: &crate::api::Batch,
        db: &Database,
        session: Option<&mut ClientSession>,
        env: &ChildEnv,
        halt: &Halt,
    ) -> std::result::Result<(), StepError> {
        match self {
            Body::Interpreted(m) => m.run_batch(batch, db.name(), env, halt).await,
            Body::Compiled(m) => m.run_batch(batch, db, session).await,
            Body::Json(_) | Body::Script(_) => Err(StepError::Setup(
                "this migration has no `batch` function".into(),
            )),
        }
    }

    /// Whether the migration has a `down` half (scripts are trusted to handle `down`).
    pub(crate) fn is_reversible(&self) -> bool {
        match self {
            Body::Json(m) => m.down.is_some() || m.down_backfill.is_some(),
            Body::Interpreted(m) => m.reversible,
            Body::Script(_) => true,
            Body::Compiled(m) => m.0.reversible(),
        }
    }

    /// Before or after the deploy: `"phase"` of a `.json` migration or of a code backfill's
    /// declaration; every other migration runs before it.
    pub(crate) fn phase(&self) -> Phase {
        match self {
            Body::Json(m) => m.phase,
            Body::Interpreted(m) => m.backfill.as_ref().map_or(Phase::BeforeDeploy, |b| b.phase),
            Body::Compiled(m) => m.1.as_ref().map_or(Phase::BeforeDeploy, |b| b.phase),
            Body::Script(_) => Phase::BeforeDeploy,
        }
    }

    /// Whether the work and the registry write must share one transaction.
    pub(crate) fn is_transactional(&self) -> bool {
        match self {
            Body::Json(m) => m.transaction,
            Body::Compiled(m) => m.0.transactional(),
            Body::Interpreted(_) | Body::Script(_) => false,
        }
    }

    /// The collections the migration works on, as far as migo can tell (`migo test` copies them).
    pub(crate) fn collections(&self) -> Vec<String> {
        match self {
            Body::Json(m) => m.collections(),
            Body::Interpreted(m) => {
                let mut all = m.collections.clone();
                all.extend(m.backfill.iter().map(|b| b.collection.clone()));
                all
            }
            Body::Script(m) => m.collections.clone(),
            Body::Compiled(m) => m.1.iter().map(|b| b.collection.clone()).collect(),
        }
    }

    /// What running `direction` will do, one line per action, for `--dry-run`.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        match self {
            Body::Json(m) => m.describe(direction),
            Body::Interpreted(m) => m.describe(direction),
            Body::Script(m) => m.describe(direction),
            Body::Compiled(m) => match (&m.1, direction) {
                (Some(backfill), Direction::Up) => {
                    let mut lines = vec![format!("compiled: {}::batch", m.0.name())];
                    lines.extend(backfill.describe());
                    lines
                }
                _ => vec![format!("compiled: {}::{}", m.0.name(), direction.as_str())],
            },
        }
    }

    /// Starts the interpreters `bodies` need and waits until each is ready, before the first
    /// step: a missing driver or an interpreter that cannot start is an error (exit 4) with
    /// nothing run or recorded.
    pub(crate) async fn start_interpreters<'a>(
        bodies: impl IntoIterator<Item = &'a Body>,
        env: &ChildEnv,
        halt: &Halt,
    ) -> Result<()> {
        let interpreted = bodies.into_iter().filter_map(|b| match b {
            Body::Interpreted(m) => Some(m),
            _ => None,
        });
        interpreted::start_all(interpreted, env, halt).await
    }

    /// Runs `direction` against `db`, inside `session`'s transaction when one is given; child
    /// processes get the connection from `env`; `halt` says when to stop between commands and
    /// ends an interpreter's wait.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        db: &Database,
        session: Option<&mut ClientSession>,
        env: &ChildEnv,
        halt: &Halt,
    ) -> std::result::Result<(), StepError> {
        if let Some(reason) = halt.reason() {
            return Err(StepError::Halted(reason));
        }
        match self {
            Body::Json(m) => m.run(direction, db, session, halt).await,
            Body::Interpreted(m) => m.run(direction, db.name(), env, halt).await,
            Body::Script(m) => m.run(direction, &env.for_database(db.name())).await,
            Body::Compiled(m) => m.run(direction, db, session).await,
        }
    }
}
