//! A backfill, as a `.json` migration declares it: which collection, which documents still need
//! the change (`filter`), the change (`update`: an update document or a pipeline), and how to
//! pace it (batch size, throttles). Checked whole before anything runs; the walking itself is
//! [`crate::run::backfill`].
//!
//! ```json
//! {"description": "every user gets a status",
//!  "backfill": {"collection": "users", "filter": {"status": {"$exists": false}},
//!               "update": [{"$set": {"status": "active"}}], "batch_size": 1000},
//!  "down": {"backfill": {"collection": "users", "filter": {"status": "active"},
//!                        "update": {"$unset": {"status": ""}}}}}
//! ```

use std::time::Duration;

use mongodb::bson::{Bson, Document};
use serde_json::Value;

use crate::config::backfill::{Pace, BATCH_RANGE};
use crate::ground::Phase;

/// A checked backfill declaration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Backfill {
    pub(crate) collection: String,
    /// The documents that still need the change; the update must make them stop matching.
    pub(crate) filter: Document,
    /// What each batch does.
    pub(crate) work: Work,
    /// The code form's `phase` (a `.json` migration says it beside its `backfill`).
    pub(crate) phase: Phase,
    /// Documents per batch (the first batch's, when `target_batch_ms` adapts it); `None`:
    /// `[backfill] batch_size`, else [`DEFAULT_BATCH`](crate::config::backfill::DEFAULT_BATCH).
    pub(crate) batch_size: Option<u64>,
    pub(crate) pace: Pace,
    /// Each batch and its checkpoint in one transaction: every document changed exactly once,
    /// whatever stops the run.
    pub(crate) transaction: bool,
}

/// What a backfill's batch does: a `.json` declaration's update, sent by migo, or the
/// migration's own `batch` function (the code form), handed each batch's filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Work {
    Update(Update),
    Code,
}

/// Which form a declaration is written in: the `.json` form needs `update`, the code form
/// refuses it (its `batch` function does the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Json,
    /// A script's or a compiled migration's `backfill`; `transaction` is allowed only for
    /// compiled ones (a script's `batch` runs outside migo's transaction).
    Code {
        transaction: bool,
    },
}

/// The change applied to each batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Update {
    /// `{"$set": …, "$unset": …}`: update operators.
    Operators(Document),
    /// `[{"$set": …}, …]`: an aggregation pipeline.
    Pipeline(Vec<Document>),
}

impl Update {
    /// As the `u` of an update statement.
    pub(crate) fn to_bson(&self) -> Bson {
        match self {
            Update::Operators(d) => Bson::Document(d.clone()),
            Update::Pipeline(stages) => {
                Bson::Array(stages.iter().cloned().map(Bson::Document).collect())
            }
        }
    }
}

/// The keys a backfill declaration may have.
const KEYS: &[&str] = &[
    "collection",
    "filter",
    "update",
    "batch_size",
    "max_lag_secs",
    "target_batch_ms",
    "max_rate",
    "pause_when",
    "transaction",
    "phase",
];

impl Backfill {
    /// What it will do, for `--dry-run`: the update each batch sends (over its `_id` range), or
    /// for the code form the filter each batch hands to `batch`; the batch size and the pace.
    pub(crate) fn describe(&self) -> Vec<String> {
        let size = self
            .batch_size
            .map_or_else(|| "the project's batch size".to_string(), |b| b.to_string());
        let each = match &self.work {
            Work::Update(update) => {
                let statement = mongodb::bson::doc! {
                    "q": self.filter.clone(), "u": update.to_bson(), "multi": true,
                };
                format!("each: {}", Bson::Document(statement).into_relaxed_extjson())
            }
            Work::Code => format!(
                "each handed to the migration's `batch` function, filter: {}",
                Bson::Document(self.filter.clone()).into_relaxed_extjson()
            ),
        };
        let form = match self.work {
            Work::Update(_) => "backfill",
            Work::Code => "code backfill",
        };
        let mut lines = vec![format!(
            "{form} `{}` in batches of {size} (each over an `_id` range), {each}",
            self.collection,
        )];
        let p = &self.pace;
        let mut pace = Vec::new();
        if let Some(lag) = p.max_lag {
            pace.push(format!("max_lag {}s", lag.as_secs_f64()));
        }
        if let Some(target) = p.target_batch {
            pace.push(format!("target_batch_ms {}", target.as_millis()));
        }
        if let Some(rate) = p.max_rate {
            pace.push(format!("max_rate {rate}/s"));
        }
        if let Some(command) = &p.pause_when {
            pace.push(format!("pause_when `{command}`"));
        }
        if self.transaction {
            pace.push("each batch in a transaction with its checkpoint".into());
        }
        if !pace.is_empty() {
            lines.push(format!("pace: {}", pace.join(", ")));
        }
        lines
    }

