//! Which way a migration runs (`up`, `down`) and when (before or after the deploy).

use serde::{Deserialize, Serialize};

/// Which half of a migration to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Direction {
    #[default]
    Up,
    Down,
}

impl Direction {
    /// `up` or `down`, as in the file formats.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// When a migration runs in a zero-downtime deploy: schema steps the new code needs go before
/// it, backfills and clean-ups the old code must not see go after (`"phase": "after_deploy"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    #[default]
    BeforeDeploy,
    AfterDeploy,
}
