//! What `lint` reports, in three forms of one report: text (`file:line: severity[rule] what:
//! why` and its fix), `--json`, and `--format github` (workflow commands, `::error
//! file=…,line=…::…`, which GitHub Actions shows on the pull request's lines).

use serde::Serialize;

use super::{print_json, table};
use crate::config::lint::{LintSettings, Severity};
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::lint::rule::Rule;
use crate::lint::{Allowed, Finding, Report};

/// How `lint` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LintFormat {
    Text,
    Json,
    Github,
}

/// `lint`'s report (also part of `check`'s); `path` shows a finding's file as the reader needs it (relative to the
/// working directory, or to the repository for GitHub).
#[derive(Debug, Serialize)]
pub(crate) struct LintView<'a> {
    pub(crate) ok: bool,
    linted: usize,
    errors: usize,
    warnings: usize,
    pub(crate) findings: Vec<FindingView<'a>>,
    allowed: Vec<AllowedView<'a>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FindingView<'a> {
    rule: &'static str,
    severity: &'static str,
    migration: &'a str,
    file: String,
    line: Option<usize>,
    message: &'a str,
    fix: &'static str,
}

#[derive(Debug, Serialize)]
struct AllowedView<'a> {
    rule: &'static str,
    migration: &'a str,
    line: Option<usize>,
    reason: &'a str,
}

impl<'a> LintView<'a> {
    pub(crate) fn of(report: &'a Report, path: &dyn Fn(&Finding) -> String) -> LintView<'a> {
        LintView {
            ok: report.count(Severity::Error) == 0,
            linted: report.linted.len(),
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            findings: report
                .findings
                .iter()
                .map(|f| FindingView {
                    rule: f.rule.id(),
                    severity: f.severity.as_str(),
                    migration: &f.migration,
                    file: path(f),
                    line: f.line,
                    message: &f.message,
                    fix: f.fix,
                })
                .collect(),
            allowed: report.allowed.iter().map(AllowedView::of).collect(),
        }
    }
}

impl<'a> AllowedView<'a> {
    fn of(a: &'a Allowed) -> AllowedView<'a> {
        AllowedView {
            rule: a.rule.id(),
            migration: &a.migration,
            line: a.line,
            reason: &a.reason,
        }
    }
}

/// The findings, as `format` says.
pub(crate) fn lint(
    out: &Output,
    report: &Report,
    format: LintFormat,
    path: &dyn Fn(&Finding) -> String,
) {
    let view = LintView::of(report, path);
    match format {
        LintFormat::Json => print_json(out, &view),
        LintFormat::Github => {
            for f in &view.findings {
                let level = match f.severity {
                    "error" => "error",
                    _ => "warning",
                };
                out.print(&format!(
                    "::{level} file={},line={},title={}::{}",
                    github_property(&f.file),
                    f.line.unwrap_or(1),
                    github_property(&format!("migo lint {}", f.rule)),
                    github_data(&format!("{} (fix: {})", f.message, f.fix)),
                ));
            }
            out.print(&summary(&view));
        }
        LintFormat::Text => {
            findings(out, &view);
            for a in &view.allowed {
                out.print(&format!(
                    "allowed: {} {} ({})",
                    escape(a.migration),
                    a.rule,
                    escape(a.reason)
                ));
            }
            out.print(&summary(&view));
        }
    }
}

/// Each finding on a line (`file:line: severity[rule] what: why`), its fix on the next.
pub(crate) fn findings(out: &Output, view: &LintView<'_>) {
    for f in &view.findings {
        let place = match f.line {
            Some(line) => format!("{}:{line}", escape(&f.file)),
            None => escape(&f.file),
        };
        out.print(&format!(
            "{place}: {}[{}] {}",
            f.severity, f.rule, f.message
        ));
        out.print(&format!("  fix: {}", f.fix));
    }
}

/// `lint: 2 errors, 1 warning (1 allowed) in 5 migrations`, or `lint: no findings in …`.
pub(crate) fn summary(view: &LintView<'_>) -> String {
    let noun = if view.linted == 1 {
        "migration"
    } else {
        "migrations"
    };
    let allowed = match view.allowed.len() {
        0 => String::new(),
        n => format!(" ({n} allowed)"),
    };
    if view.findings.is_empty() {
        return format!("lint: no findings{allowed} in {} {noun}", view.linted);
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "lint: {}, {}{allowed} in {} {noun}",
        plural(view.errors, "error"),
        plural(view.warnings, "warning"),
        view.linted
    )
}

/// `lint --rules`: every rule, its severity here and its reason.
pub(crate) fn rules(out: &Output, settings: &LintSettings) {
    #[derive(Serialize)]
    struct RuleView {
        rule: &'static str,
        severity: &'static str,
        default: &'static str,
        reason: &'static str,
        fix: &'static str,
    }
    let views: Vec<RuleView> = Rule::ALL
        .iter()
        .map(|r| RuleView {
            rule: r.id(),
            severity: settings
                .severity(r.id())
                .unwrap_or_else(|| r.default_severity())
                .as_str(),
            default: r.default_severity().as_str(),
            reason: r.reason(),
            fix: r.fix(),
        })
        .collect();
    if out.json {
        return print_json(out, &views);
    }
    let rows = views
        .iter()
        .map(|v| {
            (
                [
                    v.rule.to_string(),
                    v.severity.to_string(),
                    v.reason.to_string(),
                ],
                anstyle::Style::new(),
            )
        })
        .collect();
    table(out, &["RULE", "SEVERITY", "WHY"], rows);
}

/// A workflow command's data: `%`, CR and LF escaped.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: its data escapes, and `:` and `,`.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_escape_their_separators() {
        assert_eq!(github_property("a,b:c%d\ne"), "a%2Cb%3Ac%25d%0Ae");
        assert_eq!(github_data("50% of a:b,\r\n"), "50%25 of a:b,%0D%0A");
    }
}
