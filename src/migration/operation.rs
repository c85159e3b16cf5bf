//! What a migration's `up` asks of the database, as `lint` and `preflight` read it: each step as
//! a list of database operations (an index build, an update with its filter, a validator, a
//! drop, …), taken from a `.json` migration's commands, or recognised in a script's text
//! ([`super::recognize`]). The model is small on purpose: only what a rule or a live check
//! needs; everything else is [`Kind::Other`].
//!
//! A step whose effects migo cannot read (a shell script, a compiled migration, a script call on
//! a collection named by a variable) is *opaque*: preflight then assumes it may change any
//! collection.

use mongodb::bson::{Bson, Document};

use super::json::JsonMigration;

/// One operation of a migration's `up`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operation {
    /// Where it is written.
    pub(crate) place: Place,
    pub(crate) kind: Kind,
    /// It runs inside a transaction (a `"transaction": true` migration, or a script's
    /// `withTransaction` callback).
    pub(crate) in_transaction: bool,
}

/// Where an operation is written: the index of its command in a `.json` migration's `up`, or the
/// line (from 1) of the call in a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Command(usize),
    Line(usize),
    /// The `"backfill"` of a `.json` migration.
    Backfill,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `create` (a view too), with the validator it starts with.
    Create {
        collection: String,
        validator: Option<Validator>,
    },
    /// One index of `createIndexes` (`createIndex(…)` in a script).
    CreateIndex {
        collection: String,
        index: IndexSpec,
    },
    /// `dropIndexes` of one index (or `*`).
    DropIndex { collection: String, index: IndexRef },
    /// `collMod` with `index: {…, hidden: true}` (`hideIndex` in mongosh).
    HideIndex { collection: String, index: IndexRef },
    /// `collMod` with a `validator`.
    Validator {
        collection: String,
        validator: Validator,
    },
    /// One statement of `update` (`updateMany`, `updateOne`, `findOneAndUpdate`, …).
    Update {
        collection: String,
        /// `None`: written as an expression migo cannot read.
        filter: Option<Document>,
        /// The update document or pipeline; `None` when unreadable.
        update: Option<Bson>,
        multi: bool,
    },
    /// One statement of `delete` (`deleteMany`, `deleteOne`, `remove`, …).
    Delete {
        collection: String,
        filter: Option<Document>,
        multi: bool,
    },
    /// A script's loop over the documents a `find` returns, inside a transaction
    /// (`collection` empty when a variable names it).
    Scan {
        collection: String,
        filter: Option<Document>,
    },
    /// `insert` of some documents.
    Insert {
        collection: String,
        documents: usize,
    },
    /// `drop` of a collection.
    Drop { collection: String },
    /// `dropDatabase`.
    DropDatabase,
    /// `renameCollection`.
    Rename { from: String, to: String },
    /// Anything else (`verb`: the command's name or the call's method).
    Other { verb: String },
}

/// An index as `createIndexes` describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexSpec {
    /// `None`: written as an expression migo cannot read.
    pub(crate) key: Option<Document>,
    pub(crate) name: Option<String>,
    pub(crate) unique: bool,
    /// The whole specification (key, name and options), as it will be sent.
    pub(crate) spec: Document,
}

/// Which index a `dropIndexes` or a hide names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IndexRef {
    Name(String),
    Key(Document),
    /// `"*"`: every index but `_id`.
    All,
    Unknown,
}

/// A collection's validator and how it is enforced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Validator {
    pub(crate) rule: Document,
    /// `validationLevel` (server default `strict`).
    pub(crate) level: Option<String>,
    /// `validationAction` (server default `error`).
    pub(crate) action: Option<String>,
}

impl Validator {
    /// Whether every update of a non-conforming document will be rejected: level `strict` and
    /// action `error` (the server's defaults).
    pub(crate) fn is_strict(&self) -> bool {
        self.level.as_deref().is_none_or(|l| l == "strict")
            && self.action.as_deref().is_none_or(|a| a == "error")
    }

    /// The top-level fields it requires: `$jsonSchema`'s `required`, and the fields a query
    /// validator tests (other than with `$exists: false`).
    pub(crate) fn required_fields(&self) -> Vec<String> {
        let mut fields = Vec::new();
        collect_required(&self.rule, &mut fields);
        fields.sort();
        fields.dedup();
        fields
    }
}

