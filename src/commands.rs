//! One function per subcommand: each resolves its inputs, asks `plan` what to do, hands the plan
//! to `execute`, and the result to `report`. Bad input is rejected before the first write.

use crate::config::Settings;
use crate::connect;
use crate::discover::{self, MigrationFile};
use crate::error::{Error, Result};
use crate::execute::{self, Event, Target};
use crate::output::Output;
use crate::plan::{self, Entry, Request, State};
use crate::registry::Registry;
use crate::report;
use crate::scaffold;
use crate::tasks;

/// `list`: every migration with its state.
pub async fn list(settings: &Settings, out: &Output) -> Result<()> {
    let files = discover_files(settings)?;
    let (_, entries) = load_state(settings, &files).await?;
    report::list(out, &entries);
    Ok(())
}

/// `execute`, `ignore`, `rollback`: plan, validate, then run (or print the plan on `--dry-run`).
pub async fn change(
    settings: &Settings,
    out: &Output,
    request: Request<'_>,
    dry_run: bool,
) -> Result<()> {
    let files = discover_files(settings)?;
    let (registry, entries) = load_state(settings, &files).await?;
    let plan = plan::plan(request, &entries)?;
    let must_validate: Vec<MigrationFile> = match request {
        Request::Execute(_) => pending(&entries),
        _ => Vec::new(),
    };
    let steps = execute::prepare(&plan, &must_validate)?;
    if dry_run {
        report::dry_run(out, &steps);
        return Ok(());
    }
    let who = who();
    let mut on_event = |event: Event<'_>| match event {
        Event::Started(step) => tracing::info!("{:?} {}", step.action, step.file.name),
        Event::Finished(step, took) => report::step_done(out, &step.file.name, step.action, took),
    };
    let (db, registry) = registry;
    let target = Target {
        db: &db,
        registry: &registry,
        who: &who,
    };
    let outcomes = execute::run(&steps, target, &mut on_event).await?;
    let (command, nothing) = match request {
        Request::Execute(_) => (
            "execute",
            format!("nothing to execute: {}", report::summary(&entries)),
        ),
        Request::Ignore(_) => (
            "ignore",
            "nothing to ignore: no migration is pending".to_string(),
        ),
        Request::Rollback(_) => ("rollback", "nothing rolled back".to_string()),
    };
    report::run_summary(out, command, &outcomes, &nothing);
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

async fn load_state(
    settings: &Settings,
    files: &[MigrationFile],
) -> Result<((mongodb::Database, Registry), Vec<Entry>)> {
    let db = connect::connect(&settings.mongo).await?;
    let registry = Registry::new(&db, &settings.migrations.collection);
    let records = registry.records().await?;
    let entries = plan::entries(files, &records);
    Ok(((db, registry), entries))
}

fn pending(entries: &[Entry]) -> Vec<MigrationFile> {
    entries
        .iter()
        .filter(|e| e.state == State::Pending)
        .filter_map(|e| e.file.clone())
        .collect()
}

/// `user@host` for the registry.
fn who() -> String {
    let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
    format!("{}@{host}", whoami::username())
}
