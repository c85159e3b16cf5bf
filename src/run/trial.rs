//! `migo test`: a migration's up → down → up on a scratch database, so that a `down` that loses
//! data is found before production finds it.
//!
//! The scratch database starts as a copy of the collections the migration names (or empty), and
//! each state to compare against is kept as a copy in a database of its own. Comparisons stream
//! both sides in `_id` order, a batch at a time, so memory stays flat however large the data.
//! Every database the trial creates is dropped afterwards, with the users and roles a migration
//! may have created in it; the real database is only read, the registry untouched.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document, RawDocumentBuf};
use mongodb::{Cursor, Database};

use crate::error::{Error, Result};
use crate::ground::Direction;
use crate::halt::Halt;
use crate::migration::Body;
use crate::process::ChildEnv;
use crate::store::catalog;

/// Documents per batch when copying.
const BATCH: usize = 1_000;

/// What one migration's trial showed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) name: String,
    /// `up` ran without error (the other two only mean something if it did).
    pub(crate) up: std::result::Result<(), String>,
    /// `None` when down restored the data exactly, else the first difference.
    pub(crate) down_difference: Option<String>,
    /// `None` when the second up gave the same data as the first, else the first difference.
    pub(crate) repeat_difference: Option<String>,
    /// Whether it started from an empty scratch database (migo cannot tell which collections a
    /// script touches).
    pub(crate) empty_start: bool,
}

impl Verdict {
    /// Up, down and up again all did what they should.
    pub(crate) fn passed(&self) -> bool {
        self.up.is_ok() && self.down_difference.is_none() && self.repeat_difference.is_none()
    }
}

/// The scratch databases of one trial: where migrations run, and the two saved states.
#[derive(Debug)]
pub(crate) struct Scratch {
    pub(crate) work: Database,
    before: Database,
    after_up: Database,
}

impl Scratch {
    /// Scratch databases named after `db`, dropped first in case a killed trial left them.
    pub(crate) async fn new(db: &Database) -> Result<Scratch> {
        let client = db.client();
        let scratch = Scratch {
            work: client.database(&scratch_name(db.name(), "t")),
            before: client.database(&scratch_name(db.name(), "b")),
            after_up: client.database(&scratch_name(db.name(), "u")),
        };
        scratch.drop().await?;
        Ok(scratch)
    }

    /// Drops the three databases, with any users and roles created in them.
    pub(crate) async fn drop(&self) -> Result<()> {
        for db in [&self.work, &self.before, &self.after_up] {
            drop_scratch(db).await?;
        }
        Ok(())
    }
}

/// Drops scratch database `db`, with any users and roles a migration created in it. An account
/// that may not manage users could not have created any: that refusal is passed over.
pub(crate) async fn drop_scratch(db: &Database) -> Result<()> {
    let context = || format!("cannot clean up the scratch database `{}`", db.name());
    for command in ["dropAllUsersFromDatabase", "dropAllRolesFromDatabase"] {
        match db.run_command(doc! {command: 1}).await {
            Err(e) if is_unauthorized(&e) => {}
            other => {
                other.map_err(Error::database(context()))?;
            }
        }
    }
    db.drop().await.map_err(Error::database(context()))
}

/// Whether the server refused `e` for lack of privileges (code 13, `Unauthorized`).
pub(crate) fn is_unauthorized(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 13)
}

/// A scratch database's name for `database`: its own name plus a suffix, within MongoDB's
/// 63-byte limit (cut at a character boundary).
pub(crate) fn scratch_name(database: &str, kind: &str) -> String {
    let mut suffix = format!("_migo_{kind}{}", std::process::id());
    if database.len() + suffix.len() > 63 {
        // Cut, the name needs a mark of the whole, or two long names (fleet members tried at
        // once) would share scratch databases.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(database.as_bytes());
        suffix = format!(
            "_{:02x}{:02x}{:02x}{suffix}",
            digest[0], digest[1], digest[2]
        );
    }
    let keep = 63usize.saturating_sub(suffix.len());
    let mut end = database.len().min(keep);
    while !database.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &database[..end])
}

