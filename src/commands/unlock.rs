//! `unlock`: shows who holds the lock, releases it, and records that in the audit log.

use mongodb::bson::{doc, DateTime, Document};

use super::Context;
use crate::error::Result;
use crate::identity::Identity;
use crate::store::lock;

/// Releases the lock, whoever holds it.
pub(crate) async fn unlock(ctx: Context<'_>) -> Result<()> {
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    let records = db.collection::<Document>(ctx.collection());
    let state = lock::read(&records).await?;
    let Some(holder) = lock::force_release(&records).await? else {
        ctx.out
            .print("the migrations lock is free: nothing to release");
        return Ok(());
    };
    let lease = if holder.is_expired_at(state.server_now) {
        "expired"
    } else {
        "live"
    };
    let released = format!("{lease} lease held by {}", holder.describe());
    ctx.out.print(&format!(
        "released the lock ({lease} lease) held by {}",
        holder.describe()
    ));
    let mut entry = ctx.audit_entry("unlock", DateTime::now(), &Identity::current().to_string());
    entry.details = Some(doc! {"released": released, "holder_command": &holder.command});
    ctx.append_audit(&db, &entry).await;
    Ok(())
}
