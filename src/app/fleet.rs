//! `--fleet` on the command line: which subcommands it takes, which clusters and members, and
//! the hand-over to [`crate::fleet`]. An environment with a `remote` runs the whole fleet there.

use regex::Regex;

use super::environment::{changes_something, follow_environment};
use super::invocation::load_settings;
use crate::cli::{Command, GlobalArgs};
use crate::commands::history::HistoryFilter;
use crate::commands::Invocation;
use crate::config::{Selector, Settings};
use crate::error::{Error, Result};
use crate::extensions::Extensions;
use crate::fleet::{self, Fleet, Job, Status, Work};
use crate::ground::output::Output;
use crate::plan::Request;
use crate::run::context::RunContext;

/// What a command line with fleet flags needs besides the command.
pub(super) struct FleetCall<'a> {
    pub(super) g: &'a GlobalArgs,
    pub(super) builtins: &'a [(String, String)],
    pub(super) extensions: &'a Extensions,
    pub(super) words: &'a [String],
    pub(super) invocation: &'a Invocation,
    pub(super) out: &'a Output,
    pub(super) run: &'a RunContext,
}

/// Runs `command` on the fleet.
pub(super) async fn run_fleet(
    call: FleetCall<'_>,
    settings: &Settings,
    command: &Command,
    request: Option<Request<'_>>,
) -> Result<()> {
    let g = call.g;
    if !g.fleet {
        return Err(usage(
            "`--databases` and `--fail-fast` go with `--fleet`",
            "add `--fleet` to run on every database of the fleet",
        ));
    }
    if g.database.is_some() {
        return Err(usage(
            "`--database` and `--fleet` exclude each other",
            "`--databases REGEX` chooses the fleet's databases; without `--fleet`, `--database` \
             runs on one",
        ));
    }
    if let Command::Lint { .. } = command {
        return lint_clusters(&call, settings, command);
    }
    let job = job(command, request)?;
    // The selected environment's remote host runs the whole fleet (it lists its databases).
    if settings.remote.is_some() && !g.local {
        return match follow_environment(settings, command, g, call.words, call.invocation)? {
            Some(0) | None => Ok(()),
            Some(code) => Err(Error::RemoteExit { code }),
        };
    }
    let (selector, exclude) = selection(g, settings)?;
    let clusters = clusters(&call, settings)?;
    let members = fleet::members::members(&clusters, &selector, &exclude).await?;
    let fleet = Fleet {
        clusters,
        members,
        changes: changes_something(command) && !g.dry_run,
        jobs: usize::from(g.jobs),
        fail_fast: g.fail_fast,
        out: call.out,
        app: call.extensions,
        invocation: call.invocation,
        run: call.run,
    };
    fleet::run(&fleet, job).await
}

/// The subcommands a fleet runs.
fn job<'a>(command: &'a Command, request: Option<Request<'a>>) -> Result<Job<'a>> {
    if let Some(request) = request {
        return match request {
            Request::Accept(_) | Request::Forget(_) => Err(not_for_fleet()),
            _ => Ok(Job::Each(Work::Change(request))),
        };
    }
    Ok(match command {
        Command::List => Job::Status(Status::List),
        Command::Check => Job::Status(Status::Check),
        Command::Version => Job::Status(Status::Version),
        Command::History { limit, since } => {
            Job::Each(Work::History(HistoryFilter::new(*limit, *since)))
        }
        Command::Test { name, empty, .. } => Job::Each(Work::Test {
            name: name.as_deref(),
            empty: *empty,
        }),
        Command::Dump => Job::Each(Work::Dump),
        Command::Drift => Job::Each(Work::Drift),
        Command::Preflight { name: None } => Job::Preflight,
        Command::Preflight { name: Some(_) } => {
            return Err(usage(
                "`--fleet preflight` checks every pending migration of each database",
                "leave NAME out, or run `migo --database NAME preflight MIGRATION` on one database",
            ))
        }
        _ => return Err(not_for_fleet()),
    })
}

fn not_for_fleet() -> Error {
    usage(
        "`--fleet` applies to `list`, `check`, `version`, `execute`, `ignore`, `rollback`, \
         `history`, `test`, `dump`, `drift`, `lint` and `preflight`",
        "run the others on one database with `--database NAME`",
    )
}

/// Which databases: `--databases` over `[fleet] databases`, minus `[fleet] exclude`.
fn selection(g: &GlobalArgs, settings: &Settings) -> Result<(Selector, Vec<String>)> {
    let exclude = settings
        .fleet
        .as_ref()
        .map(|f| f.exclude.clone())
        .unwrap_or_default();
    if let Some(pattern) = &g.databases {
        let regex = Regex::new(pattern).map_err(|e| {
            usage(
                &format!(
                    "`--databases` {pattern:?} is not a valid regex: {}",
                    crate::config::regex_problem(&e)
                ),
                "give a Rust regex, e.g. `--databases '^tenant_'`",
            )
        })?;
        return Ok((Selector::Pattern(regex), exclude));
    }
    match &settings.fleet {
        Some(fleet) => Ok((fleet.databases.clone(), exclude)),
        None => Err(usage(
            "`--fleet` needs `[fleet]` in migo.toml, or `--databases REGEX`",
            "add `[fleet]` with `databases = \"^tenant_\"` (a regex or a list of names)",
        )),
    }
}

/// The clusters: the environments `[fleet] environments` names, unless one was selected with
/// `--env` / `MIGO_ENV`; else the selected deployment alone.
fn clusters(call: &FleetCall<'_>, settings: &Settings) -> Result<Vec<Settings>> {
    let spanned = settings
        .fleet
        .as_ref()
        .map(|f| f.environments.clone())
        .unwrap_or_default();
    if settings.environment().is_some() || spanned.is_empty() {
        return Ok(vec![settings.clone()]);
    }
    spanned
        .iter()
        .map(|env| {
            let g = GlobalArgs {
                environment: Some(env.clone()),
                ..call.g.clone()
            };
            let cluster = load_settings(&g, call.builtins, call.extensions, false)?;
            if cluster.remote.is_some() && !g.local {
                return Err(usage(
                    &format!("the fleet's environment `{env}` runs on a remote host"),
                    &format!(
                        "a fleet spans environments migo reaches directly; run `migo --env {env} \
                         --fleet …` for it (its remote host runs its fleet), or pass `--local`"
                    ),
                ));
            }
            Ok(cluster)
        })
        .collect()
}

/// `--fleet lint`: the members of a cluster share its migration files, and lint reads only
/// files, so each cluster's directory is linted once (the fleet's members are not listed).
fn lint_clusters(call: &FleetCall<'_>, settings: &Settings, command: &Command) -> Result<()> {
    let clusters = clusters(call, settings)?;
    let mut seen: Vec<std::path::PathBuf> = Vec::new();
    let mut verdict = Ok(());
    for cluster in &clusters {
        if seen.contains(&cluster.migrations.directory) {
            continue;
        }
        seen.push(cluster.migrations.directory.clone());
        if clusters.len() > 1 {
            call.out.note(&format!(
                "{}: {}",
                cluster.environment().unwrap_or("default"),
                cluster.migrations.directory.display()
            ));
        }
        let ctx = crate::commands::Context {
            settings: cluster,
            out: call.out,
            app: call.extensions,
            invocation: call.invocation,
            sources: None,
            run: call.run,
        };
        let result = super::lint::lint(ctx, call.g, command);
        if verdict.is_ok() {
            verdict = result;
        }
    }
    verdict
}

fn usage(message: &str, hint: &str) -> Error {
    Error::Usage {
        message: message.into(),
        hint: Some(hint.into()),
    }
}
