//! What a migration does: one module per file format, behind [`Body`].
//!
//! Loading a file parses and validates it completely, so that a run can check every file it will
//! touch before the first one executes.

pub mod json;

use mongodb::{ClientSession, Database};

use crate::discover::MigrationFile;
use crate::error::{Error, Result};

/// Which half of a migration to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `up` or `down`, as in the file formats.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A parsed, validated migration.
#[derive(Debug, Clone)]
pub enum Body {
    /// Declarative database commands (`.json`).
    Json(json::JsonMigration),
}

impl Body {
    /// Reads and validates `file` according to its extension.
    pub fn load(file: &MigrationFile) -> Result<Body> {
        match file.extension() {
            "json" => json::JsonMigration::load(file).map(Body::Json),
            other => Err(Error::InvalidMigration {
                file: file.file_name.clone(),
                message: format!("`.{other}` files are not a supported migration format"),
                hint: Some(
                    "write it as a `.json` migration, or narrow `[migrations] pattern`".into(),
                ),
            }),
        }
    }

    /// The author's one-line description, if any.
    pub fn description(&self) -> Option<&str> {
        match self {
            Body::Json(m) => m.description.as_deref(),
        }
    }

    /// Whether the migration has a `down` half.
    pub fn is_reversible(&self) -> bool {
        match self {
            Body::Json(m) => m.down.is_some(),
        }
    }

    /// Whether the commands and the registry write must share one transaction.
    pub fn is_transactional(&self) -> bool {
        match self {
            Body::Json(m) => m.transaction,
        }
    }

    /// The collections the migration works on, as far as migo can tell.
    pub fn collections(&self) -> Vec<String> {
        match self {
            Body::Json(m) => m.collections(),
        }
    }

    /// What running `direction` will do, one line per action, for `--dry-run`.
    pub fn describe(&self, direction: Direction) -> Vec<String> {
        match self {
            Body::Json(m) => m.describe(direction),
        }
    }

    /// Runs `direction` against `db`, inside `session`'s transaction when one is given.
    /// The error is the text to record in the registry.
    pub async fn run(
        &self,
        direction: Direction,
        db: &Database,
        session: Option<&mut ClientSession>,
    ) -> std::result::Result<(), String> {
        match self {
            Body::Json(m) => m.run(direction, db, session).await,
        }
    }
}
