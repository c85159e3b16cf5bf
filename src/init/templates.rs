//! The files `migo init` writes, as text: commented so that a newcomer can read them.

use super::{Connection, Request};

/// `mongomigrations/README.md` (Markdown files beside migrations are ignored by discovery).
pub(crate) const MIGRATIONS_README: &str = "# Migrations\n\nNumbered MongoDB migrations, applied in order by migo: `migo new NAME` creates the next one, `cargo make migrations` lists them, `cargo make migrations execute` applies what is pending.\n";

/// A commented `migo.toml` for `project`, its `[mongo]` from the connection flags.
pub(crate) fn migo_toml(request: &Request, project: &str) -> String {
    let c = &request.connection;
    let database = c.database.clone().unwrap_or_else(|| project.to_string());
    let mut text = format!(
        r#"# migo.toml: this project's MongoDB migrations (written by `migo init`).
# Every key, with its default, is documented in migo's migo.reference.toml.

[mongo]
# The server: a connection string, or `host` and `port`. Keep passwords out of this file:
# `password_env` names the variable that holds the password.
{server}database = {database}
{credentials}
[migrations]
# Numbered files: 0001_create_users.json, 0002_backfill.js, … (`migo new NAME` makes the next).
directory = "mongomigrations"

# [dump]
# enabled = true        # a backup before every `execute` that has something to run
"#,
        server = server_lines(c).unwrap_or_else(|| "uri = \"mongodb://localhost:27017\"\n".into()),
        database = toml_string(&database),
        credentials = credential_lines(c, true),
    );
    for env in &request.environments {
        text.push_str(&environment(
            env,
            &format!("{database}_{env}"),
            project,
            None,
        ));
    }
    text
}

/// `[environments.ENV]` with its `[mongo]`: the server of `connection` when given, else an
/// address that fails clearly until it is set.
pub(crate) fn environment(
    env: &str,
    default_database: &str,
    project: &str,
    connection: Option<&Connection>,
) -> String {
    let database = connection
        .and_then(|c| c.database.clone())
        .unwrap_or_else(|| default_database.to_string());
    let server = match connection.and_then(server_lines) {
        Some(lines) => lines,
        None => format!(
            "# Set the {env} server: until then, this address fails clearly instead of reaching another one.\nuri = \"mongodb://{env}-db.invalid:27017\"\n"
        ),
    };
    let credentials = connection.map_or_else(String::new, |c| credential_lines(c, false));
    format!(
        r#"
# `cargo make {env} migrations …`, `cargo make --profile {env} migrations …`, `migo --env {env} …`
[environments.{env}]
# confirm = true        # ask before changing anything (`--yes` answers for scripts)
# To run migo on the {env} host over SSH instead:
# remote = {{ host = "{env}.example.com", user = "deploy", workdir = "/srv/{project}" }}

[environments.{env}.mongo]
{server}database = {database}
{credentials}"#,
        database = toml_string(&database),
    )
}

/// `uri = …`, or `host = …` and `port = …`, when the flags name the server.
fn server_lines(c: &Connection) -> Option<String> {
    if let Some(uri) = &c.uri {
        return Some(format!("uri = {}\n", toml_string(uri)));
    }
    if c.host.is_none() && c.port.is_none() {
        return None;
    }
    let host = c.host.as_deref().unwrap_or("localhost");
    let port = c.port.unwrap_or(27017);
    Some(format!("host = {}\nport = {port}\n", toml_string(host)))
}

/// The user (and the variable its password is read from), the auth source and the timeout;
/// `examples` adds the commented ones a newcomer may need.
fn credential_lines(c: &Connection, examples: bool) -> String {
    let mut lines = String::new();
    match &c.user {
        Some(user) => lines.push_str(&format!(
            "user = {}\npassword_env = \"MONGO_PASSWORD\"\n",
            toml_string(user)
        )),
        None if examples => {
            lines.push_str("# user = \"deploy\"\n# password_env = \"MONGO_PASSWORD\"\n");
        }
        None => {}
    }
    if let Some(source) = &c.auth_source {
        lines.push_str(&format!("auth_source = {}\n", toml_string(source)));
    }
    if let Some(secs) = c.timeout {
        lines.push_str(&format!("timeout_secs = {secs}\n"));
    }
    lines
}

/// A TOML basic string.
pub(crate) fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}
