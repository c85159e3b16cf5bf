//! User-defined subcommands: `[tasks.<name>]` of migo.toml (a shell command) and extras compiled
//! into a custom binary.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::extensions::Extensions;
use crate::ground::output::Output;
use crate::process::group::Children;
use crate::process::{self, Child, ChildEnv};

/// A compiled extra; `args` is its name and its arguments.
pub(crate) async fn extra(settings: &Settings, app: &Extensions, args: &[String]) -> Result<()> {
    let (name, rest) = args.split_first().expect("clap passes the subcommand name");
    let extra = app.extra(name).expect("dispatched to an existing extra");
    let db = crate::store::connection::connect(&settings.target).await?;
    extra.run(&db, rest).await.map_err(|e| Error::TaskFailed {
        name: name.clone(),
        status: crate::ground::secret::redact_text(&e.to_string()),
    })
}

/// A `[tasks.<name>]` task; `args` is the name and at most one argument. It runs as
/// `sh -c RUN migo-NAME [ARG]` (the argument as `$1` and `MIGO_TASK_ARG`), with the connection
/// in `MIGO_*` variables, never in argv.
pub(crate) async fn task(
    settings: &Settings,
    out: &Output,
    args: &[String],
    builtins: &[(String, String)],
    app: &Extensions,
    children: &Children,
) -> Result<()> {
    let (name, rest) = args.split_first().expect("clap passes the subcommand name");
    let task = settings
        .tasks
        .get(name)
        .ok_or_else(|| unknown(name, builtins, settings, app))?;
    if rest.len() > 1 {
        return Err(Error::Usage {
            message: format!(
                "task `{name}` takes at most one argument, got {}",
                rest.len()
            ),
            hint: Some("quote an argument that contains spaces".into()),
        });
    }
    let mut argv = vec!["-c".to_string(), task.run.clone(), format!("migo-{name}")];
    argv.extend(rest.first().cloned());
    let mut child = Child::new("sh", argv, String::new());
    child.stdout_to_stdout = true;
    child.interactive = true;
    child.extra_env.extend(
        rest.first()
            .map(|a| ("MIGO_TASK_ARG".to_string(), a.clone())),
    );
    tracing::debug!("running task `{name}`: {}", task.run);
    let env = ChildEnv::new(settings, !out.is_quiet(), children.clone());
    process::run(child, &env)
        .await
        .map_err(|failure| Error::TaskFailed {
            name: name.clone(),
            status: failure.status,
        })
}

/// A word that names no subcommand: the likely one, or all of them, in the hint.
fn unknown(
    name: &str,
    builtins: &[(String, String)],
    settings: &Settings,
    app: &Extensions,
) -> Error {
    let builtin: Vec<&str> = builtins.iter().map(|(n, _)| n.as_str()).collect();
    let defined: Vec<&str> = settings
        .tasks
        .keys()
        .map(String::as_str)
        .chain(app.extras.iter().map(|e| e.name()))
        .collect();
    let known: Vec<&str> = builtin.iter().chain(&defined).copied().collect();
    let hint = match crate::ground::words::closest(name, &known) {
        Some(meant) => format!("did you mean `{meant}`?"),
        None if defined.is_empty() => format!(
            "the subcommands are {}; `migo help` says what each does",
            builtin.join(", ")
        ),
        None => format!(
            "the subcommands are {}, and the tasks {}; `migo help` says what each does",
            builtin.join(", "),
            defined.join(", ")
        ),
    };
    Error::Usage {
        message: format!(
            "unknown subcommand `{}`",
            crate::ground::escape::escape(name)
        ),
        hint: Some(hint),
    }
}
