//! `--fleet`: one subcommand on every database of the fleet, each exactly as if migo ran there
//! alone (its own registry, lock and audit log), `--jobs` of them at once over one connection
//! pool per cluster, and a report with a row per database.

mod display;
mod each;
pub(crate) mod members;
pub(crate) mod outcome;
mod status;

use crate::app::Extensions;
use crate::commands::history::HistoryFilter;
use crate::commands::Invocation;
use crate::config::Settings;
use crate::error::Result;
use crate::plan::{Backward, Request};
use crate::ui::output::Output;
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
    pub(crate) out: &'a Output,
    pub(crate) app: &'a Extensions,
    pub(crate) invocation: &'a Invocation,
}

/// What runs on each member.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Job<'a> {
    /// A read with a table row per member.
    Status(Status),
    /// A run per member, with a summary row per member.
    Each(Work<'a>),
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
}

impl Work<'_> {
    /// Whether it may change a database (a `confirm = true` environment asks first).
    fn changes(&self, dry_run: bool) -> bool {
        match self {
            Work::Change(_) => !dry_run,
            Work::Dump => true,
            Work::History(_) | Work::Test { .. } => false,
        }
    }

    /// What it needs a person's yes for even without `confirm = true`, as a single run does.
    fn needs_yes(&self, dry_run: bool) -> bool {
        !dry_run
            && matches!(
                self,
                Work::Change(Request::Rollback(Backward::All) | Request::Forget(_))
            )
    }
}

/// Runs `job` on every member and reports; fails naming the members that did not finish.
pub(crate) async fn run(fleet: &Fleet<'_>, job: Job<'_>) -> Result<()> {
    announce(fleet);
    match job {
        Job::Status(kind) => status::status(fleet, kind).await,
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
/// `confirm = true` or the job needs a yes anyway (`rollback --all`).
fn confirm(fleet: &Fleet<'_>, job: Work<'_>) -> Result<()> {
    let dry_run = fleet.invocation.dry_run;
    let confirming = fleet.clusters.iter().any(|c| c.confirm);
    let asks = (confirming && job.changes(dry_run)) || job.needs_yes(dry_run);
    if !asks {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let mut names: Vec<&str> = fleet
        .members
        .iter()
        .take(SHOWN)
        .map(|m| m.name.as_str())
        .collect();
    let more = fleet.members.len().saturating_sub(SHOWN);
    let more = (more > 0).then(|| format!("and {more} more"));
    names.extend(more.as_deref());
    crate::ui::prompt::confirm(
        &format!(
            "`{}` changes {} database(s): {}",
            fleet.invocation.command_line,
            fleet.members.len(),
            names.join(", ")
        ),
        fleet.invocation.yes,
    )
}
