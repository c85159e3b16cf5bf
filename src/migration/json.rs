//! Declarative `.json` migrations: lists of database commands in Extended JSON, run in order.
//!
//! ```json
//! {"description": "index users by email",
//!  "up":   [{"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1"}]}],
//!  "down": [{"dropIndexes": "users", "index": "email_1"}]}
//! ```

use std::collections::BTreeMap;

use mongodb::bson::{Bson, Document};
use mongodb::{ClientSession, Database};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::migration::failure::StepError;
use crate::migration::source::Source;
use crate::migration::Direction;

/// A validated `.json` migration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonMigration {
    pub(crate) description: Option<String>,
    pub(crate) up: Vec<Document>,
    /// `None` makes the migration irreversible.
    pub(crate) down: Option<Vec<Document>>,
    pub(crate) transaction: bool,
    /// `"lint": {"allow": {"RULE": "why"}}`: lint rules this migration is exempt from, each with
    /// the reason.
    pub(crate) lint_allow: BTreeMap<String, String>,
}

/// `"lint": {…}` of a `.json` migration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLint {
    #[serde(default)]
    allow: BTreeMap<String, String>,
}

/// The file as written, before its commands are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJson {
    description: Option<String>,
    up: Value,
    down: Option<Value>,
    #[serde(default)]
    transaction: bool,
    lint: Option<RawLint>,
}

impl JsonMigration {
    /// Reads and validates a `.json` migration file.
    pub(crate) fn load(file: &Source) -> Result<JsonMigration> {
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path).map_err(|e| Error::Io {
                context: "cannot read migration",
                path: path.to_path_buf(),
                source: e,
            })
        };
        let text = read(&file.path)?;
        if file.file_name.ends_with(".up.json") {
            let down = file.down_path.as_deref().map(read).transpose()?;
            return Self::parse_pair(&text, down.as_deref()).map_err(|message| Error::InvalidMigration {
                file: crate::ui::escape::escape(&file.file_name),
                message,
                hint: Some(
                    "a golang-migrate migration is a JSON array of commands in `N_name.up.json` (and `N_name.down.json`)"
                        .into(),
                ),
            });
        }
        Self::parse(&text).map_err(|message| Error::InvalidMigration {
            file: crate::ui::escape::escape(&file.file_name),
            message,
            hint: Some(
                "a .json migration is {\"description\": …, \"up\": [command, …], \"down\": [command, …]}"
                    .into(),
            ),
        })
    }

    /// Parses the text of a `.json` migration; the error names the place and the problem.
    pub(crate) fn parse(text: &str) -> std::result::Result<JsonMigration, String> {
        let raw: RawJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let up = commands(raw.up, "up")?;
        if up.is_empty() {
            return Err("`up` is an empty array; it needs at least one command".into());
        }
        let down = raw.down.map(|d| commands(d, "down")).transpose()?;
        Ok(JsonMigration {
            description: raw.description,
            up,
            down,
            transaction: raw.transaction,
            lint_allow: raw.lint.map(|l| l.allow).unwrap_or_default(),
        })
    }

    /// golang-migrate's pair: each file a JSON array of commands.
    pub(crate) fn parse_pair(
        up: &str,
        down: Option<&str>,
    ) -> std::result::Result<JsonMigration, String> {
        let array = |text: &str, which: &str| -> std::result::Result<Vec<Document>, String> {
            let value: Value =
                serde_json::from_str(text).map_err(|e| format!("the {which} file: {e}"))?;
            commands(value, which)
        };
        let up_commands = array(up, "up")?;
        if up_commands.is_empty() {
            return Err("the up file is an empty array; it needs at least one command".into());
        }
        Ok(JsonMigration {
            description: None,
            up: up_commands,
            down: down.map(|d| array(d, "down")).transpose()?,
            transaction: false,
            lint_allow: BTreeMap::new(),
        })
    }

    fn commands(&self, direction: Direction) -> &[Document] {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => self.down.as_deref().unwrap_or_default(),
        }
    }

    /// The collections its commands name (`{"update": "users", …}` names `users`), for `migo test`.
    pub(crate) fn collections(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .up
            .iter()
            .chain(self.down.iter().flatten())
            .filter_map(|c| c.iter().next())
            .filter_map(|(_, target)| target.as_str())
            // `renameCollection` names `db.collection`.
            .map(|name| name.split_once('.').map_or(name, |(_, c)| c).to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Each command as Extended JSON, one per line: relaxed, but with 64-bit integers in
    /// canonical form (`{"$numberLong": "1"}` is not `1`), and the password fields of commands
    /// that carry credentials blanked.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        self.commands(direction)
            .iter()
            .map(|c| typed_json(&Bson::Document(blank_secrets(c))).to_string())
            .collect()
    }

    /// Runs the commands of `direction` in order; stops at the first failure, or before a
    /// command when the run is halted.
    pub(crate) async fn run(
        &self,
        direction: Direction,
        db: &Database,
        mut session: Option<&mut ClientSession>,
        halt: &Halt,
    ) -> std::result::Result<(), StepError> {
        let commands = self.commands(direction);
        for (i, command) in commands.iter().enumerate() {
            if let Some(reason) = halt.reason().filter(|_| i > 0) {
                return Err(StepError::Halted(reason));
            }
            let sent = match session.as_deref_mut() {
                Some(s) => db.run_command(command.clone()).session(s).await,
                None => db.run_command(command.clone()).await,
            };
            let verb = command.keys().next().map_or("", String::as_str);
            let at = format!("command {} of {} (`{verb}`)", i + 1, commands.len());
            let reply = sent.map_err(|error| StepError::Command {
                at: at.clone(),
                error,
            })?;
            write_errors(&reply, at)?;
        }
        Ok(())
    }
}

