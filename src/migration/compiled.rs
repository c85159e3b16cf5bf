//! Rust migrations compiled into the binary (the [`Migration`] trait), placed in the same
//! numbered sequence as the files.

use std::sync::Arc;

use mongodb::{ClientSession, Database};

use crate::api::Migration;
use crate::error::{Error, Result};
use crate::migration::discover::{self, MigrationFile};
use crate::migration::Direction;

/// A compiled migration, shared by every place that needs it.
#[derive(Clone)]
pub(crate) struct Compiled(pub Arc<dyn Migration>);

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compiled({})", self.0.name())
    }
}

impl PartialEq for Compiled {
    fn eq(&self, other: &Compiled) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Compiled {}

impl Compiled {
    /// Its place among the files: name, number and the checksum of its source.
    pub(crate) fn as_file(&self) -> Result<MigrationFile> {
        let name = self.0.name().to_string();
        let invalid = || Error::InvalidMigration {
            file: name.clone(),
            message: "a compiled migration's name must be `<number>_<words>`".into(),
            hint: Some(
                "e.g. `0004_add_active_flag`: digits, `_`, then letters, digits, `_`, `-`".into(),
            ),
        };
        let (digits, rest) = name.split_once('_').ok_or_else(invalid)?;
        let number = digits.parse::<u64>().map_err(|_| invalid())?;
        let valid_rest = !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_rest || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let source = format!("{name}\n{}", self.0.source());
        Ok(MigrationFile {
            file_name: format!("{name} (compiled)"),
            name,
            number,
            path: std::path::PathBuf::new(),
            checksum: discover::checksum(source.as_bytes()),
            compiled: Some(self.clone()),
        })
    }

    /// Runs `up` or `down`, in `session` when one is given, else in a fresh one.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        db: &Database,
        session: Option<&mut ClientSession>,
    ) -> std::result::Result<(), String> {
        let mut own;
        let session = match session {
            Some(s) => s,
            None => {
                own = db
                    .client()
                    .start_session()
                    .await
                    .map_err(|e| format!("cannot start a session: {e}"))?;
                &mut own
            }
        };
        let result = match direction {
            Direction::Up => self.0.up(db, session).await,
            Direction::Down => self.0.down(db, session).await,
        };
        result.map_err(|e| e.to_string())
    }
}
