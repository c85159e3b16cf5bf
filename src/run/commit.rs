//! Committing a transaction as the driver's helper would: retried while the outcome is unknown
//! (`UnknownTransactionCommitResult`); a write concern error fails it. Shared by transactional
//! migrations and transactional backfill batches.

use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
use mongodb::ClientSession;

/// How often a commit whose outcome is unknown is tried again (as the driver's helper does).
const COMMIT_ATTEMPTS: usize = 5;

/// Commits, retrying while the outcome is unknown (`UnknownTransactionCommitResult`), as the
/// driver's transaction helper does. A write concern error fails the commit.
pub(crate) async fn commit(session: &mut ClientSession) -> mongodb::error::Result<()> {
    let mut attempt = 1;
    loop {
        match session.commit_transaction().await {
            Err(e)
                if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && attempt < COMMIT_ATTEMPTS =>
            {
                attempt += 1;
                tracing::debug!("commit outcome unknown, retrying ({attempt})");
            }
            other => return other,
        }
    }
}
