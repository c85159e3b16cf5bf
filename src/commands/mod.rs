//! One function per subcommand: each resolves its inputs, asks `plan` what to do, hands the plan
//! to `execute`, and the result to `report`. Bad input is rejected before the first write.

use mongodb::bson::{doc, DateTime};
use mongodb::Database;

use crate::api::Extensions;
use crate::backup::dump::{self, DumpReport};
use crate::backup::restore;
use crate::config::{MigrationSettings, Runners, Settings};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::migration::discover::{self, MigrationFile};
use crate::migration::template::{self, Format};
use crate::migration::Body;
use crate::plan::{self, Backward, Entry, Plan, Request, State};
use crate::process::ChildEnv;
use crate::run::execute::{self, Bodies, Event, Target};
use crate::run::progress::Progress;
use crate::run::trial;
use crate::store::audit::{self, AuditEntry, AuditLog};
use crate::store::connection;
use crate::store::lock::{self, Lease, LockRequest};
use crate::store::registry::{Record, Registry, Status};
use crate::tasks;
use crate::ui::output::Output;
use crate::ui::prompt::confirm;
use crate::ui::report;

/// `list`: every migration with its state. Reads only: no lock, no writes.
pub(crate) async fn list(settings: &Settings, out: &Output) -> Result<()> {
    let (_, entries) = current_entries(settings).await?;
    report::list(out, &entries);
    Ok(())
}

/// `check`: fails (exit 8) unless every migration is applied or ignored, unchanged, with its file.
pub(crate) async fn check(settings: &Settings, out: &Output) -> Result<()> {
    let (_, entries) = current_entries(settings).await?;
    let problems: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.modified || !matches!(e.state, State::Applied | State::Ignored))
        .collect();
    report::check(out, &entries, &problems);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::CheckFailed {
        summary: report::summary(&entries),
    })
}

/// `history`: the audit log, newest first.
pub(crate) async fn history(
    settings: &Settings,
    out: &Output,
    filter: HistoryFilter,
) -> Result<()> {
    let db = connection::connect(&settings.mongo).await?;
    let audit = AuditLog::new(&db, &settings.migrations.collection);
    let entries = audit.recent(filter.limit, filter.since).await?;
    report::history(out, &entries);
    Ok(())
}

/// Which audit entries `history` shows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HistoryFilter {
    /// At most this many (all when `None`).
    pub(crate) limit: Option<u64>,
    /// None older than this.
    pub(crate) since: Option<DateTime>,
}

/// The files joined with the registry, as `list` and `check` show them (no lock taken).
async fn current_entries(settings: &Settings) -> Result<(Database, Vec<Entry>)> {
    let files = discover_files(settings)?;
    let db = connection::open(&settings.mongo).await?;
    let (records, run_active) = read_state(settings, &db).await?;
    let entries = plan::entries(&files, &records, run_active);
    Ok((db, entries))
}

/// The registry, and whether a live process holds the lock (without one, a `running` record is
/// interrupted), in one round trip: the first of the run, so it also reports a server that is
/// unreachable or refuses the credentials.
async fn read_state(settings: &Settings, db: &Database) -> Result<(Vec<Record>, bool)> {
    let registry = Registry::new(db, &settings.migrations.collection);
    let (records, holder) = registry
        .records_and_holder()
        .await
        .map_err(|e| connection::classify(&settings.mongo, e))?;
    Ok((records, holder.is_some_and(|h| !h.is_expired())))
}

/// How a mutating subcommand was invoked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangeOptions<'a> {
    pub(crate) dry_run: bool,
    /// `--yes`: confirmations are given.
    pub(crate) yes: bool,
    /// `--wait SECS` for a held lock.
    pub(crate) wait: Option<std::time::Duration>,
    /// The subcommand line, recorded in the lock and the audit log.
    pub(crate) command_line: &'a str,
}

