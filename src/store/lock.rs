//! The lease lock: at most one mutating migo per database at a time, even across hosts, and a
//! holder that lost its lease can write nothing more (fencing).
//!
//! The lock is one document (`_id: "__migo_lock__"`) in the registry collection itself, never
//! deleted once it exists: released, its `token` is null. Times come from the server's clock
//! (`$$NOW` in update pipelines), never from the deploy host's, so skewed clocks cannot cause an
//! early takeover. Taking it is an upsert conditioned on a fresh token (the server's unique
//! `_id` lets exactly one of many concurrent deploys win), or, when the document exists, an
//! update conditioned on the token it had (null when free, the old one for an expired lease), so
//! two takers cannot both win either.
//!
//! Fencing: every registry write of a run is an ordered `update` whose first statement is
//! [`Fence::statement`] (an upsert on `{_id, token: mine}`). While the lease is ours it matches
//! and renews it; once another run took the lease (or it was released: token null), the upsert
//! collides with the document (duplicate key), the ordered batch stops there, and the write
//! never happens. Being in the same command, the check cannot be separated from the write by a
//! pause of the writer.
//!
//! Renewal runs on a thread of its own with its own runtime and connection (one for all the
//! leases of a fleet), so nothing the run does on its own thread (a blocking compiled migration,
//! a slow dump) can starve it.

use std::time::{Duration, Instant};

use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::lease::{start_renewal, Deployment, Lease};
use super::LOCK_ID;
use crate::error::{Error, Result};

/// The lock document: who holds it and until when (server time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Holder {
    #[serde(rename = "_id")]
    pub(crate) id: String,
    /// Unique to one acquisition, so a holder only renews, writes or releases under its own;
    /// null once released.
    #[serde(default)]
    pub(crate) token: Option<String>,
    #[serde(default)]
    pub(crate) host: String,
    #[serde(default)]
    pub(crate) pid: u32,
    #[serde(default)]
    pub(crate) user: String,
    #[serde(default)]
    pub(crate) command: String,
    pub(crate) started_at: DateTime,
    pub(crate) expires_at: DateTime,
}

impl Holder {
    /// `user@host (pid N), running `cmd` since T`, for messages.
    pub(crate) fn describe(&self) -> String {
        let since = self.started_at.try_to_rfc3339_string().unwrap_or_default();
        format!(
            "{}@{} (pid {}), running `{}` since {since}",
            self.user,
            self.host,
            self.pid,
            crate::ui::escape::escape(&self.command)
        )
    }

    /// Whether the lease has run out at `now` (the server's time).
    pub(crate) fn is_expired_at(&self, now: DateTime) -> bool {
        self.expires_at < now
    }
}

/// The lock as read, with the server's time of the read.
#[derive(Debug, Clone)]
pub(crate) struct LockState {
    pub(crate) holder: Option<Holder>,
    pub(crate) server_now: DateTime,
}

impl LockState {
    /// A live holder: the lock is held and its lease has not run out.
    pub(crate) fn live_holder(&self) -> Option<&Holder> {
        self.held().filter(|h| !h.is_expired_at(self.server_now))
    }

    /// The holder, if the lock is held (its lease may have run out).
    pub(crate) fn held(&self) -> Option<&Holder> {
        self.holder.as_ref().filter(|h| h.token.is_some())
    }
}

/// How to take the lock.
#[derive(Debug, Clone)]
pub(crate) struct LockRequest {
    /// How long a lease lasts without renewal.
    pub(crate) lease: Duration,
    /// How long to wait for a held lock; `None` fails at once.
    pub(crate) wait: Option<Duration>,
    /// The subcommand line (credentials redacted), shown to whoever finds the lock held.
    pub(crate) command: String,
    pub(crate) user: String,
    pub(crate) host: String,
}

/// Why a lease is no longer ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    /// Another run took it over (its lease had expired) or `migo unlock` released it.
    TakenOver,
    /// Renewals failed for longer than the lease.
    Unrenewable,
}

impl Loss {
    /// Why, in words.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Loss::TakenOver => "another migo took the lock over after its lease ran out",
            Loss::Unrenewable => "the lease could not be renewed before it ran out",
        }
    }
}

/// The condition every registry write of a run carries.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    pub(super) token: String,
    pub(super) lease_ms: i64,
    holder: Document,
}

impl Fence {
    /// The first statement of a fenced `update`: renews our lease if the lock document is ours,
    /// collides (E11000) if another run holds it, re-creates it if it was released by hand.
    pub(crate) fn statement(&self) -> Document {
        let mut set = doc! {"expires_at": {"$add": ["$$NOW", self.lease_ms]}};
        for (key, value) in &self.holder {
            let keep = format!("${key}");
            set.insert(key, doc! {"$ifNull": [keep, {"$literal": value.clone()}]});
        }
        set.insert("started_at", doc! {"$ifNull": ["$started_at", "$$NOW"]});
        doc! {
            "q": {"_id": LOCK_ID, "token": &self.token},
            "u": [{"$set": set}],
            "upsert": true,
        }
    }

    /// Whether a write error at statement `index` with `code` is the fence refusing.
    pub(crate) fn refused(index: usize, code: i32) -> bool {
        index == 0 && code == 11000
    }
}