/// Copies `collections` of `source` (options, indexes, documents), those that exist, into
/// `target`.
pub(crate) async fn copy_collections(
    source: &Database,
    target: &Database,
    collections: Option<&[String]>,
) -> Result<()> {
    for spec in catalog::collections(source).await? {
        let name = spec.get_str("name").unwrap_or_default().to_string();
        let wanted = collections.is_none_or(|names| names.contains(&name));
        if !wanted || name.starts_with("system.") || spec.get_str("type") == Ok("view") {
            continue;
        }
        let mut create = doc! {"create": &name};
        create.extend(spec.get_document("options").cloned().unwrap_or_default());
        command(target, create, "cannot create a scratch collection").await?;
        let indexes: Vec<Document> = catalog::indexes(source, &name)
            .await?
            .iter()
            .map(catalog::creatable)
            .filter(|i| i.get_str("name") != Ok("_id_"))
            .collect();
        if !indexes.is_empty() {
            let create = doc! {"createIndexes": &name, "indexes": indexes};
            command(target, create, "cannot copy an index to a scratch database").await?;
        }
        let mut cursor = ordered(source, &name).await?;
        let copy = target.collection::<RawDocumentBuf>(&name);
        let mut batch = Vec::with_capacity(BATCH);
        let read = || Error::database(format!("cannot read `{name}`"));
        while let Some(document) = cursor.try_next().await.map_err(read())? {
            batch.push(document);
            if batch.len() >= BATCH {
                copy.insert_many(std::mem::take(&mut batch))
                    .await
                    .map_err(Error::database(
                        "cannot copy documents to a scratch database",
                    ))?;
            }
        }
        if !batch.is_empty() {
            copy.insert_many(batch).await.map_err(Error::database(
                "cannot copy documents to a scratch database",
            ))?;
        }
    }
    Ok(())
}

/// Runs up, down, up on the scratch databases and compares the states in between.
pub(crate) async fn trial(
    name: &str,
    body: &Body,
    scratch: &Scratch,
    env: &ChildEnv,
    halt: &Halt,
    empty_start: bool,
) -> Result<Verdict> {
    let mut verdict = Verdict {
        name: name.to_string(),
        up: Ok(()),
        down_difference: None,
        repeat_difference: None,
        empty_start,
    };
    let work = &scratch.work;
    clear(&scratch.before).await?;
    copy_collections(work, &scratch.before, None).await?;
    verdict.up = run(body, Direction::Up, work, env, halt).await;
    if verdict.up.is_err() {
        return Ok(verdict);
    }
    clear(&scratch.after_up).await?;
    copy_collections(work, &scratch.after_up, None).await?;
    if let Err(e) = run(body, Direction::Down, work, env, halt).await {
        verdict.down_difference = Some(format!("down failed: {e}"));
        return Ok(verdict);
    }
    verdict.down_difference = difference(&scratch.before, work).await?;
    if let Err(e) = run(body, Direction::Up, work, env, halt).await {
        verdict.repeat_difference = Some(format!("the second up failed: {e}"));
        return Ok(verdict);
    }
    verdict.repeat_difference = difference(&scratch.after_up, work).await?;
    Ok(verdict)
}

async fn run(
    body: &Body,
    direction: Direction,
    db: &Database,
    env: &ChildEnv,
    halt: &Halt,
) -> std::result::Result<(), String> {
    super::backfill::unrecorded(body, direction, db, env, halt)
        .await
        .map_err(|e| e.to_string())
}

async fn clear(db: &Database) -> Result<()> {
    db.drop()
        .await
        .map_err(Error::database(format!("cannot clear `{}`", db.name())))
}

async fn command(db: &Database, command: Document, context: &str) -> Result<Document> {
    db.run_command(command)
        .await
        .map_err(Error::database(context.to_string()))
}

/// A cursor over `name`'s documents in `_id` order, a batch at a time.
async fn ordered(db: &Database, name: &str) -> Result<Cursor<RawDocumentBuf>> {
    db.collection::<RawDocumentBuf>(name)
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .batch_size(u32::try_from(BATCH).unwrap_or(u32::MAX))
        .await
        .map_err(Error::database(format!("cannot read `{name}`")))
}

/// A collection's options and indexes, and whether it holds any document.
#[derive(Debug, Clone, PartialEq)]
struct Shape {
    options: Document,
    indexes: Vec<Document>,
    empty: bool,
}

impl Shape {
    /// No documents, no options, no index but `_id`: as good as no collection at all (what
    /// MongoDB leaves after deleting the documents of a collection it created implicitly).
    fn is_blank(&self) -> bool {
        self.empty
            && self.options.is_empty()
            && self.indexes.iter().all(|i| i.get_str("name") == Ok("_id_"))
    }
}

