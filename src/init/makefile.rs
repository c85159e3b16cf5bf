//! The cargo-make wiring `migo init` appends to the project's own `Makefile.toml`: a `migrations`
//! task that forwards its arguments to migo (installing it with cargo-make's `install_crate`
//! when it is missing, from the git URL or directory `init` was given; with neither, the tasks
//! expect migo on PATH and say how to install it), and per environment a Fabric-style prefix task
//! (`cargo make staging migrations …`) and a profile (`cargo make --profile staging …`).
//!
//! Why appended tasks rather than a `migo.makefile.toml` the project `extend`s: the project's
//! Makefile.toml stays the one file to read, cargo-make needs nothing fetched at load time, and
//! each task can be edited in place. Appending keeps every existing line as it was; a task or
//! profile the project already has is left alone and reported.

use std::path::Path;

use toml_edit::DocumentMut;

use super::templates::toml_string;
use super::{Change, Install, Request};
use crate::error::{Error, Result};

/// The marker opening the appended block, so a second `init` recognises its own work.
const MARKER: &str = "# --- migo: MongoDB migrations (added by `migo init`) ---";

/// The change to `Makefile.toml` (created when missing), or `None` when nothing is left to add.
pub(crate) fn wire(
    dir: &Path,
    request: &Request,
    notes: &mut Vec<String>,
) -> Result<Option<Change>> {
    let path = dir.join("Makefile.toml");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::Io {
                context: "cannot read",
                path,
                source: e,
            })
        }
    };
    let doc: DocumentMut =
        existing
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|e: toml_edit::TomlError| Error::Config {
                location: path.display().to_string(),
                message: format!("is not valid TOML: {}", e.message()),
                hint: Some("fix Makefile.toml first; `migo init` only appends to it".into()),
            })?;
    let has = |table: &str, key: &str| doc.get(table).and_then(|t| t.get(key)).is_some();
    let ours = |task: &str| {
        doc.get("tasks")
            .and_then(|t| t.get(task))
            .and_then(|t| t.get("description"))
            .and_then(|d| d.as_str())
            .is_some_and(|d| d.starts_with("MongoDB migrations"))
    };
    let mut block = String::new();
    if !has("tasks", "migrations") {
        block.push_str(&migrations_task(request));
    } else if !ours("migrations") {
        notes.push("Makefile.toml already has a `migrations` task: not changed".into());
    }
    for env in &request.environments {
        if !has("tasks", env) {
            block.push_str(&prefix_task(request, env));
        } else if !ours(env) {
            notes.push(format!(
                "Makefile.toml already has a task `{env}`: not changed; `cargo make --profile {env} migrations …` still works"
            ));
        }
        let profile = doc.get("env").and_then(|t| t.get(env));
        let selects = profile
            .and_then(|p| p.get("MIGO_ENV"))
            .and_then(|v| v.as_str())
            == Some(env.as_str());
        match (profile, selects) {
            (None, _) => {
                block.push_str(&format!("\n[env.{env}]\nMIGO_ENV = {}\n", toml_string(env)));
            }
            (Some(_), true) => {}
            (Some(_), false) => notes.push(format!(
                "Makefile.toml already has the profile `[env.{env}]`: add `MIGO_ENV = \"{env}\"` to it for `--profile {env}`"
            )),
        }
    }
    if block.is_empty() {
        return Ok(None);
    }
    let block = format!(
        "{MARKER}\n# `cargo make migrations [ARGS…]` runs `migo [ARGS…]`. cargo-make prints its own log\n# lines and reports any failure as exit 105: call `migo` directly for its exact exit code.\n{}{block}",
        install_comment(request)
    );
    let content = match &existing {
        Some(text) if text.is_empty() || text.ends_with('\n') => format!("{text}\n{block}"),
        Some(text) => format!("{text}\n\n{block}"),
        None => block.clone(),
    };
    // What is written must still be one valid TOML document.
    content
        .parse::<DocumentMut>()
        .map_err(|e| Error::Registry(format!("the Makefile.toml wiring is not valid TOML: {e}")))?;
    Ok(Some(Change {
        summary: match existing {
            Some(_) => "added the migo tasks to".into(),
            None => "created".into(),
        },
        added: existing.map(|_| block),
        content,
        path,
    }))
}

