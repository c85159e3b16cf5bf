//! `migo test`: a migration's up → down → up on a scratch database, compared snapshot by
//! snapshot, so that a `down` that loses data is found before production finds it.
//!
//! The scratch database starts as a copy of the collections the migration names (or empty with
//! `--empty`) and is dropped afterwards; the real database is only read, the registry untouched.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;

use crate::error::{Error, Result};
use crate::migration::{Body, Direction};
use crate::process::ChildEnv;
use crate::store::catalog;

/// What one migration's round trip showed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) name: String,
    /// `up` ran without error (the other two only mean something if it did).
    pub(crate) up: std::result::Result<(), String>,
    /// `None` when down restored the data exactly, else the first difference.
    pub(crate) down_difference: Option<String>,
    /// `None` when the second up gave the same data as the first, else the first difference.
    pub(crate) repeat_difference: Option<String>,
}

impl Verdict {
    /// Up, down and up again all did what they should.
    pub(crate) fn passed(&self) -> bool {
        self.up.is_ok() && self.down_difference.is_none() && self.repeat_difference.is_none()
    }
}

/// A collection's options, indexes and documents (by `_id`).
#[derive(Debug, Clone, PartialEq)]
struct CollectionState {
    options: Document,
    indexes: Vec<Document>,
    documents: Vec<Document>,
}

type Snapshot = BTreeMap<String, CollectionState>;

/// The scratch database's name for `database`: its own name plus a suffix, within MongoDB's
/// 63-character limit.
pub(crate) fn scratch_name(database: &str) -> String {
    let suffix = format!("_migo_test_{}", std::process::id());
    let keep = 63usize.saturating_sub(suffix.len());
    format!("{}{suffix}", &database[..database.len().min(keep)])
}

/// Copies `collections` of `source` (options, indexes, documents) into the empty `scratch`.
pub(crate) async fn copy_collections(
    source: &Database,
    scratch: &Database,
    collections: &[String],
) -> Result<()> {
    let original = snapshot(source, Some(collections)).await?;
    for (name, state) in original {
        let mut create = doc! {"create": &name};
        create.extend(state.options.clone());
        run(scratch, create, "cannot create a scratch collection").await?;
        let indexes: Vec<Document> = state
            .indexes
            .into_iter()
            .filter(|i| i.get_str("name") != Ok("_id_"))
            .collect();
        if !indexes.is_empty() {
            let create = doc! {"createIndexes": &name, "indexes": indexes};
            run(
                scratch,
                create,
                "cannot copy an index to the scratch database",
            )
            .await?;
        }
        if !state.documents.is_empty() {
            scratch
                .collection::<Document>(&name)
                .insert_many(state.documents)
                .await
                .map_err(Error::database(
                    "cannot copy documents to the scratch database",
                ))?;
        }
    }
    Ok(())
}

/// Runs up, down, up on `scratch` and compares the snapshots in between.
pub(crate) async fn round_trip(
    name: &str,
    body: &Body,
    scratch: &Database,
    env: &ChildEnv,
) -> Result<Verdict> {
    let mut verdict = Verdict {
        name: name.to_string(),
        up: Ok(()),
        down_difference: None,
        repeat_difference: None,
    };
    let before = snapshot(scratch, None).await?;
    verdict.up = body.run(Direction::Up, scratch, None, env).await;
    if verdict.up.is_err() {
        return Ok(verdict);
    }
    let after_up = snapshot(scratch, None).await?;
    if let Err(e) = body.run(Direction::Down, scratch, None, env).await {
        verdict.down_difference = Some(format!("down failed: {e}"));
        return Ok(verdict);
    }
    verdict.down_difference = difference(&before, &snapshot(scratch, None).await?);
    if let Err(e) = body.run(Direction::Up, scratch, None, env).await {
        verdict.repeat_difference = Some(format!("the second up failed: {e}"));
        return Ok(verdict);
    }
    verdict.repeat_difference = difference(&after_up, &snapshot(scratch, None).await?);
    Ok(verdict)
}

async fn run(db: &Database, command: Document, context: &str) -> Result<Document> {
    db.run_command(command)
        .await
        .map_err(Error::database(context.to_string()))
}

