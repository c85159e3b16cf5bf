//! One function per subcommand: each resolves its inputs, asks `plan` what to do, hands the plan
//! to `execute`, and the result to `report`. Bad input is rejected before the first write.

use crate::config::Settings;
use crate::connect;
use crate::discover::{self, MigrationFile};
use crate::error::{Error, Result};
use crate::execute::{self, Bodies, Event, Target};
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
    let bodies = load_bodies(request, &before_lock)?;
    if options.dry_run {
        let steps = prepare(request, &before_lock, &bodies)?;
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
        let steps = prepare(request, &entries, &bodies)?;
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

/// Reads every migration the request may run, before the lock is taken, so that bad input (a
/// malformed file, an unknown name, an irreversible rollback) stops it with nothing written at
/// all. Decisions that depend on the registry's state are made under the lock, by [`prepare`].
fn load_bodies(request: Request<'_>, entries: &[Entry]) -> Result<Bodies> {
    let named = match request {
        Request::Execute(Some(name)) | Request::Ignore(Some(name)) | Request::Rollback(name) => {
            Some(plan::find(name, entries)?)
        }
        Request::Execute(None) | Request::Ignore(None) => None,
    };
    let may_run: Vec<&MigrationFile> = match request {
        // Every file that is not done yet: a malformed one stops the run before the first.
        Request::Execute(_) => entries
            .iter()
            .filter(|e| !matches!(e.state, State::Applied | State::Ignored))
            .filter_map(|e| e.file.as_ref())
            .collect(),
        Request::Rollback(_) => named.and_then(|e| e.file.as_ref()).into_iter().collect(),
        Request::Ignore(_) => Vec::new(),
    };
    let mut bodies = Bodies::new();
    for file in may_run {
        let body = Body::load(file)?;
        if let Request::Rollback(_) = request {
            execute::check_reversible(&body, file)?;
        }
        bodies.insert(file.name.clone(), body);
    }
    Ok(bodies)
}

/// The plan for `request` given `entries`, each step with its parsed migration.
fn prepare(
    request: Request<'_>,
    entries: &[Entry],
    bodies: &Bodies,
) -> Result<Vec<execute::Prepared>> {
    execute::prepare(&plan::plan(request, entries)?, bodies)
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
