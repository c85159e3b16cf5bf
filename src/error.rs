//! Every way migo can fail, as one typed enum, and the one table that maps each to an exit code.
//!
//! Errors are built deep in the library with the facts a user needs (file, field, value, what was
//! already done) and rendered once, by `app.rs`, as one line: `error: <message>; hint: <fix>`.

use std::path::PathBuf;

use crate::ground::stop::Reason;

use crate::ground::refusal::Refusal;
use crate::ground::Direction;

/// Result alias used throughout the crate.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The stable exit codes, documented in the README. Scripts may rely on them.
pub(crate) mod exit {
    /// Everything asked for was done.
    pub(crate) const OK: u8 = 0;
    /// A migration failed while running; it is recorded as `failed`, the ones before it stay applied.
    pub(crate) const MIGRATION_FAILED: u8 = 1;
    /// The command line is wrong (unknown subcommand, bad flag value).
    pub(crate) const USAGE: u8 = 2;
    /// The configuration (`migo.toml`, `MIGO_*` variables) is invalid.
    pub(crate) const CONFIG: u8 = 3;
    /// A migration file is misnamed, duplicated or malformed, or the interpreter it needs
    /// cannot run it (missing, without its driver); nothing was run.
    pub(crate) const FILES: u8 = 4;
    /// The server cannot be reached or refuses the credentials.
    pub(crate) const CONNECTION: u8 = 5;
    /// The request does not fit the current state (unknown name, not pending, not applied, …).
    pub(crate) const REFUSED: u8 = 6;
    /// Another migo holds the lock.
    pub(crate) const LOCKED: u8 = 7;
    /// `check` found a migration that is not applied as its file says, or `test` a migration
    /// whose `down` does not restore the data.
    pub(crate) const CHECK_FAILED: u8 = 8;
    /// A user-defined task exited non-zero.
    pub(crate) const TASK_FAILED: u8 = 9;
    /// A dump or a restore failed (an `execute` stops before its first migration).
    pub(crate) const BACKUP_FAILED: u8 = 11;
    /// The SSH connection to an environment's remote failed or was refused (host key, auth).
    pub(crate) const REMOTE: u8 = 12;
    /// An unexpected database or file-system error.
    pub(crate) const INTERNAL: u8 = 10;
    /// The run lost the migrations lock to another run (its lease ran out while it was stopped
    /// or cut off) and stopped without writing anything more.
    pub(crate) const LOST_LOCK: u8 = 13;
    /// `drift` found the database different from what its applied migrations make (or
    /// `execute --require-no-drift` did), or `squash`'s checkpoint does not make what the
    /// history makes.
    pub(crate) const DRIFT: u8 = 14;
    /// A backfill stopped after a batch because `migo pause` asked it to; `execute` resumes it.
    pub(crate) const PAUSED: u8 = 15;
    /// A preflight check failed: `preflight` found a pending migration that would fail on the
    /// target's data, or `execute` refused to start it (nothing written).
    pub(crate) const PREFLIGHT_FAILED: u8 = 16;
    /// Stopped by SIGINT (Ctrl-C), after recording the step in flight and releasing the lock.
    pub(crate) const SIGINT: u8 = 130;
    /// Stopped by SIGTERM, likewise.
    pub(crate) const SIGTERM: u8 = 143;
}

