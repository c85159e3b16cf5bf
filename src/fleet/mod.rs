//! `--fleet`: one subcommand on every database of the fleet, each exactly as if migo ran there
//! alone (its own registry, lock and audit log), `--jobs` of them at once over one connection
//! pool per cluster, and a report with a row per database.

mod display;
mod each;
pub(crate) mod members;
pub(crate) mod outcome;
pub(crate) mod preflight;
mod report;
mod status;

use crate::commands::history::HistoryFilter;
use crate::commands::{Context, Invocation};
use crate::config::Settings;
use crate::error::Result;
use crate::extensions::Extensions;
use crate::ground::output::Output;
use crate::ground::source::Source;
use crate::plan::{Backward, Request};
use crate::run::context::RunContext;
use members::Member;

/// A fleet run: the clusters, the members on them, and how to run them.
pub(crate) struct Fleet<'a> {
    /// Each cluster's settings (an environment's; the selected one's alone when `[fleet]` spans
    /// no environments).
    pub(crate) clusters: Vec<Settings>,
    pub(crate) members: Vec<Member>,
    /// How many members run at once.
    pub(crate) jobs: usize,
    /// Start no further member after the first failure.
    pub(crate) fail_fast: bool,
    /// Whether the command may change the databases: a `confirm = true` environment then asks,
    /// once for the whole fleet.
    pub(crate) changes: bool,
    pub(crate) out: &'a Output,
    pub(crate) app: &'a Extensions,
    pub(crate) invocation: &'a Invocation,
    /// The run's shared state (its stop token, children, lease renewer).
    pub(crate) run: &'a RunContext,
}

/// What runs on each member.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Job<'a> {
    /// A read with a table row per member.
    Status(Status),
    /// A run per member, with a summary row per member.
    Each(Work<'a>),
    /// `preflight`: the refusing checks on each member, a row per member that fails.
    Preflight,
}

/// `list`, `check`, `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    List,
    Check,
    Version,
}

/// The commands that run on each member as they would alone.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work<'a> {
    Change(Request<'a>),
    History(HistoryFilter),
    Test { name: Option<&'a str>, empty: bool },
    Dump,
    Drift,
}

impl Work<'_> {
    /// The subcommand's name, for the `--json` report.
    fn verb(self) -> &'static str {
        match self {
            Work::Change(request) => request.verb(),
            Work::History(_) => "history",
            Work::Test { .. } => "test",
            Work::Dump => "dump",
            Work::Drift => "drift",
        }
    }
}

impl Fleet<'_> {
    /// Each cluster's migrations, read once: every member of a cluster runs the same files.
    fn sources(&self) -> Result<Vec<Vec<Source>>> {
        self.clusters
            .iter()
            .map(|settings| {
                Context {
                    settings,
                    out: self.out,
                    app: self.app,
                    invocation: self.invocation,
                    sources: None,
                    run: self.run,
                }
                .discover()
            })
            .collect()
    }
}

/// `f` on every member, `jobs` at a time, the results in the members' order.
async fn each_member<'m, T, Fut>(
    members: &'m [Member],
    jobs: usize,
    mut f: impl FnMut(&'m Member) -> Fut,
) -> Vec<T>
where
    Fut: std::future::Future<Output = T>,
{
    use futures_util::stream::{self, StreamExt};
    let mut results: Vec<(usize, T)> = stream::iter(members.iter().enumerate())
        .map(|(index, member)| {
            let result = f(member);
            async move { (index, result.await) }
        })
        .buffer_unordered(jobs)
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Runs `job` on every member and reports; fails naming the members that did not finish.
pub(crate) async fn run(fleet: &Fleet<'_>, job: Job<'_>) -> Result<()> {
    announce(fleet);
    match job {
        Job::Status(kind) => status::status(fleet, kind).await,
        Job::Preflight => preflight::preflight(fleet).await,
        Job::Each(work) => {
            confirm(fleet, work)?;
            each::each(fleet, work).await
        }
    }
}

/// Says which deployments the fleet is on, once (the members do not repeat it).
fn announce(fleet: &Fleet<'_>) {
    for (index, cluster) in fleet.clusters.iter().enumerate() {
        let count = fleet.members.iter().filter(|m| m.cluster == index).count();
        let env = cluster.environment().unwrap_or("default");
        fleet.out.note(&format!(
            "{env}: {count} database(s) on {}",
            cluster.target.hosts()
        ));
    }
}

/// One question for the whole fleet, listing the members, when an environment has
/// `confirm = true`, or for `rollback --all`, which a single run asks about too (the members do
/// not ask again).
fn confirm(fleet: &Fleet<'_>, job: Work<'_>) -> Result<()> {
    let confirming = fleet.changes && fleet.clusters.iter().any(|c| c.confirm);
    let rolls_back_all =
        !fleet.invocation.dry_run && matches!(job, Work::Change(Request::Rollback(Backward::All)));
    if !(confirming || rolls_back_all) {
        return Ok(());
    }
    let names = outcome::first_ten(fleet.members.iter().map(|m| m.name.clone()));
    crate::ui::prompt::confirm(
        &format!(
            "`{}` changes {} database(s): {names}",
            fleet.invocation.command_line,
            fleet.members.len(),
        ),
        fleet.invocation.yes,
    )
}
