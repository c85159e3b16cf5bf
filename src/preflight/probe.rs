//! The read-only questions preflight asks the server, one command each: which collections exist
//! (`listCollections`), a collection's indexes (`listIndexes`) and size (`collStats`), whether an
//! index serves a filter (`explain` of a `count`), how many documents a filter matches
//! (`countDocuments`, or a `$sample` for an estimate), the duplicate keys of a would-be unique
//! index (`$group`), and the documents a validator rejects (`$nor` of the validator).

use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;

use crate::error::{Error, Result};

/// How many documents an estimate samples.
pub(crate) const SAMPLE_SIZE: u64 = 1000;
/// How many duplicate keys or failing documents are shown.
pub(crate) const SAMPLES: i64 = 3;

/// A collection's size, as `collStats` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Size {
    pub(crate) documents: u64,
    pub(crate) bytes: u64,
}

/// The `listCollections` entries of `names` that exist, by name.
pub(crate) async fn collections(db: &Database, names: &[String]) -> Result<Vec<Document>> {
    let reply = db
        .run_command(doc! {"listCollections": 1, "filter": {"name": {"$in": names}}})
        .await
        .map_err(Error::database("preflight cannot list the collections"))?;
    Ok(first_batch(&reply))
}

/// The index specifications of `collection`.
pub(crate) async fn indexes(db: &Database, collection: &str) -> Result<Vec<Document>> {
    crate::store::catalog::indexes(db, collection).await
}

/// How many documents `collection` holds and how many bytes of data, from `collStats` (with
/// the `$collStats` stage where the command is gone).
pub(crate) async fn size(db: &Database, collection: &str) -> Result<Size> {
    let number = |d: &Document, key: &str| -> u64 {
        match d.get(key) {
            Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
            Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
            Some(Bson::Double(n)) if *n >= 0.0 => n.round() as u64,
            _ => 0,
        }
    };
    match db.run_command(doc! {"collStats": collection}).await {
        Ok(stats) => Ok(Size {
            documents: number(&stats, "count"),
            bytes: number(&stats, "size"),
        }),
        Err(_) => {
            let reply = aggregate(
                db,
                collection,
                vec![doc! {"$collStats": {"storageStats": {}}}],
                "preflight cannot read the size of",
            )
            .await?;
            let stats = reply
                .first()
                .and_then(|d| d.get_document("storageStats").ok())
                .cloned()
                .unwrap_or_default();
            Ok(Size {
                documents: number(&stats, "count"),
                bytes: number(&stats, "size"),
            })
        }
    }
}

/// The index that serves `filter` on `collection`, as the query planner chooses (`explain` of a
/// `count`): `Some(name)` when no stage of the winning plan scans the collection (`Some("")`
/// for a plan that names none, such as the `_id` fast path), `None` when one does.
pub(crate) async fn serving_index(
    db: &Database,
    collection: &str,
    filter: &Document,
) -> Result<Option<String>> {
    let reply = db
        .run_command(doc! {
            "explain": {"count": collection, "query": filter.clone()},
            "verbosity": "queryPlanner",
        })
        .await
        .map_err(Error::database(format!(
            "preflight cannot explain a filter on `{collection}`"
        )))?;
    let plan = reply
        .get_document("queryPlanner")
        .and_then(|q| q.get_document("winningPlan"))
        .cloned()
        .unwrap_or_default();
    let mut stages = Vec::new();
    walk_plan(&plan, &mut stages);
    if stages.iter().any(|(stage, _)| stage == "COLLSCAN") || stages.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        stages
            .into_iter()
            .find_map(|(_, index)| index)
            .unwrap_or_default(),
    ))
}

/// Every stage of a plan (its `inputStage`, `inputStages`, `queryPlan`), with the index it
/// reads.
fn walk_plan(plan: &Document, stages: &mut Vec<(String, Option<String>)>) {
    if let Ok(stage) = plan.get_str("stage") {
        let index = plan.get_str("indexName").ok().map(String::from);
        stages.push((stage.to_string(), index));
    }
    for key in ["inputStage", "queryPlan"] {
        if let Ok(child) = plan.get_document(key) {
            walk_plan(child, stages);
        }
    }
    if let Ok(children) = plan.get_array("inputStages") {
        for child in children.iter().filter_map(Bson::as_document) {
            walk_plan(child, stages);
        }
    }
}

/// `countDocuments(filter)`: exact.
pub(crate) async fn count(db: &Database, collection: &str, filter: &Document) -> Result<u64> {
    db.collection::<Document>(collection)
        .count_documents(filter.clone())
        .await
        .map_err(Error::database(format!(
            "preflight cannot count documents of `{collection}`"
        )))
}

/// How many of [`SAMPLE_SIZE`] randomly sampled documents of `collection` match `filter`.
pub(crate) async fn sampled(db: &Database, collection: &str, filter: &Document) -> Result<u64> {
    let reply = aggregate(
        db,
        collection,
        vec![
            doc! {"$sample": {"size": i64::try_from(SAMPLE_SIZE).unwrap_or(1000)}},
            doc! {"$match": filter.clone()},
            doc! {"$count": "n"},
        ],
        "preflight cannot sample",
    )
    .await?;
    Ok(reply.first().map_or(0, count_of))
}

/// What a would-be unique index meets: how many keys are shared by more than one document, how
/// many documents share them, and the first few, most shared first.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Duplicates {
    pub(crate) keys: u64,
    pub(crate) documents: u64,
    /// Each key (as `{field: value}`) with how many documents have it.
    pub(crate) samples: Vec<(Document, u64)>,
}

