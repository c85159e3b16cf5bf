//! The live, read-only checks of the pending migrations against the target's data, step by
//! step, over each step's operations ([`crate::migration::operation`]): for each new unique
//! index the duplicate keys it would meet, for each new strict validator the documents that
//! fail it, for each index build a clash with an existing index and the collection's size, for
//! each update and delete the documents its filter matches (exact when an index serves it or
//! the collection is small, otherwise labelled an estimate from a sample, never a silent full
//! scan).
//!
//! A check fails only on what the target holds now. When an earlier pending step (or an
//! earlier command of the same migration) may change those documents first (a delete, an
//! update of the index's or the validator's fields, a script migo cannot read), the check is
//! reported as not enforced, with what was found now. Nothing here writes.

mod conflict;
mod probe;

use std::collections::{BTreeSet, HashMap};

use mongodb::bson::{Bson, Document};
use mongodb::Database;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ground::escape::escape;
use crate::migration::json::typed_json;
use crate::migration::operation::{
    default_name, update_fields, IndexSpec, Kind, Operation, Operations, Place, Validator,
};
use crate::migration::recognize::has_unknown;
use conflict::Clash;
use probe::Size;

/// Collections up to this many documents are counted exactly even when no index serves the
/// filter: the scan is small, and said. `MIGO_TEST_PREFLIGHT_SCAN_LIMIT` lowers it in tests, so
/// that an estimate needs no large collection.
pub(crate) const SCAN_LIMIT: u64 = 10_000;

/// [`SCAN_LIMIT`], or the test knob's value.
pub(crate) fn scan_limit() -> u64 {
    std::env::var("MIGO_TEST_PREFLIGHT_SCAN_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SCAN_LIMIT)
}

/// One pending migration, as preflight reads it.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) ops: Operations,
}

/// How much preflight does: everything (`migo preflight`), or only the checks that refuse
/// (`execute`, before its first write), which costs no command for a migration that builds no
/// index and sets no validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    Full,
    Refusals,
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// The step would fail on the target's data.
    Fail,
    Pass,
    /// Facts: documents a filter matches, a collection's size.
    Info,
    /// It would fail on today's data, but an earlier step may change that data first.
    NotEnforced,
    /// migo cannot check it (a filter written as an expression, a key it cannot read).
    Unchecked,
}

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CheckKind {
    Duplicates,
    Validator,
    IndexConflict,
    Exists,
    Size,
    Matches,
}

/// One check of one operation.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    pub(crate) migration: String,
    /// `up[1]` or `line 4`.
    pub(crate) at: String,
    pub(crate) check: CheckKind,
    pub(crate) collection: String,
    pub(crate) outcome: Outcome,
    /// The finding, in one line: `unique index `email_1` on `users`: 2 duplicate keys …`.
    pub(crate) detail: String,
    /// The number the check is about: documents matched, failing, duplicated, held.
    pub(crate) documents: Option<u64>,
    /// Whether `documents` is exact (else an estimate).
    pub(crate) exact: Option<bool>,
    /// Duplicate keys (with their count) or the `_id` of failing documents, as Extended JSON.
    pub(crate) samples: Vec<serde_json::Value>,
    /// Why it is not enforced: the step that changes the documents first.
    pub(crate) after: Option<String>,
    /// How to fix a failure.
    #[serde(skip)]
    pub(crate) hint: &'static str,
}

/// What preflight found, step by step.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) checks: Vec<Check>,
    /// The steps whose effects migo cannot read (nothing of them is checked).
    pub(crate) opaque: Vec<String>,
}

impl Report {
    /// The checks that failed.
    pub(crate) fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }

    /// The error for the failed checks, if any; `refused`: `execute` stops on it.
    pub(crate) fn verdict(&self, refused: bool) -> Result<()> {
        let mut failures = self.failures();
        let Some(first) = failures.next() else {
            return Ok(());
        };
        let more = failures.count();
        let force = if refused {
            "`migo execute --force` runs it anyway (recorded in the audit log)"
        } else {
            "`migo execute --force` would run it anyway"
        };
        Err(Error::PreflightFailed {
            migration: first.migration.clone(),
            check: first.detail.clone(),
            more,
            refused,
            hint: format!("{}; {force}", first.hint),
        })
    }
}

