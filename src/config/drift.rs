//! `[drift]`: what `migo drift` sets aside when it compares a database with its migrations.

use regex::Regex;

use super::layers::Origins;
use super::{regex_problem, schema, DriftSettings};
use crate::error::Result;

/// `[drift]`, resolved: each `ignore` pattern compiled, a bad one named where it was written.
pub(super) fn resolve(d: &schema::Drift, origins: &Origins<'_>) -> Result<DriftSettings> {
    let Some(patterns) = &d.ignore else {
        return Ok(DriftSettings::default());
    };
    let ignore = patterns
        .get_ref()
        .iter()
        .map(|pattern| {
            Regex::new(pattern).map_err(|e| {
                origins.error(
                    &patterns.span(),
                    format!(
                        "`[drift] ignore` {pattern:?} is not a valid regex: {}",
                        regex_problem(&e)
                    ),
                    "give Rust regexes matched against collection names, e.g. [\"^sessions$\", \"^cache_\"]",
                )
            })
        })
        .collect::<Result<Vec<Regex>>>()?;
    Ok(DriftSettings { ignore })
}
