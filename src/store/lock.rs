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
//!
//! A takeover names both the token it read and, in the same filter, that the lease has expired
//! by the server's clock at the moment of the update, so a holder that renewed between the read
//! and the takeover keeps its lease.

use std::time::{Duration, Instant};

use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::fence::Fence;
use super::lease::{start_renewal, Deployment, Lease, Renewer};
use super::LOCK_ID;
use crate::error::{Error, Result};
use crate::ground::stop::Stop;

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
        let since = crate::ground::words::timestamp(self.started_at);
        format!(
            "{}@{} (pid {}), running `{}` since {since}",
            self.user,
            self.host,
            self.pid,
            crate::ground::escape::escape(&self.command)
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
    /// Why the lock document could not be read, when it is there but not migo's shape.
    pub(crate) problem: Option<String>,
}

impl LockState {
    /// The lock document, decoded; an error when it is there and cannot be read.
    pub(crate) fn decoded(&self) -> Result<Option<&Holder>> {
        match &self.problem {
            Some(problem) => Err(Error::Config {
                location: "the registry".into(),
                message: problem.clone(),
                hint: Some(
                    "if no migo is running, `migo unlock --yes` replaces it with a released lock"
                        .into(),
                ),
            }),
            None => Ok(self.holder.as_ref()),
        }
    }

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
    /// Which held lock may be taken over.
    pub(crate) takeover: Takeover,
}

/// Which held lock a request may take over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Takeover {
    /// Only a lease that has expired by the server's clock (every command but `unlock`).
    #[default]
    Expired,
    /// The lease of this token, live or not: `unlock`, after showing the holder (and asking,
    /// when it is live).
    Token(String),
    /// A lock document migo cannot read: `unlock`, after showing what is wrong with it.
    Unreadable,
}

impl LockRequest {
    /// Whether this request may take `held`'s lease while it is live (`unlock` of that holder).
    fn breaks(&self, held: &Holder) -> bool {
        matches!(&self.takeover, Takeover::Token(token) if Some(token) == held.token.as_ref())
    }
}

/// What [`acquire`] needs beside the request: where renewals run, and the run's stop token (a
/// signal ends a wait for a held lock).
#[derive(Clone, Copy)]
pub(crate) struct Acquiring<'a> {
    pub(crate) renewer: &'a Renewer,
    pub(crate) deployment: &'a Deployment,
    pub(crate) stop: &'a Stop,
    /// Reports a takeover of an expired lease.
    pub(crate) warn: &'a dyn Fn(&str),
}

/// How long to wait between attempts when the lock changes hands under us.
const RETRY: Duration = Duration::from_millis(100);

/// Attempts that may fail because the lock changed between two reads (it was released or taken
/// in between) before migo gives up: each one means another run acted, which cannot go on for
/// long without one of them holding the lock.
const RACES: u32 = 50;

