//! The checks behind the rules, over each migration's operations: what the migration itself
//! creates (an index on a collection created a command earlier is no risk), and, for the rules
//! that span migrations, the migrations around it (a backfill after a strict validator, a hide
//! before a drop).

use mongodb::bson::{Bson, Document};

use super::locate::Lines;
use super::rule::Rule;
use crate::ground::escape::escape;
use crate::migration::json::typed_json;
use crate::migration::operation::{
    default_name, update_fields, IndexRef, Kind, Operation, Operations, Place,
};

/// One migration as the rules read it.
#[derive(Debug)]
pub(crate) struct Subject<'a> {
    pub(crate) name: &'a str,
    pub(crate) ops: &'a Operations,
    /// For a `.json` migration: where its commands are.
    pub(crate) lines: Option<&'a Lines>,
}

impl Subject<'_> {
    fn line(&self, place: Place) -> Option<usize> {
        match place {
            Place::Line(line) => Some(line),
            Place::Command(i) => self.lines.and_then(|l| l.commands.get(i).copied()),
            Place::Backfill => self.lines.and_then(|l| l.key("backfill")),
        }
    }
}

/// A rule's finding, before its severity and the exemptions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) rule: Rule,
    pub(crate) line: Option<usize>,
    /// What was found and why it matters, in one line.
    pub(crate) message: String,
}

