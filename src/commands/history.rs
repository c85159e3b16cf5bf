//! `history`: the audit log, newest first.

use mongodb::bson::DateTime;

use super::Context;
use crate::error::Result;
use crate::store::audit::AuditLog;
use crate::ui::report;

/// Which audit entries `history` shows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HistoryFilter {
    /// At most this many (all when `None`).
    pub(crate) limit: Option<u64>,
    /// None older than this.
    pub(crate) since: Option<DateTime>,
}

impl HistoryFilter {
    /// `history --limit N --since T`: `--limit 0` means all.
    pub(crate) fn new(limit: u64, since: Option<DateTime>) -> HistoryFilter {
        HistoryFilter {
            limit: (limit > 0).then_some(limit),
            since,
        }
    }
}

/// Shows the audit log through `filter`.
pub(crate) async fn history(ctx: Context<'_>, filter: HistoryFilter) -> Result<()> {
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    let entries = AuditLog::new(&db, ctx.collection())
        .recent(filter.limit, filter.since)
        .await?;
    report::history(ctx.out, &entries);
    Ok(())
}