/// An earlier write: the step that makes it, and the fields it sets (`None`: any).
type Write = (String, Option<Vec<String>>);

/// What the steps before the one being checked do to the target, as far as migo can tell.
#[derive(Debug, Default)]
struct Simulation {
    /// Collections an earlier step creates (or drops): new when the step runs.
    new: BTreeSet<String>,
    /// Per collection, the earlier writes that may change its documents.
    writes: HashMap<String, Vec<Write>>,
    /// An earlier step migo cannot read.
    opaque: Option<String>,
    /// Indexes built by earlier steps, per collection.
    built: HashMap<String, Vec<Document>>,
}

impl Simulation {
    /// The earlier step that may change documents of `collection` in one of `fields` (any field
    /// when `None`).
    fn changed_by(&self, collection: &str, fields: Option<&[String]>) -> Option<String> {
        if let Some(step) = &self.opaque {
            return Some(step.clone());
        }
        self.writes.get(collection)?.iter().find_map(|(step, set)| {
            let touches = match (set, fields) {
                (None, _) | (_, None) => true,
                (Some(set), Some(fields)) => fields.iter().any(|f| set.contains(f)),
            };
            touches.then(|| step.clone())
        })
    }

    fn record(&mut self, step: &str, op: &Operation) {
        let mut write = |collection: &str, fields: Option<Vec<String>>| {
            self.writes
                .entry(collection.to_string())
                .or_default()
                .push((step.to_string(), fields));
        };
        match &op.kind {
            Kind::Create { collection, .. } => {
                self.new.insert(collection.clone());
            }
            Kind::Drop { collection } => {
                self.new.insert(collection.clone());
                write(collection, None);
            }
            Kind::Rename { from, to } => {
                self.new.insert(from.clone());
                write(to, None);
            }
            Kind::Delete { collection, .. } => write(collection, None),
            Kind::Update {
                collection, update, ..
            } => {
                let fields = update.as_ref().and_then(|u| match u {
                    Bson::Document(_) => {
                        Some(update_fields(u).into_iter().flat_map(|(_, f)| f).collect())
                    }
                    _ => None,
                });
                write(collection, fields);
            }
            Kind::CreateIndex { collection, index } => {
                self.built
                    .entry(collection.clone())
                    .or_default()
                    .push(index.spec.clone());
            }
            Kind::DropIndex { collection, .. } => {
                // Which indexes remain is no longer known: nothing clashes with a guess.
                self.built.remove(collection);
            }
            _ => {}
        }
    }
}

/// What preflight has read from the server, so each question is asked once.
struct Known<'d> {
    db: &'d Database,
    /// `listCollections` of every collection the steps name.
    existing: HashMap<String, Document>,
    indexes: HashMap<String, Vec<Document>>,
    sizes: HashMap<String, Size>,
    scan_limit: u64,
}

impl Known<'_> {
    async fn indexes(&mut self, collection: &str) -> Result<Vec<Document>> {
        if let Some(known) = self.indexes.get(collection) {
            return Ok(known.clone());
        }
        let listed = probe::indexes(self.db, collection).await?;
        self.indexes.insert(collection.to_string(), listed.clone());
        Ok(listed)
    }

    async fn size(&mut self, collection: &str) -> Result<Size> {
        if let Some(size) = self.sizes.get(collection) {
            return Ok(*size);
        }
        let size = probe::size(self.db, collection).await?;
        self.sizes.insert(collection.to_string(), size);
        Ok(size)
    }
}

