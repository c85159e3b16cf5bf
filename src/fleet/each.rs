//! A change, `history`, `test`, `dump` or `drift` on every member, `--jobs` at a time. Each member runs
//! exactly as a single run on its database would (its lock, records, audit entry and error);
//! the fleet adds the order of starts, the stops (`--fail-fast`, a signal) and the summary.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::display::Display;
use super::outcome::{verdict, MemberRun};
use super::{each_member, Fleet, Work};
use crate::commands::{self, Context};
use crate::error::Result;

/// Runs `work` on every member, prints the summary, and fails naming the members that did not
/// finish.
pub(super) async fn each(fleet: &Fleet<'_>, work: Work<'_>) -> Result<()> {
    // A malformed file stops the fleet here, once, before any member starts.
    let sources = fleet.sources()?;
    let display = RefCell::new(Display::new(fleet.out, fleet.members.len()));
    let stop = Cell::new(false);
    // While the fleet runs, a signal stops it gracefully: no member starts, running members
    // stop as single runs do, and the summary is printed.
    let graceful = fleet.run.stop.graceful();
    // The fleet asked its one question already.
    let invocation = commands::Invocation {
        yes: true,
        ..fleet.invocation.clone()
    };
    // Reports (history, a dry run's plan) print as one block per member, not interleaved.
    let keep = fleet.out.json
        || fleet.invocation.dry_run
        || matches!(work, Work::History(_) | Work::Drift);
    let started = Instant::now();
    let runs = each_member(&fleet.members, fleet.jobs, |member| {
        let (display, stop, invocation) = (&display, &stop, &invocation);
        let sources = &sources[member.cluster];
        async move {
            if stop.get() || fleet.run.stop.signal().is_some() {
                return MemberRun::not_started(member);
            }
            let bar = display.borrow().as_ref().map(|d| d.start(&member.name));
            let kept = keep.then(|| Arc::new(Mutex::new(Vec::new())));
            let out = fleet.out.member(&member.name, bar.clone(), kept.clone());
            let ctx = Context {
                settings: &member.settings,
                out: &out,
                app: fleet.app,
                invocation,
                sources: Some(sources),
                run: fleet.run,
            };
            let begun = Instant::now();
            let result = run_work(ctx, work).await;
            let mut ran = MemberRun::new(member, &result, begun.elapsed());
            ran.report = kept.map(take).unwrap_or_default();
            if !fleet.out.json {
                let shown = fleet.out.member(&member.name, bar.clone(), None);
                ran.report.iter().for_each(|line| shown.print(line));
            }
            if let Some(failure) = &ran.failure {
                out.error(&failure.message, failure.hint.as_deref());
            }
            if let (Some(display), Some(bar)) = (display.borrow_mut().as_mut(), &bar) {
                display.finish(bar, ran.failed());
            }
            if ran.failed() && fleet.fail_fast {
                stop.set(true);
            }
            ran
        }
    })
    .await;
    drop(graceful);
    if let Some(display) = display.borrow().as_ref() {
        display.clear();
    }
    let tally = match work {
        Work::Change(request) => Some(super::report::Tally::Steps(request.action())),
        Work::Drift => Some(super::report::Tally::Differences),
        _ => None,
    };
    super::report::fleet_run(fleet.out, work.verb(), tally, &runs, started.elapsed());
    verdict(&runs, fleet.run.stop.signal())
}

/// The work on one member, as its single run; the steps done, for a change; the differences
/// found, for `drift`.
async fn run_work(ctx: Context<'_>, work: Work<'_>) -> Result<Option<usize>> {
    match work {
        Work::Change(request) => commands::change::change(ctx, request)
            .await
            .map(|done| Some(done.len())),
        Work::History(filter) => commands::history::history(ctx, filter).await.map(|()| None),
        Work::Test { name, empty } => commands::test::test(ctx, name, empty).await.map(|()| None),
        Work::Dump => commands::backup::dump(ctx).await.map(|()| None),
        Work::Drift => commands::drift::drift(ctx).await.map(|()| Some(0)),
    }
}

fn take(kept: Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(
        &mut *kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}
