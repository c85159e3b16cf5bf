//! `lint [NAME…] [--since NAME] [--format text|json|github] [--rules]`: the migration files
//! checked against the rules, offline (no server, no lock); exit 8 when a finding is an error.

use std::path::{Path, PathBuf};

use super::Context;
use crate::error::{Error, Result};
use crate::ground::refusal::Refusal;
use crate::ground::source::Source;
use crate::lint::{self, Finding, Report};
use crate::ui::report::{self, LintFormat};

/// What to lint and how to show it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LintRequest<'a> {
    /// Only these migrations (all when empty).
    pub(crate) names: &'a [String],
    /// Only the migrations numbered after this one: the release under review.
    pub(crate) since: Option<&'a str>,
    pub(crate) format: LintFormat,
    /// List the rules instead.
    pub(crate) rules: bool,
}

/// `lint`.
pub(crate) fn lint(ctx: Context<'_>, request: LintRequest<'_>) -> Result<()> {
    if request.rules {
        report::lint_rules(ctx.out, &ctx.settings.lint);
        return Ok(());
    }
    let sources = ctx.discover()?;
    let report = run(ctx, &sources, request.names, request.since)?;
    let base = base_directory(request.format);
    report::lint(ctx.out, &report, request.format, &|f: &Finding| {
        display_path(&f.path, base.as_deref())
    });
    report.verdict()
}

/// Lints the selected migrations of `sources`: `names` (all when empty), those after `since`.
pub(crate) fn run(
    ctx: Context<'_>,
    sources: &[Source],
    names: &[String],
    since: Option<&str>,
) -> Result<Report> {
    let find = |name: &str| {
        sources
            .iter()
            .position(|s| s.is_called(name))
            .ok_or_else(|| Error::Refused(Refusal::Unknown { name: name.into() }))
    };
    let after = since.map(find).transpose()?;
    let mut selected: Vec<bool> = sources
        .iter()
        .enumerate()
        .map(|(i, _)| after.is_none_or(|a| i > a))
        .collect();
    if !names.is_empty() {
        let wanted = names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?;
        for (i, keep) in selected.iter_mut().enumerate() {
            *keep = *keep && wanted.contains(&i);
        }
    }
    let release = after.map(|a| a + 1);
    lint::lint(
        sources,
        &selected,
        release,
        &ctx.settings.lint,
        lint::Unreadable::Fail,
    )
}

/// Paths in GitHub annotations are relative to the repository (`GITHUB_WORKSPACE`); elsewhere,
/// to the working directory.
fn base_directory(format: LintFormat) -> Option<PathBuf> {
    let workspace = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty());
    match (format, workspace) {
        (LintFormat::Github, Some(workspace)) => Some(PathBuf::from(workspace)),
        _ => std::env::current_dir().ok(),
    }
}

/// `path` relative to `base` (the working directory when `None`) when it lies under it, else
/// as it is.
pub(crate) fn display_path(path: &Path, base: Option<&Path>) -> String {
    let absolute = match (path.is_absolute(), std::env::current_dir()) {
        (false, Ok(cwd)) => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let base = base
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok());
    let (absolute, base) = (canonical(&absolute), base.as_deref().map(canonical));
    base.and_then(|b| absolute.strip_prefix(b).ok().map(Path::to_path_buf))
        .unwrap_or(absolute)
        .display()
        .to_string()
}
