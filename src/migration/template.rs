//! `migo new NAME`: the next numbered migration file, from a template.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::config::MigrationSettings;
use crate::error::{Error, Result};
use crate::ground::source::Source;
use crate::migration::discover;

/// The template `new` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Declarative database commands (`.json`).
    Json,
    /// A mongosh script with `up()` and `down()` (`.js`).
    Js,
    /// An executable shell script run as `<file> up|down` (`.sh`).
    Sh,
    /// A Python module with `up(db)` and `down(db)`, given a pymongo Database (`.py`, migopy's).
    Py,
    /// A CommonJS module with `up(db, client)` and `down(db, client)` under Node (`.js`,
    /// migrate-mongo's).
    Node,
}

/// The extensions a suggested pattern keeps: those `pattern` accepts for a plain name with
/// `number`, then `format`'s own if it is not one of them.
fn extensions(pattern: &regex::Regex, number: &str, format: Format) -> Vec<&'static str> {
    let mut kept: Vec<&'static str> = Vec::new();
    for ext in ["json", "js", "sh", "py"] {
        if pattern.is_match(&format!("{number}_migration.{ext}")) {
            kept.push(ext);
        }
    }
    if !kept.contains(&format.extension()) {
        kept.push(format.extension());
    }
    kept
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Js | Format::Node => "js",
            Format::Sh => "sh",
            Format::Py => "py",
        }
    }

    fn template(self, name: &str) -> String {
        let description = name.replace(['_', '-'], " ");
        match self {
            Format::Json => json_template(&description),
            Format::Js => js_template(&description),
            Format::Sh => sh_template(&description),
            Format::Py => py_template(&description),
            Format::Node => node_template(&description),
        }
    }

    /// A backfill's template; none for a shell script, which migo cannot hand batches.
    fn backfill_template(self, name: &str) -> Option<String> {
        let description = name.replace(['_', '-'], " ");
        let text = match self {
            Format::Json => json_backfill(&description),
            Format::Js => js_backfill(&description),
            Format::Py => py_backfill(&description),
            Format::Node => node_backfill(&description),
            Format::Sh => return None,
        };
        Some(text)
    }
}

/// The longest NAME `new` accepts: with the number and extension, a file name stays well under
/// the usual 255-byte limit of file systems.
pub(crate) const MAX_NAME: usize = 200;

/// Creates `<next number>_<name>.<ext>` in the migrations directory and returns its path.
/// `project` bounds where symlinked migrations may point; `compiled` are the binary's own.
pub(crate) fn new_migration(
    settings: &MigrationSettings,
    project: &Path,
    compiled: Vec<Source>,
    name: &str,
    format: Format,
    backfill: bool,
) -> Result<PathBuf> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(Error::Usage {
            message: format!(
                "{} is not a valid migration name",
                crate::ground::escape::quoted(name)
            ),
            hint: Some("use letters, digits, `_` and `-`, e.g. `add_email_index`".into()),
        });
    }
    if name.len() > MAX_NAME {
        return Err(Error::Usage {
            message: format!(
                "the migration name is {} characters long; the limit is {MAX_NAME}",
                name.len()
            ),
            hint: Some("use a shorter name; the description can go inside the file".into()),
        });
    }
    let dir = &settings.directory;
    let existing = match discover::discover_all(dir, &settings.pattern, project, compiled) {
        Err(Error::NoDirectory(_)) => Vec::new(),
        other => other?,
    };
    let next = match existing.last() {
        None => 1,
        Some(last) => last
            .number
            .checked_add(1)
            .filter(|n| i64::try_from(*n).is_ok())
            .ok_or_else(|| Error::Usage {
                message: format!(
                    "`{}` has the largest number a migration may have; there is no next one",
                    last.file_name
                ),
                hint: Some("renumber the migrations with smaller numbers".into()),
            })?,
    };
    let width = existing
        .last()
        .map_or(4, |m| m.file_name.find('_').unwrap_or(4))
        .max(4);
    let file_name = format!("{next:0width$}_{name}.{}", format.extension());
    if !settings.pattern.is_match(&file_name) {
        return Err(Error::Usage {
            message: format!(
                "`{file_name}` would not match the pattern `{}`",
                settings.pattern.as_str()
            ),
            hint: Some(format!(
                "choose a name the pattern accepts, or change `[migrations] pattern`, e.g. \
                 to `^(?P<number>[0-9]+)_[A-Za-z0-9_-]+\\.({})$`",
                extensions(&settings.pattern, &format!("{next:0width$}"), format).join("|")
            )),
        });
    }
    let text = match backfill {
        false => format.template(name),
        true => format.backfill_template(name).ok_or_else(|| Error::Usage {
            message: "a shell script cannot be a backfill: migo hands batches to a function".into(),
            hint: Some("use `--format json`, `js`, `node` or `py` with `--backfill`".into()),
        })?,
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        context: "cannot create the migrations directory",
        path: dir.clone(),
        source: e,
    })?;
    let path = dir.join(&file_name);
    let io = |e| Error::Io {
        context: "cannot write",
        path: path.clone(),
        source: e,
    };
    std::fs::write(&path, text).map_err(io)?;
    if format == Format::Sh {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(path)
}

