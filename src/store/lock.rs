//! The lease lock: at most one mutating migo per database at a time, even across hosts.
//!
//! The lock is one document (`_id: "migo"`) in `<collection>_lock`. Inserting it is atomic, since
//! the server enforces unique `_id`s, so of many concurrent deploys exactly one wins. The holder
//! renews the lease while it works; a lease that expired (its holder crashed or was killed) is
//! taken over with a warning, and `migo unlock` releases one by hand.

use std::time::Duration;

use mongodb::bson::{doc, DateTime};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const LOCK_ID: &str = "migo";

/// The lock document: who holds it and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Holder {
    #[serde(rename = "_id")]
    pub(crate) id: String,
    /// Unique to one acquisition, so a holder only renews or releases its own lease.
    pub(crate) token: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) user: String,
    pub(crate) command: String,
    pub(crate) started_at: DateTime,
    pub(crate) expires_at: DateTime,
}

impl Holder {
    /// `user@host (pid N) running `cmd` since T`, for messages.
    pub(crate) fn describe(&self) -> String {
        let since = self.started_at.try_to_rfc3339_string().unwrap_or_default();
        format!(
            "{}@{} (pid {}), running `{}` since {since}",
            self.user, self.host, self.pid, self.command
        )
    }

    /// Whether the lease has run out.
    pub(crate) fn is_expired(&self) -> bool {
        self.expires_at < DateTime::now()
    }
}

/// A held lock; renewed in the background until [`Lease::release`].
#[derive(Debug)]
pub(crate) struct Lease {
    locks: Collection<Holder>,
    token: String,
    renewal: tokio::task::JoinHandle<()>,
}

/// How to take the lock.
#[derive(Debug, Clone)]
pub(crate) struct LockRequest {
    /// How long a lease lasts without renewal.
    pub(crate) lease: Duration,
    /// How long to wait for a held lock; `None` fails at once.
    pub(crate) wait: Option<Duration>,
    /// The subcommand line, shown to whoever finds the lock held.
    pub(crate) command: String,
    pub(crate) user: String,
    pub(crate) host: String,
}

/// The lock collection for a registry collection.
pub(crate) fn collection(db: &Database, registry: &str) -> Collection<Holder> {
    db.collection(&format!("{registry}_lock"))
}

/// Takes the lock, waiting or taking over an expired lease; `warn` reports a takeover.
pub(crate) async fn acquire(
    db: &Database,
    registry: &str,
    request: &LockRequest,
    warn: &dyn Fn(&str),
) -> Result<Lease> {
    let locks = collection(db, registry);
    let deadline = request.wait.map(|w| tokio::time::Instant::now() + w);
    loop {
        let mine = new_holder(request);
        match locks.insert_one(&mine).await {
            Ok(_) => return Ok(start_renewal(locks, mine.token, request.lease)),
            Err(e) if !is_duplicate_key(&e) => {
                return Err(Error::database("cannot take the migrations lock")(e))
            }
            Err(_) => {}
        }
        let Some(held) = current(&locks).await? else {
            continue;
        };
        if held.is_expired() {
            let taken = locks
                .find_one_and_replace(doc! {"_id": LOCK_ID, "token": &held.token}, &mine)
                .await
                .map_err(Error::database("cannot take over the migrations lock"))?;
            if taken.is_some() {
                warn(&format!(
                    "took over an expired lock held by {}",
                    held.describe()
                ));
                return Ok(start_renewal(locks, mine.token, request.lease));
            }
            continue;
        }
        match deadline {
            Some(d) if tokio::time::Instant::now() < d => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => {
                return Err(Error::Locked {
                    holder: held.describe(),
                    host: held.host,
                })
            }
        }
    }
}

/// The current lock document, if any.
pub(crate) async fn current(locks: &Collection<Holder>) -> Result<Option<Holder>> {
    locks
        .find_one(doc! {"_id": LOCK_ID})
        .await
        .map_err(Error::database("cannot read the migrations lock"))
}

/// Deletes the lock whoever holds it (`migo unlock`); returns what was released.
pub(crate) async fn force_release(locks: &Collection<Holder>) -> Result<Option<Holder>> {
    locks
        .find_one_and_delete(doc! {"_id": LOCK_ID})
        .await
        .map_err(Error::database("cannot release the migrations lock"))
}

impl Lease {
    /// Stops renewing and deletes the lock, if it is still ours.
    pub(crate) async fn release(self) -> Result<()> {
        self.renewal.abort();
        self.locks
            .delete_one(doc! {"_id": LOCK_ID, "token": &self.token})
            .await
            .map(drop)
            .map_err(Error::database("cannot release the migrations lock"))
    }
}

fn new_holder(request: &LockRequest) -> Holder {
    let now = DateTime::now();
    Holder {
        id: LOCK_ID.into(),
        token: format!(
            "{}-{}-{}",
            request.host,
            std::process::id(),
            now.timestamp_millis()
        ),
        host: request.host.clone(),
        pid: std::process::id(),
        user: request.user.clone(),
        command: request.command.clone(),
        started_at: now,
        expires_at: expiry(now, request.lease),
    }
}

/// When a lease taken or renewed at `from` runs out.
fn expiry(from: DateTime, lease: Duration) -> DateTime {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_millis(from.timestamp_millis().saturating_add(lease_ms))
}

/// Renews the lease every third of its length while the run goes on. The renewal runs between
/// the run's own awaits, so it costs no round trip per migration.
fn start_renewal(locks: Collection<Holder>, token: String, lease: Duration) -> Lease {
    let renewing = locks.clone();
    let owned = token.clone();
    let renewal = tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            let expires = expiry(DateTime::now(), lease);
            let renewed = renewing
                .update_one(
                    doc! {"_id": LOCK_ID, "token": &owned},
                    doc! {"$set": {"expires_at": expires}},
                )
                .await;
            match renewed {
                Ok(r) if r.matched_count == 0 => {
                    tracing::warn!("the migrations lock was taken over by another process");
                    return;
                }
                Ok(_) => tracing::debug!("renewed the migrations lock"),
                Err(e) => tracing::warn!("cannot renew the migrations lock: {e}"),
            }
        }
    });
    Lease {
        locks,
        token,
        renewal,
    }
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    }
}
