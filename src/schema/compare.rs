//! Two snapshots compared: what the migrations make (the replay) against what a database has.
//! Each difference is one collection or one index, extra, missing or changed, and a change
//! lists each field that differs, with both values. Values are compared byte for byte (their
//! types and the order of their fields count), after normalisation.
//!
//! Collections the replay does not have and an ignore pattern matches (the ones the application
//! creates itself) are set aside and named, never reported as extra.

use mongodb::bson::{Bson, Document};
use regex::Regex;

use super::normal::INDEX_FLAGS;
use super::snapshot::{Collection, Index, Snapshot};

/// One way a database differs from what its migrations make.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Difference {
    /// The database has a collection the migrations do not make.
    ExtraCollection { found: Collection },
    /// The migrations make a collection the database does not have.
    MissingCollection { expected: Collection },
    /// The collection's kind or options differ.
    ChangedCollection {
        expected: Collection,
        found: Collection,
        changes: Vec<Change>,
    },
    /// The database has an index the migrations do not make.
    ExtraIndex { collection: String, found: Index },
    /// The migrations make an index the database does not have.
    MissingIndex { collection: String, expected: Index },
    /// The index's key or options differ.
    ChangedIndex {
        collection: String,
        expected: Index,
        found: Index,
        changes: Vec<Change>,
    },
}

/// A field that differs: what the migrations make and what the database has (`None`: the field
/// is absent; a flag's absence reads as `false`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub(crate) field: String,
    pub(crate) expected: Option<Bson>,
    pub(crate) found: Option<Bson>,
}

impl Difference {
    /// The stable word for `--json`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Difference::ExtraCollection { .. } => "extra_collection",
            Difference::MissingCollection { .. } => "missing_collection",
            Difference::ChangedCollection { .. } => "changed_collection",
            Difference::ExtraIndex { .. } => "extra_index",
            Difference::MissingIndex { .. } => "missing_index",
            Difference::ChangedIndex { .. } => "changed_index",
        }
    }

    /// The collection it is about.
    pub(crate) fn collection(&self) -> &str {
        match self {
            Difference::ExtraCollection { found: c }
            | Difference::MissingCollection { expected: c }
            | Difference::ChangedCollection { expected: c, .. } => &c.name,
            Difference::ExtraIndex { collection, .. }
            | Difference::MissingIndex { collection, .. }
            | Difference::ChangedIndex { collection, .. } => collection,
        }
    }

    /// The index it is about, if it is about one.
    pub(crate) fn index(&self) -> Option<&str> {
        match self {
            Difference::ExtraIndex { found: i, .. }
            | Difference::MissingIndex { expected: i, .. }
            | Difference::ChangedIndex { expected: i, .. } => Some(&i.name),
            _ => None,
        }
    }

    /// The fields that differ (changes only).
    pub(crate) fn changes(&self) -> &[Change] {
        match self {
            Difference::ChangedCollection { changes, .. }
            | Difference::ChangedIndex { changes, .. } => changes,
            _ => &[],
        }
    }
}

/// What a comparison found: the differences, and the collections set aside by the ignore
/// patterns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Comparison {
    pub(crate) differences: Vec<Difference>,
    pub(crate) ignored: Vec<String>,
}

impl Comparison {
    /// `1 extra index, 2 missing collections`: the differences counted by kind, in a fixed order.
    pub(crate) fn summary(&self) -> String {
        let kinds = [
            ("extra_collection", "extra collection", "extra collections"),
            (
                "missing_collection",
                "missing collection",
                "missing collections",
            ),
            (
                "changed_collection",
                "changed collection",
                "changed collections",
            ),
            ("extra_index", "extra index", "extra indexes"),
            ("missing_index", "missing index", "missing indexes"),
            ("changed_index", "changed index", "changed indexes"),
        ];
        let parts: Vec<String> = kinds
            .iter()
            .filter_map(|(kind, one, many)| {
                let n = self
                    .differences
                    .iter()
                    .filter(|d| d.kind() == *kind)
                    .count();
                match n {
                    0 => None,
                    1 => Some(format!("1 {one}")),
                    n => Some(format!("{n} {many}")),
                }
            })
            .collect();
        parts.join(", ")
    }
}

