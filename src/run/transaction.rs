//! Transactional steps: the migration's work and its registry write (with the lease's fence) in
//! one transaction, committed with the retries the driver's helper would make.

use std::time::Instant;

use super::commit::commit;
use super::execute::{Failure, Runner};
use crate::ground::record::{Record, Status};
use crate::ground::Direction;
use crate::migration::failure::StepError;
use crate::migration::Body;

impl Runner<'_> {
    /// Runs `body` and the registry write (applied record, or its removal) in one transaction:
    /// both happen or neither does. The fence is the transaction's last write, so a lost lease
    /// aborts it.
    pub(super) async fn in_transaction(
        &self,
        body: &Body,
        direction: Direction,
        record: &mut Record,
        started: Instant,
    ) -> std::result::Result<(), Failure> {
        let setup = |what: &str, e: mongodb::error::Error| {
            Failure::Step(
                StepError::Setup(format!(
                    "cannot {what} a transaction on this server: {}",
                    crate::ground::driver::short_message(&e)
                )),
                direction,
            )
        };
        let mut session = self
            .db
            .client()
            .start_session()
            .await
            .map_err(|e| setup("start", e))?;
        session
            .start_transaction()
            .await
            .map_err(|e| setup("start", e))?;
        // Its fence statement writes the lock document: a renewal meanwhile would conflict.
        let _hold = self.halt.hold_lease();
        let work = body
            .run(direction, self.db, Some(&mut session), self.env, self.halt)
            .await;
        if let Err(error) = work {
            // Best effort: the server also drops an unfinished transaction on its own.
            let _ = session.abort_transaction().await;
            return Err(match error.halted() {
                Some(reason) => Failure::Stop(reason),
                None => Failure::Step(StepError::RolledBack(Box::new(error)), direction),
            });
        }
        let write = match direction {
            Direction::Up => {
                record.finish(Status::Applied, started.elapsed(), None);
                self.registry
                    .put(std::slice::from_ref(record), Some(&mut session))
                    .await
            }
            Direction::Down => self.registry.remove(&record.name, Some(&mut session)).await,
        };
        if let Err(e) = write {
            let _ = session.abort_transaction().await;
            return Err(Failure::Registry(e));
        }
        commit(&mut session).await.map_err(|e| {
            Failure::Step(
                StepError::Command {
                    at: "commit".into(),
                    error: e,
                },
                direction,
            )
        })
    }
}