/// Takes the lock, waiting or taking over an expired lease; `warn` reports a takeover.
/// `options` connect the renewal thread's own client.
pub(crate) async fn acquire(
    db: &Database,
    registry: &str,
    request: &LockRequest,
    deployment: Deployment,
    warn: &dyn Fn(&str),
) -> Result<Lease> {
    let records = db.collection::<Document>(registry);
    let deadline = request.wait.map(|w| Instant::now() + w);
    let mine = new_holder(request);
    let lease_ms = i64::try_from(request.lease.as_millis()).unwrap_or(i64::MAX);
    let fence = Fence {
        token: mine.get_str("token").unwrap_or_default().to_string(),
        lease_ms,
        holder: mine.clone(),
    };
    loop {
        // Fresh: an upsert on our token, which collides if anyone holds the lock.
        let take = doc! {
            "update": registry,
            "updates": [{
                "q": {"_id": LOCK_ID, "token": &fence.token},
                "u": [{"$set": set_holder(&mine, lease_ms)}],
                "upsert": true,
            }],
        };
        let reply = db
            .run_command(take)
            .await
            .map_err(Error::database("cannot take the migrations lock"))?;
        if write_error_code(&reply).is_none() {
            return Ok(start_renewal(
                records,
                fence,
                request.lease,
                deployment.clone(),
            ));
        }
        let state = read(&records).await?;
        let Some(held) = state.holder.clone() else {
            continue; // gone in between: try again
        };
        let free = held.token.is_none();
        if free || held.is_expired_at(state.server_now) {
            let taken = records
                .find_one_and_update(
                    doc! {"_id": LOCK_ID, "token": held.token.as_deref().map_or(Bson::Null, Bson::from)},
                    vec![doc! {"$set": set_holder(&mine, lease_ms)}],
                )
                .await
                .map_err(Error::database("cannot take the migrations lock"))?;
            if taken.is_some() {
                if !free {
                    warn(&format!(
                        "took over an expired lock held by {}",
                        held.describe()
                    ));
                }
                return Ok(start_renewal(
                    records,
                    fence,
                    request.lease,
                    deployment.clone(),
                ));
            }
            continue;
        }
        match deadline {
            Some(d) if Instant::now() < d => {
                tokio::time::sleep(Duration::from_millis(100)).await;
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

/// The lock document and the server's time, in one round trip.
pub(crate) async fn read(records: &Collection<Document>) -> Result<LockState> {
    use futures_util::TryStreamExt;
    let pipeline = [
        doc! {"$match": {"_id": LOCK_ID}},
        doc! {"$addFields": {"__migo_now": "$$NOW"}},
    ];
    let context = || Error::database("cannot read the migrations lock");
    let found: Vec<Document> = records
        .aggregate(pipeline)
        .await
        .map_err(context())?
        .try_collect()
        .await
        .map_err(context())?;
    Ok(match found.into_iter().next() {
        Some(document) => split(document),
        None => LockState {
            holder: None,
            server_now: DateTime::now(),
        },
    })
}

/// The lock state from a lock document carrying `__migo_now`.
pub(crate) fn split(mut document: Document) -> LockState {
    let server_now = match document.remove("__migo_now") {
        Some(Bson::DateTime(now)) => now,
        _ => DateTime::now(),
    };
    LockState {
        holder: mongodb::bson::from_document(document).ok(),
        server_now,
    }
}

/// Releases the lock whoever holds it (`migo unlock`); returns the holder it released.
pub(crate) async fn force_release(records: &Collection<Document>) -> Result<Option<Holder>> {
    let released = records
        .find_one_and_update(
            doc! {"_id": LOCK_ID, "token": {"$type": "string"}},
            vec![released()],
        )
        .await
        .map_err(Error::database("cannot release the migrations lock"))?;
    Ok(released.and_then(|d| mongodb::bson::from_document(d).ok()))
}

/// The update pipeline stage that marks the lock released.
pub(super) fn released() -> Document {
    doc! {"$set": {"token": Bson::Null, "expires_at": "$$NOW", "released_at": "$$NOW"}}
}

/// The holder's fields without the times, which the server sets.
fn new_holder(request: &LockRequest) -> Document {
    let pid = std::process::id();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    doc! {
        "token": format!("{}-{pid}-{nonce}", request.host),
        "host": &request.host,
        "pid": i64::from(pid),
        "user": &request.user,
        "command": &request.command,
    }
}

/// `$set` of a fresh holder: its fields as literals, the times from the server's clock.
fn set_holder(holder: &Document, lease_ms: i64) -> Document {
    let mut set = Document::new();
    for (key, value) in holder {
        set.insert(key, doc! {"$literal": value.clone()});
    }
    set.insert("started_at", "$$NOW");
    set.insert("expires_at", doc! {"$add": ["$$NOW", lease_ms]});
    set
}

/// The code of the first write error in a write command's reply.
pub(crate) fn write_error_code(reply: &Document) -> Option<i32> {
    let first = reply
        .get_array("writeErrors")
        .ok()?
        .first()?
        .as_document()?;
    Some(first.get_i32("code").unwrap_or(-1))
}
