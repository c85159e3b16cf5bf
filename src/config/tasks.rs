//! `[tasks.<name>]`: user-defined subcommands.

use std::collections::BTreeMap;

use toml::Spanned;

use super::layers::Origins;
use super::{schema, Task};
use crate::error::Result;

/// `[tasks.<name>]`, checked: valid names that shadow nothing.
pub(super) fn resolve(
    tasks: &BTreeMap<String, Spanned<schema::Task>>,
    reserved: &[&str],
    origins: &Origins<'_>,
) -> Result<BTreeMap<String, Task>> {
    tasks
        .iter()
        .map(|(name, section)| {
            let at = section.span();
            if reserved.contains(&name.as_str()) {
                return Err(origins.error(
                    &at,
                    format!("task `{name}` would shadow the built-in subcommand `{name}`"),
                    "rename the task",
                ));
            }
            let valid = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if name.is_empty() || name.starts_with('-') || !valid {
                return Err(origins.error(
                    &at,
                    format!(
                        "task name {} is not a valid subcommand name",
                        crate::ground::escape::quoted(name)
                    ),
                    "use letters, digits, `-` and `_`",
                ));
            }
            let task = section.get_ref();
            if task.run.trim().is_empty() {
                return Err(origins.error(
                    &at,
                    format!("task `{name}` has an empty `run`"),
                    "give the shell command to run",
                ));
            }
            Ok((
                name.clone(),
                Task {
                    description: task.description.clone(),
                    run: task.run.clone(),
                },
            ))
        })
        .collect()
}
