//! `execute`, `ignore`, `rollback`, `accept`, `forget`: the changes, in three phases.
//!
//! 1. [`preflight`]: discover, read the registry, plan, and load every migration the request may
//!    run, so that bad input stops it with nothing written (not even the lock). `--dry-run`
//!    ends here. Then start the interpreters the plan needs (mongosh, Node, Python) and wait
//!    until each is ready, so that a missing one or its missing driver stops it the same way.
//! 2. [`locked`]: take the lease, plan again on what the registry says under it (a `running`
//!    record now belongs to a run that is gone), check the pending steps against the data
//!    ([`super::preflight::checks`]: a failing check stops `execute` with nothing written), dump
//!    when the plan says so.
//! 3. run the plan ([`crate::run::execute`]), record the action in the audit log, release.

use mongodb::Database;

use super::locked::{Held, Note};
use super::Context;
use crate::error::Result;
use crate::ground::record::{Record, Status};
use crate::ground::source::Source;
use crate::ground::Phase;
use crate::migration::Body;
use crate::plan::{self, Backward, Entry, Phases, Plan, Request};
use crate::process::ChildEnv;
use crate::run::execute::{self, Bodies, Completed, Event, Prepared, Runner};
use crate::run::progress::Progress;
use crate::store::lock::Takeover;
use crate::store::registry::Registry;
use crate::ui::prompt::confirm;
use crate::ui::report;

/// What the first phase found.
struct Preflight {
    db: Database,
    entries: Vec<Entry>,
    files: Vec<Source>,
    bodies: Bodies,
    /// The plan before the lock: the steps and warnings, or the refusal.
    early: Result<(Vec<Prepared>, Vec<String>)>,
    /// A run is (or was, if it crashed) in flight: then the lock decides before the plan.
    in_flight: bool,
    /// The environment of child processes, with the interpreters already started.
    env: ChildEnv,
}

/// Plans and validates `request`, takes the lock, plans again under it, runs, and records the
/// action in the audit log; returns the steps done. `--dry-run` stops after the first plan: no
/// lock, no writes.
pub(crate) async fn change(ctx: Context<'_>, request: Request<'_>) -> Result<Vec<Completed>> {
    let pre = preflight(ctx, request).await?;
    if ctx.invocation.dry_run {
        let (steps, warnings) = pre.early?;
        warnings.iter().for_each(|w| ctx.out.warn(w));
        let backfills: Vec<(&str, &crate::migration::backfill::Backfill)> = steps
            .iter()
            .filter_map(|p| Some((p.step.file.name.as_str(), p.backfill()?)))
            .collect();
        let counts =
            crate::run::backfill::matching_now(&pre.db, &backfills, &ctx.settings.backfill).await?;
        report::dry_run(ctx.out, &steps, &counts);
        return Ok(Vec::new());
    }
    // A refusal now writes nothing at all. But while a run is (or was) in flight, the answer
    // depends on how it ends: the lock decides first, then the plan again.
    if let (Err(_), false) = (&pre.early, pre.in_flight) {
        return pre.early.map(|_| Vec::new());
    }
    // `execute --require-no-drift`: a database that differs from what its migrations make is
    // left as it is, before the lock (a replay on a scratch database; docs/drift.md).
    if ctx.invocation.require_no_drift && matches!(request, Request::Execute(_)) {
        let found = super::drift::find(ctx, &pre.db, &pre.entries).await?;
        if let Some(error) = found.error(&ctx.settings.target.database, false) {
            return Err(error);
        }
    }
    let count = pre.early.as_ref().map(|(steps, _)| steps.len()).ok();
    confirm_if_needed(ctx, request, count)?;
    super::locked::locked(
        ctx,
        &pre.db,
        request.verb(),
        Takeover::Expired,
        async |held, note| under_lock(ctx, request, &pre, held, note).await,
    )
    .await
}

