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

use mongodb::bson::{Bson, Document};
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
    /// transaction it carries it. Required unless the migration is a backfill
    /// ([`Migration::backfill`] and [`Migration::batch`] instead).
    async fn up(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        let _ = (db, session);
        Err(format!(
            "`{}` has no up: implement `up`, or `backfill` and `batch`",
            self.name()
        )
        .into())
    }

    /// Makes the migration a backfill: migo walks this collection in `_id`-range batches
    /// (bounds, pace, checkpoints, resume, pause, progress) and hands each batch to
    /// [`Migration::batch`]; `up` is then never called. Checked as a `.json` backfill's
    /// declaration is, before anything runs.
    fn backfill(&self) -> Option<BackfillWalk> {
        None
    }

    /// One batch of the backfill: change the documents `batch.filter` matches so that they no
    /// longer match the declared filter. Pass `session`: with `transaction: true` it carries the
    /// batch's transaction, which commits with its checkpoint.
    async fn batch(&self, db: &Database, session: &mut ClientSession, batch: &Batch) -> StepResult {
        let _ = (db, session, batch);
        Err(format!("`{}` declares a backfill but has no batch", self.name()).into())
    }

    /// Reverts the change; implement it and keep [`Migration::reversible`] true.
    async fn down(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        let _ = (db, session);
        Err(format!("`{}` has no down", self.name()).into())
    }
}

/// A compiled backfill's walk, as a `.json` backfill declares it minus `update`: which
/// collection, which documents still need the change, and how to pace it (`None`: the project's
/// `[backfill]` default).
///
/// ```
/// # use mongodb::bson::doc;
/// let walk = migo::BackfillWalk {
///     collection: "users".into(),
///     filter: doc! {"status": {"$exists": false}},
///     batch_size: Some(500),
///     ..Default::default()
/// };
/// # let _ = walk;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackfillWalk {
    /// The collection to walk.
    pub collection: String,
    /// The documents that still need the change; each batch must make its documents stop
    /// matching it.
    pub filter: Document,
    /// Documents per batch (1 to 100,000).
    pub batch_size: Option<u64>,
    /// No batch starts while a secondary lags the primary by more than this.
    pub max_lag_secs: Option<f64>,
    /// The batch size adapts to keep each batch near this long.
    pub target_batch_ms: Option<f64>,
    /// At most this many documents per second, on average.
    pub max_rate: Option<f64>,
    /// A shell command run before each batch: while it exits 0, wait.
    pub pause_when: Option<String>,
    /// Each batch and its checkpoint in one transaction (needs a replica set).
    pub transaction: bool,
    /// Run it after the deploy (`execute --phase after_deploy`), not before.
    pub after_deploy: bool,
}

/// One batch of a backfill, handed to the migration's `batch` function. Its documents are never
/// read by migo: the function reads or changes them with `filter`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Batch {
    /// The last `_id` done before this batch (`None` for the first batch).
    pub after: Option<Bson>,
    /// The last `_id` of this batch (inclusive).
    pub up_to: Bson,
    /// The declared filter and this batch's `_id` range, ready for `find` or `update_many`.
    pub filter: Document,
    /// How many documents matched the filter in the range when migo found it.
    pub size: u64,
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