fn collect_required(rule: &Document, fields: &mut Vec<String>) {
    for (key, value) in rule {
        match (key.as_str(), value) {
            ("$jsonSchema", Bson::Document(schema)) => {
                if let Ok(required) = schema.get_array("required") {
                    fields.extend(required.iter().filter_map(Bson::as_str).map(String::from));
                }
            }
            ("$and", Bson::Array(items)) => items
                .iter()
                .filter_map(Bson::as_document)
                .for_each(|d| collect_required(d, fields)),
            (field, value) if !field.starts_with('$') => {
                let optional = value
                    .as_document()
                    .and_then(|d| d.get("$exists"))
                    .is_some_and(|e| matches!(e, Bson::Boolean(false) | Bson::Int32(0)));
                if !optional {
                    fields.push(field.split('.').next().unwrap_or(field).to_string());
                }
            }
            _ => {}
        }
    }
}

impl Kind {
    /// The collection it works on, if one.
    pub(crate) fn collection(&self) -> Option<&str> {
        match self {
            Kind::Create { collection, .. }
            | Kind::CreateIndex { collection, .. }
            | Kind::DropIndex { collection, .. }
            | Kind::HideIndex { collection, .. }
            | Kind::Validator { collection, .. }
            | Kind::Update { collection, .. }
            | Kind::Delete { collection, .. }
            | Kind::Insert { collection, .. }
            | Kind::Drop { collection } => Some(collection),
            Kind::Scan { collection, .. } => Some(collection.as_str()).filter(|c| !c.is_empty()),
            Kind::Rename { from, .. } => Some(from),
            Kind::DropDatabase | Kind::Other { .. } => None,
        }
    }

    /// The command's name as the server knows it, for reports: `createIndexes`, `update`, ….
    pub(crate) fn verb(&self) -> &str {
        match self {
            Kind::Create { .. } => "create",
            Kind::CreateIndex { .. } => "createIndexes",
            Kind::DropIndex { .. } => "dropIndexes",
            Kind::HideIndex { .. } | Kind::Validator { .. } => "collMod",
            Kind::Update { .. } => "update",
            Kind::Delete { .. } => "delete",
            Kind::Insert { .. } => "insert",
            Kind::Scan { .. } => "find",
            Kind::Drop { .. } => "drop",
            Kind::DropDatabase => "dropDatabase",
            Kind::Rename { .. } => "renameCollection",
            Kind::Other { verb } => verb,
        }
    }
}

/// The operations of one migration's `up`, and whether some of its effects are unreadable.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Operations {
    pub(crate) ops: Vec<Operation>,
    /// Some of what it does is unknown to migo (a script, a compiled migration, a call on a
    /// collection named by a variable): it may change any collection.
    pub(crate) opaque: bool,
    /// Whether it has a `down` (`None`: migo cannot tell, e.g. a shell script).
    pub(crate) reversible: Option<bool>,
}

impl Operations {
    /// A migration migo cannot read at all.
    pub(crate) fn opaque() -> Operations {
        Operations {
            opaque: true,
            ..Operations::default()
        }
    }
}

/// The operations of a `.json` migration's `up`.
pub(crate) fn of_json(m: &JsonMigration) -> Operations {
    let ops: Vec<Operation> =
        m.up.iter()
            .enumerate()
            .flat_map(|(i, command)| of_command(command, Place::Command(i)))
            .map(|op| Operation {
                in_transaction: m.transaction,
                ..op
            })
            .collect();
    let backfill = m.backfill.iter().map(|b| of_backfill(b, Place::Backfill));
    let ops: Vec<Operation> = ops.into_iter().chain(backfill).collect();
    Operations {
        ops,
        opaque: false,
        reversible: Some(m.down.is_some() || m.down_backfill.is_some()),
    }
}

/// A backfill is, to the rules and checks, one `update` with `multi` over its filter, in
/// batches (never one transaction: a `"transaction": true` of its own is per batch); a code
/// backfill's change is its `batch` function's, unreadable.
pub(crate) fn of_backfill(b: &super::backfill::Backfill, place: Place) -> Operation {
    let update = match &b.work {
        super::backfill::Work::Update(u) => Some(u.to_bson()),
        super::backfill::Work::Code => None,
    };
    Operation {
        place,
        kind: Kind::Update {
            collection: b.collection.clone(),
            filter: Some(b.filter.clone()),
            update,
            multi: true,
        },
        in_transaction: false,
    }
}

