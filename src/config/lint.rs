//! `[lint]`: the severity of each lint rule, by its id (`empty-filter = "error"`), each value
//! keeping where it was written, so that `lint` can name the place of an id it does not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::layers::Origins;

/// How much a lint finding weighs: an error fails `lint` and `check` (exit 8), a warning is
/// shown, `off` drops the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
    Off,
}

impl Severity {
    /// `error`, `warning`, `off`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Off => "off",
        }
    }
}

/// `[lint]`, resolved: the severities the configuration sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LintSettings {
    pub(crate) severities: Vec<RuleSeverity>,
}

/// One `rule = "severity"` of `[lint]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleSeverity {
    pub(crate) rule: String,
    pub(crate) severity: Severity,
    /// Where it was written: `migo.toml:12:1`.
    pub(crate) location: String,
}

impl LintSettings {
    /// The severity the configuration gives `rule`, if it does.
    pub(crate) fn severity(&self, rule: &str) -> Option<Severity> {
        self.severities
            .iter()
            .find(|s| s.rule == rule)
            .map(|s| s.severity)
    }
}

/// `[lint]`, resolved.
pub(super) fn resolve(
    lint: &BTreeMap<String, Spanned<Severity>>,
    origins: &Origins<'_>,
) -> LintSettings {
    LintSettings {
        severities: lint
            .iter()
            .map(|(rule, severity)| RuleSeverity {
                rule: rule.clone(),
                severity: *severity.get_ref(),
                location: origins.of(&severity.span()).label,
            })
            .collect(),
    }
}
