//! An environment's `remote = { … }`, resolved: where and how `migo --env NAME` runs over SSH.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::layers::Origins;
use super::schema::{self, Transport};
use crate::error::Result;

/// The remote of the selected environment, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteSettings {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    /// A private key; without one, the SSH agent authenticates.
    pub(crate) identity_file: Option<PathBuf>,
    pub(crate) known_hosts: PathBuf,
    /// Where migo runs on the remote (its `migo.toml` and migrations are there).
    pub(crate) workdir: String,
    /// The migo to run there, e.g. `migo` or `cargo make migrations`.
    pub(crate) command: String,
    /// Trust (and record) a host key seen for the first time; a changed key is always refused.
    pub(crate) accept_new_host_key: bool,
    pub(crate) timeout: Duration,
    pub(crate) transport: Transport,
    /// For `openssh`: an ssh configuration file (`-F`); ssh's own default otherwise.
    pub(crate) ssh_config: Option<PathBuf>,
    /// For `openssh`: the port and user as written (absent ones are left to ssh's config).
    pub(crate) port_given: Option<u16>,
    pub(crate) user_given: Option<String>,
}

/// Resolves `remote`; relative paths are relative to the configuration file, `~/` is the home.
pub(crate) fn resolve(
    remote: &Spanned<schema::Remote>,
    base_dir: &Path,
    origins: &Origins<'_>,
) -> Result<RemoteSettings> {
    let r = remote.get_ref().clone();
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = |p: PathBuf| match p.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) if p.is_relative() => base_dir.join(p),
        Err(_) => p,
    };
    if r.host.is_empty() || r.workdir.is_empty() {
        return Err(origins.error(
            &remote.span(),
            "`remote` needs a `host` and a `workdir`".into(),
            "e.g. remote = { host = \"staging.example.com\", workdir = \"/srv/app\" }",
        ));
    }
    if r.timeout_secs.is_some_and(|t| !(1..=3_600).contains(&t)) {
        return Err(origins.error(
            &remote.span(),
            "`remote.timeout_secs` is out of range: from 1 to 3600".into(),
            "the default is 10",
        ));
    }
    Ok(RemoteSettings {
        port_given: r.port,
        user_given: r.user.clone(),
        transport: r.transport.unwrap_or_default(),
        ssh_config: r.ssh_config.map(&path),
        host: r.host,
        port: r.port.unwrap_or(22),
        user: r.user.unwrap_or_else(whoami::username),
        identity_file: r.identity_file.map(path),
        known_hosts: path(r.known_hosts.unwrap_or_else(|| "~/.ssh/known_hosts".into())),
        workdir: r.workdir,
        command: r.command.unwrap_or_else(|| "migo".into()),
        accept_new_host_key: r.accept_new_host_key.unwrap_or(false),
        timeout: Duration::from_secs(r.timeout_secs.unwrap_or(10)),
    })
}
