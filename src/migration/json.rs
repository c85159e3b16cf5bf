//! Declarative `.json` migrations: lists of database commands in Extended JSON, run in order,
//! or a backfill ([`super::backfill`]) walked in batches.
//!
//! ```json
//! {"description": "index users by email",
//!  "up":   [{"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1"}]}],
//!  "down": [{"dropIndexes": "users", "index": "email_1"}]}
//! ```
//!
//! A backfill declares `"backfill": {…}` instead of `up`, and its `down` may be commands or
//! `{"backfill": {…}}`; `"phase": "after_deploy"` puts any migration after the deploy.

use std::collections::BTreeMap;

use mongodb::bson::{Bson, Document};
use mongodb::{ClientSession, Database};
use serde::Deserialize;
use serde_json::Value;

use super::backfill::Backfill;
use crate::error::{Error, Result};
use crate::ground::source::Source;
use crate::ground::Direction;
use crate::ground::Phase;
use crate::halt::Halt;
use crate::migration::failure::StepError;

/// A validated `.json` migration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonMigration {
    pub(crate) description: Option<String>,
    pub(crate) up: Vec<Document>,
    /// `None` makes the migration irreversible (unless `down_backfill` undoes it).
    pub(crate) down: Option<Vec<Document>>,
    pub(crate) transaction: bool,
    /// A backfill instead of `up`'s commands (`up` is then empty).
    pub(crate) backfill: Option<Backfill>,
    /// A backfill as `down`.
    pub(crate) down_backfill: Option<Backfill>,
    /// Before or after the deploy.
    pub(crate) phase: Phase,
    /// For a checkpoint written by `migo squash`: the migrations it replaces on a fresh database.
    pub(crate) checkpoint: Option<Vec<String>>,
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
    up: Option<Value>,
    backfill: Option<Value>,
    down: Option<Value>,
    #[serde(default)]
    transaction: bool,
    #[serde(default)]
    phase: Phase,
    checkpoint: Option<RawCheckpoint>,
    lint: Option<RawLint>,
}

/// `"checkpoint": {"replaces": ["0001_a", …]}`: the schema its `up` makes is what these
/// migrations make; a fresh database runs it instead of them (docs/drift.md).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckpoint {
    replaces: Vec<String>,
}

/// The commands that only change the schema (collections, views, indexes, options), never a
/// document: a migration made of these alone is carried whole by a snapshot.
const SCHEMA_COMMANDS: &[&str] = &[
    "create",
    "createIndexes",
    "collMod",
    "drop",
    "dropIndexes",
    "renameCollection",
];

impl JsonMigration {
    /// Validates a `.json` migration file, from the bytes discovery read.
    pub(crate) fn load(file: &Source) -> Result<JsonMigration> {
        let text = file.text();
        if file.file_name.ends_with(".up.json") {
            return Self::parse_pair(text, file.down_text()).map_err(|message| Error::InvalidMigration {
                file: crate::ground::escape::escape(&file.file_name),
                message,
                hint: Some(
                    "a golang-migrate migration is a JSON array of commands in `N_name.up.json` (and `N_name.down.json`)"
                        .into(),
                ),
            });
        }
        Self::parse(text).map_err(|message| Error::InvalidMigration {
            file: crate::ground::escape::escape(&file.file_name),
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
        let (up, backfill) = match (raw.up, raw.backfill) {
            (Some(_), Some(_)) => {
                return Err(
                    "it has both `up` and `backfill`: a migration is one or the other".into(),
                )
            }
            (None, None) => return Err("missing field `up` (or `backfill`)".into()),
            (Some(up), None) => (commands(up, "up")?, None),
            (None, Some(b)) => (Vec::new(), Some(Backfill::parse(b, "backfill")?)),
        };
        if backfill.is_none() && up.is_empty() {
            return Err("`up` is an empty array; it needs at least one command".into());
        }
        let (down, down_backfill) = match raw.down {
            None => (None, None),
            Some(Value::Object(mut map)) if map.contains_key("backfill") && map.len() == 1 => {
                let b = map.remove("backfill").unwrap_or_default();
                (None, Some(Backfill::parse(b, "down.backfill")?))
            }
            Some(d) => (Some(commands(d, "down")?), None),
        };
        if raw.transaction && (backfill.is_some() || down_backfill.is_some()) {
            return Err(
                "`transaction: true` would put a whole backfill in one transaction, which the \
                 server aborts on big collections; use `\"backfill\": {\"transaction\": true}` \
                 for one transaction per batch"
                    .into(),
            );
        }
        let checkpoint = raw
            .checkpoint
            .map(|c| checked_replaces(c.replaces))
            .transpose()?;
        Ok(JsonMigration {
            description: raw.description,
            up,
            down,
            transaction: raw.transaction,
            backfill,
            down_backfill,
            phase: raw.phase,
            checkpoint,
            lint_allow: raw.lint.map(|l| l.allow).unwrap_or_default(),
        })
    }

    /// Whether every command of `up` only changes the schema ([`SCHEMA_COMMANDS`]): then a
    /// snapshot carries all it does. Anything else (an `insert`, an `update`, …) is a data step.
    /// A migration without `up` commands (a backfill, say) does work of another kind: not.
    pub(crate) fn is_schema_only(&self) -> bool {
        !self.up.is_empty()
            && self.up.iter().all(|command| {
                command
                    .keys()
                    .next()
                    .is_some_and(|verb| Self::is_schema_command(verb))
            })
    }

    /// Whether command `verb` only changes the schema.
    pub(crate) fn is_schema_command(verb: &str) -> bool {
        SCHEMA_COMMANDS.contains(&verb)
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
            backfill: None,
            down_backfill: None,
            phase: Phase::default(),
            checkpoint: None,
            lint_allow: BTreeMap::new(),
        })
    }

