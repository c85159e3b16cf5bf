//! What a database holds, as the server describes it: its collections (`listCollections`) and a
//! collection's indexes (`listIndexes`), as raw documents. Dumps and `migo test` both read them.

use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;

use crate::error::{Error, Result};

/// Every collection's `listCollections` entry (name, type, options, …), by name.
pub(crate) async fn collections(db: &Database) -> Result<Vec<Document>> {
    let context = format!("cannot list the collections of `{}`", db.name());
    let mut specs =
        first_batch(db, doc! {"listCollections": 1, "nameOnly": false}, context).await?;
    specs.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
    Ok(specs)
}

/// The index specifications of collection `name`, as the server lists them.
pub(crate) async fn indexes(db: &Database, name: &str) -> Result<Vec<Document>> {
    let context = format!("cannot list the indexes of `{name}`");
    first_batch(db, doc! {"listIndexes": name}, context).await
}

/// An index as `createIndexes` takes it: key, name and options, without the server's
/// bookkeeping (`v`, `ns`).
pub(crate) fn creatable(listed: &Document) -> Document {
    let mut spec = listed.clone();
    for bookkeeping in ["v", "ns"] {
        spec.remove(bookkeeping);
    }
    spec
}

/// The documents of a cursor command's first batch (catalogs fit in one).
async fn first_batch(db: &Database, command: Document, context: String) -> Result<Vec<Document>> {
    let reply = db
        .run_command(command)
        .await
        .map_err(Error::database(context))?;
    Ok(reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|batch| {
            batch
                .iter()
                .filter_map(Bson::as_document)
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}
