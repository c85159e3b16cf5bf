//! Walking a plan: executing its steps with their registry writes, showing progress, `migo
//! test`'s up → down → up trial on a scratch database, and the replays of `drift`, `snapshot`
//! and `squash` on scratch databases.

pub(crate) mod backfill;
mod commit;
pub(crate) mod context;
pub(crate) mod execute;
pub(crate) mod progress;
pub(crate) mod replay;
pub(crate) mod signals;
mod transaction;
pub(crate) mod trial;

#[cfg(test)]
mod tests;
