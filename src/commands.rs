//! One function per subcommand: each resolves its inputs, asks `plan` what to do, hands the plan
//! to `execute`, and the result to `report`. Bad input is rejected before the first write.

use crate::config::Settings;
use crate::connect;
use crate::discover::{self, MigrationFile};
use crate::error::{Error, Result};
use crate::execute::{self, Event, Target};
use crate::lock::{self, LockRequest};
use crate::migration::Body;
use crate::output::Output;
use crate::plan::{self, Entry, Request, State};
use crate::registry::Registry;
use crate::report;
use crate::scaffold;
use crate::tasks;

/// `list`: every migration with its state. Reads only: no lock, no writes.
pub async fn list(settings: &Settings, out: &Output) -> Result<()> {
    let files = discover_files(settings)?;
    let db = connect::connect(&settings.mongo).await?;
    let collection = &settings.migrations.collection;
    let holder = lock::current(&lock::collection(&db, collection)).await?;
    let run_active = holder.is_some_and(|h| !h.is_expired());
    let records = Registry::new(&db, collection).records().await?;
    report::list(out, &plan::entries(&files, &records, run_active));
    Ok(())
}

/// How a mutating subcommand was invoked.
#[derive(Debug, Clone, Copy)]
pub struct ChangeOptions<'a> {
    pub dry_run: bool,
    /// `--wait SECS` for a held lock.
    pub wait: Option<std::time::Duration>,
    /// The subcommand line, recorded in the lock.
    pub command_line: &'a str,
}

/// `execute`, `ignore`, `rollback`: take the lock, plan, validate, then run (or only print the
/// plan on `--dry-run`, which takes no lock and writes nothing).
pub async fn change(
    settings: &Settings,
    out: &Output,
    request: Request<'_>,
    options: ChangeOptions<'_>,
) -> Result<()> {
    let files = discover_files(settings)?;
    let db = connect::connect(&settings.mongo).await?;
    let registry = Registry::new(&db, &settings.migrations.collection);
    let records = registry.records().await?;
    let before_lock = plan::entries(&files, &records, true);
    precheck(request, &before_lock)?;
    if options.dry_run {
        let steps = prepare(request, &before_lock)?;
        report::dry_run(out, &steps);
        return Ok(());
    }
    let me = Identity::current();
    let lock_request = LockRequest {
        lease: settings.migrations.lock_lease,
        wait: options.wait,
        command: options.command_line.to_string(),
        user: me.user.clone(),
        host: me.host.clone(),
    };
    let warn = |message: &str| out.warn(message);
    let lease = lock::acquire(&db, &settings.migrations.collection, &lock_request, &warn).await?;
    let result = async {
        // Read under the lock: a `running` record now belongs to a run that is gone.
        let records = registry.records().await?;
        let entries = plan::entries(&files, &records, false);
        let steps = prepare(request, &entries)?;
        let who = me.to_string();
        let target = Target {
            db: &db,
            registry: &registry,
            who: &who,
        };
        let mut on_event = |event: Event<'_>| match event {
            Event::Started(step) => tracing::info!("{:?} {}", step.action, step.file.name),
            Event::Finished(step, took) => {
                report::step_done(out, &step.file.name, step.action, took)
            }
        };
        let outcomes = execute::run(&steps, target, &mut on_event).await?;
        summarize(out, request, &entries, &outcomes);
        Ok(())
    }
    .await;
    let released = lease.release().await;
    result.and(released)
}

/// Rejects bad input before the lock is taken, so that it writes nothing at all: a malformed
/// file that may run, an unknown name, an irreversible rollback. Decisions that depend on the
/// registry's state are made again under the lock.
fn precheck(request: Request<'_>, entries: &[Entry]) -> Result<()> {
    if let Request::Execute(_) = request {
        let may_run = |e: &&Entry| !matches!(e.state, State::Applied | State::Ignored);
        for file in entries
            .iter()
            .filter(may_run)
            .filter_map(|e| e.file.as_ref())
        {
            Body::load(file)?;
        }
    }
    let (Request::Execute(Some(name)) | Request::Ignore(Some(name)) | Request::Rollback(name)) =
        request
    else {
        return Ok(());
    };
    let entry = plan::find(name, entries)?;
    if let (Request::Rollback(_), Some(file)) = (request, &entry.file) {
        execute::reversible(Body::load(file)?, file)?;
    }
    Ok(())
}

