//! A backfill in Rust: migo walks `users` in `_id`-range batches (bounds, pace, checkpoints,
//! resume, pause, progress) and hands each batch to `batch`, which computes each user's score
//! in code, something one server-side update cannot express. With `transaction: true`, each
//! batch commits with its checkpoint.
//!
//! ```sh
//! cargo run --example compiled_backfill -- execute
//! ```

use futures_util::TryStreamExt;
use migo::{App, BackfillWalk, Batch, Migration, StepResult};
use mongodb::bson::{doc, Document};
use mongodb::{ClientSession, Database};

/// Every user gets `score = n² + 1`, computed here; `hits` counts the times a user was scored.
struct Scores;

#[migo::async_trait]
impl Migration for Scores {
    fn name(&self) -> &str {
        "0001_scores"
    }

    fn description(&self) -> Option<&str> {
        Some("every user gets a score, computed in Rust")
    }

    fn source(&self) -> &str {
        include_str!("compiled_backfill.rs")
    }

    fn backfill(&self) -> Option<BackfillWalk> {
        Some(BackfillWalk {
            collection: "users".into(),
            filter: doc! {"score": {"$exists": false}},
            batch_size: Some(200),
            transaction: std::env::var_os("SCORES_IN_TRANSACTIONS").is_some(),
            ..BackfillWalk::default()
        })
    }

    async fn batch(&self, db: &Database, session: &mut ClientSession, batch: &Batch) -> StepResult {
        let users = db.collection::<Document>("users");
        let found: Vec<Document> = users
            .find(batch.filter.clone())
            .session(&mut *session)
            .await?
            .stream(&mut *session)
            .try_collect()
            .await?;
        for user in found {
            let n = i64::from(user.get_i32("n")?);
            users
                .update_one(
                    doc! {"_id": user.get("_id").cloned()},
                    doc! {"$set": {"score": n * n + 1}, "$inc": {"hits": 1}},
                )
                .session(&mut *session)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        db.collection::<Document>("users")
            .update_many(doc! {}, doc! {"$unset": {"score": ""}})
            .session(session)
            .await?;
        Ok(())
    }
}

fn main() {
    App::new().migration(Scores).main()
}