/// How `found` differs from `expected`, collection by collection (by name), a collection's own
/// difference before its indexes'. A collection only `found` has is set aside when one of
/// `ignore` matches its name.
pub(crate) fn compare(expected: &Snapshot, found: &Snapshot, ignore: &[Regex]) -> Comparison {
    let mut names: Vec<&str> = expected
        .collections
        .iter()
        .chain(&found.collections)
        .map(|c| c.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut comparison = Comparison::default();
    for name in names {
        match (expected.collection(name), found.collection(name)) {
            (Some(e), Some(f)) => collection(e, f, &mut comparison.differences),
            (Some(e), None) => comparison.differences.push(Difference::MissingCollection {
                expected: e.clone(),
            }),
            (None, Some(f)) if ignore.iter().any(|r| r.is_match(name)) => {
                comparison.ignored.push(f.name.clone());
            }
            (None, Some(f)) => comparison
                .differences
                .push(Difference::ExtraCollection { found: f.clone() }),
            (None, None) => {}
        }
    }
    comparison
}

/// The differences between two versions of one collection.
fn collection(expected: &Collection, found: &Collection, out: &mut Vec<Difference>) {
    let mut changes = Vec::new();
    if expected.kind != found.kind {
        changes.push(Change {
            field: "type".into(),
            expected: Some(Bson::String(expected.kind.as_str().into())),
            found: Some(Bson::String(found.kind.as_str().into())),
        });
    }
    changes.extend(fields(&expected.options, &found.options, &[]));
    if !changes.is_empty() {
        out.push(Difference::ChangedCollection {
            expected: expected.clone(),
            found: found.clone(),
            changes,
        });
    }
    let mut names: Vec<&str> = expected
        .indexes
        .iter()
        .chain(&found.indexes)
        .map(|i| i.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let difference = match (expected.index(name), found.index(name)) {
            (Some(e), Some(f)) => {
                let changes = fields(&e.spec, &f.spec, INDEX_FLAGS);
                if changes.is_empty() {
                    continue;
                }
                Difference::ChangedIndex {
                    collection: expected.name.clone(),
                    expected: e.clone(),
                    found: f.clone(),
                    changes,
                }
            }
            (Some(e), None) => Difference::MissingIndex {
                collection: expected.name.clone(),
                expected: e.clone(),
            },
            (None, Some(f)) => Difference::ExtraIndex {
                collection: expected.name.clone(),
                found: f.clone(),
            },
            (None, None) => continue,
        };
        out.push(difference);
    }
}

/// The fields of two normalised documents that differ, in `expected`'s order and then
/// `found`'s; an absent flag of `flags` reads as `false`.
fn fields(expected: &Document, found: &Document, flags: &[&str]) -> Vec<Change> {
    let mut names: Vec<&String> = expected.keys().collect();
    names.extend(found.keys().filter(|k| !expected.contains_key(*k)));
    names
        .into_iter()
        .filter_map(|field| {
            let (e, f) = (expected.get(field), found.get(field));
            if same(e, f) {
                return None;
            }
            let value = |v: Option<&Bson>| match v {
                None if flags.contains(&field.as_str()) => Some(Bson::Boolean(false)),
                v => v.cloned(),
            };
            Some(Change {
                field: field.clone(),
                expected: value(e),
                found: value(f),
            })
        })
        .collect()
}

/// Byte-for-byte equality: types and the order of fields count (a key pattern's order is the
/// index; `1` and `1.0` in a validator are different values).
pub(crate) fn same(a: Option<&Bson>, b: Option<&Bson>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => bytes(a) == bytes(b),
        _ => false,
    }
}