    /// Checks a `"backfill": {…}` value of a `.json` migration; the error names the key
    /// (`field` is where it sits, e.g. `backfill` or `down.backfill`) and what is wrong.
    pub(crate) fn parse(value: Value, field: &str) -> Result<Backfill, String> {
        Backfill::parse_as(value, field, Form::Json)
    }

    /// Checks a declaration in `form`, by the same rules and with the same messages.
    pub(crate) fn parse_as(value: Value, field: &str, form: Form) -> Result<Backfill, String> {
        let Value::Object(map) = value else {
            return Err(match form {
                Form::Json => format!(
                    "`{field}` must be an object: {{\"collection\": …, \"filter\": …, \"update\": …}}"
                ),
                Form::Code { .. } => format!(
                    "`{field}` must be an object: {{collection: …, filter: …, batch_size: …}}"
                ),
            });
        };
        let known: Vec<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| match form {
                Form::Json => *k != "phase",
                Form::Code { .. } => *k != "update",
            })
            .collect();
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            if unknown == "phase" {
                return Err(format!(
                    "`{field}.phase` belongs beside `backfill` in a `.json` migration: \
                     {{\"phase\": \"after_deploy\", \"backfill\": {{…}}}}"
                ));
            }
            if unknown == "update" {
                return Err(format!(
                    "`{field}.update` is for a `.json` backfill: in code, the `batch` function \
                     makes the change"
                ));
            }
            return Err(format!(
                "`{field}` has an unknown key `{unknown}` (known: {})",
                known.join(", ")
            ));
        }
        let collection = match map.get("collection") {
            Some(Value::String(c)) if !c.is_empty() && !c.contains('\0') && !c.starts_with('$') => {
                c.clone()
            }
            Some(_) => return Err(format!("`{field}.collection` must be a collection name")),
            None => {
                return Err(format!(
                    "`{field}` needs `collection`: the collection to walk"
                ))
            }
        };
        let filter = match map.get("filter") {
            Some(value) => match Bson::try_from(value.clone()) {
                Ok(Bson::Document(d)) => d,
                Ok(_) => return Err(format!("`{field}.filter` must be a query document")),
                Err(e) => return Err(format!("`{field}.filter` is not valid Extended JSON: {e}")),
            },
            None => {
                return Err(format!(
                    "`{field}` needs `filter`: the documents that still need the change (`{{}}` \
                     for all, which the update must then leave matching nothing)"
                ))
            }
        };
        let work = match (form, map.get("update")) {
            (Form::Code { .. }, _) => Work::Code,
            (Form::Json, Some(value)) => Work::Update(update(value, &format!("{field}.update"))?),
            (Form::Json, None) => {
                return Err(format!(
                    "`{field}` needs `update`: the change for each batch"
                ))
            }
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            match map.get(key) {
                None => Ok(None),
                Some(Value::Number(n)) => n
                    .as_f64()
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .map(Some)
                    .ok_or_else(|| format!("`{field}.{key}` must be a positive number")),
                Some(_) => Err(format!("`{field}.{key}` must be a positive number")),
            }
        };
        let batch_size = match map.get("batch_size") {
            None => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|b| BATCH_RANGE.contains(&b)) => {
                n.as_u64()
            }
            Some(other) => {
                return Err(format!(
                    "`{field}.batch_size` is {other}, out of range: a whole number from {} to {}",
                    BATCH_RANGE.start(),
                    BATCH_RANGE.end()
                ))
            }
        };
        let pause_when = match map.get("pause_when") {
            None => None,
            Some(Value::String(c)) if !c.trim().is_empty() => Some(c.clone()),
            Some(_) => return Err(format!("`{field}.pause_when` must be a shell command")),
        };
        let transaction = match map.get("transaction") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(format!("`{field}.transaction` must be true or false")),
        };
        let phase = match map.get("phase").map(|v| (v, v.as_str())) {
            None => Phase::BeforeDeploy,
            Some((_, Some("before_deploy"))) => Phase::BeforeDeploy,
            Some((_, Some("after_deploy"))) => Phase::AfterDeploy,
            Some((other, _)) => {
                return Err(format!(
                    "`{field}.phase` is {other}: \"before_deploy\" or \"after_deploy\""
                ))
            }
        };
        if transaction && form == (Form::Code { transaction: false }) {
            return Err(format!(
                "`{field}.transaction` cannot hold a script's batches: its `batch` runs in its \
                 interpreter, outside migo's transaction (a compiled Rust backfill can)"
            ));
        }
        Ok(Backfill {
            collection,
            filter,
            work,
            phase,
            batch_size,
            pace: Pace {
                max_lag: number("max_lag_secs")?.map(Duration::from_secs_f64),
                target_batch: number("target_batch_ms")?
                    .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
                max_rate: number("max_rate")?,
                pause_when,
            },
            transaction,
        })
    }
}

