//! The library API for teams that build their own migrations binary: compiled, type-checked
//! migrations ([`Migration`]) and extra subcommands ([`Extra`]), handed to the same CLI by
//! [`App`](crate::App).
//!
//! ```no_run
//! use migo::{App, Migration, StepResult};
//! use mongodb::{bson::doc, ClientSession, Database};
//!
//! struct AddActiveFlag;
//!
//! #[migo::async_trait]
//! impl Migration for AddActiveFlag {
//!     fn name(&self) -> &str { "0004_add_active_flag" }
//!     fn source(&self) -> &str { include_str!("api.rs") }
//!     async fn up(&self, db: &Database, session: &mut ClientSession) -> StepResult {
//!         db.collection::<mongodb::bson::Document>("users")
//!             .update_many(doc! {}, doc! {"$set": {"active": true}})
//!             .session(session)
//!             .await?;
//!         Ok(())
//!     }
//! }
//!
//! fn main() {
//!     App::new().migration(AddActiveFlag).main()
//! }
//! ```

use mongodb::{ClientSession, Database};

/// What `up`, `down` and extras return: any error, shown to the user and recorded in the registry.
pub type StepResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A migration compiled into the binary. It sits in the same numbered sequence as the files of
/// the migrations directory, with the same registry, lock, checksums and reports.
#[async_trait::async_trait]
pub trait Migration: Send + Sync + 'static {
    /// `0004_add_active_flag`: a number, `_`, then letters, digits, `_` or `-`. Its number
    /// orders it among the files; it may not repeat a file's number.
    fn name(&self) -> &str;

    /// One line for `--dry-run` and reports.
    fn description(&self) -> Option<&str> {
        None
    }

    /// Text whose SHA-256 is the migration's checksum, so that `list` and `check` notice an edit
    /// after it was applied: `include_str!(file!())` is a good choice. The default (empty) makes
    /// the checksum depend on the name only.
    fn source(&self) -> &str {
        ""
    }

    /// Whether `up` (or `down`) and the registry write share one transaction.
    fn transactional(&self) -> bool {
        false
    }

    /// Whether [`Migration::down`] is implemented; `rollback` refuses it when not.
    fn reversible(&self) -> bool {
        true
    }

    /// Applies the change to `db`. Pass `session` to the driver's operations: within a
    /// transaction it carries it.
    async fn up(&self, db: &Database, session: &mut ClientSession) -> StepResult;

    /// Reverts the change; implement it and keep [`Migration::reversible`] true.
    async fn down(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        let _ = (db, session);
        Err(format!("`{}` has no down", self.name()).into())
    }
}

/// An extra subcommand compiled into the binary (`my-migrations reindex`), listed by `help`.
#[async_trait::async_trait]
pub trait Extra: Send + Sync + 'static {
    /// The subcommand's name; it may not shadow a built-in one.
    fn name(&self) -> &str;

    /// One line for `help`.
    fn description(&self) -> &str;

    /// Runs with the configured database and the arguments after the subcommand's name.
    async fn run(&self, db: &Database, args: &[String]) -> StepResult;
}