/// Reads everything and plans, before any lock.
async fn preflight(ctx: Context<'_>, request: Request<'_>) -> Result<Preflight> {
    let (db, entries, lock, restore) = ctx.entries_and_restore().await?;
    let files: Vec<Source> = entries.iter().filter_map(|e| e.file.clone()).collect();
    let records: Vec<Record> = entries.iter().filter_map(|e| e.record.clone()).collect();
    let early = plan::plan(
        request,
        &entries,
        ctx.settings.migrations.policies,
        &Phases::default(),
    );
    let bodies = load_bodies(ctx, request, &entries, early.as_ref().ok())?;
    let early = early.and_then(|_| prepare(ctx, request, &entries, &records, &bodies));
    // An interrupted restore is settled under the lock first, and may change the registry.
    let in_flight = lock.live_holder().is_some()
        || records.iter().any(|r| r.status == Status::Running)
        || restore.is_some();
    // The interpreters the run needs say they are ready (driver found, connected) before the
    // lock, so that a missing one stops it with nothing recorded.
    let env = ctx.child_env();
    if !ctx.invocation.dry_run {
        let needed: Vec<&Body> = match (&early, in_flight) {
            (Ok((steps, _)), _) => steps.iter().filter_map(|p| p.body.as_ref()).collect(),
            (Err(_), true) => bodies.values().collect(),
            (Err(_), false) => Vec::new(),
        };
        Body::start_interpreters(needed, &env, &ctx.run.halt(None)).await?;
    }
    Ok(Preflight {
        db,
        entries,
        files,
        bodies,
        early,
        in_flight,
        env,
    })
}

/// The second and third phases, under the lease.
async fn under_lock(
    ctx: Context<'_>,
    request: Request<'_>,
    pre: &Preflight,
    held: &Held<'_>,
    note: &mut Note,
) -> Result<Vec<Completed>> {
    let registry = Registry::new(&pre.db, ctx.collection()).fenced(held.lease.fence());
    let records = registry.records().await?;
    let entries = plan::entries(&pre.files, &records, false);
    let (steps, warnings) = prepare(ctx, request, &entries, &records, &pre.bodies)?;
    note.migrations = steps.iter().map(|p| p.step.file.name.clone()).collect();
    note.nothing = steps.is_empty();
    let env = &pre.env;
    Body::start_interpreters(
        steps.iter().filter_map(|p| p.body.as_ref()),
        env,
        &held.halt,
    )
    .await?;
    ctx.announce_target();
    warnings.iter().for_each(|w| ctx.out.warn(w));
    let describe = ctx.settings.target.describe();
    let runner = Runner {
        db: &pre.db,
        registry: &registry,
        who: held.who,
        env,
        halt: &held.halt,
        target: &describe,
        backfills: &ctx.settings.backfill,
    };
    // The preflight checks: a step the target's data would make fail stops the run here, before
    // any write (`--force` runs it anyway, and the audit entry says so).
    if matches!(request, Request::Execute(_)) && !steps.is_empty() {
        note.details = super::preflight::checks(ctx, &pre.db, &steps).await?;
        crate::ground::knob::checkpoint("after-preflight");
    }
    // The backup comes before the first migration, and only when one will run.
    let wants_dump = matches!(request, Request::Execute(_)) && ctx.settings.dump.enabled;
    if wants_dump && !steps.is_empty() {
        let report = super::backup::backup(ctx, &pre.db).await?;
        note.dump = Some(report.path.display().to_string());
        crate::ground::knob::checkpoint("after-dump");
    }
    let completed = run_steps(ctx, &steps, runner).await?;
    note.completed = completed.iter().map(|c| c.name.clone()).collect();
    summarize(ctx, request, &entries, &completed);
    Ok(completed)
}