/// Checks `steps` (the pending migrations, in the order they would run) against `db`.
pub(crate) async fn run(db: &Database, steps: &[Step], depth: Depth) -> Result<Report> {
    let mut report = Report::default();
    let asks = |op: &Operation| match &op.kind {
        Kind::CreateIndex { .. } | Kind::Validator { .. } | Kind::Create { .. } => true,
        Kind::Update { .. } | Kind::Delete { .. } | Kind::Drop { .. } => depth == Depth::Full,
        _ => false,
    };
    let names: BTreeSet<String> = steps
        .iter()
        .flat_map(|s| s.ops.ops.iter())
        .filter(|op| asks(op))
        .filter_map(|op| op.kind.collection().map(String::from))
        .collect();
    let existing = if names.is_empty() {
        HashMap::new()
    } else {
        let names: Vec<String> = names.into_iter().collect();
        probe::collections(db, &names)
            .await?
            .into_iter()
            .filter_map(|c| Some((c.get_str("name").ok()?.to_string(), c)))
            .collect()
    };
    let mut known = Known {
        db,
        existing,
        indexes: HashMap::new(),
        sizes: HashMap::new(),
        scan_limit: scan_limit(),
    };
    let mut sim = Simulation::default();
    for step in steps {
        if step.ops.opaque {
            report.opaque.push(step.name.clone());
        }
        for op in &step.ops.ops {
            if asks(op) {
                let checks = check(&mut known, &sim, step, op, depth).await?;
                report.checks.extend(checks);
            }
            sim.record(&format!("an earlier command of `{}`", step.name), op);
        }
        // What this step does is earlier for the next ones: name it by the step.
        for writes in sim.writes.values_mut() {
            for (by, _) in writes.iter_mut() {
                if by.starts_with("an earlier command of ") {
                    *by = format!("`{}`", step.name);
                }
            }
        }
        if step.ops.opaque && sim.opaque.is_none() {
            sim.opaque = Some(format!("`{}`", step.name));
        }
    }
    Ok(report)
}