/// `execute`, `ignore`, `rollback`, `accept`: plan and validate, take the lock, plan again on
/// what the registry says under the lock, run, and record the action in the audit log.
/// `--dry-run` stops after the first plan: no lock, no writes.
pub(crate) async fn change(
    settings: &Settings,
    out: &Output,
    request: Request<'_>,
    options: ChangeOptions<'_>,
) -> Result<()> {
    let files = discover_files(settings)?;
    let db = connection::open(&settings.mongo).await?;
    let collection = &settings.migrations.collection;
    let registry = Registry::new(&db, collection);
    let (records, run_active) = read_state(settings, &db).await?;
    let before_lock = plan::entries(&files, &records, run_active);
    let early = plan::plan(request, &before_lock, settings.migrations.policies);
    let runners = &settings.migrations.runners;
    let bodies = load_bodies(request, &before_lock, early.as_ref().ok(), runners)?;
    let early = early.and_then(|_| prepare(request, &before_lock, &bodies, &settings.migrations));
    if options.dry_run {
        let (steps, warnings) = early?;
        warnings.iter().for_each(|w| out.warn(w));
        report::dry_run(out, &steps);
        return Ok(());
    }
    // A refusal now writes nothing at all. But while a run is (or was, if it crashed) in
    // flight, the answer depends on how it ends: the lock decides first, then the plan again.
    let in_flight = run_active || records.iter().any(|r| r.status == Status::Running);
    let early = match early {
        Err(refusal) if !in_flight => return Err(refusal),
        early => early,
    };
    if let Request::Rollback(Backward::All) = request {
        let count = early.as_ref().map(|(steps, _)| steps.len()).ok();
        confirm_rollback_all(settings, count, options.yes)?;
    }
    let me = Identity::current();
    let lease = take_lock(&db, settings, &me, options, out).await?;
    let who = me.to_string();
    let result = async {
        // Read under the lock: a `running` record now belongs to a run that is gone.
        let entries = plan::entries(&files, &registry.records().await?, false);
        let (steps, warnings) = prepare(request, &entries, &bodies, &settings.migrations)?;
        warnings.iter().for_each(|w| out.warn(w));
        let started = DateTime::now();
        let target = Target {
            db: &db,
            registry: &registry,
            who: &who,
            env: &child_env(settings, out),
        };
        let mut progress = Progress::new(out);
        let mut on_event = |event: Event<'_>| match event {
            Event::Started(step) => {
                tracing::info!("{:?} {}", step.action, step.file.name);
                progress.started(step);
            }
            Event::Finished(step, took) => progress.finished(step, took),
        };
        // The backup comes before the first migration, and only when one will run.
        let wants_dump = matches!(request, Request::Execute(_)) && settings.dump.enabled;
        let mut dump_path = None;
        let run = match wants_dump && !steps.is_empty() {
            true => backup(&db, settings, out).await.map(|report| {
                dump_path = Some(report.path.display().to_string());
            }),
            false => Ok(()),
        };
        let run = match run {
            Ok(()) => execute::run(&steps, target, &mut on_event).await,
            Err(e) => Err(e),
        };
        if !steps.is_empty() {
            let mut entry = audit_entry(
                settings,
                request.verb(),
                started,
                &who,
                options.command_line,
            );
            entry.dump = dump_path;
            entry.migrations = steps.iter().map(|p| p.step.file.name.clone()).collect();
            match &run {
                Ok(outcomes) => entry.completed = outcomes.iter().map(|o| o.name.clone()).collect(),
                Err(e) => {
                    if let Error::MigrationFailed { done, .. } = e {
                        entry.completed = done.clone();
                    }
                    entry.result = audit::Outcome::Failed;
                    entry.error = Some(e.to_string());
                }
            }
            append_audit(&db, collection, &entry, out).await;
        }
        summarize(out, request, &entries, &run?);
        Ok(())
    }
    .await;
    let released = lease.release().await;
    result.and(released)
}

/// Takes the migrations lock for `me`, waiting as `--wait` says; a takeover is a warning.
async fn take_lock(
    db: &Database,
    settings: &Settings,
    me: &Identity,
    options: ChangeOptions<'_>,
    out: &Output,
) -> Result<Lease> {
    let request = LockRequest {
        lease: settings.migrations.lock_lease,
        wait: options.wait,
        command: options.command_line.to_string(),
        user: me.user.clone(),
        host: me.host.clone(),
    };
    let warn = |message: &str| out.warn(message);
    lock::acquire(db, &settings.migrations.collection, &request, &warn).await
}

/// Takes a dump into a fresh directory, says where, and prunes older ones past `[dump] keep`.
async fn backup(db: &Database, settings: &Settings, out: &Output) -> Result<DumpReport> {
    let dir = dump::new_dump_dir(settings);
    let report = dump::take(db, settings, &dir, &|line| out.note(line)).await?;
    report::dumped(out, &report);
    if let Some(keep) = settings.dump.keep {
        for removed in dump::prune(settings, keep)? {
            out.note(&format!("removed the old dump {}", removed.display()));
        }
    }
    Ok(report)
}

