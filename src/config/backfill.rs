//! How fast a backfill may go ([`Pace`]: the bounds each batch waits for; the batch sizes
//! allowed), and `[backfill]`: the pace of backfills that do not set their own, per environment
//! like every other section.

use std::time::Duration;

use super::layers::Origins;
use super::{schema, BackfillSettings};
use crate::error::Result;

/// The smallest and largest batch a backfill may use.
pub(crate) const BATCH_RANGE: std::ops::RangeInclusive<u64> = 1..=100_000;

/// The batch size when neither the file nor `[backfill]` gives one.
pub(crate) const DEFAULT_BATCH: u64 = 1_000;

/// How fast a backfill may go: each bound is a wait before a batch, shown with its reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Pace {
    /// No batch starts while a secondary is further behind the primary than this.
    pub(crate) max_lag: Option<Duration>,
    /// The batch size adapts (within [`BATCH_RANGE`], at most ×2 or ÷2 a batch) to keep each
    /// batch's write near this long.
    pub(crate) target_batch: Option<Duration>,
    /// At most this many documents per second, on average.
    pub(crate) max_rate: Option<f64>,
    /// A shell command run before each batch: while it exits 0, wait.
    pub(crate) pause_when: Option<String>,
}

impl Pace {
    /// `self`, with what it leaves unset taken from `defaults` (`[backfill]` in migo.toml).
    pub(crate) fn or(self, defaults: &Pace) -> Pace {
        Pace {
            max_lag: self.max_lag.or(defaults.max_lag),
            target_batch: self.target_batch.or(defaults.target_batch),
            max_rate: self.max_rate.or(defaults.max_rate),
            pause_when: self.pause_when.or_else(|| defaults.pause_when.clone()),
        }
    }
}

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