/// The checks of one operation.
async fn check(
    known: &mut Known<'_>,
    sim: &Simulation,
    step: &Step,
    op: &Operation,
    depth: Depth,
) -> Result<Vec<Check>> {
    let Some(collection) = op.kind.collection() else {
        return Ok(Vec::new());
    };
    let exists = known.existing.contains_key(collection) && !sim.new.contains(collection);
    let base = Check {
        migration: step.name.clone(),
        at: match op.place {
            Place::Command(i) => format!("up[{i}]"),
            Place::Line(l) => format!("line {l}"),
            Place::Backfill => "backfill".to_string(),
        },
        check: CheckKind::Matches,
        collection: collection.to_string(),
        outcome: Outcome::Info,
        detail: String::new(),
        documents: None,
        exact: None,
        samples: Vec::new(),
        after: None,
        hint: "",
    };
    let c = escape(collection);
    let mut checks = Vec::new();
    match &op.kind {
        Kind::Create { .. } if exists => checks.push(Check {
            check: CheckKind::Exists,
            outcome: Outcome::Fail,
            detail: format!("`create` of `{c}`, which exists already (NamespaceExists)"),
            hint: "drop the `create`, or create a collection of another name",
            ..base
        }),
        Kind::Create { .. } => {}
        Kind::CreateIndex { index, .. } => {
            let label = index_label(index);
            if !exists {
                if depth == Depth::Full {
                    checks.push(Check {
                        check: CheckKind::Size,
                        detail: format!(
                            "index {label} on `{c}`, a new collection: nothing to check"
                        ),
                        documents: Some(0),
                        exact: Some(true),
                        ..base
                    });
                }
                return Ok(checks);
            }
            let mut listed = known.indexes(collection).await?;
            listed.extend(sim.built.get(collection).cloned().unwrap_or_default());
            match conflict::compare(index, &listed) {
                Some(Clash::Identical { name }) => checks.push(Check {
                    check: CheckKind::IndexConflict,
                    outcome: Outcome::Pass,
                    detail: format!(
                        "index {label} on `{c}`: `{}` exists already, identical (the build does nothing)",
                        escape(&name)
                    ),
                    ..base.clone()
                }),
                Some(Clash::SameName { existing }) => checks.push(Check {
                    check: CheckKind::IndexConflict,
                    outcome: Outcome::Fail,
                    detail: format!(
                        "index {label} on `{c}`: an index of that name exists with another key or other options, {} (IndexOptionsConflict)",
                        typed_json(&Bson::Document(crate::store::catalog::creatable(&existing)))
                    ),
                    hint: "give the new index another name, or drop the existing one in an earlier migration",
                    ..base.clone()
                }),
                Some(Clash::SameKey { existing }) => checks.push(Check {
                    check: CheckKind::IndexConflict,
                    outcome: Outcome::Fail,
                    detail: format!(
                        "index {label} on `{c}`: `{}` exists over the same key with the same options (IndexOptionsConflict)",
                        escape(existing.get_str("name").unwrap_or_default())
                    ),
                    hint: "use the existing index (drop the build), or drop it in an earlier migration",
                    ..base.clone()
                }),
                None => {}
            }
            let size = match depth {
                Depth::Full => Some(known.size(collection).await?),
                Depth::Refusals => None,
            };
            if let Some(size) = size {
                checks.push(Check {
                    check: CheckKind::Size,
                    detail: format!(
                        "index {label} on `{c}`, which holds {} ({})",
                        documents(size.documents),
                        bytes(size.bytes)
                    ),
                    documents: Some(size.documents),
                    exact: Some(true),
                    ..base.clone()
                });
            }
            if index.unique {
                checks.push(duplicates(known, sim, index, &label, collection, base).await?);
            }
        }
        Kind::Validator { validator, .. } if exists => {
            checks.push(validator_check(known, sim, validator, collection, base).await?);
        }
        Kind::Update { filter, multi, .. } | Kind::Delete { filter, multi, .. } => {
            let verb = op.kind.verb();
            checks.push(
                matches(
                    known,
                    sim,
                    verb,
                    *multi,
                    filter.as_ref(),
                    exists,
                    collection,
                    base,
                )
                .await?,
            );
        }
        Kind::Drop { .. } if exists => {
            let size = known.size(collection).await?;
            checks.push(Check {
                check: CheckKind::Size,
                detail: format!(
                    "`drop` of `{c}`, which holds {} ({})",
                    documents(size.documents),
                    bytes(size.bytes)
                ),
                documents: Some(size.documents),
                exact: Some(true),
                ..base
            });
        }
        _ => {}
    }
    Ok(checks)
}

/// The duplicate keys a unique index would meet.
async fn duplicates(
    known: &mut Known<'_>,
    sim: &Simulation,
    index: &IndexSpec,
    label: &str,
    collection: &str,
    base: Check,
) -> Result<Check> {
    let c = escape(collection);
    let key = index.key.as_ref().filter(|k| {
        k.values()
            .all(|v| matches!(v, Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_)))
    });
    let Some(key) = key.filter(|_| !has_unknown(&Bson::Document(index.spec.clone()))) else {
        return Ok(Check {
            check: CheckKind::Duplicates,
            outcome: Outcome::Unchecked,
            detail: format!(
                "unique index {label} on `{c}`: its key or options are not written out as values"
            ),
            ..base
        });
    };
    let found = probe::duplicates(known.db, collection, key, &index.spec).await?;
    let fields: Vec<String> = key
        .keys()
        .map(|k| k.split('.').next().unwrap_or(k).to_string())
        .collect();
    let after = sim.changed_by(collection, Some(&fields));
    let samples: Vec<serde_json::Value> = found
        .samples
        .iter()
        .map(|(k, n)| serde_json::json!({"key": typed_json(&Bson::Document(k.clone())), "documents": n}))
        .collect();
    if found.keys == 0 {
        return Ok(Check {
            check: CheckKind::Duplicates,
            outcome: Outcome::Pass,
            detail: format!("unique index {label} on `{c}`: no duplicate keys"),
            documents: Some(0),
            exact: Some(true),
            ..base
        });
    }
    let shown: Vec<String> = found
        .samples
        .iter()
        .map(|(k, n)| format!("{} ×{n}", typed_json(&Bson::Document(k.clone()))))
        .collect();
    let more = found.keys.saturating_sub(found.samples.len() as u64);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let detail = format!(
        "unique index {label} on `{c}`: {} duplicate key(s) over {}: {}{more}",
        found.keys,
        documents(found.documents),
        shown.join(", ")
    );
    Ok(Check {
        check: CheckKind::Duplicates,
        outcome: if after.is_some() {
            Outcome::NotEnforced
        } else {
            Outcome::Fail
        },
        detail,
        documents: Some(found.documents),
        exact: Some(true),
        samples,
        after,
        hint: "remove or merge the duplicates first (an earlier migration), then run it again",
        ..base
    })
}