/// `dump`: a backup now. Reads the database only, so it takes no lock.
pub(crate) async fn dump(settings: &Settings, out: &Output, command_line: &str) -> Result<()> {
    let db = connection::connect(&settings.mongo).await?;
    let started = DateTime::now();
    let result = backup(&db, settings, out).await;
    let mut entry = audit_entry(
        settings,
        "dump",
        started,
        &Identity::current().to_string(),
        command_line,
    );
    match &result {
        Ok(report) => entry.dump = Some(report.path.display().to_string()),
        Err(e) => {
            entry.result = audit::Outcome::Failed;
            entry.error = Some(e.to_string());
        }
    }
    append_audit(&db, &settings.migrations.collection, &entry, out).await;
    result.map(drop)
}

/// `restore DIR`: replaces the dumped collections, under the lock, after a confirmation. migo's
/// own lock and audit log are never restored: the lock is held now, and history only grows.
pub(crate) async fn restore(
    settings: &Settings,
    out: &Output,
    dir: &std::path::Path,
    options: ChangeOptions<'_>,
) -> Result<()> {
    let collection = &settings.migrations.collection;
    let skip = [format!("{collection}_lock"), format!("{collection}_audit")];
    let collections = restore::find_collections(dir, &skip)?;
    let db = connection::connect(&settings.mongo).await?;
    let names: Vec<&str> = collections.iter().map(|c| c.name.as_str()).collect();
    if options.dry_run {
        report::restore_plan(out, &settings.mongo.database, dir, &names);
        return Ok(());
    }
    confirm(
        &format!(
            "restore drops and replaces {} collection(s) of `{}` ({}) from {}",
            names.len(),
            settings.mongo.database,
            names.join(", "),
            dir.display()
        ),
        options.yes,
    )?;
    let me = Identity::current();
    let lease = take_lock(&db, settings, &me, options, out).await?;
    let started = DateTime::now();
    let result = restore::restore(&db, &collections).await;
    let mut entry = audit_entry(
        settings,
        "restore",
        started,
        &me.to_string(),
        options.command_line,
    );
    entry.migrations = Vec::new();
    entry.details = Some(doc! {"from": dir.display().to_string(), "collections": &names});
    if let Err(e) = &result {
        entry.result = audit::Outcome::Failed;
        entry.error = Some(e.to_string());
    }
    append_audit(&db, collection, &entry, out).await;
    let released = lease.release().await;
    let restored = result?;
    report::restored(out, &settings.mongo.database, &restored);
    released
}

/// A new audit entry for `action`, stamped with the environment and, for a run started over
/// SSH, where it came from.
fn audit_entry(
    settings: &Settings,
    action: &str,
    started: DateTime,
    who: &str,
    command_line: &str,
) -> AuditEntry {
    let mut entry = AuditEntry::new(action, started, who, command_line);
    entry.environment = settings.environment.clone();
    entry.remote = settings.remote_origin.as_ref().map(|from| {
        let me = Identity::current();
        doc! {"from": from, "host": me.host, "user": me.user}
    });
    entry
}

/// Writes `entry`; a failure to do so is a warning, as the action itself already happened.
async fn append_audit(db: &Database, collection: &str, entry: &AuditEntry, out: &Output) {
    if let Err(e) = AuditLog::new(db, collection).append(entry).await {
        out.warn(&format!(
            "the action was not recorded in the audit log: {e}"
        ));
    }
}

/// Reads every migration the request may run, before the lock is taken, so that bad input (a
/// malformed file, an irreversible migration in a rollback range) stops it with nothing written
/// at all. `plan` is the plan made before the lock, when there is one.
fn load_bodies(
    request: Request<'_>,
    entries: &[Entry],
    plan: Option<&Plan>,
    runners: &Runners,
) -> Result<Bodies> {
    let may_run: Vec<&MigrationFile> = match request {
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
        Request::Ignore(_) | Request::Accept(_) => Vec::new(),
    };
    may_run
        .into_iter()
        .map(|file| Ok((file.name.clone(), Body::load(file, runners)?)))
        .collect()
}