/// A failure, carrying what the user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Bad command-line usage that clap could not catch.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    /// Invalid configuration; `location` is `file:line:column`, `file` or `MIGO_X`.
    #[error("{location}: {message}")]
    Config {
        location: String,
        message: String,
        hint: Option<String>,
    },

    /// The migrations directory does not exist.
    #[error("migrations directory `{}` does not exist", .0.display())]
    NoDirectory(PathBuf),

    /// A file in the migrations directory does not match the pattern.
    #[error("file `{file}` in `{}` does not match the pattern `{pattern}`", .dir.display())]
    BadFileName {
        file: String,
        dir: PathBuf,
        pattern: String,
    },

    /// Two files share a migration number.
    #[error("migrations `{first}` and `{second}` have the same number {number}")]
    DuplicateNumber {
        number: u64,
        first: String,
        second: String,
    },

    /// Two files would have the same migration name (they differ only by extension).
    #[error("migrations `{first}` and `{second}` have the same name `{name}`")]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },

    /// The interpreter a migration needs cannot run it (missing, without its driver, unable to
    /// start or to connect); nothing was run or recorded.
    #[error("cannot run `{file}`: {message}")]
    Interpreter {
        file: String,
        message: String,
        hint: Option<String>,
    },

    /// A migration file cannot be used as it is.
    #[error("migration `{file}` is invalid: {message}")]
    InvalidMigration {
        file: String,
        message: String,
        hint: Option<String>,
    },

    /// The server is unreachable within the timeout, or the connection failed.
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },

    /// Every seed host refused the TCP connection: no server listens there (said at once, without
    /// waiting out the server-selection timeout).
    #[error("cannot connect to {target}: connection refused")]
    ConnectionRefused { target: String, hosts: String },

    /// The server refused the credentials.
    #[error("authentication failed for user `{user}` on {target}: {message}")]
    Auth {
        user: String,
        target: String,
        message: String,
    },

    /// The request does not fit the registry's state; nothing was written.
    #[error("{}", .0.message())]
    Refused(Refusal),

    /// No configuration file was found.
    #[error("no migo.toml in {} or its parents", .0.display())]
    NoConfig(PathBuf),

    /// The registry holds a document that is not a migo record.
    #[error("the registry `{collection}` holds a document migo cannot read (_id {id}): {problem}")]
    ForeignRecord {
        collection: String,
        id: String,
        problem: String,
        tool: Option<&'static str>,
    },

    /// The run lost its lease and stopped; `step` is the migration in flight, if any.
    #[error("stopped: the migrations lock was lost ({reason}){}", .step.as_ref().map(|s| format!(" while `{s}` was running; it wrote nothing more (`{s}` shows as interrupted unless the run that took the lock over finished it)")).unwrap_or_default())]
    LostLock {
        reason: String,
        step: Option<String>,
        done: Vec<String>,
    },

    /// The run was stopped by a signal, after recording what it was doing.
    #[error("stopped by {}{}", crate::ground::signal::signal_name(*.signal), .step.as_ref().map(|s| format!(" while `{s}` was running; it is recorded as interrupted")).unwrap_or_default())]
    Interrupted {
        signal: i32,
        step: Option<String>,
        done: Vec<String>,
        /// The step in flight was a rollback (its `down`).
        rollback: bool,
    },

    /// The connection broke while a migration ran (its effect is unknown), or before it started
    /// (it did not run).
    #[error("the connection to {target} was lost {}: {message}", if *.started { format!("while `{name}` was running, so its state is unknown") } else { format!("before `{name}` started; it did not run") })]
    ConnectionLost {
        target: String,
        name: String,
        message: String,
        /// Whether the migration had started.
        started: bool,
        /// The step in flight was a rollback (its `down`).
        rollback: bool,
    },

    /// The connection broke in the middle of a backfill: the batches recorded before stand, and
    /// `execute` (or `rollback`) resumes after the last of them.
    #[error("the connection to {target} was lost during `{name}`{}: {message}", .progress.as_ref().map(|p| format!(", after {p}")).unwrap_or_default())]
    BackfillCut {
        target: String,
        name: String,
        message: String,
        /// `1,000 of about 2,000`, when the last recorded checkpoint is known.
        progress: Option<String>,
        /// The step in flight was a rollback (its `down`).
        rollback: bool,
        done: Vec<String>,
    },

    /// A backfill stopped by a signal after a recorded batch: `execute` resumes it.
    #[error("stopped by {} during `{name}`, after {progress}; its progress is recorded", crate::ground::signal::signal_name(*.signal))]
    BackfillStopped {
        name: String,
        signal: i32,
        /// `1,000 of about 2,000`.
        progress: String,
        /// The steps this run completed before it.
        done: Vec<String>,
    },

    /// A backfill paused on request after a recorded batch.
    #[error("`{name}` paused as asked, after {progress}")]
    Paused {
        name: String,
        /// `600 of about 1,000`.
        progress: String,
        /// The steps this run completed before it.
        steps_done: Vec<String>,
    },

    /// Another migo holds the lock.
    #[error("the migrations lock is held by {holder}")]
    Locked { holder: String, host: String },

    /// A migration failed while running; `done` lists what this run completed before it.
    #[error("migration `{name}` failed: {error}")]
    MigrationFailed {
        name: String,
        /// The step's own failure (a `StepError` of the run: a driver error, a child's exit, an
        /// interpreter's traceback), kept whole as the error's source.
        error: Box<dyn std::error::Error + Send + Sync>,
        done: Vec<String>,
        direction: Direction,
        /// Its transaction was rolled back, so its record is as it was before the step: none
        /// for `up` (the migration is still pending), applied for `down`.
        rolled_back: bool,
    },

    /// `check` found migrations pending, failed, interrupted, modified or missing.
    #[error("migrations are not up to date: {summary}")]
    CheckFailed { summary: String },

    /// `lint` (or `check`) found findings of severity error.
    #[error("lint found {errors} error(s) in {}", listed(.migrations))]
    LintFailed {
        errors: usize,
        migrations: Vec<String>,
    },

    /// A preflight check failed on the target's data: `check` says which and what it found.
    #[error("preflight: `{migration}` would fail: {check}{}{}", if *.more > 0 { format!(" (and {} more failed check(s))", .more) } else { String::new() }, if *.refused { "; nothing was written" } else { "" })]
    PreflightFailed {
        migration: String,
        check: String,
        /// How many other checks failed.
        more: usize,
        /// `execute` refused to run (rather than `preflight` reporting).
        refused: bool,
        hint: String,
    },

    /// `migo test` found migrations whose `down` does not restore the data, or whose `up` does
    /// not repeat.
    #[error("round trip failed for {}", .names.join(", "))]
    TestFailed { names: Vec<String> },

    /// The database differs from what its applied migrations make, replayed on a scratch
    /// database (`drift`, `execute --require-no-drift`); the report lists each difference.
    #[error("`{database}` differs from what its {replayed} applied migration(s) make: {summary}")]
    Drift {
        database: String,
        replayed: usize,
        summary: String,
        count: usize,
        /// The command's own report lists the differences (`drift`; not `execute`).
        reported: bool,
    },

    /// `squash`'s checkpoint, applied to an empty database, does not make what its history makes.
    #[error("the checkpoint would not make what the migrations up to `{to}` make: {summary}; nothing was written")]
    CheckpointDiffers { to: String, summary: String },

    /// The account may not make or drop a scratch database (`drift`, `snapshot --replay`,
    /// `squash`, `test`).
    #[error("the user may not create or drop the scratch database `{database}`: {message}")]
    ScratchDenied { database: String, message: String },

    /// A migration failed when replayed on a scratch database (`drift`, `snapshot --replay`,
    /// `squash`); nothing was recorded, the scratch database was dropped.
    #[error(
        "migration `{name}` failed when replayed on the scratch database `{scratch}`: {message}"
    )]
    ReplayFailed {
        name: String,
        scratch: String,
        message: String,
    },

    /// A dump could not be taken; nothing was migrated.
    #[error("dump into `{}` failed: {message}", .path.display())]
    DumpFailed {
        path: PathBuf,
        message: String,
        hint: Option<String>,
    },

    /// A file of a dump is damaged; nothing was restored.
    #[error("the dump file `{}` is damaged: {problem}", .file.display())]
    DamagedDump { file: PathBuf, problem: String },

    /// A file of a dump is not what the dump's manifest lists; nothing was restored.
    #[error("the dump file `{}` does not match the dump's manifest: {difference}", .file.display())]
    DumpMismatch { file: PathBuf, difference: String },

    /// A collection could not be restored; nothing was replaced.
    #[error("restore of collection `{collection}` failed: {message}")]
    RestoreFailed { collection: String, message: String },

    /// A restore's swap could not finish; its journal stays for the next command to finish it.
    #[error("restore of collection `{collection}` failed during the swap: {message}")]
    RestoreUnfinished { collection: String, message: String },

    /// A restore was stopped by a signal before its swap: nothing was replaced.
    #[error("restore stopped by {} before the swap: nothing was replaced (the loaded copies were dropped)", crate::ground::signal::signal_name(*.signal))]
    RestoreStopped { signal: i32 },

    /// The remote of an environment could not be reached, or refused.
    #[error("remote {target}: {message}")]
    Remote {
        target: String,
        message: String,
        hint: Option<String>,
    },

    /// Members of a fleet failed, or were not up to date; the fleet's report names each.
    #[error("{message}")]
    Fleet {
        message: String,
        hint: String,
        code: u8,
    },

    /// The remote run ended with a non-zero exit code; it has printed its own error.
    #[error("the remote run exited with {code}")]
    RemoteExit { code: u8 },

    /// A user-defined task exited non-zero.
    #[error("task `{name}` failed: {status}")]
    TaskFailed { name: String, status: String },

    /// A database operation of migo's own (registry, ping) failed.
    #[error("{context}: {}", crate::ground::driver::short_message(.source))]
    Database {
        context: String,
        source: mongodb::error::Error,
    },

    /// The server refused a registry write (a write error in an `ok: 1` reply).
    #[error("{0}")]
    Registry(String),

    /// A file-system operation failed.
    #[error("{context} `{}`: {source}", .path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `` `a`, `b`, `c`, `d`, `e` and 3 more ``: the first five names.