/// A compiled migration's walk, checked as its declaration would be in a file.
pub(crate) fn from_walk(walk: &crate::api::BackfillWalk) -> Result<Backfill, String> {
    let mut map = serde_json::Map::new();
    map.insert("collection".into(), Value::String(walk.collection.clone()));
    map.insert(
        "filter".into(),
        Bson::Document(walk.filter.clone()).into_canonical_extjson(),
    );
    if let Some(size) = walk.batch_size {
        map.insert("batch_size".into(), size.into());
    }
    let numbers = [
        ("max_lag_secs", walk.max_lag_secs),
        ("target_batch_ms", walk.target_batch_ms),
        ("max_rate", walk.max_rate),
    ];
    for (key, value) in numbers {
        if let Some(n) = value {
            // A number JSON cannot hold (NaN) is refused as any non-positive one is.
            let number = serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
            map.insert(key.into(), number);
        }
    }
    if let Some(command) = &walk.pause_when {
        map.insert("pause_when".into(), Value::String(command.clone()));
    }
    if walk.transaction {
        map.insert("transaction".into(), Value::Bool(true));
    }
    if walk.after_deploy {
        map.insert("phase".into(), Value::String("after_deploy".into()));
    }
    Backfill::parse_as(
        Value::Object(map),
        "backfill",
        Form::Code { transaction: true },
    )
}

