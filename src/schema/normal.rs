//! The normal form of what the server lists: one spelling for each meaning, so that two
//! databases with the same schema give byte-identical snapshots, whichever way each was built.
//!
//! Server bookkeeping goes (`v`, `ns`, `background`, the `2dsphereIndexVersion` and
//! `textIndexVersion` the server fills in, the ICU `version` of a collation, a clustered index's
//! `v`); defaults are spelled one way (`unique: false` is no `unique`, a `simple` collation is no
//! collation, `validator: {}` is no validator, a validator always with its level and action);
//! whole numbers are one type (`expireAfterSeconds: 3600.0` is `3600`, a key's `1.0` is `1`).
//! Fields come in a fixed order, known ones first, the rest by name; the order inside a key
//! pattern is kept, as it is meaningful.

use mongodb::bson::{Bson, Document};

/// Index fields in their canonical order; the others follow by name.
const INDEX_ORDER: &[&str] = &[
    "name",
    "key",
    "unique",
    "sparse",
    "partialFilterExpression",
    "expireAfterSeconds",
    "collation",
    "hidden",
    "wildcardProjection",
];

/// What the server adds to an index by itself.
const INDEX_BOOKKEEPING: &[&str] = &[
    "v",
    "ns",
    "background",
    "2dsphereIndexVersion",
    "textIndexVersion",
];

/// Index flags whose `false` means the same as their absence.
pub(crate) const INDEX_FLAGS: &[&str] = &["unique", "sparse", "hidden", "prepareUnique"];

/// Collection options in their canonical order; the others follow by name.
const OPTION_ORDER: &[&str] = &[
    "capped",
    "size",
    "max",
    "timeseries",
    "expireAfterSeconds",
    "clusteredIndex",
    "collation",
    "validator",
    "validationLevel",
    "validationAction",
    "viewOn",
    "pipeline",
    "changeStreamPreAndPostImages",
];

/// An index as listed, in normal form: `name`, `key`, then its options.
pub(crate) fn index(listed: &Document) -> Document {
    let mut fields = Document::new();
    for (field, value) in listed {
        if INDEX_BOOKKEEPING.contains(&field.as_str()) {
            continue;
        }
        let value = match field.as_str() {
            "key" => match value {
                Bson::Document(key) => Bson::Document(key_pattern(key)),
                other => other.clone(),
            },
            flag if INDEX_FLAGS.contains(&flag) => match truthy(value) {
                true => Bson::Boolean(true),
                false => continue,
            },
            "expireAfterSeconds" => whole(value),
            "collation" => match collation(value) {
                Some(c) => c,
                None => continue,
            },
            _ => value.clone(),
        };
        fields.insert(field.clone(), value);
    }
    ordered(fields, INDEX_ORDER)
}

/// A collection's `options` as listed, in normal form.
pub(crate) fn options(listed: &Document) -> Document {
    let mut fields = Document::new();
    let capped = listed.get("capped").is_some_and(truthy);
    for (field, value) in listed {
        let value = match field.as_str() {
            "capped" | "size" | "max" if !capped => continue,
            "capped" => Bson::Boolean(true),
            "size" | "max" | "expireAfterSeconds" => whole(value),
            "collation" => match collation(value) {
                Some(c) => c,
                None => continue,
            },
            "validator" if matches!(value, Bson::Document(d) if d.is_empty()) => continue,
            "clusteredIndex" => match value {
                Bson::Document(spec) => {
                    let mut spec = spec.clone();
                    spec.remove("v");
                    if let Some(Bson::Document(key)) = spec.get("key") {
                        let key = key_pattern(key);
                        spec.insert("key", key);
                    }
                    Bson::Document(spec)
                }
                other => other.clone(),
            },
            "timeseries" => match value {
                Bson::Document(spec) => Bson::Document(timeseries(spec)),
                other => other.clone(),
            },
            "changeStreamPreAndPostImages" => match value {
                Bson::Document(d) if !d.get("enabled").is_some_and(truthy) => continue,
                other => other.clone(),
            },
            _ => value.clone(),
        };
        fields.insert(field.clone(), value);
    }
    // A validator is always shown with its level and action; without one, the defaults are
    // left out (they mean nothing then).
    let validated = fields.contains_key("validator");
    for (field, default) in [("validationLevel", "strict"), ("validationAction", "error")] {
        match fields.get(field) {
            None if validated => {
                fields.insert(field, default);
            }
            Some(Bson::String(value)) if !validated && value == default => {
                fields.remove(field);
            }
            _ => {}
        }
    }
    ordered(fields, OPTION_ORDER)
}

