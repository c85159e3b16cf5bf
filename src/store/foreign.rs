//! Other tools' histories, read as they are: migopy's `{name}` documents, migrate-mongo's
//! changelog (`{fileName, appliedAt}`), golang-migrate's `schema_migrations` (`{version,
//! dirty}`). Only read: `migo adopt` records what they say in migo's own registry.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::Database;

use crate::error::{Error, Result};

/// A tool whose history migo can take over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Tool {
    Migopy,
    MigrateMongo,
    GolangMigrate,
}

impl Tool {
    /// The tool's name, as users write it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::Migopy => "migopy",
            Tool::MigrateMongo => "migrate-mongo",
            Tool::GolangMigrate => "golang-migrate",
        }
    }

    /// The collection the tool keeps its history in by default.
    pub(crate) fn default_collection(self) -> &'static str {
        match self {
            Tool::Migopy => "migrations",
            Tool::MigrateMongo => "changelog",
            Tool::GolangMigrate => "schema_migrations",
        }
    }
}

/// What another tool says was applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum History {
    /// One entry per applied file: its name, and when, if the tool kept it.
    Files(Vec<(String, Option<DateTime>)>),
    /// golang-migrate: everything up to `version`; `dirty` when the last one failed half way.
    Version { version: i64, dirty: bool },
}

/// Reads `tool`'s history from `collection` of `db`.
pub(crate) async fn read(db: &Database, tool: Tool, collection: &str) -> Result<History> {
    let context = || Error::database(format!("cannot read {}'s `{collection}`", tool.name()));
    let documents: Vec<Document> = db
        .collection::<Document>(collection)
        .find(doc! {})
        .await
        .map_err(context())?
        .try_collect()
        .await
        .map_err(context())?;
    let shape = |document: &Document, wanted: &str| Error::ForeignRecord {
        collection: collection.to_string(),
        id: document.get("_id").map_or_else(
            || "?".into(),
            |v| v.clone().into_relaxed_extjson().to_string(),
        ),
        problem: format!("it is not {}'s shape ({wanted})", tool.name()),
        tool: None,
    };
    match tool {
        Tool::Migopy => documents
            .iter()
            // migo's own records and lock may share migopy's collection.
            .filter(|d| !d.contains_key("status") && !d.contains_key("token"))
            .map(|d| {
                let name = d.get_str("name").map_err(|_| shape(d, "{name}"))?;
                let at = match d.get("_id") {
                    Some(Bson::ObjectId(id)) => Some(id.timestamp()),
                    _ => None,
                };
                Ok((name.to_string(), at))
            })
            .collect::<Result<_>>()
            .map(History::Files),
        Tool::MigrateMongo => documents
            .iter()
            .map(|d| {
                let name = d
                    .get_str("fileName")
                    .map_err(|_| shape(d, "{fileName, appliedAt}"))?;
                Ok((name.to_string(), d.get_datetime("appliedAt").ok().copied()))
            })
            .collect::<Result<_>>()
            .map(History::Files),
        Tool::GolangMigrate => {
            let Some(d) = documents.iter().max_by_key(|d| number(d.get("version"))) else {
                return Ok(History::Files(Vec::new()));
            };
            let version = number(d.get("version")).ok_or_else(|| shape(d, "{version, dirty}"))?;
            Ok(History::Version {
                version,
                dirty: d.get_bool("dirty").unwrap_or(false),
            })
        }
    }
}

fn number(value: Option<&Bson>) -> Option<i64> {
    match value? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}