/// Every collection of `db` and its shape.
async fn shapes(db: &Database) -> Result<std::collections::BTreeMap<String, Shape>> {
    let mut shapes = std::collections::BTreeMap::new();
    for spec in catalog::collections(db).await? {
        let name = spec.get_str("name").unwrap_or_default().to_string();
        if name.starts_with("system.") {
            continue;
        }
        let mut indexes: Vec<Document> = catalog::indexes(db, &name)
            .await?
            .iter()
            .map(catalog::creatable)
            .collect();
        indexes.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
        let empty = db
            .collection::<Document>(&name)
            .find_one(doc! {})
            .await
            .map_err(Error::database(format!("cannot read `{name}`")))?
            .is_none();
        let options = spec.get_document("options").cloned().unwrap_or_default();
        shapes.insert(
            name,
            Shape {
                options,
                indexes,
                empty,
            },
        );
    }
    Ok(shapes)
}

/// The first way `after` differs from `before`, in words; `None` when they are equal.
async fn difference(before: &Database, after: &Database) -> Result<Option<String>> {
    let (old, new) = (shapes(before).await?, shapes(after).await?);
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        let present = |s: &std::collections::BTreeMap<String, Shape>| {
            s.get(name.as_str()).filter(|c| !c.is_blank()).cloned()
        };
        let found = match (present(&old), present(&new)) {
            (Some(_), None) => Some(format!("collection `{name}` is gone")),
            (None, Some(_)) => Some(format!("collection `{name}` was left behind")),
            (Some(b), Some(a)) if b.options != a.options => {
                Some(format!("collection `{name}` has different options"))
            }
            (Some(b), Some(a)) if b.indexes != a.indexes => {
                let names = |s: &Shape| -> Vec<String> {
                    s.indexes
                        .iter()
                        .filter_map(|i| i.get_str("name").ok().map(String::from))
                        .collect()
                };
                Some(format!(
                    "collection `{name}` had indexes {:?}, now {:?}",
                    names(&b),
                    names(&a)
                ))
            }
            (Some(_), Some(_)) => documents_difference(before, after, name).await?,
            (None, None) => None,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The first document that differs between the two copies of `name`, streaming both in `_id`
/// order.
async fn documents_difference(
    before: &Database,
    after: &Database,
    name: &str,
) -> Result<Option<String>> {
    let (mut old, mut new) = (ordered(before, name).await?, ordered(after, name).await?);
    let read = || Error::database(format!("cannot read `{name}`"));
    let (mut count_old, mut count_new) = (0u64, 0u64);
    loop {
        let (a, b) = (
            old.try_next().await.map_err(read())?,
            new.try_next().await.map_err(read())?,
        );
        count_old += u64::from(a.is_some());
        count_new += u64::from(b.is_some());
        match (a, b) {
            (None, None) => return Ok(None),
            (Some(a), Some(b)) if a.as_bytes() == b.as_bytes() => {}
            (Some(a), Some(b)) => {
                let id = a
                    .get("_id")
                    .ok()
                    .flatten()
                    .and_then(|v| v.to_raw_bson().try_into().ok())
                    .map_or_else(|| "?".to_string(), ext_json);
                return Ok(Some(format!(
                    "collection `{name}`, document {id}: was {}, now {}",
                    raw_json(&a),
                    raw_json(&b)
                )));
            }
            _ => {
                // One side ran out: count the rest to say how many there were.
                let total_old = count_old + remaining(&mut old, name).await?;
                let total_new = count_new + remaining(&mut new, name).await?;
                return Ok(Some(format!(
                    "collection `{name}` had {total_old} documents, now {total_new}"
                )));
            }
        }
    }
}

/// How many documents `cursor` has left.
async fn remaining(cursor: &mut Cursor<RawDocumentBuf>, name: &str) -> Result<u64> {
    let mut n = 0u64;
    while cursor
        .try_next()
        .await
        .map_err(Error::database(format!("cannot read `{name}`")))?
        .is_some()
    {
        n += 1;
    }
    Ok(n)
}

fn ext_json(value: mongodb::bson::Bson) -> String {
    value.into_relaxed_extjson().to_string()
}

fn raw_json(document: &RawDocumentBuf) -> String {
    document.to_document().map_or_else(
        |_| "?".to_string(),
        |d| ext_json(mongodb::bson::Bson::Document(d)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_fit_mongodb_limits() {
        assert!(scratch_name(&"d".repeat(80), "t").len() <= 63);
        assert!(scratch_name(&"é".repeat(40), "t").len() <= 63);
        assert!(scratch_name("app", "t").starts_with("app_migo_t"));
        let (a, b) = (
            format!("{}a", "d".repeat(62)),
            format!("{}b", "d".repeat(62)),
        );
        assert_ne!(scratch_name(&a, "t"), scratch_name(&b, "t"));
    }
}