/// `timeseries` without what its `granularity` implies (the server reports the bucket span it
/// derives from it, and refuses both together on `create`).
fn timeseries(spec: &Document) -> Document {
    let mut spec = spec.clone();
    if spec.contains_key("granularity") {
        spec.remove("bucketMaxSpanSeconds");
        spec.remove("bucketRoundingSeconds");
    }
    spec
}

/// A key pattern with whole numbers as 32-bit integers (`1.0` is `1`), its order kept.
fn key_pattern(key: &Document) -> Document {
    key.iter()
        .map(|(field, direction)| {
            let direction = match number(direction) {
                Some(n) if n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX) =>
                {
                    #[allow(clippy::cast_possible_truncation)]
                    Bson::Int32(n as i32)
                }
                _ => direction.clone(),
            };
            (field.clone(), direction)
        })
        .collect()
}

/// A collation without the ICU version the server stamps on it; `None` for the simple one.
fn collation(value: &Bson) -> Option<Bson> {
    let Bson::Document(spec) = value else {
        return Some(value.clone());
    };
    if spec.get_str("locale") == Ok("simple") {
        return None;
    }
    let mut spec = spec.clone();
    spec.remove("version");
    Some(Bson::Document(spec))
}

/// A whole number as the smallest integer type that holds it; anything else as it is.
pub(crate) fn whole(value: &Bson) -> Bson {
    match number(value) {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            #[allow(clippy::cast_possible_truncation)]
            let n = n as i64;
            i32::try_from(n).map_or(Bson::Int64(n), Bson::Int32)
        }
        _ => value.clone(),
    }
}

fn number(value: &Bson) -> Option<f64> {
    match value {
        Bson::Int32(n) => Some(f64::from(*n)),
        #[allow(clippy::cast_precision_loss)]
        Bson::Int64(n) => Some(*n as f64),
        Bson::Double(n) => Some(*n),
        _ => None,
    }
}

/// How the server reads a flag: `true`, a non-zero number.
fn truthy(value: &Bson) -> bool {
    match value {
        Bson::Boolean(b) => *b,
        Bson::Null | Bson::Undefined => false,
        other => number(other).is_none_or(|n| n != 0.0),
    }
}

