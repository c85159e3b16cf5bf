//! The fence every registry write of a run carries: the first statement of its `update`, an
//! upsert on the lock document with the run's token, which renews the lease while it is the
//! run's and collides (duplicate key) once another run holds the lock, so the write never
//! happens. And the update that marks the lock released (its token null, never deleted).

use mongodb::bson::{doc, Bson, Document};

use super::LOCK_ID;

/// The condition every registry write of a run carries.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    pub(crate) token: String,
    pub(crate) lease_ms: i64,
    pub(crate) holder: Document,
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

/// The update pipeline stage that marks the lock released.
pub(crate) fn released() -> Document {
    doc! {"$set": {"token": Bson::Null, "expires_at": "$$NOW", "released_at": "$$NOW"}}
}