fn bytes(value: &Bson) -> Vec<u8> {
    let mut wrapper = Document::new();
    wrapper.insert("v", value.clone());
    mongodb::bson::to_vec(&wrapper).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::snapshot::Kind;
    use mongodb::bson::doc;

    fn coll(name: &str, options: Document, indexes: &[Document]) -> Collection {
        Collection {
            name: name.into(),
            kind: Kind::Collection,
            options,
            indexes: indexes.iter().map(Index::of).collect(),
        }
    }

    #[test]
    fn equal_snapshots_have_no_difference() {
        let s = Snapshot::of(vec![coll(
            "a",
            doc! {},
            &[doc! {"name": "x", "key": {"x": 1}}],
        )]);
        assert_eq!(compare(&s, &s, &[]), Comparison::default());
    }

    #[test]
    fn each_kind_of_difference_is_named_once() {
        let expected = Snapshot::of(vec![
            coll("gone", doc! {}, &[]),
            coll(
                "users",
                doc! {"validator": {"a": 1}, "validationLevel": "strict", "validationAction": "error"},
                &[
                    doc! {"name": "email", "key": {"email": 1}, "unique": true},
                    doc! {"name": "ttl", "key": {"at": 1}, "expireAfterSeconds": 60},
                    doc! {"name": "old", "key": {"old": 1}},
                ],
            ),
        ]);
        let found = Snapshot::of(vec![
            coll("sessions", doc! {}, &[]),
            coll("extra", doc! {}, &[]),
            coll(
                "users",
                doc! {"validator": {"a": 1}, "validationLevel": "moderate", "validationAction": "error"},
                &[
                    doc! {"name": "email", "key": {"email": 1}},
                    doc! {"name": "ttl", "key": {"at": 1}, "expireAfterSeconds": 30, "hidden": true},
                    doc! {"name": "new", "key": {"new": 1}},
                ],
            ),
        ]);
        let ignore = [Regex::new("^sess").unwrap()];
        let c = compare(&expected, &found, &ignore);
        assert_eq!(c.ignored, ["sessions"]);
        let kinds: Vec<(&str, &str, Option<&str>)> = c
            .differences
            .iter()
            .map(|d| (d.kind(), d.collection(), d.index()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("extra_collection", "extra", None),
                ("missing_collection", "gone", None),
                ("changed_collection", "users", None),
                ("changed_index", "users", Some("email")),
                ("extra_index", "users", Some("new")),
                ("missing_index", "users", Some("old")),
                ("changed_index", "users", Some("ttl")),
            ]
        );
        assert_eq!(
            c.differences[2].changes(),
            [Change {
                field: "validationLevel".into(),
                expected: Some("strict".into()),
                found: Some("moderate".into())
            }]
        );
        // An absent flag reads as false.
        assert_eq!(
            c.differences[3].changes(),
            [Change {
                field: "unique".into(),
                expected: Some(true.into()),
                found: Some(false.into())
            }]
        );
        assert_eq!(
            c.differences[6]
                .changes()
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>(),
            ["expireAfterSeconds", "hidden"]
        );
    }

    #[test]
    fn an_ignore_pattern_never_hides_a_collection_the_migrations_make() {
        let expected = Snapshot::of(vec![coll("cache", doc! {"validator": {"a": 1}}, &[])]);
        let found = Snapshot::of(vec![coll("cache", doc! {}, &[])]);
        let c = compare(&expected, &found, &[Regex::new(".*").unwrap()]);
        assert_eq!(c.differences.len(), 1);
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn key_order_and_value_types_count() {
        let a = Snapshot::of(vec![coll(
            "t",
            doc! {},
            &[doc! {"name": "ab", "key": {"a": 1, "b": 1}}],
        )]);
        let b = Snapshot::of(vec![coll(
            "t",
            doc! {},
            &[doc! {"name": "ab", "key": {"b": 1, "a": 1}}],
        )]);
        let c = compare(&a, &b, &[]);
        assert_eq!(c.differences[0].changes()[0].field, "key");
        let v1 = Snapshot::of(vec![coll("t", doc! {"validator": {"n": 1}}, &[])]);
        let v2 = Snapshot::of(vec![coll("t", doc! {"validator": {"n": 1.0}}, &[])]);
        assert_eq!(compare(&v1, &v2, &[]).differences.len(), 1);
    }
}
