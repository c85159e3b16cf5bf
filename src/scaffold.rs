//! `migo new NAME`: the next numbered migration file, from a template.

use std::path::PathBuf;

use crate::config::MigrationSettings;
use crate::discover;
use crate::error::{Error, Result};

/// Creates `<next number>_<name>.json` in the migrations directory and returns its path.
pub fn new_migration(settings: &MigrationSettings, name: &str) -> Result<PathBuf> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(Error::Usage {
            message: format!("{name:?} is not a valid migration name"),
            hint: Some("use letters, digits, `_` and `-`, e.g. `add_email_index`".into()),
        });
    }
    let dir = &settings.directory;
    let existing = match discover::discover(dir, &settings.pattern) {
        Err(Error::NoDirectory(_)) => Vec::new(),
        other => other?,
    };
    let next = existing.last().map_or(1, |m| m.number + 1);
    let width = existing
        .last()
        .map_or(4, |m| m.file_name.find('_').unwrap_or(4))
        .max(4);
    let file_name = format!("{next:0width$}_{name}.json");
    if !settings.pattern.is_match(&file_name) {
        return Err(Error::Usage {
            message: format!(
                "`{file_name}` would not match the pattern `{}`",
                settings.pattern.as_str()
            ),
            hint: Some(
                "choose a name the pattern accepts, or change `[migrations] pattern`".into(),
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        context: "cannot create the migrations directory",
        path: dir.clone(),
        source: e,
    })?;
    let path = dir.join(&file_name);
    std::fs::write(&path, template(name)).map_err(|e| Error::Io {
        context: "cannot write",
        path: path.clone(),
        source: e,
    })?;
    Ok(path)
}

/// A runnable no-op: `ping` commands to replace with the real ones.
fn template(name: &str) -> String {
    let description = name.replace(['_', '-'], " ");
    format!(
        r#"{{
  "description": "{description}",
  "up": [
    {{"ping": 1}}
  ],
  "down": [
    {{"ping": 1}}
  ]
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::json::JsonMigration;

    #[test]
    fn the_template_is_a_valid_migration() {
        let m = JsonMigration::parse(&template("add_index")).unwrap();
        assert_eq!(m.description.as_deref(), Some("add index"));
        assert!(m.down.is_some());
    }
}