/// A runnable no-op: `ping` commands to replace with the real ones.
fn json_template(description: &str) -> String {
    format!(
        r#"{{
  "description": "{description}",
  "up": [
    {{"ping": 1}}
  ],
  "down": [
    {{"ping": 1}}
  ]
}}
"#
    )
}

/// mongosh runs the file with `db` set to the configured database, then calls one function.
fn js_template(description: &str) -> String {
    format!(
        r#"// {description}
// Run by mongosh with `db` set to the configured database: migo calls up() to apply the
// change and down() to revert it. A thrown error marks the migration failed.

function up() {{
  // db.users.updateMany({{ active: {{ $exists: false }} }}, {{ $set: {{ active: true }} }});
}}

function down() {{
  // db.users.updateMany({{}}, {{ $unset: {{ active: "" }} }});
}}
"#
    )
}

/// An executable script: `<file> up|down`, the connection in `MIGO_*` variables.
fn sh_template(description: &str) -> String {
    format!(
        r#"#!/bin/sh
# {description}
# Run by migo as `<this file> up` or `<this file> down`, with the connection in MIGO_URI,
# MIGO_DATABASE, MIGO_MIGRATION and MIGO_DIRECTION. A non-zero exit marks the migration failed.
# Keep MIGO_URI out of argv (any local user can read argv in `ps`): let the program read it
# from the environment, as mongosh does here with `--nodb` and `process.env`.
set -eu

case "$1" in
  up)
    : # apply the change, e.g.:
    # mongosh --nodb --quiet --eval 'db = connect(process.env.MIGO_URI); db.users.updateMany({{}}, {{$set: {{active: true}}}})'
    ;;
  down)
    : # revert it
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
"#
    )
}

/// migopy's shape: a module, imported by migo's Python, `up(db)` called with a pymongo Database.
fn py_template(description: &str) -> String {
    format!(
        r#"# {description}
# Imported by migo's Python (with pymongo): up(db) applies the change, down(db) reverts it, `db`
# being a pymongo Database. A raised exception marks the migration failed.


def up(db):
    pass  # db.users.update_many({{"active": {{"$exists": False}}}}, {{"$set": {{"active": True}}}})


def down(db):
    pass  # db.users.update_many({{}}, {{"$unset": {{"active": ""}}}})
"#
    )
}

/// migrate-mongo's shape: a CommonJS module run under Node with the project's `mongodb` driver.
fn node_template(description: &str) -> String {
    format!(
        r#"// {description}
// Run under Node with the project's `mongodb` driver: up(db, client) applies the change,
// down(db, client) reverts it. A rejected promise marks the migration failed.
module.exports = {{
  async up(db, client) {{
    // await db.collection('users').updateMany({{ active: {{ $exists: false }} }}, {{ $set: {{ active: true }} }});
  }},

  async down(db, client) {{
    // await db.collection('users').updateMany({{}}, {{ $unset: {{ active: '' }} }});
  }},
}};
"#
    )
}

/// A `.json` backfill: the walk and its server-side update.
fn json_backfill(description: &str) -> String {
    format!(
        r#"{{
  "description": "{description}",
  "backfill": {{"collection": "users", "filter": {{"status": {{"$exists": false}}}},
               "update": {{"$set": {{"status": "active"}}}}, "batch_size": 1000}},
  "down": {{"backfill": {{"collection": "users", "filter": {{"status": "active"}},
                        "update": {{"$unset": {{"status": ""}}}}, "batch_size": 1000}}}}
}}
"#
    )
}

