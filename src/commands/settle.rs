//! What the lock door does first, under the lease: a restore that a stop interrupted is settled
//! (finished or undone, said, and recorded in the audit log) before the command's own work, so
//! that nothing runs on a half-restored database.

use mongodb::bson::{doc, DateTime};
use mongodb::Database;

use super::Context;
use crate::backup::journal::Phase;
use crate::backup::swap::{self, Outcome};
use crate::error::Result;
use crate::identity::Identity;
use crate::store::audit::AuditResult;
use crate::store::lease::Lease;
use crate::store::registry::Registry;
use crate::ui::report;

/// What every lock-taking command does first, under the lease: a restore that a stop
/// interrupted is finished (its swap had begun: every collection was loaded and verified) or
/// undone (it was still loading), said, and recorded in the audit log. An error stops the
/// command: nothing runs on a half-restored database.
pub(crate) async fn settle_interrupted_restore(
    ctx: Context<'_>,
    db: &Database,
    lease: &Lease,
) -> Result<()> {
    let registry = Registry::new(db, ctx.collection()).fenced(lease.fence());
    let started = DateTime::now();
    // Short, and never left half way: the door's graceful section holds a signal until after.
    let settled = swap::recover(db, &registry).await;
    let recovered = match &settled {
        Ok(None) => return Ok(()),
        Ok(Some(recovered)) => Some(recovered),
        Err(_) => None,
    };
    let mut entry = ctx.audit_entry("restore", started, &Identity::current().to_string());
    if let Some(recovered) = recovered {
        report::settled_restore(ctx.out, recovered);
        entry.details = Some(doc! {
            "from": &recovered.from,
            "collections": &recovered.collections,
            "interrupted_while": phase_word(recovered.phase),
            "settled": match recovered.outcome {
                Outcome::Finished => "finished",
                Outcome::Undone => "undone",
            },
        });
    }
    if let Err(e) = &settled {
        entry.result = AuditResult::Failed;
        entry.error = Some(e.to_string());
        entry.details = Some(doc! {"settling": "an interrupted restore"});
    }
    ctx.append_audit(db, &entry).await;
    settled.map(drop)
}

/// The phase a restore was interrupted in, as a word.
fn phase_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Loading => "loading",
        Phase::Swapping => "swapping",
        Phase::Undoing => "undoing",
        Phase::Finishing => "finishing",
        Phase::Done => "done",
    }
}