/// Every collection of `db` (or only `only`, those that exist), fully read.
async fn snapshot(db: &Database, only: Option<&[String]>) -> Result<Snapshot> {
    let mut snapshot = Snapshot::new();
    for spec in catalog::collections(db).await? {
        let name = spec.get_str("name").unwrap_or_default().to_string();
        let wanted = only.map_or(true, |names| names.contains(&name));
        if !wanted || name.starts_with("system.") {
            continue;
        }
        let mut indexes: Vec<Document> = catalog::indexes(db, &name)
            .await?
            .iter()
            .map(catalog::creatable)
            .collect();
        indexes.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
        let documents = db
            .collection::<Document>(&name)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .map_err(Error::database(format!("cannot read `{name}`")))?
            .try_collect()
            .await
            .map_err(Error::database(format!("cannot read `{name}`")))?;
        let options = spec.get_document("options").cloned().unwrap_or_default();
        snapshot.insert(
            name,
            CollectionState {
                options,
                indexes,
                documents,
            },
        );
    }
    Ok(snapshot)
}

impl CollectionState {
    /// No documents, no options, no index but `_id`: what MongoDB leaves after deleting the
    /// documents of a collection it created implicitly, and as good as no collection at all.
    fn is_blank(&self) -> bool {
        self.documents.is_empty()
            && self.options.is_empty()
            && self.indexes.iter().all(|i| i.get_str("name") == Ok("_id_"))
    }
}

/// The first way `after` differs from `before`, in words; `None` when they are equal.
fn difference(before: &Snapshot, after: &Snapshot) -> Option<String> {
    let present = |s: &'_ Snapshot, name: &str| s.get(name).filter(|c| !c.is_blank()).cloned();
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .find_map(|name| match (present(before, name), present(after, name)) {
            (Some(_), None) => Some(format!("collection `{name}` is gone")),
            (None, Some(_)) => Some(format!("collection `{name}` was left behind")),
            (Some(b), Some(a)) => collection_difference(name, &b, &a),
            (None, None) => None,
        })
}

fn collection_difference(
    name: &str,
    before: &CollectionState,
    after: &CollectionState,
) -> Option<String> {
    if before.options != after.options {
        return Some(format!("collection `{name}` has different options"));
    }
    if before.indexes != after.indexes {
        let names = |s: &CollectionState| -> Vec<String> {
            s.indexes
                .iter()
                .filter_map(|i| i.get_str("name").ok().map(String::from))
                .collect()
        };
        return Some(format!(
            "collection `{name}` had indexes {:?}, now {:?}",
            names(before),
            names(after)
        ));
    }
    if before.documents.len() != after.documents.len() {
        return Some(format!(
            "collection `{name}` had {} documents, now {}",
            before.documents.len(),
            after.documents.len()
        ));
    }
    before
        .documents
        .iter()
        .zip(&after.documents)
        .find(|(b, a)| b != a)
        .map(|(b, a)| {
            format!(
                "collection `{name}`, document {}: was {}, now {}",
                ext_json(b.get("_id").cloned().unwrap_or(Bson::Null)),
                ext_json(Bson::Document(b.clone())),
                ext_json(Bson::Document(a.clone()))
            )
        })
}

fn ext_json(value: Bson) -> String {
    value.into_relaxed_extjson().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_fit_mongodb_limits() {
        assert!(scratch_name(&"d".repeat(80)).len() <= 63);
        assert!(scratch_name("app").starts_with("app_migo_test_"));
    }

    #[test]
    fn differences_name_the_collection_and_document() {
        let state = |docs: Vec<Document>| CollectionState {
            options: Document::new(),
            indexes: Vec::new(),
            documents: docs,
        };
        let before = Snapshot::from([("u".to_string(), state(vec![doc! {"_id": 1, "a": 1}]))]);
        let after = Snapshot::from([("u".to_string(), state(vec![doc! {"_id": 1}]))]);
        assert_eq!(
            difference(&before, &after).unwrap(),
            r#"collection `u`, document 1: was {"_id":1,"a":1}, now {"_id":1}"#
        );
        assert_eq!(difference(&before, &before), None);
        let blank = Snapshot::from([("u".to_string(), state(Vec::new()))]);
        assert_eq!(difference(&Snapshot::new(), &blank), None);
        assert!(difference(&before, &Snapshot::new())
            .unwrap()
            .contains("gone"));
    }
}
