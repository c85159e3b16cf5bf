//! The two safety policies of `[migrations]`: what `execute` does when an applied migration's
//! file changed, and when a pending migration is numbered below one already applied.

use serde::Deserialize;

/// `on_modified`: an applied migration's file no longer matches its recorded checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnModified {
    /// `execute` refuses until the file is restored or the change accepted (`migo accept`).
    #[default]
    Error,
    /// `execute` runs, with a warning per modified migration.
    Warn,
}

/// `out_of_order`: a pending migration numbered below the newest applied one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OutOfOrder {
    /// Run it, with a warning.
    #[default]
    Warn,
    /// Run it silently (`list` still marks it).
    Allow,
    /// Refuse to run it.
    Error,
}

/// Both policies, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Policies {
    pub(crate) on_modified: OnModified,
    pub(crate) out_of_order: OutOfOrder,
}
