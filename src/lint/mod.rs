//! `migo lint`, offline: the migrations read as operations ([`crate::migration::operation`]),
//! the rules of the table ([`rule`]) checked over them ([`rules`]), each finding given its
//! severity (`[lint]` in migo.toml, else the rule's default) and dropped when the file exempts
//! itself with a reason ([`suppress`]), and placed on the line of the offending command
//! ([`locate`]).
//!
//! Every migration is read, so that the rules spanning migrations (a backfill after a strict
//! validator, a hide before a drop) see them all; only the selected ones are reported.

pub(crate) mod locate;
pub(crate) mod rule;
pub(crate) mod rules;
pub(crate) mod suppress;

use std::path::PathBuf;

use crate::config::lint::{LintSettings, Severity};
use crate::error::{Error, Result};
use crate::ground::source::Source;
use crate::migration::json::JsonMigration;
use crate::migration::operation::{self, Operations};
use crate::migration::recognize::{self, Syntax};
use locate::Lines;
use rule::Rule;
use suppress::Allow;

/// One finding, as every output shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) rule: Rule,
    pub(crate) severity: Severity,
    /// The migration's name (`0004_unique_email`).
    pub(crate) migration: String,
    pub(crate) path: PathBuf,
    /// The line of the offending command (or exemption); `None`: the file as a whole.
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
    pub(crate) fix: &'static str,
}

/// A finding a file exempted itself from, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allowed {
    pub(crate) rule: Rule,
    pub(crate) migration: String,
    pub(crate) line: Option<usize>,
    pub(crate) reason: String,
}

/// What `lint` found in the selected migrations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    /// The migrations linted, in order.
    pub(crate) linted: Vec<String>,
    /// Ordered by migration, then line.
    pub(crate) findings: Vec<Finding>,
    pub(crate) allowed: Vec<Allowed>,
}

impl Report {
    /// How many findings have `severity`.
    pub(crate) fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The error that fails `lint` (and `check`) when a finding is an error.
    pub(crate) fn verdict(&self) -> Result<()> {
        let errors = self.count(Severity::Error);
        if errors == 0 {
            return Ok(());
        }
        let mut migrations: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.migration.as_str())
            .collect();
        migrations.dedup();
        Err(Error::LintFailed {
            errors,
            migrations: migrations.into_iter().map(String::from).collect(),
        })
    }
}

/// A migration read for linting.
#[derive(Debug)]
struct Read {
    ops: Operations,
    lines: Option<Lines>,
    allows: Vec<Allow>,
}

/// What to do with a selected file migo cannot read (not UTF-8, malformed JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Stop with its error (exit 4): `lint`.
    Fail,
    /// Leave it out: `check`, which reports it in its own way (invalid, pending).
    Skip,
}

/// Lints the migrations of `sources` for which `selected` says yes (all of `sources` are read
/// for context); `release` is the index in `sources` where the release under review starts
/// (`--since`), when given.
pub(crate) fn lint(
    sources: &[Source],
    selected: &[bool],
    release: Option<usize>,
    settings: &LintSettings,
    unreadable: Unreadable,
) -> Result<Report> {
    let mut selected = selected.to_vec();
    let read: Vec<Read> = sources
        .iter()
        .zip(selected.iter_mut())
        .map(|(source, selected)| match read(source) {
            Ok(read) => Ok(read),
            // A file migo cannot read is an error only where it is linted.
            Err(e) if *selected && unreadable == Unreadable::Fail => Err(e),
            Err(_) => {
                *selected = false;
                Ok(Read {
                    ops: Operations::opaque(),
                    lines: None,
                    allows: Vec::new(),
                })
            }
        })
        .collect::<Result<_>>()?;
    let subjects: Vec<rules::Subject<'_>> = sources
        .iter()
        .zip(&read)
        .map(|(source, r)| rules::Subject {
            name: &source.name,
            ops: &r.ops,
            lines: r.lines.as_ref(),
        })
        .collect();
    let mut report = Report::default();
    for (at, source) in sources.iter().enumerate() {
        if !selected[at] || source.is_compiled() {
            continue;
        }
        report.linted.push(source.name.clone());
        let (allows, mut bad) = exemptions(&read[at].allows);
        for hit in rules::check(&subjects, at, release)
            .into_iter()
            .chain(bad.drain(..))
        {
            let severity = settings
                .severity(hit.rule.id())
                .unwrap_or_else(|| hit.rule.default_severity());
            if severity == Severity::Off {
                continue;
            }
            let exemption = (hit.rule != Rule::LintAllow)
                .then(|| allows.iter().find(|(rule, _)| *rule == hit.rule))
                .flatten();
            if let Some((_, allow)) = exemption {
                report.allowed.push(Allowed {
                    rule: hit.rule,
                    migration: source.name.clone(),
                    line: hit.line,
                    reason: allow.reason.clone(),
                });
                continue;
            }
            report.findings.push(Finding {
                rule: hit.rule,
                severity,
                migration: source.name.clone(),
                path: source.path.clone(),
                line: hit.line,
                message: hit.message,
                fix: hit.rule.fix(),
            });
        }
    }
    report
        .findings
        .sort_by_key(|f| (sources.iter().position(|s| s.name == f.migration), f.line));
    Ok(report)
}