/// `fields` with the names of `order` first, in that order, then the rest by name.
fn ordered(mut fields: Document, order: &[&str]) -> Document {
    let mut out = Document::new();
    for name in order {
        if let Some(value) = fields.remove(*name) {
            out.insert(*name, value);
        }
    }
    let mut rest: Vec<(String, Bson)> = fields.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn keys(d: &Document) -> Vec<&str> {
        d.keys().map(String::as_str).collect()
    }

    #[test]
    fn an_index_loses_the_server_bookkeeping_and_its_defaults() {
        let listed = doc! {
            "v": 2, "hidden": false, "key": {"b": 1.0, "a": -1_i64}, "ns": "db.c",
            "name": "b_1_a_-1", "unique": 1, "sparse": false, "background": true,
            "expireAfterSeconds": 3600.0, "collation": {"locale": "fr", "version": "57.1"},
            "2dsphereIndexVersion": 3, "weights": {"t": 1},
        };
        let normal = index(&listed);
        assert_eq!(
            normal,
            doc! {
                "name": "b_1_a_-1", "key": {"b": 1, "a": -1}, "unique": true,
                "expireAfterSeconds": 3600, "collation": {"locale": "fr"}, "weights": {"t": 1},
            }
        );
        assert_eq!(
            keys(&normal),
            [
                "name",
                "key",
                "unique",
                "expireAfterSeconds",
                "collation",
                "weights"
            ]
        );
        // The key pattern's order is meaningful: it stays.
        assert_eq!(keys(normal.get_document("key").unwrap()), ["b", "a"]);
        assert!(matches!(
            normal.get_document("key").unwrap().get("b"),
            Some(Bson::Int32(1))
        ));
    }

    #[test]
    fn a_simple_collation_is_no_collation() {
        let normal = index(&doc! {"name": "a", "key": {"a": 1}, "collation": {"locale": "simple"}});
        assert_eq!(normal, doc! {"name": "a", "key": {"a": 1}});
    }

    #[test]
    fn a_validator_comes_with_its_level_and_action() {
        let normal = options(&doc! {"validator": {"a": {"$exists": true}}});
        assert_eq!(
            normal,
            doc! {"validator": {"a": {"$exists": true}}, "validationLevel": "strict", "validationAction": "error"}
        );
        assert_eq!(options(&doc! {"validator": {}}), doc! {});
        assert_eq!(
            options(&doc! {"validationLevel": "strict", "validationAction": "error"}),
            doc! {}
        );
        assert_eq!(
            options(&doc! {"validationLevel": "moderate"}),
            doc! {"validationLevel": "moderate"}
        );
    }

    #[test]
    fn options_come_in_one_order_with_one_spelling() {
        let listed = doc! {
            "validationAction": "warn", "zzz": 1, "validator": {"x": 1},
            "clusteredIndex": {"v": 2, "key": {"_id": 1.0}, "name": "_id_", "unique": true},
            "expireAfterSeconds": 60_i64, "collation": {"locale": "en", "strength": 2, "version": "57.1"},
            "changeStreamPreAndPostImages": {"enabled": false}, "capped": false, "size": 10,
        };
        let normal = options(&listed);
        assert_eq!(
            normal,
            doc! {
                "expireAfterSeconds": 60,
                "clusteredIndex": {"key": {"_id": 1}, "name": "_id_", "unique": true},
                "collation": {"locale": "en", "strength": 2},
                "validator": {"x": 1}, "validationLevel": "strict", "validationAction": "warn",
                "zzz": 1,
            }
        );
        assert_eq!(
            keys(&normal),
            [
                "expireAfterSeconds",
                "clusteredIndex",
                "collation",
                "validator",
                "validationLevel",
                "validationAction",
                "zzz"
            ]
        );
        assert_eq!(
            options(&doc! {"size": 4096.0, "capped": true, "max": 10_i64}),
            doc! {"capped": true, "size": 4096, "max": 10}
        );
    }

    #[test]
    fn a_time_series_loses_what_its_granularity_implies() {
        let listed = doc! {"timeseries": {"timeField": "t", "granularity": "hours", "bucketMaxSpanSeconds": 2_592_000}};
        assert_eq!(
            options(&listed),
            doc! {"timeseries": {"timeField": "t", "granularity": "hours"}}
        );
        let custom = doc! {"timeseries": {"timeField": "t", "bucketMaxSpanSeconds": 60, "bucketRoundingSeconds": 60}};
        assert_eq!(options(&custom), custom);
    }

    #[test]
    fn whole_numbers_take_the_smallest_type() {
        assert_eq!(whole(&Bson::Double(5.0)), Bson::Int32(5));
        assert_eq!(
            whole(&Bson::Int64(5_000_000_000)),
            Bson::Int64(5_000_000_000)
        );
        assert_eq!(whole(&Bson::Double(1.5)), Bson::Double(1.5));
        assert_eq!(
            whole(&Bson::String("off".into())),
            Bson::String("off".into())
        );
    }
}
