//! `lint` on the command line: its output format (`--json` is `--format json`), and the
//! hand-over to [`crate::commands::lint`], for a single run and for each cluster of a fleet.

use crate::cli::{self, Command};
use crate::commands::{self, Context};
use crate::error::{Error, Result};
use crate::ui::report;

/// `lint`, with its output format: `--json` is `--format json`.
pub(super) fn lint(ctx: Context<'_>, g: &cli::GlobalArgs, command: &Command) -> Result<()> {
    let Command::Lint {
        names,
        since,
        format,
        rules,
    } = command
    else {
        return Ok(());
    };
    let format = match (format, g.json) {
        (cli::LintFormatArg::Github, true) => {
            return Err(Error::Usage {
                message: "`--json` and `--format github` exclude each other".into(),
                hint: Some("give one of them".into()),
            })
        }
        (cli::LintFormatArg::Json, _) | (_, true) => report::LintFormat::Json,
        (cli::LintFormatArg::Github, false) => report::LintFormat::Github,
        (cli::LintFormatArg::Text, false) => report::LintFormat::Text,
    };
    let request = commands::lint::LintRequest {
        names,
        since: since.as_deref(),
        format,
        rules: *rules,
    };
    commands::lint::lint(ctx, request)
}
