//! The files `migo init` writes, as text: commented so that a newcomer can read them.

use super::Request;

/// `mongomigrations/README.md` (Markdown files beside migrations are ignored by discovery).
pub(crate) const MIGRATIONS_README: &str = "# Migrations\n\nNumbered MongoDB migrations, applied in order by migo: `migo new NAME` creates the next one, `cargo make migrations` lists them, `cargo make migrations execute` applies what is pending.\n";

/// A commented `migo.toml` for `project`.
pub(crate) fn migo_toml(request: &Request, project: &str) -> String {
    let uri = request
        .uri
        .clone()
        .unwrap_or_else(|| "mongodb://localhost:27017".into());
    let database = request
        .database
        .clone()
        .unwrap_or_else(|| project.to_string());
    let mut text = format!(
        r#"# migo.toml: this project's MongoDB migrations (written by `migo init`).
# Every key, with its default, is documented in migo's migo.reference.toml.

[mongo]
# The server: a connection string, or `host` and `port`. Keep passwords out of this file:
# `password_env` names the variable that holds the password.
uri = {uri}
database = {database}
# user = "deploy"
# password_env = "MONGO_PASSWORD"

[migrations]
# Numbered files: 0001_create_users.json, 0002_backfill.js, … (`migo new NAME` makes the next).
directory = "mongomigrations"

# [dump]
# enabled = true        # a backup before every `execute` that has something to run
"#,
        uri = toml_string(&uri),
        database = toml_string(&database),
    );
    for env in &request.environments {
        text.push_str(&format!(
            r#"
# `cargo make {env} migrations …`, `cargo make --profile {env} migrations …`, `migo --env {env} …`
[environments.{env}]
# confirm = true        # ask before changing anything (`--yes` answers for scripts)
# To run migo on the {env} host over SSH instead:
# remote = {{ host = "{env}.example.com", user = "deploy", workdir = "/srv/{project}" }}

[environments.{env}.mongo]
# Set the {env} server: until then, this address fails clearly instead of reaching another one.
uri = "mongodb://{env}-db.invalid:27017"
database = {db}
"#,
            db = toml_string(&format!("{database}_{env}")),
        ));
    }
    text
}

/// A TOML basic string.
pub(crate) fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}