/// How cargo-make runs migo: the installed binary (installed on first use when the request says
/// where from), or the project's own migrations binary with `--compiled`.
fn runner(request: &Request) -> String {
    if request.compiled {
        return "command = \"cargo\"\nargs = [\"run\", \"--quiet\", \"--bin\", \"migrations\", \"--\", \"${@}\"]\n".into();
    }
    format!(
        "{}command = \"migo\"\nargs = [\"${{@}}\"]\n",
        install_lines(&request.install)
    )
}

/// cargo-make's `install_crate`: when `migo --version` fails, it runs `cargo install` with
/// `install_crate_args`. It appends the crate name itself, except after `--git`: that one
/// names it here.
fn install_lines(install: &Install) -> String {
    let args: Vec<&str> = match install {
        Install::Git(url) => vec!["--locked", "--git", url, "migo"],
        Install::Path(dir) => vec!["--locked", "--path", dir],
        Install::Nothing => return String::new(),
    };
    let args: Vec<String> = args.into_iter().map(toml_string).collect();
    format!(
        "install_crate = {{ crate_name = \"migo\", binary = \"migo\", test_arg = \"--version\", force = false }}\ninstall_crate_args = [{}]\n",
        args.join(", ")
    )
}

/// The comment above the tasks: how migo gets onto a teammate's machine.
fn install_comment(request: &Request) -> String {
    if request.compiled {
        return String::new();
    }
    match &request.install {
        Install::Git(url) => format!(
            "# migo is installed on first use (cargo-make's `install_crate`): cargo install --locked --git {url} migo\n"
        ),
        Install::Path(dir) => format!(
            "# migo is installed on first use (cargo-make's `install_crate`): cargo install --locked --path {dir} migo\n"
        ),
        Install::Nothing => format!(
            "# These tasks do not install migo: install it first, e.g. {}\n",
            install_command()
        ),
    }
}

/// What `init` says about installing migo, once the tasks are written.
pub(crate) fn install_summary(install: &Install) -> String {
    match install {
        Install::Git(url) => format!(
            "the tasks install migo on first use: cargo install --locked --git {url} migo"
        ),
        Install::Path(dir) => format!(
            "the tasks install migo on first use: cargo install --locked --path {dir} migo ({dir} must exist wherever the tasks run)"
        ),
        Install::Nothing => format!(
            "the tasks do not install migo: whoever runs them installs it first ({}); `migo init --install-from URL` or `--path DIR` writes tasks that install it",
            install_command()
        ),
    }
}

/// The command that installs migo. Where migo's repository lives is the team's to say (a fork,
/// a mirror): `init` does not guess it from where this binary was built.
fn install_command() -> &'static str {
    "`cargo install --locked --git <migo's repository URL> migo`"
}

/// A URL cargo can clone on another machine: `https://`, `http://`, `ssh://`, `git://` or
/// scp-like `git@host:path`; never a local path.
pub(crate) fn is_git_url(text: &str) -> bool {
    let has_host = |rest: &str| {
        rest.split(['/', ':'])
            .next()
            .is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace))
    };
    if let Some(rest) = ["https://", "http://", "ssh://", "git://"]
        .iter()
        .find_map(|scheme| text.strip_prefix(scheme))
    {
        return has_host(rest.rsplit('@').next().unwrap_or(rest))
            && !text.contains(char::is_whitespace);
    }
    match text.split_once(':') {
        Some((user_host, path)) => {
            user_host.contains('@')
                && !user_host.contains('/')
                && !path.is_empty()
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn migrations_task(request: &Request) -> String {
    format!(
        "\n[tasks.migrations]\ndescription = \"MongoDB migrations: cargo make migrations [list|execute|rollback NAME|help|…]\"\n{}",
        runner(request)
    )
}

/// `cargo make ENV migrations ARGS…` runs this task with `migrations ARGS…`: the leading word
/// names what to run and is dropped.
fn prefix_task(request: &Request, env: &str) -> String {
    let program = if request.compiled {
        "cargo run --quiet --bin migrations --"
    } else {
        "migo"
    };
    let install = if request.compiled {
        String::new()
    } else {
        install_lines(&request.install)
    };
    format!(
        "\n[tasks.{env}]\ndescription = \"MongoDB migrations on {env}: cargo make {env} migrations [ARGS…]\"\nenv = {{ MIGO_ENV = {} }}\n{install}command = \"bash\"\nargs = [\"-c\", 'if [ \"$1\" = migrations ]; then shift; fi; exec {program} \"$@\"', \"migo\", \"${{@}}\"]\n",
        toml_string(env)
    )
}
