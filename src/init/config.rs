//! The `migo.toml` that `migo init` writes: a new one whose `[mongo]` holds the connection flags
//! given (`--uri` or `--host`/`--port`, `--database`, `--user`, `--auth-source`, `--timeout`),
//! or, when the project has one already, only the `[environments.NAME]` sections it lacks
//! (the flags then describe that environment's server, when one section is added).
//!
//! The flags are checked here as migo would read them later, so `init` never writes a file that
//! the next command refuses, nor a password into a file meant to be committed.

use std::path::Path;

use mongodb::options::ConnectionString;
use toml_edit::DocumentMut;

use super::{templates, Change, Connection, Request};
use crate::config::target::{is_valid_database_name, MAX_TIMEOUT_SECS};
use crate::error::{Error, Result};
use crate::ground::escape::quoted;
use crate::ground::secret::redact_uri;

/// Refuses connection flags that migo.toml could not hold, or should not.
pub(crate) fn check(c: &Connection) -> Result<()> {
    let usage = |message: String, hint: &str| Error::Usage {
        message,
        hint: Some(hint.to_string()),
    };
    if let (Some(_), Some(other)) = (
        &c.uri,
        c.host
            .as_ref()
            .map(|_| "--host")
            .or(c.port.map(|_| "--port")),
    ) {
        return Err(usage(
            format!("`--uri` and `{other}` both name the server"),
            "give `--uri`, or `--host` and `--port`",
        ));
    }
    if let Some(uri) = &c.uri {
        let parsed = ConnectionString::parse(uri).map_err(|e| {
            usage(
                format!(
                    "`--uri` {} is not a valid connection string: {}",
                    quoted(&redact_uri(uri)),
                    crate::ground::driver::short_message(&e)
                ),
                "the form is mongodb://[user@]host[:port][/database][?options]",
            )
        })?;
        if parsed.credential.and_then(|c| c.password).is_some() {
            return Err(usage(
                format!(
                    "`--uri` {} holds a password, which `migo init` would write into migo.toml",
                    quoted(&redact_uri(uri))
                ),
                "give the connection string without the password and set it in the variable \
                 `password_env` names (MONGO_PASSWORD in the file init writes)",
            ));
        }
    }
    if let Some(host) = &c.host {
        if host.is_empty()
            || host.contains(['/', '?', '@', ' ', ','])
            || host.chars().any(char::is_control)
        {
            return Err(usage(
                format!("`--host` {} is not a host name", quoted(host)),
                "give a host name or address; several hosts go in `--uri`",
            ));
        }
    }
    if let Some(database) = &c.database {
        if !is_valid_database_name(database) {
            return Err(usage(
                format!(
                    "`--database` {} is not a valid database name",
                    quoted(database)
                ),
                "use letters, digits, `_` and `-` (at most 63 characters)",
            ));
        }
    }
    if let Some(secs) = c.timeout {
        if !(1..=MAX_TIMEOUT_SECS).contains(&u64::from(secs)) {
            return Err(usage(
                format!("`--timeout` {secs} is out of range: from 1 to {MAX_TIMEOUT_SECS} seconds"),
                "the default is 10",
            ));
        }
    }
    Ok(())
}

/// The change to `migo.toml`, if any: created whole, or the missing environments appended.
pub(crate) fn change(
    dir: &Path,
    request: &Request,
    project: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Change>> {
    let path = dir.join(crate::config::DEFAULT_CONFIG);
    if path.symlink_metadata().is_err() {
        let database = request.connection.database.as_deref().unwrap_or(project);
        for env in &request.environments {
            check_environment_database(env, &format!("{database}_{env}"))?;
        }
        return Ok(Some(Change {
            content: templates::migo_toml(request, project),
            path,
            summary: "created".into(),
            added: None,
        }));
    }
    let existing = crate::config::file::read(&path)?;
    let doc: DocumentMut = existing
        .parse()
        .map_err(|e: toml_edit::TomlError| Error::Config {
            location: path.display().to_string(),
            message: format!("is not valid TOML: {}", e.message()),
            hint: Some("fix migo.toml first; `migo init` only appends to it".into()),
        })?;
    let database = doc
        .get("mongo")
        .and_then(|m| m.get("database"))
        .and_then(|d| d.as_str())
        .unwrap_or(project)
        .to_string();
    let (present, missing): (Vec<&String>, Vec<&String>) = request
        .environments
        .iter()
        .partition(|env| doc.get("environments").and_then(|e| e.get(env)).is_some());
    for env in &present {
        notes.push(format!(
            "migo.toml already has `[environments.{env}]`: not changed"
        ));
    }
    let given = request.connection.given();
    // The flags describe the server of the one environment being added; anything else would
    // have to guess which section they belong to.
    let flags_for = match (missing.as_slice(), given.is_empty()) {
        ([_], false) => Some(&request.connection),
        (_, false) => {
            notes.push(format!(
                "migo.toml exists and keeps its server: {} {} not written into it (edit it, or \
                 add one environment at a time with `--env NAME` to give that one these settings)",
                given.join(", "),
                if given.len() == 1 { "was" } else { "were" }
            ));
            None
        }
        (_, true) => None,
    };
    if missing.is_empty() {
        if request.environments.is_empty() && given.is_empty() {
            notes.push("migo.toml exists: not changed".into());
        }
        return Ok(None);
    }
    for env in &missing {
        let named = flags_for.and_then(|c| c.database.clone());
        check_environment_database(env, &named.unwrap_or_else(|| format!("{database}_{env}")))?;
    }
    let block: String = missing
        .iter()
        .map(|env| templates::environment(env, &format!("{database}_{env}"), project, flags_for))
        .collect();
    let separator = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let content = format!("{existing}{separator}{block}");
    content.parse::<DocumentMut>().map_err(|e| Error::Config {
        location: path.display().to_string(),
        message: format!(
            "adding the environments would not leave valid TOML: {}",
            e.message()
        ),
        hint: Some("add the `[environments.NAME]` sections by hand".into()),
    })?;
    let names: Vec<String> = missing
        .iter()
        .map(|env| format!("`[environments.{env}]`"))
        .collect();
    Ok(Some(Change {
        path,
        content,
        summary: format!("added {} to", names.join(", ")),
        added: Some(block),
    }))
}

/// The database an environment's section would name must be one migo accepts later.
fn check_environment_database(env: &str, database: &str) -> Result<()> {
    if is_valid_database_name(database) {
        return Ok(());
    }
    Err(Error::Usage {
        message: format!(
            "the database of `[environments.{env}]` would be {}, which is not a valid database name",
            quoted(database)
        ),
        hint: Some(
            "database names have at most 63 characters: shorten `--database` (or `[mongo] \
             database`), or write the section by hand"
                .into(),
        ),
    })
}