    /// The backfill that runs for `direction`, if that half is one.
    pub(crate) fn backfill_of(&self, direction: Direction) -> Option<&Backfill> {
        match direction {
            Direction::Up => self.backfill.as_ref(),
            Direction::Down => self.down_backfill.as_ref(),
        }
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
            .chain(self.backfill.iter().map(|b| b.collection.clone()))
            .chain(self.down_backfill.iter().map(|b| b.collection.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Each command as Extended JSON, one per line: relaxed, but with 64-bit integers in
    /// canonical form (`{"$numberLong": "1"}` is not `1`), and the password fields of commands
    /// that carry credentials blanked.
    pub(crate) fn describe(&self, direction: Direction) -> Vec<String> {
        if let Some(backfill) = self.backfill_of(direction) {
            return backfill.describe();
        }
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

/// The names a checkpoint replaces: at least one, each once.
fn checked_replaces(names: Vec<String>) -> std::result::Result<Vec<String>, String> {
    if names.is_empty() {
        return Err(
            "`checkpoint.replaces` is empty; it lists the migrations the checkpoint \
                    stands for"
                .into(),
        );
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(format!(
            "`checkpoint.replaces` lists `{}` twice",
            crate::ground::escape::escape(twice)
        ));
    }
    Ok(names)
}

/// Marks the checkpoints among `sources`: each `.json` file that declares
/// `"checkpoint": {"replaces": [...]}` gets the names it replaces. A file that does not parse is
/// left unmarked (loading it reports what is wrong).
pub(crate) fn mark_checkpoints(sources: &mut [Source]) {
    for source in sources.iter_mut() {
        let plain_json = source.extension() == "json"
            && source.down_path.is_none()
            && source.binary.is_none()
            && source.problem.is_none();
        if !plain_json {
            continue;
        }
        // The bytes discovery read and hashed, never the file again. Cheap first: most files
        // are not checkpoints.
        let text = source.text();
        if !text.contains("\"checkpoint\"") {
            continue;
        }
        source.checkpoint = JsonMigration::parse(text).ok().and_then(|m| m.checkpoint);
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
        message: crate::ground::escape::escape(e.get_str("errmsg").unwrap_or("write failed")),
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
        assert!(err(r#"{"up": [{"ping": 1}], "checkpoint": {"replaces": []}}"#).contains("empty"));
        assert!(
            err(r#"{"up": [{"ping": 1}], "checkpoint": {"replaces": ["a", "a"]}}"#)
                .contains("lists `a` twice")
        );
        assert!(
            err(r#"{"up": [{"ping": 1}], "checkpoint": {"through": "a"}}"#)
                .contains("unknown field `through`")
        );
    }

    #[test]
    fn a_checkpoint_names_what_it_replaces_and_schema_steps_are_told_from_data_steps() {
        let m = JsonMigration::parse(
            r#"{"up": [{"create": "a"}, {"createIndexes": "a", "indexes": []}],
                "checkpoint": {"replaces": ["0001_a", "0002_b"]}}"#,
        )
        .unwrap();
        assert_eq!(
            m.checkpoint.as_deref(),
            Some(&["0001_a".to_string(), "0002_b".to_string()][..])
        );
        assert!(m.is_schema_only());
        let seed = JsonMigration::parse(
            r#"{"up": [{"create": "a"}, {"insert": "a", "documents": [{}]}]}"#,
        )
        .unwrap();
        assert!(!seed.is_schema_only());
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
            backfill: None,
            down_backfill: None,
            phase: Phase::default(),
            checkpoint: None,
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
