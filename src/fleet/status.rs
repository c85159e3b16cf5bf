//! `list`, `check` and `version` on a fleet: the migration files read once per cluster, one
//! registry read per member (`--jobs` at a time), a row of counts per member.

use super::members::Member;
use super::outcome::{status_verdict, Row};
use super::{each_member, Fleet, Status};
use crate::error::Result;
use crate::ground::source::Source;
use crate::plan;
use crate::store::connection;
use crate::store::registry::Registry;

/// Reads every member and prints the fleet's table; see [`status_verdict`] for the exit.
pub(super) async fn status(fleet: &Fleet<'_>, kind: Status) -> Result<()> {
    let files = fleet.sources()?;
    let rows = each_member(&fleet.members, fleet.jobs, |member| {
        row(member, &files[member.cluster])
    })
    .await;
    super::report::fleet_status(fleet.out, kind, &rows);
    status_verdict(&rows, kind == Status::Check)
}

/// One member's row: one round trip for its registry and lock.
async fn row<'m>(member: &'m Member, files: &[Source]) -> Row<'m> {
    let target = &member.settings.target;
    let read = async {
        let db = connection::open(target).await?;
        Registry::new(&db, &member.settings.migrations.collection)
            .state()
            .await
            .map_err(|e| connection::classify(target, e))
    };
    match read.await {
        Ok((records, lock)) => {
            let entries = plan::entries(files, &records, lock.live_holder().is_some());
            Row::read(member, &entries)
        }
        Err(e) => Row::unreadable(member, &e),
    }
}
