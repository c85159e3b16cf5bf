//! `migo init`: sets migo up in any project. It writes a commented `migo.toml` from the
//! connection flags given ([`config`]), creates `mongomigrations/`, and wires the cargo-make
//! tasks into the project's own `Makefile.toml` ([`makefile`]); with `--compiled`, it scaffolds
//! a migrations binary ([`compiled`]).
//!
//! Nothing existing is overwritten: an existing `migo.toml` only gets the `[environments.NAME]`
//! sections it lacks, and the Makefile keeps every line it had (the tasks are appended; a task
//! of the same name the user already has is left alone and reported). Running it twice changes
//! nothing the second time.

pub(crate) mod compiled;
mod config;
pub(crate) mod makefile;
mod templates;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ground::output::Output;

/// What `init` was asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// The server and credentials given on the command line, written into migo.toml.
    pub(crate) connection: Connection,
    /// Environments to define, each with a prefix task and a profile.
    pub(crate) environments: Vec<String>,
    /// Scaffold a migrations binary for compiled migrations.
    pub(crate) compiled: bool,
    /// Where cargo-make installs migo from when it is missing.
    pub(crate) install: Install,
    pub(crate) dry_run: bool,
}

/// The connection flags (`--uri`, `--host`, `--port`, `--database`, `--user`, `--auth-source`,
/// `--timeout`), as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Connection {
    pub(crate) uri: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) database: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) auth_source: Option<String>,
    pub(crate) timeout: Option<u32>,
}

impl Connection {
    /// The flags that were given, as written on the command line.
    fn given(&self) -> Vec<&'static str> {
        [
            ("--uri", self.uri.is_some()),
            ("--host", self.host.is_some()),
            ("--port", self.port.is_some()),
            ("--database", self.database.is_some()),
            ("--user", self.user.is_some()),
            ("--auth-source", self.auth_source.is_some()),
            ("--timeout", self.timeout.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// Where the tasks install migo from, with cargo-make's `install_crate`, when it is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Install {
    /// `--install-from URL`: `cargo install --locked --git URL migo`.
    Git(String),
    /// `--path DIR`: `cargo install --locked --path DIR migo`.
    Path(String),
    /// No install step: whoever runs the tasks installs migo first.
    #[default]
    Nothing,
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
    config::check(&request.connection)?;
    check_install(dir, &request.install)?;
    let project = project_name(dir);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    changes.extend(config::change(dir, request, &project, &mut notes)?);
    let migrations = dir.join(crate::config::DEFAULT_DIRECTORY).join("README.md");
    if !migrations.exists() {
        changes.push(Change {
            path: migrations,
            content: templates::MIGRATIONS_README.into(),
            summary: "created".into(),
            added: None,
        });
    }
    let makefile = makefile::wire(dir, request, &mut notes)?;
    let tasks_added = makefile.is_some();
    changes.extend(makefile);
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
    if tasks_added && !request.compiled {
        out.print(&makefile::install_summary(&request.install));
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
                    crate::ground::escape::quoted(env)
                ),
                hint: Some("use letters, digits, `-` and `_`, e.g. `staging`".into()),
            });
        }
    }
    Ok(())
}

/// `--install-from` must be a git URL a teammate's cargo can fetch, and `--path` a directory
/// holding migo's crate: a wrong one would only fail later, on someone else's machine.
fn check_install(dir: &Path, install: &Install) -> Result<()> {
    match install {
        Install::Git(url) if !makefile::is_git_url(url) => Err(Error::Usage {
            message: format!(
                "`--install-from` {} is not a git URL",
                crate::ground::escape::quoted(url)
            ),
            hint: Some(
                "give a URL cargo can fetch (https://…, ssh://…, git@host:path); for a local \
                 directory use `--path DIR`"
                    .into(),
            ),
        }),
        Install::Path(path) => {
            let manifest = dir.join(path).join("Cargo.toml");
            let name = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|text| text.parse::<toml_edit::DocumentMut>().ok())
                .and_then(|doc| doc.get("package")?.get("name")?.as_str().map(String::from));
            if name.as_deref() == Some("migo") {
                return Ok(());
            }
            Err(Error::Usage {
                message: format!(
                    "`--path` {} holds no migo crate (no Cargo.toml with `name = \"migo\"`)",
                    crate::ground::escape::quoted(path)
                ),
                hint: Some(
                    "give the directory of a clone of migo's repository, or `--install-from URL`"
                        .into(),
                ),
            })
        }
        _ => Ok(()),
    }
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