/// The operations one database command performs.
pub(crate) fn of_command(command: &Document, place: Place) -> Vec<Operation> {
    let Some((verb, target)) = command.iter().next() else {
        return Vec::new();
    };
    let collection = target.as_str().unwrap_or_default().to_string();
    let op = |kind: Kind| Operation {
        place,
        kind,
        in_transaction: false,
    };
    let docs = |field: &str| -> Vec<Document> {
        command
            .get_array(field)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Bson::as_document)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    match verb.as_str() {
        "create" => vec![op(Kind::Create {
            validator: validator_of(command),
            collection,
        })],
        "createIndexes" => docs("indexes")
            .into_iter()
            .map(|spec| {
                op(Kind::CreateIndex {
                    collection: collection.clone(),
                    index: IndexSpec::of(spec),
                })
            })
            .collect(),
        "dropIndexes" | "deleteIndexes" => index_refs(command.get("index"))
            .into_iter()
            .map(|index| {
                op(Kind::DropIndex {
                    collection: collection.clone(),
                    index,
                })
            })
            .collect(),
        "collMod" => {
            let mut ops = Vec::new();
            if let Some(validator) = validator_of(command) {
                ops.push(op(Kind::Validator {
                    collection: collection.clone(),
                    validator,
                }));
            }
            if let Ok(index) = command.get_document("index") {
                if matches!(index.get("hidden"), Some(Bson::Boolean(true))) {
                    let named = index.get_str("name").map(|n| IndexRef::Name(n.into()));
                    let keyed = index
                        .get_document("keyPattern")
                        .map(|k| IndexRef::Key(k.clone()));
                    ops.push(op(Kind::HideIndex {
                        collection: collection.clone(),
                        index: named.or(keyed).unwrap_or(IndexRef::Unknown),
                    }));
                }
            }
            if ops.is_empty() {
                ops.push(op(Kind::Other { verb: verb.clone() }));
            }
            ops
        }
        "update" => docs("updates")
            .into_iter()
            .map(|statement| {
                op(Kind::Update {
                    collection: collection.clone(),
                    filter: Some(statement.get_document("q").cloned().unwrap_or_default()),
                    update: statement.get("u").cloned(),
                    multi: truthy(statement.get("multi")),
                })
            })
            .collect(),
        "delete" => docs("deletes")
            .into_iter()
            .map(|statement| {
                op(Kind::Delete {
                    collection: collection.clone(),
                    filter: Some(statement.get_document("q").cloned().unwrap_or_default()),
                    multi: !truthy(statement.get("limit")),
                })
            })
            .collect(),
        "findAndModify" | "findandmodify" => {
            let filter = Some(command.get_document("query").cloned().unwrap_or_default());
            if truthy(command.get("remove")) {
                vec![op(Kind::Delete {
                    collection,
                    filter,
                    multi: false,
                })]
            } else {
                vec![op(Kind::Update {
                    collection,
                    filter,
                    update: command.get("update").cloned(),
                    multi: false,
                })]
            }
        }
        "insert" => vec![op(Kind::Insert {
            collection,
            documents: docs("documents").len(),
        })],
        "drop" => vec![op(Kind::Drop { collection })],
        "dropDatabase" => vec![op(Kind::DropDatabase)],
        "renameCollection" => {
            let unqualified =
                |name: &str| name.split_once('.').map_or(name, |(_, c)| c).to_string();
            vec![op(Kind::Rename {
                from: unqualified(&collection),
                to: unqualified(command.get_str("to").unwrap_or_default()),
            })]
        }
        _ => vec![op(Kind::Other { verb: verb.clone() })],
    }
}

impl IndexSpec {
    /// The specification as `createIndexes` takes it (`{key, name, unique, …}`).
    pub(crate) fn of(spec: Document) -> IndexSpec {
        IndexSpec {
            key: spec.get_document("key").ok().cloned(),
            name: spec.get_str("name").ok().map(String::from),
            unique: truthy(spec.get("unique")),
            spec,
        }
    }
}

