//! A database's schema as one value: its collections (and views) by name, each with its kind,
//! its options and its indexes by name, all in normal form ([`super::normal`]). Two databases
//! with the same schema give equal snapshots; [`Snapshot::document`] is the canonical document
//! `migo snapshot` prints.
//!
//! The `_id` index is left out (every collection has it; a clustered collection says so in its
//! options), and so are `system.*` collections and whatever the caller says is not the
//! application's (migo's registry and audit log, a restore's temporary collections).

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;

use super::normal;
use crate::error::Result;
use crate::store::catalog;

/// The version of the snapshot document's shape.
pub(crate) const FORMAT: i32 = 1;

/// How many `listIndexes` are in flight at once while reading a snapshot.
const CONCURRENT_READS: usize = 8;

/// A database's collections, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) collections: Vec<Collection>,
}

/// One collection or view.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Collection {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// Normal form, canonical order.
    pub(crate) options: Document,
    /// By name, without `_id_`.
    pub(crate) indexes: Vec<Index>,
}

/// What a namespace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Collection,
    View,
    Timeseries,
}

impl Kind {
    /// `collection`, `view`, `timeseries`, as `listCollections` says.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Collection => "collection",
            Kind::View => "view",
            Kind::Timeseries => "timeseries",
        }
    }
}

/// One index: its name and its whole specification (`name`, `key`, options) in normal form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Index {
    pub(crate) name: String,
    pub(crate) spec: Document,
}

impl Index {
    /// The index as the server lists it, normalised.
    pub(crate) fn of(listed: &Document) -> Index {
        let spec = normal::index(listed);
        Index {
            name: spec.get_str("name").unwrap_or_default().to_string(),
            spec,
        }
    }

    /// Its specification without the name, as reports show it.
    pub(crate) fn without_name(&self) -> Document {
        let mut spec = self.spec.clone();
        spec.remove("name");
        spec
    }
}

impl Collection {
    /// A collection as `listCollections` lists it, with the indexes `listIndexes` lists.
    pub(crate) fn of(listed: &Document, indexes: &[Document]) -> Collection {
        let options = normal::options(&listed.get_document("options").cloned().unwrap_or_default());
        let kind = match listed.get_str("type") {
            Ok("view") => Kind::View,
            Ok("timeseries") => Kind::Timeseries,
            _ if options.contains_key("timeseries") => Kind::Timeseries,
            _ => Kind::Collection,
        };
        let mut indexes: Vec<Index> = indexes
            .iter()
            .map(Index::of)
            .filter(|i| i.name != "_id_")
            .collect();
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        Collection {
            name: listed.get_str("name").unwrap_or_default().to_string(),
            kind,
            options,
            indexes,
        }
    }

    /// The index called `name`.
    pub(crate) fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// The commands that make it in an empty database: a `create` with its options (none for a
    /// plain collection that has indexes: `createIndexes` creates it), then one `createIndexes`
    /// with every index.
    pub(crate) fn commands(&self) -> Vec<Document> {
        let mut commands = Vec::new();
        if !self.options.is_empty() || self.indexes.is_empty() || self.kind != Kind::Collection {
            let mut create = doc! {"create": &self.name};
            create.extend(self.options.clone());
            commands.push(create);
        }
        if !self.indexes.is_empty() {
            let specs: Vec<Bson> = self
                .indexes
                .iter()
                .map(|i| Bson::Document(i.spec.clone()))
                .collect();
            commands.push(doc! {"createIndexes": &self.name, "indexes": specs});
        }
        commands
    }

    /// The canonical document: `name`, `type`, `options`, `indexes`.
    pub(crate) fn document(&self) -> Document {
        let indexes: Vec<Bson> = self
            .indexes
            .iter()
            .map(|i| Bson::Document(i.spec.clone()))
            .collect();
        doc! {
            "name": &self.name,
            "type": self.kind.as_str(),
            "options": self.options.clone(),
            "indexes": indexes,
        }
    }
}

impl Snapshot {
    /// Reads `db`'s catalog: one `listCollections`, then one `listIndexes` per collection (a few
    /// at a time). `keep` says which collections are the application's (`system.*` never are).
    pub(crate) async fn read(db: &Database, keep: impl Fn(&str) -> bool) -> Result<Snapshot> {
        let listed: Vec<Document> = catalog::collections(db)
            .await?
            .into_iter()
            .filter(|spec| {
                let name = spec.get_str("name").unwrap_or_default();
                !name.starts_with("system.") && keep(name)
            })
            .collect();
        let collections = futures_util::stream::iter(listed)
            .map(|spec| async move {
                let name = spec.get_str("name").unwrap_or_default().to_string();
                let indexes = match spec.get_str("type") {
                    Ok("view") => Vec::new(),
                    _ => catalog::indexes(db, &name).await?,
                };
                Ok::<_, crate::error::Error>(Collection::of(&spec, &indexes))
            })
            .buffered(CONCURRENT_READS)
            .try_collect::<Vec<Collection>>()
            .await?;
        Ok(Snapshot::of(collections))
    }

