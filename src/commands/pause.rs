//! `pause NAME`: asks a running backfill, from another shell, to stop after its current batch.
//! The request is a field of the backfill's registry record, which the run's next checkpoint
//! write finds (it costs the run no round trip); the run then records `paused`, releases the
//! lock and exits 15. `execute` resumes it. This command takes no lock: the run that holds it is
//! the one being asked.

use mongodb::bson::{doc, DateTime};

use super::Context;
use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;
use crate::identity::Identity;
use crate::plan;
use crate::store::registry::Registry;

/// Records the request; exit 0 once it is recorded.
pub(crate) async fn pause(ctx: Context<'_>, name: &str) -> Result<()> {
    let (db, entries, _) = ctx.entries().await?;
    let entry = plan::find(name, &entries)?;
    let who = Identity::current().to_string();
    let asked = Registry::new(&db, ctx.collection())
        .request_pause(&entry.name, &who)
        .await?;
    if !asked {
        return Err(Error::Refused(Refusal::NotPausable {
            name: entry.name.clone(),
            state: entry.state.as_str(),
        }));
    }
    ctx.out.print(&format!(
        "asked `{}` to pause after its current batch; `migo execute` resumes it",
        entry.name
    ));
    let mut audit = ctx.audit_entry("pause", DateTime::now(), &who);
    audit.migrations = vec![entry.name.clone()];
    audit.completed = audit.migrations.clone();
    audit.details = Some(doc! {"requested": true});
    ctx.append_audit(&db, &audit).await;
    Ok(())
}
