//! Rust migrations compiled into a binary (the [`Migration`] trait). Each becomes a [`Source`]
//! in the same numbered sequence as the files; running one needs the binary it is compiled into.

use std::sync::Arc;

use mongodb::{ClientSession, Database};

use crate::api::Migration;
use crate::error::{Error, Result};
use crate::ground::source::{self, Source};
use crate::ground::Direction;
use crate::migration::backfill::{self, Backfill};
use crate::migration::failure::StepError;

/// A compiled migration, shared by every place that needs it, and its backfill's walk once
/// checked ([`Compiled::checked`]).
#[derive(Clone)]
pub(crate) struct Compiled(
    pub(crate) Arc<dyn Migration>,
    pub(crate) Option<Box<Backfill>>,
);

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compiled({})", self.0.name())
    }
}

impl Compiled {
    /// Its place among the files: name, number, the checksum of its source, and `binary`, the
    /// binary it is compiled into.
    pub(crate) fn source(&self, binary: &str) -> Result<Source> {
        let name = self.0.name().to_string();
        let invalid = || Error::InvalidMigration {
            file: crate::ground::escape::escape(&name),
            message: "a compiled migration's name must be `<number>_<words>`".into(),
            hint: Some(
                "e.g. `0004_add_active_flag`: digits, `_`, then letters, digits, `_`, `-`".into(),
            ),
        };
        let (digits, rest) = name.split_once('_').ok_or_else(invalid)?;
        let number = crate::migration::discover::parse_number(digits, &name)?;
        let valid_rest = !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_rest {
            return Err(invalid());
        }
        Ok(Source {
            file_name: format!("{name} (compiled)"),
            checksum: source::text_checksum(&format!("{name}\n{}", self.0.source())),
            name,
            number,
            path: std::path::PathBuf::new(),
            binary: Some(binary.to_string()),
            problem: None,
            down_path: None,
            content: source::Content::default(),
            checkpoint: None,
        })
    }

    /// A copy with its backfill's walk checked by the rules of a `.json` declaration.
    pub(crate) fn checked(&self) -> Result<Compiled> {
        let Some(walk) = self.0.backfill() else {
            return Ok(Compiled(self.0.clone(), None));
        };
        let backfill = backfill::from_walk(&walk).map_err(|message| Error::InvalidMigration {
            file: crate::ground::escape::escape(&format!("{} (compiled)", self.0.name())),
            message,
            hint: Some(
                "`backfill()` returns `Some(BackfillWalk { collection, filter, batch_size, .. })` \
                 and `batch` does each batch's work"
                    .into(),
            ),
        })?;
        Ok(Compiled(self.0.clone(), Some(Box::new(backfill))))
    }

    /// Runs its backfill's `batch` on one batch, in `session` when one is given (a batch's
    /// transaction), else in a fresh one.
    pub(crate) async fn run_batch(
        &self,
        batch: &crate::api::Batch,
        db: &Database,
        session: Option<&mut ClientSession>,
    ) -> std::result::Result<(), StepError> {
        let mut own;
        let session = match session {
            Some(s) => s,
            None => {
                own = fresh_session(db).await?;
                &mut own
            }
        };
        let result = self.0.batch(db, session, batch).await;
        result.map_err(|e| self.failure(e))
    }

    /// Runs `up` or `down`, in `session` when one is given, else in a fresh one.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        db: &Database,
        session: Option<&mut ClientSession>,
    ) -> std::result::Result<(), StepError> {
        let mut own;
        let session = match session {
            Some(s) => s,
            None => {
                own = fresh_session(db).await?;
                &mut own
            }
        };
        let result = match direction {
            Direction::Up => self.0.up(db, session).await,
            Direction::Down => self.0.down(db, session).await,
        };
        result.map_err(|e| self.failure(e))
    }

    /// A step's error, typed: the driver's, or the migration's own text (redacted).
    fn failure(&self, e: Box<dyn std::error::Error + Send + Sync>) -> StepError {
        match e.downcast::<mongodb::error::Error>() {
            Ok(error) => StepError::Command {
                at: format!("`{}`", self.0.name()),
                error: *error,
            },
            Err(other) => {
                StepError::Compiled(crate::ground::secret::redact_text(&other.to_string()))
            }
        }
    }
}

async fn fresh_session(db: &Database) -> std::result::Result<ClientSession, StepError> {
    db.client()
        .start_session()
        .await
        .map_err(|e| StepError::Command {
            at: "starting a session".into(),
            error: e,
        })
}
