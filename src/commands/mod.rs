//! One file per subcommand. Each resolves its inputs into a [`Context`], asks `plan` what to do,
//! hands the plan to `run`, and the result to `ui::report`. Bad input is rejected before the
//! first write.

pub(crate) mod adopt;
pub(crate) mod backup;
pub(crate) mod change;
pub(crate) mod drift;
pub(crate) mod help;
pub(crate) mod history;
pub(crate) mod lint;
pub(crate) mod locked;
pub(crate) mod new;
pub(crate) mod pause;
pub(crate) mod preflight;
pub(crate) mod remove;
pub(crate) mod settle;
pub(crate) mod snapshot;
pub(crate) mod squash;
pub(crate) mod status;
pub(crate) mod task;
pub(crate) mod test;
pub(crate) mod unlock;

use std::time::Duration;

use mongodb::bson::{doc, DateTime, Document};
use mongodb::Database;

use crate::config::Settings;
use crate::error::Result;
use crate::extensions::Extensions;
use crate::ground::output::Output;
use crate::ground::source::Source;
use crate::identity::Identity;
use crate::migration::discover;
use crate::plan::{self, Entry};
use crate::process::ChildEnv;
use crate::run::context::RunContext;
use crate::store::audit::{AuditEntry, AuditLog};
use crate::store::connection;
use crate::store::lock::LockState;
use crate::store::registry::Registry;

/// How migo was invoked: per run, not configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invocation {
    /// The command line with every connection string's credentials redacted: recorded in the
    /// lock and the audit log, shown to other users.
    pub(crate) command_line: String,
    pub(crate) dry_run: bool,
    /// `--yes`: confirmations are given.
    pub(crate) yes: bool,
    /// `--wait SECS` for a held lock.
    pub(crate) wait: Option<Duration>,
    /// For a run started by the remote hook: who started it, where (as the hook claims).
    pub(crate) remote_origin: Option<String>,
    /// `execute --phase`: only that phase's migrations.
    pub(crate) phase: Option<crate::ground::Phase>,
    /// `execute --require-no-drift`: refuse before the lock when the database has drifted.
    pub(crate) require_no_drift: bool,
    /// `execute --force`: run even when a preflight check fails.
    pub(crate) force: bool,
}

/// What every subcommand works with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) out: &'a Output,
    /// What the binary compiled in.
    pub(crate) app: &'a Extensions,
    pub(crate) invocation: &'a Invocation,
    /// The migrations as a fleet read them, once for all the databases of a cluster (so every
    /// member runs the same files); `None`: read them when asked.
    pub(crate) sources: Option<&'a [Source]>,
    /// The run's shared state: its stop token, children, lease renewer.
    pub(crate) run: &'a RunContext,
}

impl Context<'_> {
    /// The registry collection's name.
    pub(crate) fn collection(&self) -> &str {
        &self.settings.migrations.collection
    }

    /// Every migration: the files and what the binary compiled in, in number order.
    pub(crate) fn discover(&self) -> Result<Vec<Source>> {
        if let Some(sources) = self.sources {
            return Ok(sources.to_vec());
        }
        let m = &self.settings.migrations;
        let compiled = self
            .app
            .migrations
            .iter()
            .map(|c| c.source(&self.app.binary))
            .collect::<Result<Vec<_>>>()?;
        let mut sources = discover::discover_all(
            &m.directory,
            &m.pattern,
            &self.settings.project_dir,
            compiled,
        )?;
        crate::migration::json::mark_checkpoints(&mut sources);
        Ok(sources)
    }

    /// The sources joined with the registry, as `list` and `check` show them (no lock taken),
    /// and the lock as read in the same round trip.
    pub(crate) async fn entries(&self) -> Result<(Database, Vec<Entry>, LockState)> {
        let (db, entries, lock, _) = self.entries_and_restore().await?;
        Ok((db, entries, lock))
    }

    /// [`Context::entries`], and the journal of a restore, from the same round trip.
    pub(crate) async fn entries_and_restore(
        &self,
    ) -> Result<(Database, Vec<Entry>, LockState, Option<Document>)> {
        let files = self.discover()?;
        let db = connection::open(&self.settings.target).await?;
        let (records, lock, restore) = Registry::new(&db, self.collection())
            .state_and_restore()
            .await
            .map_err(|e| connection::classify(&self.settings.target, e))?;
        let entries = plan::entries(&files, &records, lock.live_holder().is_some());
        Ok((db, entries, lock, restore))
    }

    /// The environment of child processes, echoing their output unless `--quiet`.
    pub(crate) fn child_env(&self) -> ChildEnv {
        let mut env = ChildEnv::new(
            self.settings,
            !self.out.is_quiet(),
            self.run.children.clone(),
        );
        env.line_prefix = self.out.line_prefix().to_string();
        env
    }

    /// What removes this run's secrets from text that may be shown or stored.
    pub(crate) fn scrubber(&self) -> crate::ground::secret::Scrubber {
        self.child_env().scrubber()
    }

    /// Says which database a change is about to touch (on stderr).
    pub(crate) fn announce_target(&self) {
        if self.out.is_member() {
            return; // the fleet announced its deployments
        }
        self.out.note(&self.settings.target.describe());
    }

    /// A new audit entry for `action`, stamped with the environment and, for a run started over
    /// SSH, where the hook says it came from.
    pub(crate) fn audit_entry(&self, action: &str, started: DateTime, who: &str) -> AuditEntry {
        let mut entry = AuditEntry::new(action, started, who, &self.invocation.command_line);
        entry.environment = self.settings.environment().map(str::to_string);
        entry.remote = self.invocation.remote_origin.as_ref().map(|from| {
            let me = Identity::current();
            // `from` is what the remote hook passed; a local user could pass anything, so it
            // is recorded as claimed, beside the account that really ran this.
            doc! {"claimed_from": from, "host": me.host, "user": me.user}
        });
        entry
    }

    /// Writes `entry`; a failure to do so is a warning, as the action itself already happened.
    pub(crate) async fn append_audit(&self, db: &Database, entry: &AuditEntry) {
        if let Err(e) = AuditLog::new(db, self.collection()).append(entry).await {
            self.out.warn(&format!(
                "the action was not recorded in the audit log: {e}"
            ));
        }
    }
}