/// The documents a new strict validator rejects.
async fn validator_check(
    known: &mut Known<'_>,
    sim: &Simulation,
    validator: &Validator,
    collection: &str,
    base: Check,
) -> Result<Check> {
    let c = escape(collection);
    if has_unknown(&Bson::Document(validator.rule.clone())) {
        return Ok(Check {
            check: CheckKind::Validator,
            outcome: Outcome::Unchecked,
            detail: format!("validator on `{c}`: it is not written out as values"),
            ..base
        });
    }
    let (n, ids) = probe::failing(known.db, collection, &validator.rule).await?;
    let samples: Vec<serde_json::Value> = ids.iter().map(typed_json).collect();
    if n == 0 {
        return Ok(Check {
            check: CheckKind::Validator,
            outcome: Outcome::Pass,
            detail: format!("validator on `{c}`: every document passes it"),
            documents: Some(0),
            exact: Some(true),
            ..base
        });
    }
    let shown: Vec<String> = samples.iter().map(ToString::to_string).collect();
    let more = if n > ids.len() as u64 { ", …" } else { "" };
    let enforced = if validator.is_strict() {
        "at strict/error level, every write to them will be rejected"
    } else {
        "not strict, so writes to them go on"
    };
    let detail = format!(
        "validator on `{c}`: {} fail it (_id {}{more}); {enforced}",
        documents(n),
        shown.join(", ")
    );
    let required = validator.required_fields();
    let after = sim.changed_by(collection, (!required.is_empty()).then_some(&required[..]));
    let outcome = match (validator.is_strict(), &after) {
        (false, _) => Outcome::Info,
        (true, Some(_)) => Outcome::NotEnforced,
        (true, None) => Outcome::Fail,
    };
    Ok(Check {
        check: CheckKind::Validator,
        outcome,
        detail,
        documents: Some(n),
        exact: Some(true),
        samples,
        after,
        hint: "backfill the documents first, or add the validator with `validationAction: \"warn\"` and make it strict once they pass",
        ..base
    })
}

