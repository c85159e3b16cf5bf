//! The backfill benchmark's floor (`bash scripts/bench-backfill`): an in-process loop issuing
//! the same ranged updates a migo backfill does, straight through the driver, with nothing else
//! (no registry, no checkpoints, no lock, no progress): for each batch, one aggregation for its
//! last `_id`, then one `update` over the range and the filter.
//!
//! Usage: `bench_backfill_floor URI DATABASE COLLECTION BATCH_SIZE`; prints the documents updated.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> mongodb::error::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, uri, database, collection, batch] = args.as_slice() else {
        eprintln!("usage: bench_backfill_floor URI DATABASE COLLECTION BATCH_SIZE");
        std::process::exit(2);
    };
    let batch: i64 = batch.parse().expect("BATCH_SIZE is a number");
    let coll = Client::with_uri_str(uri)
        .await?
        .database(database)
        .collection::<Document>(collection);
    let filter = doc! {"status": {"$exists": false}};
    let mut last: Option<Bson> = None;
    let mut updated = 0u64;
    loop {
        // The same filters a migo backfill sends: the `_id` bound beside the filter's keys.
        let matching = match &last {
            Some(last) => with_id(&filter, doc! {"$gt": last.clone()}),
            None => filter.clone(),
        };
        let bounds: Vec<Document> = coll
            .aggregate([
                doc! {"$match": matching.clone()},
                doc! {"$sort": {"_id": 1}},
                doc! {"$limit": batch},
                doc! {"$group": {"_id": Bson::Null, "last": {"$last": "$_id"}, "n": {"$sum": 1}}},
            ])
            .await?
            .try_collect()
            .await?;
        let Some(upper) = bounds.first().and_then(|b| b.get("last").cloned()) else {
            break;
        };
        let mut range = doc! {"$lte": upper.clone()};
        if let Some(last) = &last {
            range.insert("$gt", last.clone());
        }
        let result = coll
            .update_many(with_id(&filter, range), doc! {"$set": {"status": "active"}})
            .await?;
        updated += result.modified_count;
        last = Some(upper);
    }
    println!("{updated}");
    Ok(())
}

/// `filter` with an `_id` condition first, as migo writes it.
fn with_id(filter: &Document, id: Document) -> Document {
    let mut both = doc! {"_id": id};
    both.extend(filter.clone());
    both
}
