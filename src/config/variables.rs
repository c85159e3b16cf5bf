//! The `MIGO_*` environment variables: the layer between the file and the flags. Each variable
//! is read here, by migo, not by clap, so that a bad value is reported as the variable's
//! (`MIGO_PORT: "abc" is not a whole number`) and never as a flag's.

use std::ffi::OsString;

use super::layers::{LayerKind, Override, Scalar};
use crate::error::{Error, Result};

/// How a variable's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
}

/// Every variable that sets a configuration key, with the key it sets.
const VARIABLES: &[(&str, &str, Kind)] = &[
    ("MIGO_URI", "mongo.uri", Kind::Text),
    ("MIGO_HOST", "mongo.host", Kind::Text),
    ("MIGO_PORT", "mongo.port", Kind::Number),
    ("MIGO_DATABASE", "mongo.database", Kind::Text),
    ("MIGO_USER", "mongo.user", Kind::Text),
    ("MIGO_PASSWORD", "mongo.password", Kind::Text),
    ("MIGO_AUTH_SOURCE", "mongo.auth_source", Kind::Text),
    ("MIGO_TIMEOUT", "mongo.timeout_secs", Kind::Number),
    ("MIGO_DIRECTORY", "migrations.directory", Kind::Text),
    ("MIGO_PATTERN", "migrations.pattern", Kind::Text),
    ("MIGO_COLLECTION", "migrations.collection", Kind::Text),
    (
        "MIGO_LOCK_LEASE_SECS",
        "migrations.lock_lease_secs",
        Kind::Number,
    ),
    ("MIGO_MONGOSH", "migrations.mongosh", Kind::Text),
    ("MIGO_ON_MODIFIED", "migrations.on_modified", Kind::Text),
    ("MIGO_OUT_OF_ORDER", "migrations.out_of_order", Kind::Text),
    (
        "MIGO_BACKFILL_BATCH_SIZE",
        "backfill.batch_size",
        Kind::Number,
    ),
    (
        "MIGO_BACKFILL_MAX_LAG_SECS",
        "backfill.max_lag_secs",
        Kind::Number,
    ),
    (
        "MIGO_BACKFILL_TARGET_BATCH_MS",
        "backfill.target_batch_ms",
        Kind::Number,
    ),
    ("MIGO_BACKFILL_MAX_RATE", "backfill.max_rate", Kind::Number),
    (
        "MIGO_BACKFILL_PAUSE_WHEN",
        "backfill.pause_when",
        Kind::Text,
    ),
];

/// The configuration overrides set in the environment. An empty variable counts as unset.
pub(crate) fn overrides() -> Result<Vec<Override>> {
    let mut found = Vec::new();
    for &(name, key, kind) in VARIABLES {
        let Some(text) = text(name)? else { continue };
        let value = match kind {
            Kind::Text => Scalar::Str(text),
            Kind::Number => Scalar::Int(number(name, &text)?),
        };
        found.push(Override {
            key,
            value,
            label: name.to_string(),
            layer: LayerKind::Variable,
        });
    }
    Ok(found)
}

/// A variable's value; `None` when unset or empty, an error when it is not UTF-8.
pub(crate) fn text(name: &str) -> Result<Option<String>> {
    match std::env::var_os(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(Some)
            .map_err(|raw: OsString| Error::Config {
                location: name.to_string(),
                message: format!("{:?} is not valid UTF-8", raw.to_string_lossy()),
                hint: Some(format!("set {name} to plain text, or unset it")),
            }),
    }
}

/// A whole number, or an error naming the variable.
pub(crate) fn number(name: &str, text: &str) -> Result<i64> {
    text.trim().parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "is out of range"
            }
            _ => "is not a whole number",
        };
        Error::Config {
            location: name.to_string(),
            message: format!("{} {why}", crate::ground::escape::quoted(text)),
            hint: Some(format!("set {name} to a number, or unset it")),
        }
    })
}
