//! The one door to the migrations lock. Every command that takes it (`execute`, `rollback`,
//! `ignore`, `accept`, `forget`, `restore`, `adopt`, `unlock`, each fleet member's) goes through
//! [`locked`], which opens a graceful section before waiting for the lease (so a signal during
//! the wait or the work stops cleanly), takes the lease, settles a restore that a stop
//! interrupted, runs the work, and then, however the work ended, writes the audit entry and
//! releases the lease.

use mongodb::bson::{DateTime, Document};
use mongodb::Database;

use super::Context;
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::identity::Identity;
use crate::store::audit::AuditResult;
use crate::store::lease::{Deployment, Lease};
use crate::store::lock::{self, Acquiring, LockRequest, Takeover};

/// What the work under the lock has: the lease (its fence), when to stop, who runs it.
#[derive(Debug)]
pub(crate) struct Held<'a> {
    pub(crate) lease: &'a Lease,
    pub(crate) halt: Halt,
    /// `user@host`.
    pub(crate) who: &'a str,
}

/// What the work tells the audit log beside how it ended.
#[derive(Debug, Default)]
pub(crate) struct Note {
    /// The migrations the action set out to change, in order.
    pub(crate) migrations: Vec<String>,
    /// Those it completed (on success; after a failure the error says which).
    pub(crate) completed: Vec<String>,
    /// The dump taken before the action.
    pub(crate) dump: Option<String>,
    pub(crate) details: Option<Document>,
    /// The action found nothing to do: no audit entry.
    pub(crate) nothing: bool,
}

/// Takes the lease (as `takeover` allows), runs `work` under it, records the action `action` in
/// the audit log, and releases the lease, whatever ended the work.
pub(crate) async fn locked<T>(
    ctx: Context<'_>,
    db: &Database,
    action: &str,
    takeover: Takeover,
    work: impl AsyncFnOnce(&Held<'_>, &mut Note) -> Result<T>,
) -> Result<T> {
    let _graceful = ctx.run.stop.graceful();
    let me = Identity::current();
    // `unlock` (the only command that breaks a lease) only frees the lock: the next command
    // settles what the holder left.
    let settles = takeover == Takeover::Expired;
    let lease = take_lock(ctx, db, &me, takeover).await?;
    crate::ground::knob::checkpoint("locked");
    // Before anything else under the lock: a restore that a stop interrupted is settled (it
    // writes its own audit entry); nothing runs on a half-restored database.
    if settles {
        if let Err(e) = super::settle::settle_interrupted_restore(ctx, db, &lease).await {
            let _ = lease.release().await;
            return Err(e);
        }
    }
    let started = DateTime::now();
    let who = me.to_string();
    let held = Held {
        lease: &lease,
        halt: ctx.run.halt(Some(lease.watch())),
        who: &who,
    };
    let mut note = Note::default();
    // A signal that came while waiting for the lease: nothing starts.
    let result = match held.halt.reason() {
        Some(reason) => Err(reason.into()),
        None => work(&held, &mut note).await,
    };
    if !note.nothing || result.is_err() {
        audit(ctx, db, action, started, &who, note, &result).await;
    }
    let released = lease.release().await;
    result.and_then(|done| released.map(|()| done))
}

/// Takes the migrations lock for `me`, waiting as `--wait` says; a takeover is a warning.
async fn take_lock(
    ctx: Context<'_>,
    db: &Database,
    me: &Identity,
    takeover: Takeover,
) -> Result<Lease> {
    let request = LockRequest {
        lease: ctx.settings.migrations.lock_lease,
        wait: ctx.invocation.wait,
        command: ctx.invocation.command_line.clone(),
        user: me.user.clone(),
        host: me.host.clone(),
        takeover,
    };
    let renewer = ctx.run.renewer()?;
    let deployment = Deployment::of(&ctx.settings.target, renewer).await?;
    let warn = |message: &str| ctx.out.warn(message);
    let how = Acquiring {
        renewer,
        deployment: &deployment,
        stop: &ctx.run.stop,
        warn: &warn,
    };
    lock::acquire(db, ctx.collection(), &request, how).await
}

/// Records the action and how it ended.
async fn audit<T>(
    ctx: Context<'_>,
    db: &Database,
    action: &str,
    started: DateTime,
    who: &str,
    note: Note,
    result: &Result<T>,
) {
    let mut entry = ctx.audit_entry(action, started, who);
    entry.migrations = note.migrations;
    entry.dump = note.dump;
    entry.details = note.details;
    match result {
        Ok(_) => entry.completed = note.completed,
        Err(e) => {
            entry.completed = match e {
                Error::MigrationFailed { done, .. }
                | Error::Interrupted { done, .. }
                | Error::BackfillStopped { done, .. }
                | Error::LostLock { done, .. } => done.clone(),
                Error::Paused { steps_done, .. } => steps_done.clone(),
                _ => note.completed,
            };
            entry.result = match e {
                Error::Interrupted { .. }
                | Error::RestoreStopped { .. }
                | Error::BackfillStopped { .. }
                | Error::Paused { .. } => AuditResult::Interrupted,
                Error::LostLock { .. } => AuditResult::LostLock,
                _ => AuditResult::Failed,
            };
            entry.error = Some(ctx.scrubber().scrub(&e.to_string()));
        }
    }
    ctx.append_audit(db, &entry).await;
}
