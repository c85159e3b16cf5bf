//! Walking a plan: executing its steps with their registry writes, showing progress, and
//! `migo test`'s up → down → up trial on a scratch database.

pub(crate) mod backfill;
pub(crate) mod context;
pub(crate) mod execute;
pub(crate) mod progress;
pub(crate) mod signals;
mod transaction;
pub(crate) mod trial;

#[cfg(test)]
mod tests;
