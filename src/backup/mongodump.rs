//! The dump by the `mongodump` program: connection flags in argv, the password (and a connection
//! string, which may hold one) only in a 0600 `--config` file deleted afterwards, and none of
//! migo's password variables in its environment. It runs as a child like any other: its own
//! process group, its output streamed to stderr as it comes, off migo's runtime thread.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mongodb::options::Tls;

use super::DumpReport;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::process::{self, Child, ChildEnv};

/// The mongodump program, or an error saying how to get one (or do without).
pub(crate) fn program(settings: &Settings, out: &Path) -> Result<PathBuf> {
    let wanted = &settings.dump.mongodump;
    process::find_program(wanted).ok_or_else(|| Error::DumpFailed {
        path: out.to_path_buf(),
        message: format!("`{}` was not found", wanted.display()),
        hint: Some(
            "install the MongoDB Database Tools, or set `[dump] tool = \"native\"`, which needs \
             nothing installed"
                .into(),
        ),
    })
}

/// Dumps with mongodump into `out`.
pub(crate) async fn dump(settings: &Settings, env: &ChildEnv, out: &Path) -> Result<DumpReport> {
    let dump = &settings.dump;
    let target = &settings.target;
    let program = program(settings, out)?;
    let failed = |message: String| Error::DumpFailed {
        path: out.to_path_buf(),
        message,
        hint: None,
    };
    let mut config = tempfile::Builder::new()
        .prefix("migo-mongodump-")
        .suffix(".yaml")
        .tempfile()
        .map_err(|e| failed(format!("cannot create the mongodump config file: {e}")))?;
    let mut secrets = String::new();
    if let Some(password) = target.password() {
        secrets.push_str(&format!("password: {}\n", yaml_string(password.expose())));
    }
    let single = target.single_host();
    if single.is_none() {
        secrets.push_str(&format!("uri: {}\n", yaml_string(target.uri().expose())));
    }
    config
        .write_all(secrets.as_bytes())
        .and_then(|()| config.flush())
        .map_err(|e| failed(format!("cannot write the mongodump config file: {e}")))?;
    let mut args = vec![
        format!("--config={}", config.path().display()),
        format!("--db={}", target.database),
        format!("--out={}", out.display()),
    ];
    if let Some((host, port)) = single {
        args.push(format!("--host={host}"));
        args.push(format!("--port={port}"));
        args.extend(target.user().map(|u| format!("--username={u}")));
        args.extend(
            target
                .auth_source()
                .map(|a| format!("--authenticationDatabase={a}")),
        );
        if let Some(Tls::Enabled(tls)) = target.tls() {
            args.push("--ssl".into());
            args.extend(
                tls.ca_file_path
                    .as_ref()
                    .map(|f| format!("--sslCAFile={}", f.display())),
            );
            if tls.allow_invalid_certificates == Some(true) {
                args.push("--sslAllowInvalidCertificates".into());
            }
        }
    }
    if dump.gzip {
        args.push("--gzip".into());
    }
    let runs: Vec<Vec<String>> = if dump.collections.is_empty() {
        vec![args.clone()]
    } else {
        dump.collections
            .iter()
            .map(|c| {
                args.iter()
                    .cloned()
                    .chain([format!("--collection={c}")])
                    .collect()
            })
            .collect()
    };
    let mut removed: Vec<String> = vec!["MIGO_PASSWORD".into(), "MIGO_URI".into()];
    removed.extend(env.password_env().map(str::to_string));
    for run in runs {
        tracing::debug!("running {} {}", program.display(), run.join(" "));
        let mut child = Child::new(program.clone(), run, "  mongodump | ".into());
        child.remove_env.clone_from(&removed);
        process::run(child, env)
            .await
            .map_err(|e| failed(format!("mongodump failed: {e}")))?;
    }
    drop(config); // deletes the file
                  // What it wrote is counted and hashed afterwards, for the manifest.
    Ok(DumpReport {
        path: out.to_path_buf(),
        collections: 0,
        documents: 0,
        bytes: None,
        took: Duration::ZERO,
        contents: Vec::new(),
        other_files: Vec::new(),
    })
}

/// A YAML-safe quoted string (JSON strings are YAML flow scalars).
fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_strings_are_quoted() {
        assert_eq!(yaml_string("p\"w: x"), r#""p\"w: x""#);
    }
}
