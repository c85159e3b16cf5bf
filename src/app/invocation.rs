//! The per-run options and the settings, from flags and `MIGO_*` variables.

use std::time::Duration;

use crate::cli::{Command, GlobalArgs, PhaseArg};
use crate::commands::Invocation;
use crate::config::{variables, Settings, Sources};
use crate::error::{Error, Result};
use crate::extensions::Extensions;
use crate::ground::Phase;

/// The per-run options: the redacted command line, confirmations, the wait for the lock.
pub(super) fn invocation(
    g: &GlobalArgs,
    command: &Command,
    words: &[String],
) -> Result<Invocation> {
    let wait = match g.wait {
        Some(secs) => Some(secs),
        None => match variables::text("MIGO_WAIT")? {
            Some(text) => {
                let secs = variables::number("MIGO_WAIT", &text)?;
                let secs = u64::try_from(secs)
                    .ok()
                    .filter(|s| *s <= 86_400)
                    .ok_or_else(|| Error::Config {
                        location: "MIGO_WAIT".into(),
                        message: format!("{secs} is out of range: from 0 to 86400 seconds"),
                        hint: Some("set MIGO_WAIT to the seconds to wait for a held lock".into()),
                    })?;
                Some(secs)
            }
            None => None,
        },
    };
    let shown: Vec<String> = words
        .iter()
        .map(|w| crate::ground::escape::escape(&crate::ground::secret::redact_text(w)))
        .collect();
    Ok(Invocation {
        command_line: format!("migo {}", shown.join(" ")).trim_end().to_string(),
        dry_run: g.dry_run,
        yes: g.yes,
        wait: wait.map(Duration::from_secs),
        remote_origin: g.remote_origin.clone(),
        phase: match command {
            Command::Execute {
                phase: Some(phase), ..
            } => Some(match phase {
                PhaseArg::BeforeDeploy => Phase::BeforeDeploy,
                PhaseArg::AfterDeploy => Phase::AfterDeploy,
            }),
            _ => None,
        },
        require_no_drift: false,
        force: false,
    })
}

/// A compiled extra may not take a built-in subcommand's name.
pub(super) fn check_extras(builtins: &[(String, String)], extensions: &Extensions) -> Result<()> {
    match extensions
        .extras
        .iter()
        .find(|e| builtins.iter().any(|(name, _)| name == e.name()))
    {
        Some(extra) => Err(Error::Usage {
            message: format!(
                "the compiled extra `{0}` would shadow the built-in subcommand `{0}`",
                extra.name()
            ),
            hint: Some("rename the extra in the binary's source".into()),
        }),
        None => Ok(()),
    }
}

/// The settings from the flags, `MIGO_*` variables and migo.toml. A task may take neither a
/// built-in's name nor a compiled extra's.
pub(super) fn load_settings(
    g: &GlobalArgs,
    builtins: &[(String, String)],
    extensions: &Extensions,
    offline: bool,
) -> Result<Settings> {
    let reserved: Vec<&str> = builtins
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(extensions.extras.iter().map(|e| e.name()))
        .collect();
    let mut overrides = variables::overrides()?;
    overrides.extend(g.overrides());
    let sources = Sources {
        config: match &g.config {
            Some(path) => Some(path.clone()),
            None => variables::text("MIGO_CONFIG")?.map(Into::into),
        },
        environment: match &g.environment {
            Some(env) => Some(env.clone()),
            None => variables::text("MIGO_ENV")?,
        },
        overrides,
        offline,
    };
    let settings = Settings::load(&sources, &reserved)?;
    crate::lint::check_settings(&settings.lint)?;
    Ok(settings)
}