/// A mongosh backfill: the walk, and `batch` for each batch (docs/backfills.md).
fn js_backfill(description: &str) -> String {
    format!(
        r#"// {description}
// A backfill run by mongosh: migo walks `collection` in `_id`-range batches of the documents
// `filter` matches and calls batch(batch) for each, with `batch.filter` (the filter and the
// batch's range), `batch.after`, `batch.up_to` and `batch.size`, checkpointing after each. The
// batch must make its documents stop matching `filter`. A thrown error marks it failed.
const backfill = {{ collection: "users", filter: {{ status: {{ $exists: false }} }}, batch_size: 1000 }};

function batch(batch) {{
  db.users.find(batch.filter).forEach((user) => {{
    db.users.updateOne({{ _id: user._id }}, {{ $set: {{ status: "active" }} }});
  }});
}}

function down() {{
  db.users.updateMany({{ status: "active" }}, {{ $unset: {{ status: "" }} }});
}}
"#
    )
}

/// A migopy backfill: the walk, and `batch(db, batch)` for each batch.
fn py_backfill(description: &str) -> String {
    format!(
        r#"# {description}
# A backfill run by migo's Python: migo walks `collection` in `_id`-range batches of the
# documents `filter` matches and calls batch(db, batch) for each, with batch["filter"] (the
# filter and the batch's range), "after", "up_to" and "size", checkpointing after each. The
# batch must make its documents stop matching `filter`. A raised exception marks it failed.
backfill = {{"collection": "users", "filter": {{"status": {{"$exists": False}}}}, "batch_size": 1000}}


def batch(db, batch):
    for user in db.users.find(batch["filter"]):
        db.users.update_one({{"_id": user["_id"]}}, {{"$set": {{"status": "active"}}}})


def down(db):
    db.users.update_many({{"status": "active"}}, {{"$unset": {{"status": ""}}}})
"#
    )
}

/// A CommonJS backfill: the walk, and `batch(db, batch)` for each batch.
fn node_backfill(description: &str) -> String {
    format!(
        r#"// {description}
// A backfill run under Node: migo walks `collection` in `_id`-range batches of the documents
// `filter` matches and calls batch(db, batch) for each, with `batch.filter` (the filter and the
// batch's range), `batch.after`, `batch.up_to` and `batch.size`, checkpointing after each. The
// batch must make its documents stop matching `filter`. A rejected promise marks it failed.
module.exports = {{
  backfill: {{ collection: "users", filter: {{ status: {{ $exists: false }} }}, batch_size: 1000 }},

  async batch(db, batch) {{
    const users = await db.collection("users").find(batch.filter).toArray();
    for (const user of users) {{
      await db.collection("users").updateOne({{ _id: user._id }}, {{ $set: {{ status: "active" }} }});
    }}
  }},

  async down(db, client) {{
    await db.collection("users").updateMany({{ status: "active" }}, {{ $unset: {{ status: "" }} }});
  }},
}};
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::json::JsonMigration;

    #[test]
    fn the_template_is_a_valid_migration() {
        let m = JsonMigration::parse(&Format::Json.template("add_index")).unwrap();
        assert_eq!(m.description.as_deref(), Some("add index"));
        assert!(m.down.is_some());
    }

    #[test]
    fn each_template_is_read_as_its_kind() {
        use crate::migration::shape::{self, Export};
        let mongosh = shape::js(&Format::Js.template("x"));
        assert!(mongosh.bare_up && !mongosh.commonjs && mongosh.defines == [true, true]);
        let node = shape::js(&Format::Node.template("x"));
        assert!(node.commonjs && !node.bare_up && node.exports == [Export::Yes, Export::Yes]);
        let python = shape::python(&Format::Py.template("x"));
        assert!(python.up.is_some_and(|u| u.takes_arguments) && python.down.is_some());
    }

    #[test]
    fn each_backfill_template_declares_a_valid_walk() {
        use crate::migration::declaration::{read, Spelling};
        let spellings = [
            (Format::Js, Spelling::Mongosh),
            (Format::Node, Spelling::CommonJs),
            (Format::Py, Spelling::Python),
        ];
        for (format, spelling) in spellings {
            let text = format.backfill_template("x").unwrap();
            let walk = read(&text, spelling).unwrap().unwrap();
            assert_eq!(walk.collection, "users", "{format:?}");
        }
        let json = JsonMigration::parse(&Format::Json.backfill_template("x").unwrap()).unwrap();
        assert!(json.backfill.is_some() && json.down_backfill.is_some());
        assert_eq!(Format::Sh.backfill_template("x"), None);
    }
}
