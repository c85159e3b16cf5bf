//! `[backfill]`: the pace of backfills that do not set their own (a batch size, and the bounds
//! each batch waits for), per environment like every other section.

use std::time::Duration;

use super::layers::Origins;
use super::{schema, BackfillSettings};
use crate::error::Result;
use crate::migration::backfill::{Pace, BATCH_RANGE};

/// `[backfill]`, resolved; a value out of range names where it was written.
pub(super) fn resolve(b: &schema::Backfill, origins: &Origins<'_>) -> Result<BackfillSettings> {
    if let Some(size) = b
        .batch_size
        .as_ref()
        .filter(|s| !BATCH_RANGE.contains(s.get_ref()))
    {
        return Err(origins.error(
            &size.span(),
            format!(
                "`[backfill] batch_size` = {} is out of range: from {} to {}",
                size.get_ref(),
                BATCH_RANGE.start(),
                BATCH_RANGE.end()
            ),
            "a batch is one server-side update: a few thousand documents is typical",
        ));
    }
    let positive =
        |value: &Option<toml::Spanned<schema::Number>>, key: &str| -> Result<Option<f64>> {
            let Some(v) = value else { return Ok(None) };
            let n = v.get_ref().get();
            match n.is_finite() && n > 0.0 {
                true => Ok(Some(n)),
                false => Err(origins.error(
                    &v.span(),
                    format!("`[backfill] {key}` = {n} must be a positive number"),
                    "leave it out for no bound",
                )),
            }
        };
    Ok(BackfillSettings {
        batch_size: b.batch_size.as_ref().map(|s| *s.get_ref()),
        pace: Pace {
            max_lag: positive(&b.max_lag_secs, "max_lag_secs")?.map(Duration::from_secs_f64),
            target_batch: b
                .target_batch_ms
                .as_ref()
                .map(|ms| Duration::from_millis(*ms.get_ref())),
            max_rate: positive(&b.max_rate, "max_rate")?,
            pause_when: b.pause_when.as_ref().map(|c| c.get_ref().clone()),
        },
    })
}
