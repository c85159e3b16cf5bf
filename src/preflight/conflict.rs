//! Whether an index a migration builds clashes with one the collection has: the same name over
//! another key or other options, or the same key under another name. The server refuses both
//! (IndexOptionsConflict, IndexKeySpecsConflict), after a deploy has started; an identical index
//! makes the build a no-op.

use mongodb::bson::{Bson, Document};

use crate::migration::operation::{default_name, truthy, IndexSpec};

/// The options that make two indexes over one key different indexes.
const OPTIONS: &[&str] = &[
    "unique",
    "sparse",
    "partialFilterExpression",
    "expireAfterSeconds",
    "collation",
    "hidden",
    "wildcardProjection",
];

/// How a wanted index meets the existing ones.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Clash {
    /// An identical index exists: the build does nothing.
    Identical { name: String },
    /// An index of that name exists with another key or other options.
    SameName { existing: Document },
    /// An index over that key exists under another name.
    SameKey { existing: Document },
}

/// How `wanted` meets `existing` (the collection's `listIndexes`), if it meets one.
pub(crate) fn compare(wanted: &IndexSpec, existing: &[Document]) -> Option<Clash> {
    let key = wanted.key.as_ref()?;
    let name = wanted.name.clone().unwrap_or_else(|| default_name(key));
    let same_key = |e: &Document| e.get_document("key").is_ok_and(|k| same_values(k, key));
    if let Some(e) = existing
        .iter()
        .find(|e| e.get_str("name") == Ok(name.as_str()))
    {
        return Some(if same_key(e) && same_options(&wanted.spec, e) {
            Clash::Identical { name }
        } else {
            Clash::SameName {
                existing: e.clone(),
            }
        });
    }
    existing
        .iter()
        .find(|e| same_key(e) && same_options(&wanted.spec, e))
        .map(|e| Clash::SameKey {
            existing: e.clone(),
        })
}

/// Whether two index specifications agree on every option that matters (`unique: false` is no
/// `unique`; a collation the server completed agrees with the fields given).
fn same_options(wanted: &Document, existing: &Document) -> bool {
    OPTIONS.iter().all(|option| {
        let (w, e) = (wanted.get(*option), existing.get(*option));
        match *option {
            "unique" | "sparse" | "hidden" => truthy(w) == truthy(e),
            "collation" => match (w, e) {
                (None, None) => true,
                (Some(Bson::Document(w)), Some(Bson::Document(e))) => w
                    .iter()
                    .all(|(k, v)| e.get(k).is_some_and(|x| same_value(v, x))),
                // The simple collation is no collation.
                (Some(Bson::Document(w)), None) | (None, Some(Bson::Document(w))) => {
                    w.get_str("locale") == Ok("simple")
                }
                _ => false,
            },
            _ => match (w, e) {
                (None, None) => true,
                (Some(w), Some(e)) => same_value(w, e),
                _ => false,
            },
        }
    })
}

fn same_values(a: &Document, b: &Document) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}

/// Equal, numbers by value (`1`, `1.0` and `NumberLong(1)` are one direction).
fn same_value(a: &Bson, b: &Bson) -> bool {
    let number = |v: &Bson| match v {
        Bson::Int32(n) => Some(f64::from(*n)),
        Bson::Int64(n) => Some(*n as f64),
        Bson::Double(n) => Some(*n),
        _ => None,
    };
    match (a, b, number(a), number(b)) {
        (_, _, Some(x), Some(y)) => x == y,
        (Bson::Document(x), Bson::Document(y), _, _) => same_values(x, y),
        (Bson::Array(x), Bson::Array(y), _, _) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn spec(d: Document) -> IndexSpec {
        IndexSpec::of(d)
    }

    #[test]
    fn names_keys_and_options() {
        let existing = vec![
            doc! {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            doc! {"v": 2, "key": {"email": 1}, "name": "email_1", "unique": true},
            doc! {"v": 2, "key": {"n": 1}, "name": "nn", "collation": {"locale": "en", "strength": 2, "caseLevel": false}},
        ];
        let identical = spec(doc! {"key": {"email": 1_i64}, "name": "email_1", "unique": true});
        assert_eq!(
            compare(&identical, &existing),
            Some(Clash::Identical {
                name: "email_1".into()
            })
        );
        let not_unique = spec(doc! {"key": {"email": 1}, "name": "email_1"});
        assert!(matches!(
            compare(&not_unique, &existing),
            Some(Clash::SameName { .. })
        ));
        let other_key = spec(doc! {"key": {"email": -1}, "name": "email_1", "unique": true});
        assert!(matches!(
            compare(&other_key, &existing),
            Some(Clash::SameName { .. })
        ));
        let renamed = spec(doc! {"key": {"email": 1}, "name": "by_email", "unique": true});
        assert!(matches!(
            compare(&renamed, &existing),
            Some(Clash::SameKey { .. })
        ));
        let unnamed = spec(doc! {"key": {"email": 1}, "unique": true});
        assert!(matches!(
            compare(&unnamed, &existing),
            Some(Clash::Identical { .. })
        ));
        let collated = spec(
            doc! {"key": {"n": 1}, "name": "nn", "collation": {"locale": "en", "strength": 2}},
        );
        assert!(matches!(
            compare(&collated, &existing),
            Some(Clash::Identical { .. })
        ));
        let fresh = spec(doc! {"key": {"at": 1}, "name": "at_1"});
        assert_eq!(compare(&fresh, &existing), None);
    }
}
