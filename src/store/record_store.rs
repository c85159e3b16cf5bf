//! The registry writes a run makes, as a narrow trait: the fenced [`Registry`] on the server in
//! every real run, an in-memory fake in the run loop's unit tests (a lost lease, a write that
//! fails part way, a step that fails), which need no server.

use futures_util::future::BoxFuture;
use mongodb::ClientSession;

use super::registry::{Checkpointed, Registry};

use crate::error::Result;
use crate::ground::record::Record;

/// Where a run records its migrations.
pub(crate) trait RecordStore: std::fmt::Debug + Send + Sync {
    /// Writes `records` in order, each replacing any earlier record of its migration; in
    /// `session`'s transaction when one is given. One round trip on the server.
    fn put<'a>(
        &'a self,
        records: &'a [Record],
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Records a backfill's progress (`record.backfill`), unless `migo pause` asked it to stop,
    /// which it reports instead; in `session`'s transaction when one is given.
    fn checkpoint<'a>(
        &'a self,
        record: &'a Record,
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<Checkpointed>>;

    /// Records `checksum` as the one `name` was applied with (`migo accept`).
    fn set_checksum<'a>(&'a self, name: &'a str, checksum: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Removes the record of `name` (after a rollback, or `migo forget`).
    fn remove<'a>(
        &'a self,
        name: &'a str,
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<()>>;
}

impl RecordStore for Registry {
    fn put<'a>(
        &'a self,
        records: &'a [Record],
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Registry::put(self, records, session))
    }

    fn checkpoint<'a>(
        &'a self,
        record: &'a Record,
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<Checkpointed>> {
        Box::pin(Registry::checkpoint(self, record, session))
    }

    fn set_checksum<'a>(&'a self, name: &'a str, checksum: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(Registry::set_checksum(self, name, checksum))
    }

    fn remove<'a>(
        &'a self,
        name: &'a str,
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Registry::remove(self, name, session))
    }
}