/// The duplicate keys of `key` on `collection`: documents missing a field count as `null`, as
/// in the index; a `partialFilterExpression` or `sparse` limits the documents, a `collation`
/// compares as the index will.
pub(crate) async fn duplicates(
    db: &Database,
    collection: &str,
    key: &Document,
    spec: &Document,
) -> Result<Duplicates> {
    let fields: Vec<&String> = key.keys().collect();
    let mut pipeline = Vec::new();
    if let Ok(partial) = spec.get_document("partialFilterExpression") {
        pipeline.push(doc! {"$match": partial.clone()});
    }
    if crate::migration::operation::truthy(spec.get("sparse")) {
        let present: Vec<Document> = fields
            .iter()
            .map(|f| doc! {f.as_str(): {"$exists": true}})
            .collect();
        pipeline.push(doc! {"$match": {"$or": present}});
    }
    let mut group = Document::new();
    for (i, field) in fields.iter().enumerate() {
        group.insert(
            format!("k{i}"),
            doc! {"$ifNull": [format!("${field}"), Bson::Null]},
        );
    }
    pipeline.extend([
        doc! {"$group": {"_id": group, "n": {"$sum": 1}}},
        doc! {"$match": {"n": {"$gt": 1}}},
        doc! {"$facet": {
            "total": [{"$group": {"_id": Bson::Null, "keys": {"$sum": 1}, "documents": {"$sum": "$n"}}}],
            "samples": [{"$sort": {"n": -1, "_id": 1}}, {"$limit": SAMPLES}],
        }},
    ]);
    let mut options = mongodb::options::AggregateOptions::default();
    options.allow_disk_use = Some(true);
    if let Ok(collation) = spec.get_document("collation") {
        options.collation = mongodb::bson::from_document(collation.clone()).ok();
    }
    let cursor = db
        .collection::<Document>(collection)
        .aggregate(pipeline)
        .with_options(options)
        .await
        .map_err(Error::database(format!(
            "preflight cannot look for duplicates in `{collection}`"
        )))?;
    let reply = collect(cursor, collection).await?;
    let facet = reply.into_iter().next().unwrap_or_default();
    let total = facet
        .get_array("total")
        .ok()
        .and_then(|t| t.first())
        .and_then(Bson::as_document)
        .cloned()
        .unwrap_or_default();
    let samples = facet
        .get_array("samples")
        .map(|s| {
            s.iter()
                .filter_map(Bson::as_document)
                .map(|group| {
                    let values = group.get_document("_id").cloned().unwrap_or_default();
                    let mut shown = Document::new();
                    for (i, field) in fields.iter().enumerate() {
                        let value = values.get(format!("k{i}")).cloned().unwrap_or(Bson::Null);
                        shown.insert(field.as_str(), value);
                    }
                    (shown, number_of(group.get("n")))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Duplicates {
        keys: number_of(total.get("keys")),
        documents: number_of(total.get("documents")),
        samples,
    })
}

/// The documents of `collection` that `validator` rejects: how many, and the `_id` of the
/// first few.
pub(crate) async fn failing(
    db: &Database,
    collection: &str,
    validator: &Document,
) -> Result<(u64, Vec<Bson>)> {
    let reply = aggregate(
        db,
        collection,
        vec![
            doc! {"$match": {"$nor": [validator.clone()]}},
            doc! {"$facet": {
                "count": [{"$count": "n"}],
                "samples": [{"$sort": {"_id": 1}}, {"$limit": SAMPLES}, {"$project": {"_id": 1}}],
            }},
        ],
        "preflight cannot check the validator on",
    )
    .await?;
    let facet = reply.into_iter().next().unwrap_or_default();
    let n = facet
        .get_array("count")
        .ok()
        .and_then(|c| c.first())
        .and_then(Bson::as_document)
        .map_or(0, count_of);
    let ids = facet
        .get_array("samples")
        .map(|s| {
            s.iter()
                .filter_map(Bson::as_document)
                .filter_map(|d| d.get("_id").cloned())
                .collect()
        })
        .unwrap_or_default();
    Ok((n, ids))
}

async fn aggregate(
    db: &Database,
    collection: &str,
    pipeline: Vec<Document>,
    context: &str,
) -> Result<Vec<Document>> {
    let cursor = db
        .collection::<Document>(collection)
        .aggregate(pipeline)
        .await
        .map_err(Error::database(format!("{context} `{collection}`")))?;
    collect(cursor, collection).await
}

async fn collect(mut cursor: mongodb::Cursor<Document>, collection: &str) -> Result<Vec<Document>> {
    let mut out = Vec::new();
    while cursor.advance().await.map_err(Error::database(format!(
        "preflight cannot read from `{collection}`"
    )))? {
        out.push(
            cursor
                .deserialize_current()
                .map_err(Error::database(format!(
                    "preflight cannot read from `{collection}`"
                )))?,
        );
    }
    Ok(out)
}

fn count_of(d: &Document) -> u64 {
    number_of(d.get("n"))
}

fn number_of(value: Option<&Bson>) -> u64 {
    match value {
        Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Double(n)) if *n >= 0.0 => n.round() as u64,
        _ => 0,
    }
}

fn first_batch(reply: &Document) -> Vec<Document> {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|batch| {
            batch
                .iter()
                .filter_map(Bson::as_document)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
