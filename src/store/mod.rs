//! Everything migo keeps in the database: the connection, the registry of migrations, the lease
//! lock, the audit log and the catalog reads, with every collection name in one place.

pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod connection;
pub(crate) mod lock;
pub(crate) mod registry;
