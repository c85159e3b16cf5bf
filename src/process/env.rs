//! The connection as `MIGO_*` variables for every child process migo starts (script and mongosh
//! migrations, interpreters, tasks): in the environment, which is private to the child, never
//! in its argv, which any local user can read in `ps`.

use std::path::{Path, PathBuf};

use super::group::Children;
use super::session::Sessions;
use crate::config::{Settings, Target};
use crate::ground::secret::{Scrubber, Secret};

/// The variables for child processes, whether to echo their output, and how to clean it.
#[derive(Debug, Clone)]
pub(crate) struct ChildEnv {
    target: Target,
    /// The interpreters of this run, shared by every copy (dropped with the last one).
    sessions: Sessions,
    project_dir: PathBuf,
    /// Settings-derived variables that do not depend on the database.
    fixed: Vec<(&'static str, String)>,
    /// Echo the child's output to stderr (off with `--quiet`).
    pub(crate) echo: bool,
    /// Before every echoed line: a fleet member's `[name] `.
    pub(crate) line_prefix: String,
    /// The run's registry of child process groups, which a signal stops.
    children: Children,
}

impl ChildEnv {
    /// The environment for children of a run with `settings`.
    pub(crate) fn new(settings: &Settings, echo: bool, children: Children) -> ChildEnv {
        let mut fixed = vec![
            ("MIGO_COLLECTION", settings.migrations.collection.clone()),
            (
                "MIGO_DIRECTORY",
                settings.migrations.directory.display().to_string(),
            ),
        ];
        fixed.extend(settings.environment().map(|e| ("MIGO_ENV", e.to_string())));
        ChildEnv {
            target: settings.target.clone(),
            sessions: Sessions::default(),
            project_dir: settings.project_dir.clone(),
            fixed,
            echo,
            line_prefix: String::new(),
            children,
        }
    }

    /// The same connection aimed at `database`, for `migo test`'s scratch copy and fleets.
    pub(crate) fn for_database(&self, database: &str) -> ChildEnv {
        let mut env = self.clone();
        env.target = self.target.with_database(database);
        env
    }

    /// `MIGO_URI` (the connection string migo itself uses, credentials included),
    /// `MIGO_DATABASE`, `MIGO_HOST`/`MIGO_PORT` (for a single host), `MIGO_USER`,
    /// `MIGO_PASSWORD`, `MIGO_AUTH_SOURCE`, `MIGO_COLLECTION`, `MIGO_DIRECTORY`, `MIGO_ENV`.
    pub(crate) fn vars(&self) -> Vec<(&'static str, String)> {
        let t = &self.target;
        let mut vars = vec![
            ("MIGO_URI", t.uri().expose().to_string()),
            ("MIGO_DATABASE", t.database.clone()),
        ];
        if let Some((host, port)) = t.single_host() {
            vars.push(("MIGO_HOST", host));
            vars.push(("MIGO_PORT", port.to_string()));
        }
        vars.extend(t.user().map(|u| ("MIGO_USER", u.to_string())));
        vars.extend(
            t.password()
                .map(|p| ("MIGO_PASSWORD", p.expose().to_string())),
        );
        vars.extend(t.auth_source().map(|a| ("MIGO_AUTH_SOURCE", a.to_string())));
        vars.extend(self.fixed.iter().cloned());
        vars
    }

    /// What removes the secrets of this connection from a child's output.
    pub(crate) fn scrubber(&self) -> Scrubber {
        let uri = self.target.uri();
        let password = self.target.password().unwrap_or_else(|| Secret::new(""));
        Scrubber::new(&[&uri, &password])
    }

    /// The run's child process groups: every child registers there.
    pub(crate) fn children(&self) -> &Children {
        &self.children
    }

    /// The run's long-lived interpreters.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The project's directory (where a `node_modules` is looked for).
    pub(crate) fn project_dir(&self) -> &Path {
        &self.project_dir
    }

    /// The variable the password came from, which a child that gets it otherwise must not see.
    pub(crate) fn password_env(&self) -> Option<&str> {
        self.target.password_env.as_deref()
    }
}
