//! `preflight [NAME]`: the pending migrations checked against the target's data, read-only (no
//! lock, no write): exit 16 when a check fails. `execute` runs the same checks under the lock
//! ([`checks`]), before its first write.

use mongodb::Database;

use super::Context;
use crate::error::Result;
use crate::migration::reading;
use crate::plan::{self, Forward, Request};
use crate::preflight::{self, Depth, Step};
use crate::run::execute::Prepared;
use crate::ui::report;

/// `preflight`: every pending migration (or NAME), as `execute` would run them.
pub(crate) async fn preflight(ctx: Context<'_>, name: Option<&str>) -> Result<()> {
    let (db, entries, _) = ctx.entries().await?;
    let request = Request::Execute(name.map_or(Forward::All, Forward::Name));
    let plan = plan::plan(
        request,
        &entries,
        ctx.settings.migrations.policies,
        &Default::default(),
    )?;
    plan.warnings.iter().for_each(|w| ctx.out.warn(w));
    let steps = plan
        .steps
        .iter()
        .map(|s| {
            Ok(Step {
                name: s.file.name.clone(),
                ops: reading::of_file(&s.file)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let found = preflight::run(&db, &steps, Depth::Full).await?;
    let pending: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    report::preflight(ctx.out, &found, &pending, &ctx.settings.target);
    found.verdict(false)
}

/// The checks `execute` runs under the lock before its first write; what failed, if anything
/// (with `--force`, a warning and the details for the audit entry instead).
pub(crate) async fn checks(
    ctx: Context<'_>,
    db: &Database,
    steps: &[Prepared],
) -> Result<Option<mongodb::bson::Document>> {
    let steps: Vec<Step> = steps
        .iter()
        .filter_map(|p| {
            let body = p.body.as_ref()?;
            Some(Step {
                name: p.step.file.name.clone(),
                ops: reading::of_body(body, &p.step.file),
            })
        })
        .collect();
    let found = preflight::run(db, &steps, Depth::Refusals).await?;
    match found.verdict(true) {
        Ok(()) => Ok(None),
        Err(_) if ctx.invocation.force => {
            if let Err(e) = found.verdict(false) {
                ctx.out.warn(&format!("{e}; running it anyway (--force)"));
            }
            let failed: Vec<mongodb::bson::Document> = found
                .failures()
                .map(|c| mongodb::bson::doc! {"migration": &c.migration, "check": &c.detail})
                .collect();
            Ok(Some(
                mongodb::bson::doc! {"force": true, "preflight_failed": failed},
            ))
        }
        Err(e) => Err(e),
    }
}
