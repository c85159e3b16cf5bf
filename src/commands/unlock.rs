//! `unlock`: shows who holds the lock and releases it, through the same door as every other
//! command (so it is audited): it takes the lease over from that holder (who then writes nothing
//! more: every registry write is fenced) and releases it. A live lease is only broken after a
//! confirmation, since its holder may still be running; an expired one, or a lock document migo
//! cannot read, is replaced at once.

use mongodb::bson::{doc, Document};

use super::locked::locked;
use super::Context;
use crate::error::Result;
use crate::store::lock::{self, Takeover};
use crate::ui::prompt::confirm;

/// Releases the lock, whoever holds it.
pub(crate) async fn unlock(ctx: Context<'_>) -> Result<()> {
    let db = crate::store::connection::connect(&ctx.settings.target).await?;
    let records = db.collection::<Document>(ctx.collection());
    let state = lock::read(&records).await?;
    let (takeover, released, shown) = match (&state.problem, state.held()) {
        (Some(problem), _) => {
            ctx.out.warn(problem);
            let what = "an unreadable lock document".to_string();
            (Takeover::Unreadable, what.clone(), format!("({what})"))
        }
        (None, None) => {
            ctx.out
                .print("the migrations lock is free: nothing to release");
            return Ok(());
        }
        (None, Some(holder)) => {
            let live = !holder.is_expired_at(state.server_now);
            if live {
                confirm(
                    &format!(
                        "the lock is held by {}, and its lease is live: that migo may still be \
                         running (releasing it stops it at its next registry write)",
                        holder.describe()
                    ),
                    ctx.invocation.yes,
                )?;
            }
            let lease = if live { "live" } else { "expired" };
            let token = holder.token.clone().unwrap_or_default();
            (
                Takeover::Token(token),
                format!("{lease} lease held by {}", holder.describe()),
                format!("({lease} lease) held by {}", holder.describe()),
            )
        }
    };
    let command = state.held().map(|h| h.command.clone()).unwrap_or_default();
    locked(ctx, &db, "unlock", takeover, async |_held, note| {
        note.details = Some(doc! {"released": &released, "holder_command": &command});
        Ok(())
    })
    .await?;
    ctx.out.print(&format!("released the lock {shown}"));
    Ok(())
}