/// Takes the lock, waiting (as `request.wait` says) or taking over an expired lease.
pub(crate) async fn acquire(
    db: &Database,
    registry: &str,
    request: &LockRequest,
    how: Acquiring<'_>,
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
    let mut races = 0;
    loop {
        if let Some(signal) = how.stop.signal() {
            return Err(crate::ground::stop::Reason::Signal(signal).into());
        }
        let taken = match take(&records, &mine, lease_ms).await? {
            Taken::Yes => true,
            Taken::HeldBy(state)
                if state.problem.is_some() && request.takeover == Takeover::Unreadable =>
            {
                replace_unreadable(&records, &mine, lease_ms).await?
            }
            Taken::HeldBy(state) => match state.decoded()? {
                Some(held) if held.token.is_some() && request.breaks(held) => {
                    take_over(&records, held, &mine, lease_ms, false).await?
                }
                Some(held) if held.token.is_some() && !held.is_expired_at(state.server_now) => {
                    match deadline {
                        Some(d) if Instant::now() < d => {
                            crate::ground::knob::checkpoint("waiting-for-lock");
                            tokio::time::sleep(RETRY).await;
                            continue;
                        }
                        _ => {
                            return Err(Error::Locked {
                                holder: held.describe(),
                                host: held.host.clone(),
                            })
                        }
                    }
                }
                Some(held) => {
                    crate::ground::knob::checkpoint("before-takeover");
                    let took = take_over(&records, held, &mine, lease_ms, true).await?;
                    if took && held.token.is_some() {
                        (how.warn)(&format!(
                            "took over an expired lock held by {}",
                            held.describe()
                        ));
                    }
                    took
                }
                None => false, // gone in between
            },
        };
        if taken {
            return Ok(start_renewal(
                records,
                fence,
                request.lease,
                how.deployment.clone(),
                how.renewer,
            ));
        }
        // The lock changed hands between our two commands: another run acted; try again.
        races += 1;
        if races >= RACES {
            return Err(Error::Registry(format!(
                "cannot take the migrations lock in `{registry}`: it changed hands {RACES} times \
                 while migo tried"
            )));
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// What a first attempt to take the lock found.
enum Taken {
    Yes,
    /// Someone's document is there (possibly released or expired), as read after the attempt.
    HeldBy(LockState),
}

/// A fresh lock: an upsert on our token, which collides if the document exists at all.
async fn take(records: &Collection<Document>, mine: &Document, lease_ms: i64) -> Result<Taken> {
    let take = doc! {
        "update": records.name(),
        "updates": [{
            "q": {"_id": LOCK_ID, "token": mine.get_str("token").unwrap_or_default()},
            "u": [{"$set": set_holder(mine, lease_ms)}],
            "upsert": true,
        }],
    };
    let db = records.client().database(&records.namespace().db);
    let reply = db
        .run_command(take)
        .await
        .map_err(Error::database("cannot take the migrations lock"))?;
    if write_error_code(&reply).is_none() {
        return Ok(Taken::Yes);
    }
    Ok(Taken::HeldBy(read(records).await?))
}

/// Takes a released lock, or a lease. The filter names the token that was read and, for a
/// lease when `if_expired`, that it has expired by the server's clock at the moment of the
/// update: a holder that renewed in between keeps its lease.
async fn take_over(
    records: &Collection<Document>,
    held: &Holder,
    mine: &Document,
    lease_ms: i64,
    if_expired: bool,
) -> Result<bool> {
    let filter = match &held.token {
        None => doc! {"_id": LOCK_ID, "token": Bson::Null},
        // Compared as milliseconds: the same on every server (SecantusDB's `$$NOW` does not
        // compare with stored dates).
        Some(token) if if_expired => doc! {
            "_id": LOCK_ID,
            "token": token,
            "$expr": {"$lt": [{"$toLong": "$expires_at"}, {"$toLong": "$$NOW"}]},
        },
        Some(token) => doc! {"_id": LOCK_ID, "token": token},
    };
    let taken = records
        .find_one_and_update(filter, vec![doc! {"$set": set_holder(mine, lease_ms)}])
        .await
        .map_err(Error::database("cannot take the migrations lock"))?;
    Ok(taken.is_some())
}

/// Replaces a lock document migo cannot read with our lease (`unlock`). The fields that made it
/// unreadable are replaced too: every field of a holder is set.
async fn replace_unreadable(
    records: &Collection<Document>,
    mine: &Document,
    lease_ms: i64,
) -> Result<bool> {
    let taken = records
        .update_one(
            doc! {"_id": LOCK_ID},
            vec![
                doc! {"$replaceWith": {"_id": "$_id"}},
                doc! {"$set": set_holder(mine, lease_ms)},
            ],
        )
        .await
        .map_err(Error::database("cannot replace the migrations lock"))?;
    Ok(taken.matched_count == 1)
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
        Some(document) => split(records.name(), document),
        None => LockState {
            holder: None,
            server_now: DateTime::now(),
            problem: None,
        },
    })
}

/// The lock state from the lock document of registry `registry`, carrying `__migo_now`.
pub(crate) fn split(registry: &str, mut document: Document) -> LockState {
    let server_now = match document.remove("__migo_now") {
        Some(Bson::DateTime(now)) => now,
        _ => DateTime::now(),
    };
    let (holder, problem) = match mongodb::bson::from_document::<Holder>(document) {
        Ok(holder) => (Some(holder), None),
        Err(e) => (
            None,
            Some(format!(
                "the lock document (`_id: {LOCK_ID:?}`) in `{registry}` cannot be read: {e}"
            )),
        ),
    };
    LockState {
        holder,
        server_now,
        problem,
    }
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
