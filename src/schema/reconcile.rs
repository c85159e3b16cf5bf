//! The commands that would make a database match what its migrations make, one difference at a
//! time: drop what is extra, create what is missing, `collMod` what can change in place (a
//! validator, its level and action, a TTL, a hidden flag, a view's pipeline), and drop and
//! re-create an index whose key or other options differ. What MongoDB cannot change in place
//! (a collection's capped size, collation, clustering, time-series options, kind) has no
//! command: the note says the collection must be re-created.

use mongodb::bson::{doc, Bson, Document};

use super::compare::{Change, Difference};

/// How to reconcile one difference: the commands, in order, and what they cannot do.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Reconcile {
    pub(crate) commands: Vec<Document>,
    pub(crate) note: Option<String>,
}

/// Collection options `collMod` changes in place.
const MODIFIABLE: &[&str] = &[
    "validator",
    "validationLevel",
    "validationAction",
    "expireAfterSeconds",
    "changeStreamPreAndPostImages",
    "viewOn",
    "pipeline",
];

impl Difference {
    /// The commands that reconcile it (run against the database, they make it match).
    pub(crate) fn reconcile(&self) -> Reconcile {
        match self {
            Difference::ExtraCollection { found } => Reconcile {
                commands: vec![doc! {"drop": &found.name}],
                note: None,
            },
            Difference::MissingCollection { expected } => Reconcile {
                commands: expected.commands(),
                note: None,
            },
            Difference::ChangedCollection {
                expected, changes, ..
            } => collection(&expected.name, &expected.options, changes),
            Difference::ExtraIndex { collection, found } => Reconcile {
                commands: vec![doc! {"dropIndexes": collection, "index": &found.name}],
                note: None,
            },
            Difference::MissingIndex {
                collection,
                expected,
            } => Reconcile {
                commands: vec![create_index(collection, &expected.spec)],
                note: None,
            },
            Difference::ChangedIndex {
                collection,
                expected,
                changes,
                ..
            } => {
                let in_place = changes.iter().all(|c| match c.field.as_str() {
                    "hidden" => true,
                    "expireAfterSeconds" => c.expected.is_some() && c.found.is_some(),
                    _ => false,
                });
                let commands = if in_place {
                    let mut index = doc! {"name": &expected.name};
                    for change in changes {
                        let value = change.expected.clone().unwrap_or(Bson::Boolean(false));
                        index.insert(change.field.clone(), value);
                    }
                    vec![doc! {"collMod": collection, "index": index}]
                } else {
                    vec![
                        doc! {"dropIndexes": collection, "index": &expected.name},
                        create_index(collection, &expected.spec),
                    ]
                };
                Reconcile {
                    commands,
                    note: None,
                }
            }
        }
    }
}

fn create_index(collection: &str, spec: &Document) -> Document {
    doc! {"createIndexes": collection, "indexes": [spec.clone()]}
}

