//! `migo init`: sets migo up in any project. It writes a commented `migo.toml`, creates
//! `mongomigrations/`, and wires the cargo-make tasks into the project's own `Makefile.toml`
//! ([`makefile`]); with `--compiled`, it scaffolds a migrations binary ([`compiled`]).
//!
//! Nothing existing is overwritten: `migo.toml` is refused if present, and the Makefile keeps
//! every line it had (the tasks are appended; a task of the same name the user already has is
//! left alone and reported). Running it twice changes nothing the second time.

pub(crate) mod compiled;
pub(crate) mod makefile;
mod templates;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ui::output::Output;

/// What `init` was asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub(crate) uri: Option<String>,
    pub(crate) database: Option<String>,
    /// Environments to define, each with a prefix task and a profile.
    pub(crate) environments: Vec<String>,
    /// Scaffold a migrations binary for compiled migrations.
    pub(crate) compiled: bool,
    /// `cargo install` arguments that fetch migo (e.g. `--git URL`), for cargo-make.
    pub(crate) source: String,
    pub(crate) dry_run: bool,
}

/// One file `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) path: PathBuf,
    /// The whole new content.
    pub(crate) content: String,
    /// What to say about it: `created`, `added the tasks … to`, ….
    pub(crate) summary: String,
    /// For an existing file: the text added (what `--dry-run` shows).
    pub(crate) added: Option<String>,
}

/// Plans and (unless `--dry-run`) writes the changes in `dir`.
pub(crate) fn init(dir: &Path, request: &Request, out: &Output) -> Result<()> {
    validate(request)?;
    let config = dir.join(crate::config::DEFAULT_CONFIG);
    let project = project_name(dir);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    if config.exists() {
        // Never overwritten: a second `init` only adds what is missing elsewhere.
        notes.push("migo.toml exists: not changed".to_string());
    } else {
        changes.push(Change {
            path: config,
            content: templates::migo_toml(request, &project),
            summary: "created".into(),
            added: None,
        });
    }
    let migrations = dir.join(crate::config::DEFAULT_DIRECTORY).join("README.md");
    if !migrations.exists() {
        changes.push(Change {
            path: migrations,
            content: templates::MIGRATIONS_README.into(),
            summary: "created".into(),
            added: None,
        });
    }
    if let Some(change) = makefile::wire(dir, request, &mut notes)? {
        changes.push(change);
    }
    if request.compiled {
        changes.extend(compiled::scaffold(dir, request, &mut notes)?);
    }
    for change in &changes {
        report(out, dir, change, request.dry_run);
        if !request.dry_run {
            write(change)?;
        }
    }
    for note in notes {
        out.note(&note);
    }
    match (changes.is_empty(), request.dry_run) {
        (true, _) => out.print("migo is set up here already: nothing to change"),
        (false, false) => out.print(
            "next: `migo new create_users` writes the first migration; `cargo make migrations` lists them",
        ),
        (false, true) => out.print("dry run: nothing was written"),
    }
    Ok(())
}

fn report(out: &Output, dir: &Path, change: &Change, dry_run: bool) {
    let path = change
        .path
        .strip_prefix(dir)
        .unwrap_or(&change.path)
        .display();
    match (dry_run, &change.added) {
        (false, _) => out.print(&format!("{} {path}", change.summary)),
        (true, Some(added)) => out.print(&format!("would add to {path}:\n{}", indent(added))),
        (true, None) => out.print(&format!(
            "would create {path}:\n{}",
            indent(&change.content)
        )),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn write(change: &Change) -> Result<()> {
    let io = |e| Error::Io {
        context: "cannot write",
        path: change.path.clone(),
        source: e,
    };
    if let Some(parent) = change.path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&change.path, &change.content).map_err(io)
}

/// The names `init` writes into TOML and task names must be plain.
fn validate(request: &Request) -> Result<()> {
    for env in &request.environments {
        let plain = !env.is_empty()
            && env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain || env == "migrations" {
            return Err(Error::Usage {
                message: format!(
                    "{} is not a usable environment name",
                    crate::ui::escape::quoted(env)
                ),
                hint: Some("use letters, digits, `-` and `_`, e.g. `staging`".into()),
            });
        }
    }
    Ok(())
}

/// The project's name: its Cargo.toml package name, else the directory's name, made a valid
/// database name.
fn project_name(dir: &Path) -> String {
    let from_cargo = std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml_edit::DocumentMut>().ok())
        .and_then(|doc| doc.get("package")?.get("name")?.as_str().map(String::from));
    let name = from_cargo.unwrap_or_else(|| {
        std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "app".into())
    });
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if clean.is_empty() {
        "app".into()
    } else {
        clean
    }
}