/// The plan for `request`, with every file it needs loaded and checked (for `execute`, every
/// pending file), before anything runs.
fn prepare(request: Request<'_>, entries: &[Entry]) -> Result<Vec<execute::Prepared>> {
    let plan = plan::plan(request, entries)?;
    let must_validate: Vec<MigrationFile> = match request {
        Request::Execute(_) => pending(entries),
        _ => Vec::new(),
    };
    execute::prepare(&plan, &must_validate)
}

fn summarize(out: &Output, request: Request<'_>, entries: &[Entry], outcomes: &[execute::Outcome]) {
    let (command, nothing) = match request {
        Request::Execute(_) => (
            "execute",
            format!("nothing to execute: {}", report::summary(entries)),
        ),
        Request::Ignore(_) => (
            "ignore",
            "nothing to ignore: no migration is pending".to_string(),
        ),
        Request::Rollback(_) => ("rollback", "nothing rolled back".to_string()),
    };
    report::run_summary(out, command, outcomes, &nothing);
}

/// `unlock`: shows who holds the lock and releases it.
pub async fn unlock(settings: &Settings, out: &Output) -> Result<()> {
    let db = connect::connect(&settings.mongo).await?;
    let locks = lock::collection(&db, &settings.migrations.collection);
    match lock::force_release(&locks).await? {
        Some(holder) => {
            let state = if holder.is_expired() {
                "expired"
            } else {
                "live"
            };
            out.print(&format!(
                "released the lock ({state} lease) held by {}",
                holder.describe()
            ));
        }
        None => out.print("the migrations lock is free: nothing to release"),
    }
    Ok(())
}

/// `new NAME`.
pub fn new(settings: &Settings, out: &Output, name: &str) -> Result<()> {
    let path = scaffold::new_migration(&settings.migrations, name)?;
    out.print(&format!("created {}", path.display()));
    Ok(())
}

/// `help`: built-in subcommands and the tasks of migo.toml, one line each.
pub fn help(settings: Result<Settings>, out: &Output, builtins: &[(String, String)]) -> Result<()> {
    let width = builtins.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    out.print(&format!(
        "migo {}: MongoDB migrations\n\nUsage: migo [OPTIONS] [COMMAND]\n\nBuilt-in commands:",
        env!("CARGO_PKG_VERSION")
    ));
    for (name, about) in builtins.iter().filter(|(n, _)| n != "task") {
        out.print(&format!("  {name:<width$}  {about}"));
    }
    match settings {
        Ok(settings) if !settings.tasks.is_empty() => {
            let width = settings
                .tasks
                .keys()
                .map(String::len)
                .max()
                .unwrap_or(0)
                .max(width);
            out.print("\nTasks (from migo.toml):");
            for (name, task) in &settings.tasks {
                out.print(&format!("  {name:<width$}  {}", task.description));
            }
        }
        Ok(_) => {
            out.print("\nNo tasks: add `[tasks.<name>]` with `description` and `run` to migo.toml.")
        }
        Err(e) => out.warn(&format!("tasks not shown: {e}")),
    }
    out.print("\nRun `migo --help` for the options, `migo <command> --help` for one command.");
    Ok(())
}

/// A `[tasks.<name>]` extra; `args` is the name and at most one argument.
pub fn task(settings: &Settings, args: &[String]) -> Result<()> {
    let (name, rest) = args.split_first().expect("clap passes the subcommand name");
    let task = settings.tasks.get(name).ok_or_else(|| Error::Usage {
        message: format!("unknown subcommand `{name}`"),
        hint: Some("`migo help` lists the built-in subcommands and the tasks of migo.toml".into()),
    })?;
    if rest.len() > 1 {
        return Err(Error::Usage {
            message: format!(
                "task `{name}` takes at most one argument, got {}",
                rest.len()
            ),
            hint: Some("quote an argument that contains spaces".into()),
        });
    }
    tasks::run(name, task, rest.first().map(String::as_str), settings)
}

fn discover_files(settings: &Settings) -> Result<Vec<MigrationFile>> {
    discover::discover(&settings.migrations.directory, &settings.migrations.pattern)
}

fn pending(entries: &[Entry]) -> Vec<MigrationFile> {
    entries
        .iter()
        .filter(|e| e.state == State::Pending)
        .filter_map(|e| e.file.clone())
        .collect()
}

/// Who runs migo: recorded in the registry and the lock.
struct Identity {
    user: String,
    host: String,
}

impl Identity {
    fn current() -> Identity {
        let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
        Identity {
            user: whoami::username(),
            host,
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.user, self.host)
    }
}