/// `rollback --all` undoes everything: a person confirms it on a terminal, a script says `--yes`.
fn confirm_rollback_all(settings: &Settings, count: Option<usize>, yes: bool) -> Result<()> {
    if count == Some(0) {
        return Ok(());
    }
    let what = count.map_or("every applied migration".to_string(), |n| {
        format!("all {n} applied migration(s)")
    });
    let database = &settings.mongo.database;
    confirm(
        &format!("`rollback --all` would roll back {what} of `{database}`"),
        yes,
    )
}

/// The steps for `request` given `entries`, each with its parsed migration, and the policy
/// warnings to show before running them.
fn prepare(
    request: Request<'_>,
    entries: &[Entry],
    bodies: &Bodies,
    settings: &MigrationSettings,
) -> Result<(Vec<execute::Prepared>, Vec<String>)> {
    let plan = plan::plan(request, entries, settings.policies)?;
    let steps = execute::prepare(&plan, bodies, &settings.runners)?;
    Ok((steps, plan.warnings))
}

fn summarize(out: &Output, request: Request<'_>, entries: &[Entry], outcomes: &[execute::Outcome]) {
    let nothing = match request {
        Request::Execute(_) => format!("nothing to execute: {}", report::summary(entries)),
        Request::Ignore(_) => "nothing to ignore: no migration is pending".to_string(),
        Request::Rollback(_) => "nothing rolled back".to_string(),
        Request::Accept(_) => "nothing accepted".to_string(),
    };
    report::run_summary(out, request.verb(), outcomes, &nothing);
}

/// `unlock`: shows who holds the lock and releases it.
pub(crate) async fn unlock(settings: &Settings, out: &Output, command_line: &str) -> Result<()> {
    let db = connection::connect(&settings.mongo).await?;
    let locks = lock::collection(&db, &settings.migrations.collection);
    match lock::force_release(&locks).await? {
        Some(holder) => {
            let state = if holder.is_expired() {
                "expired"
            } else {
                "live"
            };
            let released = format!("{state} lease held by {}", holder.describe());
            out.print(&format!(
                "released the lock ({state} lease) held by {}",
                holder.describe()
            ));
            let mut entry = audit_entry(
                settings,
                "unlock",
                DateTime::now(),
                &Identity::current().to_string(),
                command_line,
            );
            entry.details = Some(doc! {"released": released, "holder_command": &holder.command});
            append_audit(&db, &settings.migrations.collection, &entry, out).await;
        }
        None => out.print("the migrations lock is free: nothing to release"),
    }
    Ok(())
}

/// `version`: the newest applied migration and the counts.
pub(crate) async fn version(settings: &Settings, out: &Output) -> Result<()> {
    let (_, entries) = current_entries(settings).await?;
    report::version(out, &entries);
    Ok(())
}

/// `remove NAME`: deletes a pending migration's file. Touches only the disk.
pub(crate) async fn remove(
    settings: &Settings,
    out: &Output,
    name: &str,
    dry_run: bool,
) -> Result<()> {
    let (_, entries) = current_entries(settings).await?;
    let file = plan::removable(name, &entries)?;
    let path = file.path.display();
    if dry_run {
        out.print(&format!("would remove {path}"));
        return Ok(());
    }
    std::fs::remove_file(&file.path).map_err(|e| Error::Io {
        context: "cannot remove",
        path: file.path.clone(),
        source: e,
    })?;
    out.print(&format!("removed {path}"));
    Ok(())
}

