//! Rust migrations compiled into a binary (the [`Migration`] trait). Each becomes a [`Source`]
//! in the same numbered sequence as the files; running one needs the binary it is compiled into.

use std::sync::Arc;

use mongodb::{ClientSession, Database};

use crate::api::Migration;
use crate::error::{Error, Result};
use crate::ground::source::{self, Source};
use crate::ground::Direction;
use crate::migration::failure::StepError;

/// A compiled migration, shared by every place that needs it.
#[derive(Clone)]
pub(crate) struct Compiled(pub(crate) Arc<dyn Migration>);

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
                own = db
                    .client()
                    .start_session()
                    .await
                    .map_err(|e| StepError::Command {
                        at: "starting a session".into(),
                        error: e,
                    })?;
                &mut own
            }
        };
        let result = match direction {
            Direction::Up => self.0.up(db, session).await,
            Direction::Down => self.0.down(db, session).await,
        };
        result.map_err(|e| match e.downcast::<mongodb::error::Error>() {
            Ok(error) => StepError::Command {
                at: format!("`{}`", self.0.name()),
                error: *error,
            },
            Err(other) => {
                StepError::Compiled(crate::ground::secret::redact_text(&other.to_string()))
            }
        })
    }
}