/// Walks the steps, showing progress.
async fn run_steps(
    ctx: Context<'_>,
    steps: &[Prepared],
    runner: Runner<'_>,
) -> Result<Vec<Completed>> {
    let mut progress = Progress::new(ctx.out);
    let mut on_event = |event: Event<'_>| match event {
        Event::Started(step) => {
            tracing::info!("{:?} {}", step.action, step.file.name);
            progress.started(step);
        }
        Event::Backfill(step, at) => progress.backfill(step, at),
        Event::Finished(step, took) => progress.finished(step, took),
    };
    execute::run(steps, runner, &mut on_event).await
}

/// Reads every migration the request may run, before the lock is taken, so that bad input (a
/// malformed file, an irreversible migration in a rollback range) stops it with nothing written
/// at all. `plan` is the plan made before the lock, when there is one.
fn load_bodies(
    ctx: Context<'_>,
    request: Request<'_>,
    entries: &[Entry],
    plan: Option<&Plan>,
) -> Result<Bodies> {
    let may_run: Vec<&Source> = match request {
        // Every file that is not done yet, in range or not: a malformed one stops the run
        // before the first migration executes.
        Request::Execute(_) => entries
            .iter()
            .filter(|e| !e.is_done())
            .filter_map(|e| e.file.as_ref())
            .collect(),
        Request::Rollback(_) => plan
            .map(|p| p.steps.iter().map(|s| &s.file).collect())
            .unwrap_or_default(),
        Request::Ignore(_) | Request::Accept(_) | Request::Forget(_) => Vec::new(),
    };
    let runners = &ctx.settings.migrations.runners;
    may_run
        .into_iter()
        .map(|file| {
            let body = Body::load(file, runners, &ctx.app.migrations)?;
            Ok((file.name.clone(), body))
        })
        .collect()
}

/// `rollback --all` and `forget` need a person's yes on a terminal, or `--yes` from a script.
fn confirm_if_needed(ctx: Context<'_>, request: Request<'_>, count: Option<usize>) -> Result<()> {
    let database = &ctx.settings.target.database;
    let question = match request {
        Request::Rollback(Backward::All) if count != Some(0) => {
            let what = count.map_or("every applied migration".to_string(), |n| {
                format!("all {n} applied migration(s)")
            });
            format!("`rollback --all` would roll back {what} of `{database}`")
        }
        Request::Forget(name) => {
            format!("`forget {name}` removes its record from `{database}` without running anything")
        }
        _ => return Ok(()),
    };
    confirm(&question, ctx.invocation.yes)
}

/// The steps for `request` given `entries`, each with its parsed migration, and the policy
/// warnings to show before running them.
fn prepare(
    ctx: Context<'_>,
    request: Request<'_>,
    entries: &[Entry],
    records: &[Record],
    bodies: &Bodies,
) -> Result<(Vec<Prepared>, Vec<String>)> {
    let m = &ctx.settings.migrations;
    let phases = Phases {
        after_deploy: bodies
            .iter()
            .filter(|(_, body)| body.phase() == Phase::AfterDeploy)
            .map(|(name, _)| name.clone())
            .collect(),
        wanted: ctx.invocation.phase,
    };
    let plan = plan::plan(request, entries, m.policies, &phases)?;
    let steps = execute::prepare(&plan, bodies, records, &m.runners, &ctx.app.migrations)?;
    Ok((steps, plan.warnings))
}

fn summarize(ctx: Context<'_>, request: Request<'_>, entries: &[Entry], completed: &[Completed]) {
    if ctx.out.is_member() && !ctx.out.json {
        return; // the fleet's summary has a row for it
    }
    let nothing = match request {
        Request::Execute(_) => format!("nothing to execute: {}", report::summary(entries)),
        Request::Ignore(_) => "nothing to ignore: no migration is pending".to_string(),
        Request::Rollback(_) => "nothing rolled back".to_string(),
        Request::Accept(_) => "nothing accepted".to_string(),
        Request::Forget(_) => "nothing forgotten".to_string(),
    };
    report::run_summary(
        ctx.out,
        request.verb(),
        completed,
        &nothing,
        &ctx.settings.target,
    );
}