/// The valid exemptions (a known rule and a reason), and a `lint-allow` finding for each other.
fn exemptions(allows: &[Allow]) -> (Vec<(Rule, &Allow)>, Vec<rules::Hit>) {
    let mut valid = Vec::new();
    let mut bad = Vec::new();
    for allow in allows {
        let problem = match Rule::from_id(&allow.rule) {
            None if allow.rule.is_empty() => "an exemption names no rule".to_string(),
            None => {
                let known: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
                let guess = crate::ground::words::closest(&allow.rule, &known)
                    .map(|g| format!(" (did you mean `{g}`?)"))
                    .unwrap_or_default();
                format!(
                    "the exemption names `{}`, which is no rule{guess}",
                    crate::ground::escape::escape(&allow.rule)
                )
            }
            Some(rule) if allow.reason.is_empty() => {
                format!("the exemption from `{}` gives no reason", rule.id())
            }
            Some(rule) => {
                valid.push((rule, allow));
                continue;
            }
        };
        bad.push(rules::Hit {
            rule: Rule::LintAllow,
            line: allow.line,
            message: format!("{problem}: {}", Rule::LintAllow.reason()),
        });
    }
    (valid, bad)
}

/// Reads one migration: its operations, where its commands are, its exemptions.
fn read(source: &Source) -> Result<Read> {
    if let Some(problem) = &source.problem {
        return Err(Error::InvalidMigration {
            file: crate::ground::escape::escape(&source.file_name),
            message: problem.clone(),
            hint: Some("save it as UTF-8 text without a byte-order mark".into()),
        });
    }
    if source.is_compiled() {
        return Ok(Read {
            ops: Operations::opaque(),
            lines: None,
            allows: Vec::new(),
        });
    }
    // The bytes discovery read and hashed, never the file again.
    let text = source.text().to_string();
    Ok(match source.extension() {
        "json" => {
            let migration = JsonMigration::load(source)?;
            let lines = locate::lines(&text);
            let allows = suppress::of_json(&migration, lines.key("lint"));
            Read {
                ops: operation::of_json(&migration),
                lines: Some(lines),
                allows,
            }
        }
        "js" => Read {
            ops: recognize::script(&text, Syntax::JavaScript),
            lines: None,
            allows: suppress::of_script(&text),
        },
        "py" => Read {
            ops: recognize::script(&text, Syntax::Python),
            lines: None,
            allows: suppress::of_script(&text),
        },
        _ => Read {
            ops: Operations::opaque(),
            lines: None,
            allows: suppress::of_script(&text),
        },
    })
}

/// Refuses a `[lint]` that names a rule that does not exist, naming where it was written.
pub(crate) fn check_settings(settings: &LintSettings) -> Result<()> {
    let known: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
    match settings
        .severities
        .iter()
        .find(|s| Rule::from_id(&s.rule).is_none())
    {
        None => Ok(()),
        Some(unknown) => {
            let guess = crate::ground::words::closest(&unknown.rule, &known)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            Err(Error::Config {
                location: unknown.location.clone(),
                message: format!(
                    "`[lint]` names `{}`, which is no lint rule",
                    crate::ground::escape::escape(&unknown.rule)
                ),
                hint: Some(format!(
                    "{guess}`migo lint --rules` lists the rules (docs/lint.md explains each)"
                )),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, Sources};

    #[test]
    fn the_reference_config_names_only_known_rules() {
        std::env::set_var("MIGO_REFERENCE_PASSWORD", "reference");
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migo.reference.toml");
        let sources = Sources {
            config: Some(path),
            ..Sources::default()
        };
        let settings = Settings::load(&sources, &["list"]).unwrap();
        assert!(!settings.lint.severities.is_empty());
        check_settings(&settings.lint).unwrap();
    }

    #[test]
    fn docs_lint_md_explains_every_rule() {
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint.md"),
        )
        .unwrap();
        for rule in Rule::ALL {
            let row = format!("| `{}` | {} |", rule.id(), rule.default_severity().as_str());
            assert!(page.contains(&row), "docs/lint.md lacks the row {row}");
            assert!(
                page.contains(&format!("### `{}`", rule.id()))
                    || page.contains(&format!("`{}`, `", rule.id()))
                    || page.contains(&format!(", `{}`", rule.id())),
                "docs/lint.md has no section for `{}`",
                rule.id()
            );
        }
    }
}
