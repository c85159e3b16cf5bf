//! `migo init --compiled`: a migrations binary of the project's own (`src/bin/migrations/`),
//! one file per compiled migration whose `source()` is that file alone, and the dependencies it
//! needs in Cargo.toml.

use std::path::Path;

use toml_edit::DocumentMut;

use super::templates::toml_string;
use super::{Change, Install, Request};
use crate::error::{Error, Result};

const MAIN: &str = r#"//! This project's migrations binary: migo's whole command line with the compiled migrations
//! below (`cargo make migrations …` runs it). One file per migration, listed here in order.

mod m0001_create_users;

fn main() {
    migo::App::new()
        .migration(m0001_create_users::CreateUsers)
        .main()
}
"#;

const EXAMPLE: &str = r#"//! 0001_create_users: the `users` collection, with a unique index on `email`.

use migo::{Migration, StepResult};
use mongodb::bson::{doc, Document};
use mongodb::{ClientSession, Database, IndexModel};

pub struct CreateUsers;

#[migo::async_trait]
impl Migration for CreateUsers {
    fn name(&self) -> &str {
        "0001_create_users"
    }

    /// This file alone: an edit to another migration does not mark this one modified.
    fn source(&self) -> &str {
        include_str!("m0001_create_users.rs")
    }

    async fn up(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        let index = IndexModel::builder()
            .keys(doc! {"email": 1})
            .options(mongodb::options::IndexOptions::builder().unique(true).build())
            .build();
        db.collection::<Document>("users")
            .create_index(index)
            .session(session)
            .await?;
        Ok(())
    }

    async fn down(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        db.collection::<Document>("users")
            .drop()
            .session(session)
            .await?;
        Ok(())
    }
}
"#;

/// The binary's files and the Cargo.toml dependencies.
pub(crate) fn scaffold(
    dir: &Path,
    request: &Request,
    notes: &mut Vec<String>,
) -> Result<Vec<Change>> {
    let bin = dir.join("src/bin/migrations");
    let mut changes = Vec::new();
    for (name, content) in [("main.rs", MAIN), ("m0001_create_users.rs", EXAMPLE)] {
        let path = bin.join(name);
        if path.exists() {
            notes.push(format!("{} exists: not changed", path.display()));
            continue;
        }
        changes.push(Change {
            path,
            content: content.into(),
            summary: "created".into(),
            added: None,
        });
    }
    let cargo = dir.join("Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&cargo) else {
        notes.push(
            "no Cargo.toml here: add `migo` and `mongodb = \"3\"` to your dependencies".into(),
        );
        return Ok(changes);
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| Error::Config {
            location: cargo.display().to_string(),
            message: format!("is not valid TOML: {}", e.message()),
            hint: None,
        })?;
    let migo = match &request.install {
        Install::Git(url) => format!("{{ git = {} }}", toml_string(url)),
        Install::Path(path) => format!("{{ path = {} }}", toml_string(path)),
        Install::Nothing => "\"*\"".to_string(),
    };
    let mut added = String::new();
    for (name, spec) in [("migo", migo.as_str()), ("mongodb", "\"3\"")] {
        let present = doc.get("dependencies").and_then(|d| d.get(name)).is_some();
        if present {
            continue;
        }
        let value: toml_edit::Item = format!("x = {spec}")
            .parse::<DocumentMut>()
            .ok()
            .and_then(|d| d.get("x").cloned())
            .unwrap_or_default();
        doc["dependencies"][name] = value;
        added.push_str(&format!("{name} = {spec}\n"));
    }
    if !added.is_empty() {
        changes.push(Change {
            path: cargo,
            content: doc.to_string(),
            summary: "added migo and mongodb to the dependencies of".into(),
            added: Some(added),
        });
    }
    Ok(changes)
}
