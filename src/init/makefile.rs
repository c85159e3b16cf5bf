//! The cargo-make wiring `migo init` appends to the project's own `Makefile.toml`: a `migrations`
//! task that forwards its arguments to migo (installing it with cargo-make's `install_crate`
//! when it is missing), and per environment a Fabric-style prefix task
//! (`cargo make staging migrations …`) and a profile (`cargo make --profile staging …`).
//!
//! Why appended tasks rather than a `migo.makefile.toml` the project `extend`s: the project's
//! Makefile.toml stays the one file to read, cargo-make needs nothing fetched at load time, and
//! each task can be edited in place. Appending keeps every existing line as it was; a task or
//! profile the project already has is left alone and reported.

use std::path::Path;

use toml_edit::DocumentMut;

use super::templates::toml_string;
use super::{Change, Request};
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
    let mut block = String::new();
    if has("tasks", "migrations") {
        notes.push("Makefile.toml already has a `migrations` task: not changed".into());
    } else {
        block.push_str(&migrations_task(request));
    }
    for env in &request.environments {
        if has("tasks", env) {
            notes.push(format!(
                "Makefile.toml already has a task `{env}`: not changed; `cargo make --profile {env} migrations …` still works"
            ));
        } else {
            block.push_str(&prefix_task(request, env));
        }
        if has("env", env) {
            notes.push(format!(
                "Makefile.toml already has the profile `[env.{env}]`: add `MIGO_ENV = \"{env}\"` to it for `--profile {env}`"
            ));
        } else {
            block.push_str(&format!("\n[env.{env}]\nMIGO_ENV = {}\n", toml_string(env)));
        }
    }
    if block.is_empty() {
        return Ok(None);
    }
    let block = format!(
        "{MARKER}\n# `cargo make migrations [ARGS…]` runs `migo [ARGS…]`. cargo-make prints its own log\n# lines and reports any failure as exit 105: call `migo` directly for its exact exit code.\n{block}"
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

/// How cargo-make runs migo: the installed binary (installed on first use), or the project's
/// own migrations binary with `--compiled`.
fn runner(request: &Request) -> String {
    if request.compiled {
        return "command = \"cargo\"\nargs = [\"run\", \"--quiet\", \"--bin\", \"migrations\", \"--\", \"${@}\"]\n".into();
    }
    let install: Vec<String> = ["--locked"]
        .into_iter()
        .map(String::from)
        .chain(request.source.split_whitespace().map(String::from))
        .map(|a| toml_string(&a))
        .collect();
    format!(
        "install_crate = {{ crate_name = \"migo\", binary = \"migo\", test_arg = \"--version\", force = false }}\ninstall_crate_args = [{}]\ncommand = \"migo\"\nargs = [\"${{@}}\"]\n",
        install.join(", ")
    )
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
        runner(request)
            .lines()
            .filter(|l| l.starts_with("install_crate"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    format!(
        "\n[tasks.{env}]\ndescription = \"MongoDB migrations on {env}: cargo make {env} migrations [ARGS…]\"\nenv = {{ MIGO_ENV = {} }}\n{install}command = \"bash\"\nargs = [\"-c\", 'if [ \"$1\" = migrations ]; then shift; fi; exec {program} \"$@\"', \"migo\", \"${{@}}\"]\n",
        toml_string(env)
    )
}