fn listed(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    match names.len().saturating_sub(5) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

impl Error {
    /// The exit code for this error, from the table in [`exit`].
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => exit::USAGE,
            Error::Config { .. } | Error::NoConfig(_) | Error::ForeignRecord { .. } => exit::CONFIG,
            Error::LostLock { .. } => exit::LOST_LOCK,
            Error::Paused { .. } => exit::PAUSED,
            Error::Interrupted { signal, .. }
            | Error::RestoreStopped { signal }
            | Error::BackfillStopped { signal, .. } => match *signal {
                libc::SIGINT => exit::SIGINT,
                libc::SIGTERM => exit::SIGTERM,
                n => 128u8.saturating_add(u8::try_from(n).unwrap_or(0)),
            },
            Error::ConnectionLost { .. } | Error::BackfillCut { .. } => exit::CONNECTION,
            Error::NoDirectory(_)
            | Error::BadFileName { .. }
            | Error::DuplicateNumber { .. }
            | Error::DuplicateName { .. }
            | Error::Interpreter { .. }
            | Error::InvalidMigration { .. } => exit::FILES,
            Error::Connect { .. }
            | Error::ConnectionRefused { .. }
            | Error::Auth { .. }
            | Error::ScratchDenied { .. } => exit::CONNECTION,
            Error::Database { source, .. } if crate::ground::driver::is_login_required(source) => {
                exit::CONNECTION
            }
            Error::Refused { .. } => exit::REFUSED,
            Error::Locked { .. } => exit::LOCKED,
            Error::MigrationFailed { .. } | Error::ReplayFailed { .. } => exit::MIGRATION_FAILED,
            Error::Drift { .. } | Error::CheckpointDiffers { .. } => exit::DRIFT,
            Error::CheckFailed { .. } | Error::TestFailed { .. } | Error::LintFailed { .. } => {
                exit::CHECK_FAILED
            }
            Error::PreflightFailed { .. } => exit::PREFLIGHT_FAILED,
            Error::TaskFailed { .. } => exit::TASK_FAILED,
            Error::DumpFailed { .. }
            | Error::RestoreFailed { .. }
            | Error::RestoreUnfinished { .. }
            | Error::DamagedDump { .. }
            | Error::DumpMismatch { .. } => exit::BACKUP_FAILED,
            Error::Remote { .. } => exit::REMOTE,
            Error::RemoteExit { code } | Error::Fleet { code, .. } => *code,
            Error::Database { .. } | Error::Io { .. } | Error::Registry(_) => exit::INTERNAL,
        }
    }

    /// How to fix it, when migo knows.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. }
            | Error::Config { hint, .. }
            | Error::InvalidMigration { hint, .. }
            | Error::Interpreter { hint, .. }
            | Error::Remote { hint, .. } => hint.clone(),
            Error::PreflightFailed { hint, .. } => Some(hint.clone()),
            Error::LintFailed { .. } => Some(
                "each finding says how to fix it; a migration that must do it anyway is exempted \
                 with the reason: `\"lint\": {\"allow\": {\"RULE\": \"why\"}}` (.json) or \
                 `// migo:allow RULE why` (scripts)"
                    .into(),
            ),
            Error::Refused(refusal) => Some(refusal.hint()),
            Error::NoConfig(_) => Some(
                "run `migo init` to set migo up here, or point `--config` / `MIGO_CONFIG` at one"
                    .into(),
            ),
            Error::ForeignRecord {
                tool: Some(tool), ..
            } => Some(format!(
                "it looks like {tool}'s history: point `[migrations] collection` at a collection \
                 of migo's own, then take it over with `migo adopt --from {tool}`"
            )),
            Error::ForeignRecord { tool: None, .. } => Some(
                "is `[migrations] collection` the collection of migo's registry? It must hold \
                 only migo's records"
                    .into(),
            ),
            Error::Paused { name, .. } => Some(format!(
                "`migo execute` resumes it after its last batch (`migo list` shows how far it got); \
                 `migo rollback {name}` undoes what it did"
            )),
            Error::LostLock { .. } => Some(
                "another migo took the lock over after this one's lease ran out (was this process \
                 stopped or cut off?); `migo list` and `migo history` show what it did"
                    .into(),
            ),
            Error::Interrupted {
                step: Some(step),
                rollback: true,
                ..
            } => Some(format!(
                "check what its `down` undid, then finish the rollback with `migo rollback \
                 {step}`, or record it applied again with `migo ignore {step}`"
            )),
            Error::Interrupted {
                step: Some(step), ..
            } => Some(format!(
                "check what `{step}` did, then `migo execute {step}` to run it again, or \
                 `migo ignore {step}` / `migo rollback {step}`"
            )),
            Error::Interrupted { step: None, .. } => Some("run the command again to go on".into()),
            Error::BackfillStopped { .. } => Some(
                "`migo execute` resumes it after its last recorded batch (`migo list` shows how far \
                 it got)"
                    .into(),
            ),
            Error::BackfillCut { name, rollback, .. } => Some(format!(
                "once the server is back, `migo {}` resumes it after its last recorded batch \
                 (`migo list` shows how far it got)",
                if *rollback { format!("rollback {name}") } else { "execute".into() }
            )),
            Error::ConnectionLost { started: false, .. } => {
                Some("once the server is back, run the command again".into())
            }
            Error::ConnectionLost {
                name,
                rollback: true,
                ..
            } => Some(format!(
                "once the server is back, `migo list` shows `{name}` as interrupted; check its \
                 data, then finish the rollback with `migo rollback {name}`, or record it applied \
                 again with `migo ignore {name}`"
            )),
            Error::ConnectionLost { name, .. } => Some(format!(
                "once the server is back, `migo list` shows `{name}` as interrupted; check its \
                 data, then `migo execute {name}` or `migo ignore {name}`"
            )),
            Error::RemoteExit { .. } => None,
            Error::Fleet { hint, .. } => Some(hint.clone()),
            Error::DumpFailed { hint, .. } => hint.clone().or_else(|| {
                Some(
                    "nothing was migrated; fix the cause (disk space, permissions, `[dump] \
                      directory`) and run again"
                        .into(),
                )
            }),
            Error::RestoreFailed { .. } => Some(
                "nothing was replaced: every collection is as it was; fix the cause and run \
                 `migo restore` again"
                    .into(),
            ),
            Error::DamagedDump { .. } => Some(
                "nothing was changed; restore another dump (`migo dump` takes a new one)".into(),
            ),
            Error::DumpMismatch { .. } => Some(
                "nothing was changed: the dump was cut off or altered after migo wrote it; \
                 restore another dump (`migo dump` takes a new one)"
                    .into(),
            ),
            Error::RestoreUnfinished { .. } => Some(
                "the next migo command that takes the lock finishes the restore or undoes it, \
                 whichever is safe (`migo restore` alone does only that); `migo list` shows \
                 where it stands"
                    .into(),
            ),
            Error::RestoreStopped { .. } => {
                Some("run the same `migo restore` again to restore the dump".into())
            }
            Error::NoDirectory(_) => Some(
                "create it, run `migo new NAME`, or set `[migrations] directory` in migo.toml"
                    .into(),
            ),
            Error::BadFileName { .. } => Some(
                "rename it, prefix it with `_` to keep it aside, or change `[migrations] pattern`"
                    .into(),
            ),
            Error::DuplicateNumber { .. } => Some("renumber one of them".into()),
            Error::DuplicateName { .. } => Some(
                "a migration's name is its file name without the extension: rename one of them, \
                 or make `[migrations] pattern` accept only one of the extensions"
                    .into(),
            ),
            Error::Connect { .. } => Some(
                "check `[mongo]` host/port/uri and that the server runs; \
                 raise `[mongo] timeout_secs` for a slow network"
                    .into(),
            ),
            Error::ConnectionRefused { hosts, .. } => Some(format!(
                "is the server running on {hosts}? Start it, or fix `host`/`port`/`uri` under \
                 `[mongo]` (or `--host`/`--port`/`--uri`)"
            )),
            Error::Auth { .. } => {
                Some("check `[mongo] user`, the password (`password_env`) and `auth_source`".into())
            }
            Error::Database { source, .. }
                if crate::ground::driver::is_login_required(source) =>
            {
                Some(
                    "the server requires a login and no user is configured: set `user` under \
                     `[mongo]` (or `--user` / `MIGO_USER`) and the variable holding the password \
                     in `password_env`"
                        .into(),
                )
            }
            Error::Locked { host, .. } => Some(format!(
                "wait for it with `--wait SECS`, or run `migo unlock` if no migo process is \
                 running on {host}"
            )),
            Error::MigrationFailed {
                name,
                direction: Direction::Down,
                rolled_back: true,
                ..
            } => Some(format!(
                "it is still applied: fix `down` and retry with `migo rollback {name}`"
            )),
            Error::MigrationFailed {
                name,
                rolled_back: true,
                ..
            } => Some(format!(
                "it is still pending: fix it, then retry with `migo execute {name}`, or mark it \
                 done with `migo ignore {name}`"
            )),
            Error::MigrationFailed {
                name,
                direction: Direction::Down,
                ..
            } => Some(format!(
                "`up`'s effects may still be there: fix `down` and retry with `migo rollback \
                 {name}`, or record it applied again with `migo ignore {name}`"
            )),
            Error::MigrationFailed { name, .. } => Some(format!(
                "fix it, then retry with `migo execute {name}`, or `migo ignore {name}` / \
                 `migo rollback {name}`"
            )),
            Error::CheckFailed { .. } => Some(
                "`migo list` shows each migration; `migo execute` applies pending ones, \
                 `migo accept NAME` records an intended edit, `migo forget NAME` drops the \
                 record of a deleted file"
                    .into(),
            ),
            Error::TestFailed { .. } => Some(
                "make `down` undo exactly what `up` did (e.g. keep the old value before \
                 overwriting it), then run `migo test` again"
                    .into(),
            ),
            Error::Drift { .. } => Some(
                "`migo drift` lists each difference with the command that reconciles it: make \
                 the change in a migration, or reconcile the database; `[drift] ignore` sets \
                 aside collections the application creates itself"
                    .into(),
            ),
            Error::CheckpointDiffers { .. } => Some(
                "the differences are listed above: the server does not build this schema back \
                 from its own description; keep the history, or squash up to an earlier migration"
                    .into(),
            ),
            Error::ScratchDenied { .. } => Some(
                "migo replays migrations on a scratch database beside yours: give the user the \
                 roles `readWriteAnyDatabase` and `dbAdminAnyDatabase` (or roles on databases \
                 named `<database>_migo_*`)"
                    .into(),
            ),
            Error::ReplayFailed { name, .. } => Some(format!(
                "the scratch database was dropped; make `{name}` run on a database that has \
                 only what the migrations before it make (`migo list` marks a file changed since \
                 it was applied)"
            )),
            Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC) => {
                Some("the disk is full: free some space there and run the command again".into())
            }
            Error::TaskFailed { .. }
            | Error::Database { .. }
            | Error::Io { .. }
            | Error::Registry(_) => None,
        }
    }

    /// Whether the `--json` report already says everything this error says (`check`'s report
    /// lists the problems), so no separate JSON error document is printed.
    pub(crate) fn is_reported_in_json(&self) -> bool {
        matches!(
            self,
            Error::CheckFailed { .. }
                | Error::TestFailed { .. }
                | Error::Fleet { .. }
                | Error::Drift { reported: true, .. }
                | Error::CheckpointDiffers { .. }
                | Error::LintFailed { .. }
                | Error::PreflightFailed { refused: false, .. }
        )
    }

    /// Whether the error was already shown where it happened (the remote run printed its own).
    pub(crate) fn is_already_shown(&self) -> bool {
        matches!(self, Error::RemoteExit { .. })
    }

    /// The stable `reason` of a refusal, for `--json`.
    pub(crate) fn reason(&self) -> Option<&'static str> {
        match self {
            Error::Refused(refusal) => Some(refusal.reason()),
            Error::LostLock { .. } => Some("lost_lock"),
            Error::Paused { .. } => Some("paused"),
            Error::Interrupted { .. }
            | Error::RestoreStopped { .. }
            | Error::BackfillStopped { .. } => Some("interrupted"),
            Error::Locked { .. } => Some("locked"),
            Error::Drift { .. } => Some("drift"),
            Error::CheckpointDiffers { .. } => Some("checkpoint_differs"),
            Error::ReplayFailed { .. } => Some("replay_failed"),
            Error::LintFailed { .. } => Some("lint_failed"),
            Error::PreflightFailed { .. } => Some("preflight_failed"),
            _ => None,
        }
    }

    /// Shorthand for a database error with context.
    pub(crate) fn database(
        context: impl Into<String>,
    ) -> impl FnOnce(mongodb::error::Error) -> Self {
        let context = context.into();
        move |source| Error::Database { context, source }
    }
}

impl From<Reason> for Error {
    /// The error of a command that stopped for `reason` before it started anything.
    fn from(reason: Reason) -> Error {
        match reason {
            Reason::Signal(signal) => Error::Interrupted {
                signal,
                step: None,
                done: Vec::new(),
                rollback: false,
            },
            Reason::LostLock(loss) => Error::LostLock {
                reason: loss.describe().to_string(),
                step: None,
                done: Vec::new(),
            },
        }
    }
}
