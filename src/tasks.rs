//! User-defined extras: `[tasks.<name>]` in migo.toml, run by `sh -c` with the connection in
//! `MIGO_*` environment variables (never in argv) and the optional argument as `$1`.

use crate::config::{Settings, Task};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Runs `task` named `name`, streaming its output, and fails when it exits non-zero.
pub(crate) fn run(name: &str, task: &Task, arg: Option<&str>, settings: &Settings) -> Result<()> {
    let mut argv = vec!["-c".to_string(), task.run.clone(), format!("migo-{name}")];
    argv.extend(arg.map(str::to_string));
    let mut command = duct::cmd("sh", argv).unchecked();
    for (key, value) in connection_env(settings) {
        command = command.env(key, value);
    }
    if let Some(arg) = arg {
        command = command.env("MIGO_TASK_ARG", arg);
    }
    tracing::debug!("running task `{name}`: {}", task.run);
    let output = command.run().map_err(|e| Error::TaskFailed {
        name: name.to_string(),
        status: format!("cannot start `sh`: {e}"),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let status = output.status.code().map_or_else(
        || "killed by a signal".to_string(),
        |c| format!("exit status {c}"),
    );
    Err(Error::TaskFailed {
        name: name.to_string(),
        status,
    })
}

/// The connection, as `MIGO_*` variables for a child process. `MIGO_URI` carries the password
/// when one is configured: the environment is private to the child, unlike its argv.
pub(crate) fn connection_env(settings: &Settings) -> Vec<(&'static str, String)> {
    let m = &settings.mongo;
    let mut env = vec![
        ("MIGO_URI", connection_uri(settings)),
        ("MIGO_HOST", m.host.clone()),
        ("MIGO_PORT", m.port.to_string()),
        ("MIGO_DATABASE", m.database.clone()),
        ("MIGO_COLLECTION", settings.migrations.collection.clone()),
        (
            "MIGO_DIRECTORY",
            settings.migrations.directory.display().to_string(),
        ),
    ];
    env.extend(m.user.clone().map(|u| ("MIGO_USER", u)));
    env.extend(
        m.password
            .as_ref()
            .map(|p| ("MIGO_PASSWORD", p.expose().to_string())),
    );
    env.extend(m.auth_source.clone().map(|a| ("MIGO_AUTH_SOURCE", a)));
    env.extend(settings.environment.clone().map(|e| ("MIGO_ENV", e)));
    env
}

/// A connection string for child processes: the configured URI, or one built from host/port with
/// the credentials percent-encoded.
pub(crate) fn connection_uri(settings: &Settings) -> String {
    let m = &settings.mongo;
    if let Some(uri) = &m.uri {
        return uri.clone();
    }
    let userinfo = match (&m.user, &m.password) {
        (Some(u), Some(p)) => format!("{}:{}@", encode(u), encode(Secret::expose(p))),
        (Some(u), None) => format!("{}@", encode(u)),
        _ => String::new(),
    };
    // The driver authenticates against `admin` unless told otherwise; a URI with a database in
    // its path would use that database instead, so say it explicitly.
    let auth_source = m
        .auth_source
        .as_deref()
        .or(m.user.as_ref().map(|_| "admin"));
    let query = auth_source
        .map(|a| format!("?authSource={}", encode(a)))
        .unwrap_or_default();
    format!(
        "mongodb://{userinfo}{}:{}/{}{query}",
        m.host, m.port, m.database
    )
}

/// Percent-encodes everything but unreserved URI characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(encode("p@ss:w/rd"), "p%40ss%3Aw%2Frd");
    }
}
