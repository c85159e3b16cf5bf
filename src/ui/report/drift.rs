//! What `drift` reports: each difference between a database and what its migrations make, with
//! the commands that reconcile it, as text or as one JSON document. `squash` shows the
//! differences its check finds the same way.
//!
//! A change reads `field what-the-migrations-make → what-the-database-has`; values are shown as
//! Extended JSON (64-bit integers typed), an absent field as `none`.

use mongodb::bson::{Bson, Document};
use serde::Serialize;
use serde_json::Value;

use super::{print_json, TargetView};
use crate::config::Target;
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::migration::json::typed_json;
use crate::schema::{Change, Comparison, Difference};

/// `drift --json`.
#[derive(Debug, Serialize)]
struct DriftReport<'a> {
    ok: bool,
    target: TargetView<'a>,
    replayed: &'a [String],
    differences: Vec<DifferenceView<'a>>,
    ignored: &'a [String],
}

/// One difference, for `--json`.
#[derive(Debug, Serialize)]
pub(crate) struct DifferenceView<'a> {
    kind: &'static str,
    collection: &'a str,
    index: Option<&'a str>,
    /// What the migrations make (`null` for something extra).
    migrations: Option<Value>,
    /// What the database has (`null` for something missing).
    database: Option<Value>,
    changes: Vec<ChangeView<'a>>,
    reconcile: Vec<Value>,
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct ChangeView<'a> {
    field: &'a str,
    migrations: Option<Value>,
    database: Option<Value>,
}

impl<'a> DifferenceView<'a> {
    pub(crate) fn of(difference: &'a Difference) -> DifferenceView<'a> {
        let doc = |d: Document| Some(typed_json(&Bson::Document(d)));
        let (migrations, database) = match difference {
            Difference::ExtraCollection { found } => (None, doc(found.document())),
            Difference::MissingCollection { expected } => (doc(expected.document()), None),
            Difference::ChangedCollection {
                expected, found, ..
            } => (doc(expected.document()), doc(found.document())),
            Difference::ExtraIndex { found, .. } => (None, doc(found.spec.clone())),
            Difference::MissingIndex { expected, .. } => (doc(expected.spec.clone()), None),
            Difference::ChangedIndex {
                expected, found, ..
            } => (doc(expected.spec.clone()), doc(found.spec.clone())),
        };
        let reconcile = difference.reconcile();
        DifferenceView {
            kind: difference.kind(),
            collection: difference.collection(),
            index: difference.index(),
            migrations,
            database,
            changes: difference
                .changes()
                .iter()
                .map(|c| ChangeView {
                    field: &c.field,
                    migrations: c.expected.as_ref().map(typed_json),
                    database: c.found.as_ref().map(typed_json),
                })
                .collect(),
            reconcile: reconcile
                .commands
                .iter()
                .map(|c| typed_json(&Bson::Document(c.clone())))
                .collect(),
            note: reconcile.note,
        }
    }
}

/// The drift report (`replayed`: the migrations replayed, in order): the differences and how to
/// reconcile each, then the verdict; or the JSON document.
pub(crate) fn drift(out: &Output, replayed: &[String], c: &Comparison, target: &Target) {
    if out.json {
        let report = DriftReport {
            ok: c.differences.is_empty(),
            target: TargetView::of(target),
            replayed,
            differences: c.differences.iter().map(DifferenceView::of).collect(),
            ignored: &c.ignored,
        };
        return print_json(out, &report);
    }
    let database = escape(&target.database);
    let count = replayed.len();
    let ignored = match c.ignored.is_empty() {
        true => String::new(),
        false => {
            let names: Vec<String> = c.ignored.iter().map(|n| escape(n)).collect();
            format!("; set aside by [drift] ignore: {}", names.join(", "))
        }
    };
    if c.differences.is_empty() {
        if out.is_member() {
            return; // the fleet's summary has a row for it
        }
        out.print(&format!(
            "no drift: `{database}` matches what its {count} applied migration(s) make{ignored}"
        ));
        return;
    }
    out.print(&format!(
        "`{database}` differs from what its {count} applied migration(s) make (migrations → \
         database):"
    ));
    differences(out, &c.differences, true);
    if !ignored.is_empty() {
        out.print(ignored.trim_start_matches("; "));
    }
}

/// Each difference on its line, then (with `reconcile`) the commands that reconcile it and what
/// they cannot do.
pub(crate) fn differences(out: &Output, differences: &[Difference], reconcile: bool) {
    for difference in differences {
        out.print(&line(difference));
        if !reconcile {
            continue;
        }
        let reconcile = difference.reconcile();
        for command in &reconcile.commands {
            out.print(&format!(
                "  reconcile: {}",
                json(&Bson::Document(command.clone()))
            ));
        }
        if let Some(note) = &reconcile.note {
            out.print(&format!("  note: {note}"));
        }
    }
}

/// `extra index `email_1` on `users`: {"key":{"email":1}}`, `changed index … : unique false → true`.
fn line(difference: &Difference) -> String {
    let spec = |d: Document| json(&Bson::Document(d));
    match difference {
        Difference::ExtraCollection { found } => {
            format!("extra {} `{}`", found.kind.as_str(), escape(&found.name))
        }
        Difference::MissingCollection { expected } => format!(
            "missing {} `{}`",
            expected.kind.as_str(),
            escape(&expected.name)
        ),
        Difference::ChangedCollection {
            expected, changes, ..
        } => format!(
            "changed {} `{}`: {}",
            expected.kind.as_str(),
            escape(&expected.name),
            changed(changes)
        ),
        Difference::ExtraIndex { collection, found } => format!(
            "extra index `{}` on `{}`: {}",
            escape(&found.name),
            escape(collection),
            spec(found.without_name())
        ),
        Difference::MissingIndex {
            collection,
            expected,
        } => format!(
            "missing index `{}` on `{}`: {}",
            escape(&expected.name),
            escape(collection),
            spec(expected.without_name())
        ),
        Difference::ChangedIndex {
            collection,
            expected,
            changes,
            ..
        } => format!(
            "changed index `{}` on `{}`: {}",
            escape(&expected.name),
            escape(collection),
            changed(changes)
        ),
    }
}

/// `unique false → true; hidden false → true`.
fn changed(changes: &[Change]) -> String {
    let value = |v: &Option<Bson>| v.as_ref().map_or_else(|| "none".to_string(), json);
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} → {}",
                escape(&c.field),
                value(&c.expected),
                value(&c.found)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A value as compact Extended JSON (64-bit integers typed).
pub(crate) fn json(value: &Bson) -> String {
    typed_json(value).to_string()
}