/// `test NAME` / `test --pending`: up → down → up on a scratch database, one migration after
/// the other, reporting whether each `down` restores the data exactly. Exit 8 when one does not.
pub(crate) async fn roundtrip(
    settings: &Settings,
    out: &Output,
    name: Option<&str>,
    empty: bool,
) -> Result<()> {
    let (db, entries) = current_entries(settings).await?;
    let chosen: Vec<&Entry> = match name {
        Some(name) => vec![plan::find(name, &entries)?],
        None => entries
            .iter()
            .filter(|e| e.state == State::Pending)
            .collect(),
    };
    let mut bodies = Vec::new();
    for entry in &chosen {
        let file = entry.file.as_ref().ok_or_else(|| {
            Error::refused(
                format!("the file of migration `{}` is missing", entry.name),
                "restore it from version control",
            )
        })?;
        let body = Body::load(file, &settings.migrations.runners)?;
        execute::check_reversible(&body, file)?;
        bodies.push((entry.name.clone(), body));
    }
    let scratch = db.client().database(&trial::scratch_name(db.name()));
    let env = child_env(settings, out);
    let dropped = |e| {
        Error::database(format!(
            "cannot drop the scratch database `{}`",
            scratch.name()
        ))(e)
    };
    scratch.drop().await.map_err(dropped)?;
    let result = async {
        if !empty {
            let mut collections: Vec<String> =
                bodies.iter().flat_map(|(_, b)| b.collections()).collect();
            collections.sort();
            collections.dedup();
            trial::copy_collections(&db, &scratch, &collections).await?;
        }
        let mut verdicts = Vec::new();
        for (name, body) in &bodies {
            let verdict = trial::round_trip(name, body, &scratch, &env).await?;
            report::roundtrip(out, &verdict);
            verdicts.push(verdict);
        }
        Ok::<_, Error>(verdicts)
    }
    .await;
    scratch.drop().await.map_err(dropped)?;
    let verdicts = result?;
    report::roundtrip_summary(out, &verdicts);
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.passed())
        .map(|v| v.name.clone())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::TestFailed { names: failed })
}

/// `new NAME [--format F]`.
pub(crate) fn new(settings: &Settings, out: &Output, name: &str, format: Format) -> Result<()> {
    let path = template::new_migration(
        &settings.migrations,
        &settings.extensions.migrations,
        name,
        format,
    )?;
    out.print(&format!("created {}", path.display()));
    Ok(())
}

/// `help`: built-in subcommands and the tasks of migo.toml, one line each.
pub(crate) fn help(
    settings: Result<Settings>,
    out: &Output,
    builtins: &[(String, String)],
    extensions: &Extensions,
) -> Result<()> {
    out.print(&format!(
        "migo {}: MongoDB migrations\n\nUsage: migo [OPTIONS] [COMMAND]\n\nBuilt-in commands:",
        env!("CARGO_PKG_VERSION")
    ));
    let builtins: Vec<(&str, &str)> = builtins
        .iter()
        .filter(|(n, _)| n != "task")
        .map(|(n, a)| (n.as_str(), a.as_str()))
        .collect();
    let extras: Vec<(&str, &str)> = extensions
        .extras
        .iter()
        .map(|e| (e.name(), e.description()))
        .collect();
    let tasks: Vec<(&str, &str)> = match &settings {
        Ok(settings) => settings
            .tasks
            .iter()
            .map(|(n, t)| (n.as_str(), t.description.as_str()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let width = builtins
        .iter()
        .chain(&extras)
        .chain(&tasks)
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let section = |rows: &[(&str, &str)]| {
        for (name, about) in rows {
            out.print(&format!("  {name:<width$}  {about}"));
        }
    };
    section(&builtins);
    if !extras.is_empty() {
        out.print("\nExtras (compiled into this binary):");
        section(&extras);
    }
    match settings {
        Ok(_) if !tasks.is_empty() => {
            out.print("\nTasks (from migo.toml):");
            section(&tasks);
        }
        Ok(_) => {
            out.print("\nNo tasks: add `[tasks.<name>]` with `description` and `run` to migo.toml.")
        }
        Err(e) => out.warn(&format!("tasks not shown: {e}")),
    }
    out.print("\nRun `migo --help` for the options, `migo <command> --help` for one command.");
    Ok(())
}

/// A compiled extra; `args` is its name and its arguments.
pub(crate) async fn extra(settings: &Settings, args: &[String]) -> Result<()> {
    let (name, rest) = args.split_first().expect("clap passes the subcommand name");
    let extra = settings
        .extensions
        .extra(name)
        .expect("dispatched to an existing extra");
    let db = connection::connect(&settings.mongo).await?;
    extra.run(&db, rest).await.map_err(|e| Error::TaskFailed {
        name: name.clone(),
        status: e.to_string(),
    })
}

/// A `[tasks.<name>]` extra; `args` is the name and at most one argument.
pub(crate) fn task(settings: &Settings, args: &[String]) -> Result<()> {
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
    let m = &settings.migrations;
    discover::discover_all(&m.directory, &m.pattern, &settings.extensions.migrations)
}

/// The connection for script migrations, echoing their output unless `--quiet`.
fn child_env(settings: &Settings, out: &Output) -> ChildEnv {
    ChildEnv::new(tasks::connection_env(settings), !out.is_quiet())
}
