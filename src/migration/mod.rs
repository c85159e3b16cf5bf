//! What a migration does: one module per file format, behind [`Body`].
//!
//! Loading a file parses and validates it completely, so that a run can check every file it will
//! touch before the first one executes.

pub(crate) mod compiled;
pub(crate) mod discover;
pub(crate) mod json;
pub(crate) mod mongosh;
pub(crate) mod script;
pub(crate) mod template;

use mongodb::{ClientSession, Database};

use crate::config::Runners;
use crate::error::Result;
use crate::migration::discover::MigrationFile;
use crate::process::ChildEnv;

/// Which half of a migration to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `up` or `down`, as in the file formats.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A parsed, validated migration.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// Declarative database commands (`.json`).
    Json(json::JsonMigration),
    /// A mongosh script with `up()` and `down()` (`.js`).
    Mongosh(mongosh::MongoshMigration),
    /// An executable script run as `<file> up|down` (any other extension).
    Script(script::ScriptMigration),
    /// Rust code compiled into the binary.
    Compiled(compiled::Compiled),
}

impl Body {
    /// Reads and validates `file` according to its kind, with the programs in `runners`.
    pub(crate) fn load(file: &MigrationFile, runners: &Runners) -> Result<Body> {
        if let Some(compiled) = &file.compiled {
            return Ok(Body::Compiled(compiled.clone()));
        }
        match file.extension() {
            "json" => json::JsonMigration::load(file).map(Body::Json),
            "js" => mongosh::MongoshMigration::load(file, &runners.mongosh).map(Body::Mongosh),
            _ => script::ScriptMigration::load(file, runners).map(Body::Script),
        }
    }

    /// Whether the migration has a `down` half (scripts are trusted to handle `down`).
    pub(crate) fn is_reversible(&self) -> bool {
        match self {
            Body::Json(m) => m.down.is_some(),
            Body::Mongosh(m) => m.reversible,
            Body::Script(_) => true,
            Body::Compiled(m) => m.0.reversible(),
        }
    }

    /// Whether the work and the registry write must share one transaction.
    pub(crate) fn is_transactional(&self) -> bool {
        match self {
            Body::Json(m) => m.transaction,
            Body::Compiled(m) => m.0.transactional(),
            Body::Mongosh(_) | Body::Script(_) => false,
        }
    }

    /// The collections the migration works on, as far as migo can tell (`migo test` copies them).
    pub(crate) fn collections(&self) -> Vec<String> {
        match self {
            Body::Json(m) => m.collections(),
            Body::Mongosh(_) | Body::Script(_) | Body::Compiled(_) => Vec::new(),
        }
    }

    /// What running `direction` will do, one line per action, for `--dry-run`.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        match self {
            Body::Json(m) => m.describe(direction),
            Body::Mongosh(m) => m.describe(direction),
            Body::Script(m) => m.describe(direction),
            Body::Compiled(m) => vec![format!("compiled: {}::{}", m.0.name(), direction.as_str())],
        }
    }

    /// Runs `direction` against `db`, inside `session`'s transaction when one is given; child
    /// processes get the connection from `env`. The error is the text to record in the registry.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        db: &Database,
        session: Option<&mut ClientSession>,
        env: &ChildEnv,
    ) -> std::result::Result<(), String> {
        match self {
            Body::Json(m) => m.run(direction, db, session).await,
            Body::Mongosh(m) => m.run(direction, &env.for_database(db.name())).await,
            Body::Script(m) => m.run(direction, &env.for_database(db.name())).await,
            Body::Compiled(m) => m.run(direction, db, session).await,
        }
    }
}
