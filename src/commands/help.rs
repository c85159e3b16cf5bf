//! `help`: built-in subcommands, compiled extras and the tasks of migo.toml, one line each.

use crate::config::Settings;
use crate::error::Result;
use crate::extensions::Extensions;
use crate::ground::output::Output;

/// Prints the commands; without usable settings, the built-ins and a warning why tasks are not
/// shown.
pub(crate) fn help(
    settings: &Result<Settings>,
    out: &Output,
    builtins: &[(String, String)],
    app: &Extensions,
) {
    out.print(&format!(
        "migo {}: MongoDB migrations\n\nUsage: migo [OPTIONS] [COMMAND]\n\nBuilt-in commands:",
        env!("CARGO_PKG_VERSION")
    ));
    let builtins: Vec<(&str, &str)> = builtins
        .iter()
        .filter(|(n, _)| n != "task")
        .map(|(n, a)| (n.as_str(), a.as_str()))
        .collect();
    let extras: Vec<(&str, &str)> = app
        .extras
        .iter()
        .map(|e| (e.name(), e.description()))
        .collect();
    let tasks: Vec<(&str, &str)> = match settings {
        Ok(settings) => settings
            .tasks
            .iter()
            .map(|(n, t)| (n.as_str(), t.description.as_str()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let width = builtins
        .iter()
        .chain(&extras)
        .chain(&tasks)
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let section = |rows: &[(&str, &str)]| {
        for (name, about) in rows {
            out.print(&format!("  {name:<width$}  {about}"));
        }
    };
    section(&builtins);
    if !extras.is_empty() {
        out.print("\nExtras (compiled into this binary):");
        section(&extras);
    }
    match settings {
        Ok(_) if !tasks.is_empty() => {
            out.print("\nTasks (from migo.toml):");
            section(&tasks);
        }
        Ok(_) => {
            out.print("\nNo tasks: add `[tasks.<name>]` with `description` and `run` to migo.toml.")
        }
        Err(e) => out.warn(&format!("tasks not shown: {e}")),
    }
    out.print("\nRun `migo --help` for the options, `migo <command> --help` for one command.");
}
