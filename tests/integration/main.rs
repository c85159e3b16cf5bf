//! Integration tests: the real `migo` binary against a real MongoDB-wire server (SecantusDB, or
//! any server named by `MIGO_TEST_URI`), one database per test.

mod auth;
mod authoring;
mod backfill_code;
mod backfills;
mod backups;
mod bad_input;
mod cargo_make;
mod config;
mod connection;
mod disk;
mod docs;
mod drift;
mod dry_run;
mod engine;
mod example;
mod execute;
mod failures;
mod fleet;
mod fleet_breaks;
mod hints;
mod history;
mod hostile;
mod init;
mod interpreters;
mod json_shapes;
mod layers;
mod lint;
mod lock;
mod manifests;
mod other_tools;
mod output;
mod pipes;
mod policies;
mod preflight;
mod processes;
mod ranges;
mod remote;
mod restore_stops;
mod round_trips;
mod scripts;
mod secrets;
mod server;
mod snapshot;
mod sources;
mod squash;
mod sshd;
mod stops;
mod target;
mod tasks;
mod test;
mod tools;
mod way_out;

/// A migration that appends `n` to `order` in the `log` document, and removes it on `down`.
pub fn push(n: u32) -> String {
    format!(
        r#"{{"description": "push {n}",
  "up": [{{"update": "log", "updates": [{{"q": {{"_id": "order"}}, "u": {{"$push": {{"order": {n}}}}}, "upsert": true}}]}}],
  "down": [{{"update": "log", "updates": [{{"q": {{"_id": "order"}}, "u": {{"$pull": {{"order": {n}}}}}}}]}}]}}"#
    )
}

/// A migration that inserts `{_id: id}` into `items`, and deletes it on `down`.
pub fn insert(id: &str) -> String {
    format!(
        r#"{{"up": [{{"insert": "items", "documents": [{{"_id": "{id}"}}]}}],
  "down": [{{"delete": "items", "deletes": [{{"q": {{"_id": "{id}"}}, "limit": 1}}]}}]}}"#
    )
}

/// The `order` array written by [`push`] migrations.
pub fn order(t: &test::Test) -> Vec<i32> {
    t.docs("log")
        .first()
        .map(|d| {
            d.get_array("order")
                .unwrap()
                .iter()
                .map(|n| n.as_i32().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// SHA-256 of a file, hex.
pub fn sha256(path: &std::path::Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