/// The commands the driver treats as sensitive, and the fields that hold their secrets
/// (`None`: every field but the command name).
const SENSITIVE: &[(&str, Option<&str>)] = &[
    ("createUser", Some("pwd")),
    ("updateUser", Some("pwd")),
    ("authenticate", None),
    ("saslStart", None),
    ("saslContinue", None),
    ("getnonce", None),
    ("copydbgetnonce", None),
    ("copydbsaslstart", None),
    ("copydb", None),
];

/// `command` with the values of its secret fields replaced by `***`.
fn blank_secrets(command: &Document) -> Document {
    let Some(name) = command.keys().next() else {
        return command.clone();
    };
    let Some((_, field)) = SENSITIVE.iter().find(|(s, _)| s.eq_ignore_ascii_case(name)) else {
        return command.clone();
    };
    let mut blanked = command.clone();
    for (key, value) in blanked.iter_mut().skip(1) {
        if field.is_none_or(|f| f == key) {
            *value = Bson::String("***".into());
        }
    }
    blanked
}

/// Relaxed Extended JSON, except 64-bit integers, which relaxed JSON prints like 32-bit ones.
pub(crate) fn typed_json(value: &Bson) -> Value {
    match value {
        Bson::Int64(n) => serde_json::json!({"$numberLong": n.to_string()}),
        Bson::Document(d) => {
            Value::Object(d.iter().map(|(k, v)| (k.clone(), typed_json(v))).collect())
        }
        Bson::Array(items) => Value::Array(items.iter().map(typed_json).collect()),
        other => other.clone().into_relaxed_extjson(),
    }
}

/// Write commands (`insert`, `update`, `delete`) answer `ok: 1` even when documents failed;
/// their `writeErrors` and `writeConcernError` are failures all the same.
fn write_errors(reply: &Document, at: String) -> std::result::Result<(), StepError> {
    let failure = |e: &Document, more: usize, prefix: &str| StepError::Write {
        at: at.clone(),
        code: e.get_i32("code").unwrap_or(-1),
        code_name: e
            .get_str("codeName")
            .map(|name| format!("{prefix}{name}"))
            .unwrap_or_default(),
        message: crate::ui::escape::escape(e.get_str("errmsg").unwrap_or("write failed")),
        more,
    };
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(first) = errors.iter().find_map(Bson::as_document) {
            return Err(failure(first, errors.len() - 1, ""));
        }
    }
    match reply.get_document("writeConcernError") {
        Ok(e) => Err(failure(e, 0, "write concern ")),
        Err(_) => Ok(()),
    }
}

/// Checks that `value` is an array of non-empty command documents in Extended JSON.
fn commands(value: Value, field: &str) -> std::result::Result<Vec<Document>, String> {
    let Value::Array(items) = value else {
        return Err(format!("`{field}` must be an array of command documents"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match Bson::try_from(item) {
            Ok(Bson::Document(doc)) if !doc.is_empty() => Ok(doc),
            Ok(Bson::Document(_)) => Err(format!("`{field}[{i}]` is an empty command document")),
            Ok(_) => Err(format!(
                "`{field}[{i}]` is not a command document (an object)"
            )),
            Err(e) => Err(format!("`{field}[{i}]` is not valid Extended JSON: {e}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn keeps_command_key_order_and_extended_json() {
        let m = JsonMigration::parse(
            r#"{"up": [{"insert": "a", "documents": [{"at": {"$date": "2020-01-01T00:00:00Z"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(m.up[0].keys().next().map(String::as_str), Some("insert"));
        assert!(matches!(
            m.up[0].get_array("documents").unwrap()[0]
                .as_document()
                .unwrap()
                .get("at"),
            Some(Bson::DateTime(_))
        ));
        assert_eq!(m.down, None);
    }

    #[test]
    fn rejects_bad_shapes() {
        let err = |t: &str| JsonMigration::parse(t).unwrap_err();
        assert!(err(r#"{"up": []}"#).contains("empty array"));
        assert!(err(r#"{"up": [1]}"#).contains("`up[0]` is not a command document"));
        assert!(err(r#"{"up": [{}]}"#).contains("`up[0]` is an empty command"));
        assert!(err(r#"{"up": {"ping": 1}}"#).contains("must be an array"));
        assert!(err(r#"{"up": [{"ping": 1}], "dwn": []}"#).contains("unknown field `dwn`"));
        assert!(err(r#"{"up": [{"a": {"$date": "nope"}}]}"#).contains("Extended JSON"));
        assert!(err("{\"up\": [\n{\"ping\": 1},\n]}").contains("line 3"));
    }

    #[test]
    fn describes_commands_keeping_types_and_hiding_passwords() {
        let m = JsonMigration {
            description: None,
            up: vec![
                doc! {"ping": 1, "n": 2_i64, "d": 1.5},
                doc! {"createUser": "app", "pwd": "S3cret", "roles": []},
            ],
            down: Some(vec![]),
            transaction: false,
            lint_allow: BTreeMap::new(),
        };
        assert_eq!(
            m.describe(Direction::Up),
            vec![
                r#"{"ping":1,"n":{"$numberLong":"2"},"d":1.5}"#.to_string(),
                r#"{"createUser":"app","pwd":"***","roles":[]}"#.to_string()
            ]
        );
        assert!(m.describe(Direction::Down).is_empty());
    }
}
