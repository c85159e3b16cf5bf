//! What the selected environment asks for before a command runs: a confirmation
//! (`confirm = true`), and running on its remote host instead of here (`remote`).

use crate::cli::{Command, GlobalArgs};
use crate::commands::Invocation;
use crate::config::Settings;
use crate::error::Result;

/// A `confirm = true` environment asks before a change; an environment with a `remote` runs the
/// command there (unless `--local`) and gives its exit code, `None` when it runs here.
pub(super) fn follow_environment(
    settings: &Settings,
    command: &Command,
    g: &GlobalArgs,
    words: &[String],
    invocation: &Invocation,
) -> Result<Option<u8>> {
    let changes = changes_something(command) && !g.dry_run;
    if settings.confirm && changes {
        let env = settings.environment().unwrap_or_default();
        crate::ui::prompt::confirm(
            &format!(
                "`{}` changes the `{env}` environment",
                invocation.command_line
            ),
            g.yes,
        )?;
    }
    let (Some(remote), Some(env), false) = (&settings.remote, settings.environment(), g.local)
    else {
        return Ok(None);
    };
    let mut forwarded = crate::remote::forwarded_arguments(words);
    if settings.confirm && changes {
        forwarded.insert(0, "--yes".into()); // confirmed here; the remote has no terminal
    }
    let me = crate::identity::Identity::current().to_string();
    forwarded.splice(0..0, ["--remote-origin".to_string(), me]);
    crate::remote::run(remote, env, &forwarded).map(Some)
}

/// Whether `command` may change the database (a `confirm = true` environment asks first).
pub(super) fn changes_something(command: &Command) -> bool {
    !matches!(
        command,
        Command::List
            | Command::Check
            | Command::History { .. }
            | Command::Version
            | Command::Help
            | Command::Completions { .. }
            | Command::New { .. }
            | Command::Init { .. }
            | Command::Test { .. }
            | Command::Drift
            | Command::Snapshot { .. }
            | Command::Squash { .. }
            | Command::Lint { .. }
            | Command::Preflight { .. }
    )
}