/// The findings for `all[at]`; `release` is where the release being linted starts (`--since`),
/// when it is known.
pub(crate) fn check(all: &[Subject<'_>], at: usize, release: Option<usize>) -> Vec<Hit> {
    let subject = &all[at];
    let ops = &subject.ops.ops;
    let mut hits = Vec::new();
    let mut hit = |rule: Rule, op: Option<&Operation>, what: String| {
        hits.push(Hit {
            rule,
            line: op.and_then(|o| subject.line(o.place)),
            message: format!("{what}: {}", rule.reason()),
        });
    };
    for (i, op) in ops.iter().enumerate() {
        let new = |collection: &str| created_before(ops, i, collection);
        match &op.kind {
            Kind::CreateIndex { collection, index } if !new(collection) => {
                let label = match (&index.name, &index.key) {
                    (Some(name), _) => format!("`{}`", escape(name)),
                    (None, Some(key)) => typed_json(&Bson::Document(key.clone())).to_string(),
                    (None, None) => "(its key is not written out)".into(),
                };
                let on = escape(collection);
                if index.unique {
                    hit(
                        Rule::UniqueIndexExisting,
                        Some(op),
                        format!(
                            "unique index {label} on `{on}`, which this migration does not create"
                        ),
                    );
                }
                if index.name.is_none() {
                    hit(
                        Rule::IndexWithoutName,
                        Some(op),
                        format!("index {label} on `{on}` has no `name`"),
                    );
                }
                if op.in_transaction {
                    hit(
                        Rule::IndexInTransaction,
                        Some(op),
                        format!("index {label} on `{on}` is built inside a transaction"),
                    );
                }
            }
            Kind::Validator {
                collection,
                validator,
            } if validator.is_strict() && !new(collection) => {
                let required = validator.required_fields();
                if let Some((field, when)) = backfill_of(all, at, i, collection, &required, release)
                {
                    hit(
                        Rule::ValidatorBeforeBackfill,
                        Some(op),
                        format!(
                            "the validator on `{}` requires `{}` at strict/error level, and {when}",
                            escape(collection),
                            escape(&field)
                        ),
                    );
                }
            }
            Kind::Drop { collection } if !new(collection) => hit(
                Rule::DropCollection,
                Some(op),
                format!("`drop` of `{}`", escape(collection)),
            ),
            Kind::DropDatabase => hit(Rule::DropDatabase, Some(op), "`dropDatabase`".into()),
            Kind::Rename { from, to } if !new(from) => hit(
                Rule::RenameCollection,
                Some(op),
                format!(
                    "`renameCollection` of `{}` to `{}`",
                    escape(from),
                    escape(to)
                ),
            ),
            Kind::Update {
                collection,
                filter,
                update,
                multi,
            } if !new(collection) => {
                let fields = update.as_ref().map(update_fields).unwrap_or_default();
                for (operator, names) in &fields {
                    let rule = match operator.as_str() {
                        "$rename" => Rule::RenameField,
                        "$unset" => Rule::UnsetField,
                        _ => continue,
                    };
                    let names = match operator.as_str() {
                        // Both ends are listed; the old names are the keys.
                        "$rename" => renamed_fields(update.as_ref()),
                        _ => names.clone(),
                    };
                    hit(
                        rule,
                        Some(op),
                        format!(
                            "`{operator}` of {} on `{}`",
                            quoted_list(&names),
                            escape(collection)
                        ),
                    );
                }
                let sets = fields
                    .iter()
                    .any(|(operator, _)| !matches!(operator.as_str(), "$unset" | "$rename"));
                if *multi && filter.as_ref().is_some_and(Document::is_empty) && sets {
                    hit(
                        Rule::UpdateEmptyFilter,
                        Some(op),
                        format!(
                            "update of every document of `{}` (empty filter)",
                            escape(collection)
                        ),
                    );
                }
                if *multi && op.in_transaction && !bounded(filter.as_ref()) {
                    hit(
                        Rule::DataInTransaction,
                        Some(op),
                        format!(
                            "an update of many documents of `{}` inside a transaction",
                            escape(collection)
                        ),
                    );
                }
            }
            Kind::Delete {
                collection,
                filter,
                multi,
            } if !new(collection) => {
                if *multi && filter.as_ref().is_some_and(Document::is_empty) {
                    hit(
                        Rule::DeleteEmptyFilter,
                        Some(op),
                        format!(
                            "delete of every document of `{}` (empty filter)",
                            escape(collection)
                        ),
                    );
                }
                if *multi && op.in_transaction && !bounded(filter.as_ref()) {
                    hit(
                        Rule::DataInTransaction,
                        Some(op),
                        format!(
                            "a delete of many documents of `{}` inside a transaction",
                            escape(collection)
                        ),
                    );
                }
            }
            Kind::Scan { collection, filter } if op.in_transaction && !bounded(filter.as_ref()) => {
                let of = if collection.is_empty() {
                    "a collection".to_string()
                } else {
                    format!("`{}`", escape(collection))
                };
                hit(
                    Rule::DataInTransaction,
                    Some(op),
                    format!("a loop over the documents of {of} inside a transaction"),
                );
            }
            Kind::DropIndex { collection, index } if !new(collection) => {
                let built_here = ops[..i].iter().any(|o| {
                    matches!(&o.kind, Kind::CreateIndex { collection: c, index: spec }
                        if c == collection && same_index(index, spec.name.as_deref(), spec.key.as_ref()))
                });
                let hidden = all[..at].iter().any(|earlier| {
                    earlier.ops.ops.iter().any(|o| {
                        matches!(&o.kind, Kind::HideIndex { collection: c, index: hid }
                            if c == collection && refers_to_same(hid, index))
                    })
                });
                if !built_here && !hidden {
                    let what = match index {
                        IndexRef::All => format!("every index of `{}`", escape(collection)),
                        IndexRef::Name(name) => {
                            format!("`{}` on `{}`", escape(name), escape(collection))
                        }
                        IndexRef::Key(key) => format!(
                            "{} on `{}`",
                            typed_json(&Bson::Document(key.clone())),
                            escape(collection)
                        ),
                        IndexRef::Unknown => format!("an index of `{}`", escape(collection)),
                    };
                    hit(
                        Rule::DropIndexUnhidden,
                        Some(op),
                        format!("`dropIndexes` of {what}, not hidden by an earlier migration"),
                    );
                }
            }
            _ => {}
        }
    }
    if subject.ops.reversible == Some(false) {
        hit(Rule::MissingDown, None, "no `down`".into());
    }
    hits
}

/// Whether an earlier operation of the same migration created `collection` (or renamed a
/// collection to it): it is new, so what is built on it meets no existing data.
fn created_before(ops: &[Operation], i: usize, collection: &str) -> bool {
    ops[..i].iter().any(|o| match &o.kind {
        Kind::Create { collection: c, .. } => c == collection,
        _ => false,
    })
}

/// Where a write that sets one of `required` on `collection` comes, when it is too late or too
/// soon for the strict validator of `all[at]`'s operation `i`: later in the same migration, in
/// the same migration at all, after it, or in the same release (from `release` on).
fn backfill_of(
    all: &[Subject<'_>],
    at: usize,
    i: usize,
    collection: &str,
    required: &[String],
    release: Option<usize>,
) -> Option<(String, String)> {
    let sets = |op: &Operation| -> Option<String> {
        let Kind::Update {
            collection: c,
            update: Some(update),
            ..
        } = &op.kind
        else {
            return None;
        };
        if c != collection {
            return None;
        }
        let set = set_fields(update);
        required
            .iter()
            .find(|f| set.as_ref().is_none_or(|s| s.contains(f)))
            .cloned()
    };
    let own = &all[at].ops.ops;
    if let Some(field) = own
        .iter()
        .enumerate()
        .find_map(|(j, op)| (j != i).then(|| sets(op)).flatten())
    {
        return Some((field, "the same migration backfills it".into()));
    }
    for later in &all[at + 1..] {
        if let Some(field) = later.ops.ops.iter().find_map(sets) {
            return Some((
                field,
                format!("`{}` backfills it after", escape(later.name)),
            ));
        }
    }
    let first = release?;
    for earlier in all.get(first..at).unwrap_or_default() {
        if let Some(field) = earlier.ops.ops.iter().find_map(sets) {
            return Some((
                field,
                format!(
                    "`{}` backfills it in the same release",
                    escape(earlier.name)
                ),
            ));
        }
    }
    None
}

/// The top-level fields an update gives a value; `None`: it may set any (a replacement of
/// unknown shape, a pipeline that replaces the document).
fn set_fields(update: &Bson) -> Option<Vec<String>> {
    if let Bson::Array(stages) = update {
        let mut fields = Vec::new();
        for stage in stages.iter().filter_map(Bson::as_document) {
            match stage.iter().next() {
                Some((name, Bson::Document(set))) if name == "$set" || name == "$addFields" => {
                    fields.extend(set.keys().cloned());
                }
                Some((name, _)) if name == "$unset" => {}
                _ => return None,
            }
        }
        return Some(fields);
    }
    Some(
        update_fields(update)
            .into_iter()
            .filter(|(operator, _)| !matches!(operator.as_str(), "$unset" | "$pull" | "$pop"))
            .flat_map(|(_, names)| names)
            .collect(),
    )
}

/// The old names of a `$rename`.
fn renamed_fields(update: Option<&Bson>) -> Vec<String> {
    update
        .and_then(Bson::as_document)
        .and_then(|d| d.get_document("$rename").ok())
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

/// A filter that names its documents by `_id` (equality or `$in`).
fn bounded(filter: Option<&Document>) -> bool {
    match filter.and_then(|f| f.get("_id")) {
        Some(Bson::Document(d)) => d.keys().all(|k| k == "$eq" || k == "$in"),
        Some(_) => true,
        None => false,
    }
}

fn same_index(index: &IndexRef, name: Option<&str>, key: Option<&Document>) -> bool {
    match index {
        IndexRef::Name(n) => Some(n.as_str()) == name || key.is_some_and(|k| default_name(k) == *n),
        IndexRef::Key(k) => Some(k) == key,
        IndexRef::All | IndexRef::Unknown => false,
    }
}

fn refers_to_same(a: &IndexRef, b: &IndexRef) -> bool {
    match (a, b) {
        (IndexRef::Name(x), IndexRef::Name(y)) => x == y,
        (IndexRef::Key(x), IndexRef::Key(y)) => x == y,
        (IndexRef::Key(k), IndexRef::Name(n)) | (IndexRef::Name(n), IndexRef::Key(k)) => {
            default_name(k) == *n
        }
        _ => false,
    }
}

/// `` `a`, `b` ``
fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "a field".into();
    }
    names
        .iter()
        .map(|n| format!("`{}`", escape(n)))
        .collect::<Vec<_>>()
        .join(", ")
}
