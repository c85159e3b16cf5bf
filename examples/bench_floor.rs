//! The benchmark's floor (`bash scripts/bench`): the least a migration runner can do to apply N
//! one-insert migrations, issued straight through the driver: each migration's own `insert` and
//! one registry insert, nothing else (no files, no lock, no checks).
//!
//! Usage: `bench_floor URI DATABASE N up` or `bench_floor URI DATABASE N status`.

use mongodb::bson::{doc, DateTime, Document};
use mongodb::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> mongodb::error::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, uri, database, count, operation] = args.as_slice() else {
        eprintln!("usage: bench_floor URI DATABASE N up|status");
        std::process::exit(2);
    };
    let count: u32 = count.parse().expect("N is a number");
    let db = Client::with_uri_str(uri).await?.database(database);
    let registry = db.collection::<Document>("floor_registry");
    match operation.as_str() {
        "up" => {
            let items = db.collection::<Document>("items");
            for n in 1..=count {
                items.insert_one(doc! {"_id": n}).await?;
                registry
                    .insert_one(doc! {"_id": format!("{n:04}_m{n}"), "applied_at": DateTime::now()})
                    .await?;
            }
        }
        _ => {
            let applied = registry.count_documents(doc! {}).await?;
            println!("{applied} of {count} applied");
        }
    }
    Ok(())
}