    /// A snapshot of `collections`, sorted by name.
    pub(crate) fn of(mut collections: Vec<Collection>) -> Snapshot {
        collections.sort_by(|a, b| a.name.cmp(&b.name));
        Snapshot { collections }
    }

    /// The collection called `name`.
    pub(crate) fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// How many indexes it has (besides `_id`).
    pub(crate) fn index_count(&self) -> usize {
        self.collections.iter().map(|c| c.indexes.len()).sum()
    }

    /// The commands that make this schema in an empty database, collection by collection.
    pub(crate) fn commands(&self) -> Vec<Document> {
        self.collections
            .iter()
            .flat_map(Collection::commands)
            .collect()
    }

    /// The canonical document: `{"migo_schema": 1, "collections": [...]}`, collections and
    /// indexes by name, fields in their fixed order.
    pub(crate) fn document(&self) -> Document {
        let collections: Vec<Bson> = self
            .collections
            .iter()
            .map(|c| Bson::Document(c.document()))
            .collect();
        doc! {"migo_schema": FORMAT, "collections": collections}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, options: Document) -> Document {
        doc! {"name": name, "type": "collection", "options": options, "info": {"readOnly": false}, "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}
    }

    #[test]
    fn collections_and_indexes_sort_by_name_without_the_id_index() {
        let users = Collection::of(
            &listed("users", doc! {}),
            &[
                doc! {"v": 2, "key": {"_id": 1}, "name": "_id_"},
                doc! {"v": 2, "key": {"z": 1}, "name": "z_1"},
                doc! {"v": 2, "key": {"a": 1}, "name": "a_1", "unique": true},
            ],
        );
        let apps = Collection::of(&listed("apps", doc! {}), &[]);
        let snapshot = Snapshot::of(vec![users, apps]);
        assert_eq!(
            snapshot.document(),
            doc! {"migo_schema": 1, "collections": [
                {"name": "apps", "type": "collection", "options": {}, "indexes": []},
                {"name": "users", "type": "collection", "options": {}, "indexes": [
                    {"name": "a_1", "key": {"a": 1}, "unique": true},
                    {"name": "z_1", "key": {"z": 1}},
                ]},
            ]}
        );
    }

    #[test]
    fn kinds_come_from_the_type_or_the_options() {
        let view = doc! {"name": "v", "type": "view", "options": {"viewOn": "a", "pipeline": []}};
        assert_eq!(Collection::of(&view, &[]).kind, Kind::View);
        let ts = listed("t", doc! {"timeseries": {"timeField": "at"}});
        assert_eq!(Collection::of(&ts, &[]).kind, Kind::Timeseries);
    }

    #[test]
    fn commands_make_the_collection_in_as_few_round_trips_as_they_can() {
        let plain = Collection::of(&listed("a", doc! {}), &[]);
        assert_eq!(plain.commands(), [doc! {"create": "a"}]);
        let indexed = Collection::of(
            &listed("b", doc! {}),
            &[doc! {"v": 2, "key": {"x": 1}, "name": "x_1"}],
        );
        assert_eq!(
            indexed.commands(),
            [doc! {"createIndexes": "b", "indexes": [{"name": "x_1", "key": {"x": 1}}]}]
        );
        let validated = Collection::of(
            &listed("c", doc! {"validator": {"x": {"$type": "int"}}}),
            &[doc! {"v": 2, "key": {"x": 1}, "name": "x_1"}],
        );
        assert_eq!(
            validated.commands(),
            [
                doc! {"create": "c", "validator": {"x": {"$type": "int"}}, "validationLevel": "strict", "validationAction": "error"},
                doc! {"createIndexes": "c", "indexes": [{"name": "x_1", "key": {"x": 1}}]},
            ]
        );
        let view = doc! {"name": "v", "type": "view", "options": {"viewOn": "a", "pipeline": []}};
        assert_eq!(
            Collection::of(&view, &[]).commands(),
            [doc! {"create": "v", "viewOn": "a", "pipeline": []}]
        );
    }
}