/// The name the server or a driver gives an index with no name: `email_1_created_-1`.
pub(crate) fn default_name(key: &Document) -> String {
    key.iter()
        .map(|(field, direction)| {
            let direction = match direction {
                Bson::String(s) => s.clone(),
                Bson::Int32(n) => n.to_string(),
                Bson::Int64(n) => n.to_string(),
                Bson::Double(n) => format!("{n}"),
                other => other.to_string(),
            };
            format!("{field}_{direction}")
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// `validator`, `validationLevel` and `validationAction` of `create` or `collMod`.
fn validator_of(command: &Document) -> Option<Validator> {
    let rule = command.get_document("validator").ok()?.clone();
    Some(Validator {
        rule,
        level: command.get_str("validationLevel").ok().map(String::from),
        action: command.get_str("validationAction").ok().map(String::from),
    })
}

/// `index` of `dropIndexes`: a name, `"*"`, a key document, or a list of names.
fn index_refs(index: Option<&Bson>) -> Vec<IndexRef> {
    match index {
        Some(Bson::String(name)) if name == "*" => vec![IndexRef::All],
        Some(Bson::String(name)) => vec![IndexRef::Name(name.clone())],
        Some(Bson::Document(key)) => vec![IndexRef::Key(key.clone())],
        Some(Bson::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str()
                    .map_or(IndexRef::Unknown, |n| IndexRef::Name(n.into()))
            })
            .collect(),
        _ => vec![IndexRef::Unknown],
    }
}

/// `true`, or a non-zero number.
pub(crate) fn truthy(value: Option<&Bson>) -> bool {
    match value {
        Some(Bson::Boolean(b)) => *b,
        Some(Bson::Int32(n)) => *n != 0,
        Some(Bson::Int64(n)) => *n != 0,
        Some(Bson::Double(n)) => *n != 0.0,
        _ => false,
    }
}

/// The top-level fields an update sets, unsets or renames, by operator (`$set` → `["email"]`);
/// a pipeline or a replacement document is `("pipeline"|"replacement", [])`.
pub(crate) fn update_fields(update: &Bson) -> Vec<(String, Vec<String>)> {
    let top = |field: &str| field.split('.').next().unwrap_or(field).to_string();
    match update {
        Bson::Document(d) if d.keys().all(|k| k.starts_with('$')) => d
            .iter()
            .map(|(operator, fields)| {
                let mut names: Vec<String> = fields
                    .as_document()
                    .map(|f| f.keys().map(|k| top(k)).collect())
                    .unwrap_or_default();
                if operator == "$rename" {
                    // Both ends of a rename are touched.
                    let targets = fields.as_document().map(|f| {
                        f.values()
                            .filter_map(Bson::as_str)
                            .map(top)
                            .collect::<Vec<_>>()
                    });
                    names.extend(targets.unwrap_or_default());
                }
                (operator.clone(), names)
            })
            .collect(),
        Bson::Document(d) => vec![("replacement".into(), d.keys().map(|k| top(k)).collect())],
        Bson::Array(_) => vec![("pipeline".into(), Vec::new())],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn commands_become_operations() {
        let ops = of_command(
            &doc! {"update": "users", "updates": [
                {"q": {}, "u": {"$set": {"a": 1}}, "multi": true},
                {"q": {"_id": 1}, "u": {"$unset": {"b": ""}}},
            ]},
            Place::Command(2),
        );
        assert_eq!(ops.len(), 2);
        assert!(
            matches!(&ops[0].kind, Kind::Update { multi: true, filter: Some(f), .. } if f.is_empty())
        );
        assert!(matches!(&ops[1].kind, Kind::Update { multi: false, .. }));
        assert_eq!(ops[1].place, Place::Command(2));
        let deletes = of_command(
            &doc! {"delete": "a", "deletes": [{"q": {}, "limit": 0}, {"q": {}, "limit": 1}]},
            Place::Command(0),
        );
        assert!(matches!(&deletes[0].kind, Kind::Delete { multi: true, .. }));
        assert!(matches!(
            &deletes[1].kind,
            Kind::Delete { multi: false, .. }
        ));
        let rename = of_command(
            &doc! {"renameCollection": "app.a", "to": "app.b"},
            Place::Command(0),
        );
        assert_eq!(
            rename[0].kind,
            Kind::Rename {
                from: "a".into(),
                to: "b".into()
            }
        );
        let hide = of_command(
            &doc! {"collMod": "a", "index": {"name": "x_1", "hidden": true}},
            Place::Command(0),
        );
        assert_eq!(
            hide[0].kind,
            Kind::HideIndex {
                collection: "a".into(),
                index: IndexRef::Name("x_1".into())
            }
        );
    }

    #[test]
    fn validators_know_their_required_fields_and_strictness() {
        let v = Validator {
            rule: doc! {"$jsonSchema": {"required": ["email", "name"]}, "age": {"$gte": 0}, "x": {"$exists": false}},
            level: None,
            action: None,
        };
        assert_eq!(v.required_fields(), ["age", "email", "name"]);
        assert!(v.is_strict());
        let moderate = Validator {
            level: Some("moderate".into()),
            ..v.clone()
        };
        assert!(!moderate.is_strict());
        let warn = Validator {
            action: Some("warn".into()),
            ..v
        };
        assert!(!warn.is_strict());
    }

    #[test]
    fn default_index_names_follow_the_server() {
        assert_eq!(default_name(&doc! {"email": 1, "at": -1}), "email_1_at_-1");
        assert_eq!(default_name(&doc! {"text": "text"}), "text_text");
    }

    #[test]
    fn update_fields_name_operators_and_fields() {
        let fields = update_fields(&Bson::Document(
            doc! {"$set": {"a.b": 1}, "$rename": {"old": "new"}},
        ));
        assert_eq!(
            fields,
            vec![
                ("$set".to_string(), vec!["a".to_string()]),
                (
                    "$rename".to_string(),
                    vec!["old".to_string(), "new".to_string()]
                )
            ]
        );
    }
}