/// An update document of operators, or a non-empty pipeline of stages.
fn update(value: &Value, field: &str) -> Result<Update, String> {
    let bson = Bson::try_from(value.clone())
        .map_err(|e| format!("`{field}` is not valid Extended JSON: {e}"))?;
    match bson {
        Bson::Document(d) if !d.is_empty() && d.keys().all(|k| k.starts_with('$')) => {
            Ok(Update::Operators(d))
        }
        Bson::Document(d) if d.is_empty() => Err(format!("`{field}` is an empty update")),
        Bson::Document(_) => Err(format!(
            "`{field}` is a replacement document; a backfill updates with operators \
             (`{{\"$set\": …}}`) or a pipeline (`[{{\"$set\": …}}]`)"
        )),
        Bson::Array(stages) if stages.is_empty() => Err(format!("`{field}` is an empty pipeline")),
        Bson::Array(stages) => stages
            .into_iter()
            .enumerate()
            .map(|(i, stage)| match stage {
                Bson::Document(d) if d.len() == 1 && d.keys().all(|k| k.starts_with('$')) => Ok(d),
                _ => Err(format!(
                    "`{field}[{i}]` is not a pipeline stage (one `$stage` key)"
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Update::Pipeline),
        _ => Err(format!(
            "`{field}` must be an update document (`{{\"$set\": …}}`) or a pipeline (`[…]`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Backfill, String> {
        Backfill::parse(v, "backfill")
    }

    #[test]
    fn a_declaration_with_defaults() {
        let b = parse(
            json!({"collection": "users", "filter": {"status": {"$exists": false}},
                             "update": [{"$set": {"status": "active"}}]}),
        )
        .unwrap();
        assert_eq!(b.collection, "users");
        assert_eq!(b.batch_size, None);
        assert!(matches!(b.work, Work::Update(Update::Pipeline(ref s)) if s.len() == 1));
        assert_eq!(b.pace, Pace::default());
    }

    #[test]
    fn bad_declarations_name_the_key() {
        let err = |v: Value| parse(v).unwrap_err();
        assert!(
            err(json!({"filter": {}, "update": {"$set": {"a": 1}}})).contains("needs `collection`")
        );
        assert!(
            err(json!({"collection": "u", "update": {"$set": {"a": 1}}}))
                .contains("needs `filter`")
        );
        assert!(err(json!({"collection": "u", "filter": {}})).contains("needs `update`"));
        assert!(
            err(json!({"collection": "u", "filter": {}, "update": {"a": 1}}))
                .contains("replacement document")
        );
        assert!(err(json!({"collection": "u", "filter": {}, "update": 3}))
            .contains("must be an update document"));
        assert!(
            err(json!({"collection": "u", "filter": {}, "update": [{"a": 1}]}))
                .contains("`backfill.update[0]` is not a pipeline stage")
        );
        assert!(err(
            json!({"collection": "u", "filter": {}, "update": {"$set": {"a": 1}}, "batch_size": 0})
        )
        .contains("out of range"));
        assert!(err(json!({"collection": "u", "filter": {}, "update": {"$set": {"a": 1}}, "batch_size": 1e9})).contains("out of range"));
        assert!(err(
            json!({"collection": "u", "filter": {}, "update": {"$set": {"a": 1}}, "bacth_size": 5})
        )
        .contains("unknown key `bacth_size`"));
        assert!(err(
            json!({"collection": "u", "filter": {}, "update": {"$set": {"a": 1}}, "max_rate": -1})
        )
        .contains("positive number"));
    }

    #[test]
    fn a_compiled_walk_is_checked_by_the_same_rules() {
        use crate::api::BackfillWalk;
        let walk = BackfillWalk {
            collection: "users".into(),
            filter: mongodb::bson::doc! {"s": {"$exists": false}},
            batch_size: Some(200),
            transaction: true,
            ..BackfillWalk::default()
        };
        let b = from_walk(&walk).unwrap();
        assert_eq!(
            (b.work, b.batch_size, b.transaction),
            (Work::Code, Some(200), true)
        );
        let err = |w: BackfillWalk| from_walk(&w).unwrap_err();
        assert_eq!(
            err(BackfillWalk {
                batch_size: Some(0),
                ..walk.clone()
            }),
            "`backfill.batch_size` is 0, out of range: a whole number from 1 to 100000"
        );
        assert_eq!(
            err(BackfillWalk {
                collection: String::new(),
                ..walk.clone()
            }),
            "`backfill.collection` must be a collection name"
        );
        assert_eq!(
            err(BackfillWalk {
                max_rate: Some(f64::NAN),
                ..walk
            }),
            "`backfill.max_rate` must be a positive number"
        );
    }
}