/// One `collMod` for the options it can change; a note for those it cannot.
fn collection(name: &str, expected: &Document, changes: &[Change]) -> Reconcile {
    let (modifiable, fixed): (Vec<&Change>, Vec<&Change>) = changes
        .iter()
        .partition(|c| MODIFIABLE.contains(&c.field.as_str()));
    let mut commands = Vec::new();
    if !modifiable.is_empty() {
        let mut command = doc! {"collMod": name};
        for change in &modifiable {
            let field = change.field.as_str();
            let value = match change.expected.clone() {
                Some(value) => value,
                None => match field {
                    "validator" => Bson::Document(Document::new()),
                    "validationLevel" => "strict".into(),
                    "validationAction" => "error".into(),
                    "expireAfterSeconds" => "off".into(),
                    "changeStreamPreAndPostImages" => Bson::Document(doc! {"enabled": false}),
                    _ => Bson::Null,
                },
            };
            command.insert(field, value);
        }
        // A view's pipeline is set together with what it is on.
        for field in ["viewOn", "pipeline"] {
            if command.contains_key("viewOn") || command.contains_key("pipeline") {
                if let (false, Some(value)) = (command.contains_key(field), expected.get(field)) {
                    command.insert(field, value.clone());
                }
            }
        }
        commands.push(command);
    }
    let note = (!fixed.is_empty()).then(|| {
        let fields: Vec<String> = fixed.iter().map(|c| format!("`{}`", c.field)).collect();
        format!(
            "{} cannot change in place: re-create the collection (dump it, drop it, create it as \
             the migrations do, restore its documents)",
            fields.join(", ")
        )
    });
    Reconcile { commands, note }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::snapshot::{Collection, Index, Kind};

    fn index(spec: Document) -> Index {
        Index::of(&spec)
    }

    fn change(field: &str, expected: Option<Bson>, found: Option<Bson>) -> Change {
        Change {
            field: field.into(),
            expected,
            found,
        }
    }

    #[test]
    fn extra_and_missing_things_are_dropped_and_created() {
        let found = index(doc! {"name": "x_1", "key": {"x": 1}});
        let extra = Difference::ExtraIndex {
            collection: "c".into(),
            found: found.clone(),
        };
        assert_eq!(
            extra.reconcile().commands,
            [doc! {"dropIndexes": "c", "index": "x_1"}]
        );
        let missing = Difference::MissingIndex {
            collection: "c".into(),
            expected: found,
        };
        assert_eq!(
            missing.reconcile().commands,
            [doc! {"createIndexes": "c", "indexes": [{"name": "x_1", "key": {"x": 1}}]}]
        );
    }

    #[test]
    fn a_hidden_flag_or_a_ttl_changes_in_place_anything_else_rebuilds() {
        let expected = index(doc! {"name": "t", "key": {"t": 1}, "expireAfterSeconds": 60});
        let ttl = Difference::ChangedIndex {
            collection: "c".into(),
            expected: expected.clone(),
            found: expected.clone(),
            changes: vec![
                change("expireAfterSeconds", Some(60.into()), Some(30.into())),
                change("hidden", Some(false.into()), Some(true.into())),
            ],
        };
        assert_eq!(
            ttl.reconcile().commands,
            [
                doc! {"collMod": "c", "index": {"name": "t", "expireAfterSeconds": 60, "hidden": false}}
            ]
        );
        let unique = Difference::ChangedIndex {
            collection: "c".into(),
            expected: expected.clone(),
            found: expected,
            changes: vec![change("unique", Some(false.into()), Some(true.into()))],
        };
        assert_eq!(
            unique.reconcile().commands,
            [
                doc! {"dropIndexes": "c", "index": "t"},
                doc! {"createIndexes": "c", "indexes": [{"name": "t", "key": {"t": 1}, "expireAfterSeconds": 60}]},
            ]
        );
    }

    #[test]
    fn options_change_with_one_coll_mod_and_the_rest_is_named() {
        let expected = Collection {
            name: "c".into(),
            kind: Kind::Collection,
            options: doc! {"validator": {"a": 1}, "validationLevel": "strict", "validationAction": "error"},
            indexes: Vec::new(),
        };
        let changed = Difference::ChangedCollection {
            found: expected.clone(),
            expected,
            changes: vec![
                change(
                    "validationLevel",
                    Some("strict".into()),
                    Some("moderate".into()),
                ),
                change(
                    "collation",
                    None,
                    Some(Bson::Document(doc! {"locale": "fr"})),
                ),
            ],
        };
        let r = changed.reconcile();
        assert_eq!(
            r.commands,
            [doc! {"collMod": "c", "validationLevel": "strict"}]
        );
        assert!(r
            .note
            .unwrap()
            .starts_with("`collation` cannot change in place"));
        let plain = Collection {
            name: "c".into(),
            kind: Kind::Collection,
            options: doc! {},
            indexes: Vec::new(),
        };
        let unvalidated = Difference::ChangedCollection {
            expected: plain.clone(),
            found: plain,
            changes: vec![change(
                "validator",
                None,
                Some(Bson::Document(doc! {"a": 1})),
            )],
        };
        assert_eq!(
            unvalidated.reconcile().commands,
            [doc! {"collMod": "c", "validator": {}}]
        );
    }
}
