//! Backups in mongodump's layout: taken natively or by `mongodump`, pruned, and restored.

pub(crate) mod dump;
pub(crate) mod restore;