/// The documents an update's or a delete's filter matches.
#[allow(clippy::too_many_arguments)]
async fn matches(
    known: &mut Known<'_>,
    sim: &Simulation,
    verb: &str,
    multi: bool,
    filter: Option<&Document>,
    exists: bool,
    collection: &str,
    base: Check,
) -> Result<Check> {
    let c = escape(collection);
    let Some(filter) = filter.filter(|f| !has_unknown(&Bson::Document((*f).clone()))) else {
        return Ok(Check {
            outcome: Outcome::Unchecked,
            detail: format!("{verb} of `{c}`: its filter is not written out as values"),
            ..base
        });
    };
    let shown = typed_json(&Bson::Document(filter.clone()));
    let what = if multi { "" } else { " match, one is changed" };
    // What changes the count: a delete, or a write to a field the filter reads (any, for a
    // filter with operators at its top).
    let read: Option<Vec<String>> = filter
        .keys()
        .map(|k| (!k.starts_with('$')).then(|| k.split('.').next().unwrap_or(k).to_string()))
        .collect();
    let after = sim.changed_by(collection, read.as_deref());
    let later = after
        .as_ref()
        .map(|a| format!("; {a} changes `{c}` before, so it may differ then"))
        .unwrap_or_default();
    if !exists {
        return Ok(Check {
            detail: format!("{verb} of `{c}` where {shown}: 0 documents (a new collection)"),
            documents: Some(0),
            exact: Some(true),
            ..base
        });
    }
    let (count, exact, how) = if filter.is_empty() {
        let size = known.size(collection).await?;
        (
            size.documents,
            true,
            "exact: the collection's count".to_string(),
        )
    } else if let Some(index) = probe::serving_index(known.db, collection, filter).await? {
        let n = probe::count(known.db, collection, filter).await?;
        let how = if index.is_empty() {
            "exact: served by an index".to_string()
        } else {
            format!("exact: index `{}`", escape(&index))
        };
        (n, true, how)
    } else {
        let size = known.size(collection).await?;
        if size.documents <= known.scan_limit {
            let n = probe::count(known.db, collection, filter).await?;
            (
                n,
                true,
                format!(
                    "exact: no index serves the filter, {} scanned",
                    documents(size.documents)
                ),
            )
        } else {
            let hits = probe::sampled(known.db, collection, filter).await?;
            let sampled = probe::SAMPLE_SIZE.min(size.documents);
            let estimate = (hits as f64 / sampled as f64 * size.documents as f64).round() as u64;
            (
                estimate,
                false,
                format!(
                    "estimate: {hits} of {sampled} sampled of {}; no index serves the filter",
                    size.documents
                ),
            )
        }
    };
    let approx = if exact { "" } else { "~" };
    Ok(Check {
        detail: format!(
            "{verb} of `{c}` where {shown}: {approx}{}{what} ({how}){later}",
            documents(count)
        ),
        documents: Some(count),
        exact: Some(exact),
        after,
        ..base
    })
}

fn index_label(index: &IndexSpec) -> String {
    match (&index.name, &index.key) {
        (Some(name), _) => format!("`{}`", escape(name)),
        (None, Some(key)) => format!("`{}`", escape(&default_name(key))),
        (None, None) => "(its key is not written out)".into(),
    }
}

/// `1 document`, `3 documents`.
pub(crate) fn documents(n: u64) -> String {
    if n == 1 {
        "1 document".into()
    } else {
        format!("{n} documents")
    }
}

/// `812 B`, `1.2 kB`, `3.4 MB`.
pub(crate) fn bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(1234), "1.2 kB");
        assert_eq!(bytes(3_400_000), "3.4 MB");
        assert_eq!(documents(1), "1 document");
        assert_eq!(documents(0), "0 documents");
    }

    #[test]
    fn earlier_writes_defer_only_the_checks_they_may_change() {
        let mut sim = Simulation::default();
        let op = |kind: Kind| Operation {
            place: Place::Command(0),
            kind,
            in_transaction: false,
        };
        sim.record(
            "`a`",
            &op(Kind::Update {
                collection: "users".into(),
                filter: None,
                update: Some(Bson::Document(mongodb::bson::doc! {"$set": {"name": 1}})),
                multi: true,
            }),
        );
        assert_eq!(sim.changed_by("users", Some(&["email".to_string()])), None);
        assert_eq!(
            sim.changed_by("users", Some(&["name".to_string()])),
            Some("`a`".to_string())
        );
        assert_eq!(sim.changed_by("users", None), Some("`a`".to_string()));
        sim.record(
            "`b`",
            &op(Kind::Delete {
                collection: "users".into(),
                filter: None,
                multi: true,
            }),
        );
        assert_eq!(
            sim.changed_by("users", Some(&["email".to_string()])),
            Some("`b`".to_string())
        );
    }
}
