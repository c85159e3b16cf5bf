//! The schema of a database, as a value: a canonical snapshot of its collections (kind, options)
//! and their indexes in normal form ([`snapshot`], [`normal`]), the comparison of two snapshots
//! ([`compare`]), and the command that reconciles each difference ([`reconcile`]).
//!
//! `migo snapshot` prints a snapshot, `migo drift` compares the database with a replay of its
//! applied migrations, `migo squash` turns a replay's snapshot into a checkpoint's commands.
//! Nothing here runs a migration: this module only reads catalogs (through [`crate::store`]) and
//! computes.

pub(crate) mod compare;
pub(crate) mod normal;
pub(crate) mod reconcile;
pub(crate) mod snapshot;

pub(crate) use compare::{compare, Change, Comparison, Difference};
pub(crate) use snapshot::Snapshot;
