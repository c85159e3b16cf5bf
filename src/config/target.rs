//! The connection target, resolved as one unit: which server (a connection string, or host and
//! port), which database, the credentials, TLS and timeouts.
//!
//! Connection strings are parsed once, by the driver's own parser, into a [`ConnectionString`]
//! that then carries everything resolved here. migo connects with it, and child processes get
//! the very same string as `MIGO_URI`, so a script connects where migo connects.

use std::path::Path;
use std::time::Duration;

use mongodb::options::{
    ClientOptions, ConnectionString, Credential, HostInfo, ServerAddress, Tls, TlsOptions,
};

use super::layers::{LayerKind, Origins};
use super::schema;
use crate::error::{Error, Result};
use crate::ground::secret::{redact_uri, Secret};

/// Default connection and server-selection timeout.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// The longest timeout accepted: longer ones are typos, and would overflow the driver's clocks.
pub(crate) const MAX_TIMEOUT_SECS: u64 = 3_600;

/// Where migo works: one database on one deployment.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The selected `[environments.<name>]`, if any.
    pub(crate) environment: Option<String>,
    pub(crate) database: String,
    /// Hosts, credentials (with their auth source pinned), TLS, timeouts, and `database` as the
    /// default database.
    connection: ConnectionString,
    /// The variable the password was read from, kept out of the environment of programs that
    /// must not see it (mongodump reads it from a file).
    pub(crate) password_env: Option<String>,
    pub(crate) timeout: Duration,
}

impl Target {
    /// A placeholder for commands that never connect (`migo new`).
    pub(crate) fn offline(environment: Option<&str>) -> Target {
        Target {
            environment: environment.map(str::to_string),
            database: String::new(),
            connection: ConnectionString::default(),
            password_env: None,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        }
    }

    /// `db1.example.com:27017,db2.example.com:27017`, or the SRV name.
    pub(crate) fn hosts(&self) -> String {
        match &self.connection.host_info {
            HostInfo::HostIdentifiers(hosts) => hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            HostInfo::DnsRecord(name) => format!("{name} (SRV)"),
            _ => "?".into(),
        }
    }

    /// The seed list's hosts and ports, when every one is a TCP address (not an SRV name, not a
    /// Unix socket).
    pub(crate) fn tcp_hosts(&self) -> Option<Vec<(String, u16)>> {
        match &self.connection.host_info {
            HostInfo::HostIdentifiers(hosts) => hosts
                .iter()
                .map(|address| match address {
                    ServerAddress::Tcp { host, port } => {
                        Some((host.clone(), port.unwrap_or(27017)))
                    }
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// The hosts as a list, for `--json`.
    pub(crate) fn host_list(&self) -> Vec<String> {
        match &self.connection.host_info {
            HostInfo::HostIdentifiers(hosts) => hosts.iter().map(ToString::to_string).collect(),
            HostInfo::DnsRecord(name) => vec![name.clone()],
            _ => Vec::new(),
        }
    }

    /// `staging: database `app` on db1:27017`: safe to print, no credentials.
    pub(crate) fn describe(&self) -> String {
        let env = self.environment.as_deref().unwrap_or("default");
        format!("{env}: database `{}` on {}", self.database, self.hosts())
    }

    /// The full connection string, credentials included: for child processes' environments only.
    pub(crate) fn uri(&self) -> Secret {
        Secret::new(self.connection.to_string())
    }

    /// The user migo authenticates as, if any.
    pub(crate) fn user(&self) -> Option<&str> {
        self.connection.credential.as_ref()?.username.as_deref()
    }

    /// The password, if any.
    pub(crate) fn password(&self) -> Option<Secret> {
        let password = self.connection.credential.as_ref()?.password.as_ref()?;
        Some(Secret::new(password.clone()))
    }

    /// The database holding the user's credentials, when there is a user.
    pub(crate) fn auth_source(&self) -> Option<&str> {
        self.connection.credential.as_ref()?.source.as_deref()
    }

    /// Whether TLS is on, and its options.
    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.connection.tls.as_ref()
    }

    /// The host and port of a plain (non-SRV) single-host target, for tools that take them apart.
    pub(crate) fn single_host(&self) -> Option<(String, u16)> {
        match &self.connection.host_info {
            HostInfo::HostIdentifiers(hosts) if hosts.len() == 1 => match &hosts[0] {
                ServerAddress::Tcp { host, port } => Some((host.clone(), port.unwrap_or(27017))),
                _ => None,
            },
            _ => None,
        }
    }

    /// The driver's options (an SRV name is resolved here).
    pub(crate) async fn client_options(&self) -> Result<ClientOptions> {
        let mut options = ClientOptions::parse(self.connection.clone())
            .await
            .map_err(|e| Error::Connect {
                target: self.describe(),
                message: crate::ground::driver::short_message(&e),
            })?;
        options.app_name = Some(format!("migo {}", env!("CARGO_PKG_VERSION")));
        Ok(options)
    }

    /// What identifies the deployment (not the database): targets that share it share one
    /// connection pool.
    pub(crate) fn cluster_key(&self) -> String {
        let mut connection = self.connection.clone();
        connection.default_database = None;
        connection.to_string()
    }

    /// The same deployment, another database (a fleet member, `migo test`'s scratch copy).
    pub(crate) fn with_database(&self, database: &str) -> Target {
        let mut target = self.clone();
        target.database = database.to_string();
        target.connection.default_database = Some(database.to_string());
        target
    }
}

/// Resolves `[mongo]` (merged across layers) into a target.
pub(crate) fn resolve(
    m: &schema::Mongo,
    environment: Option<&str>,
    base_dir: &Path,
    origins: &Origins<'_>,
) -> Result<Target> {
    let mut connection = server(m, origins)?;
    let uri_database = connection.default_database.take();
    let database = database(m, uri_database, origins)?;
    let timeout = timeout(m, origins)?;
    let password = password(m, origins)?;
    credentials(&mut connection, m, password, origins)?;
    tls(&mut connection, m, base_dir, origins);
    connection.default_database = Some(database.clone());
    connection.connect_timeout = Some(timeout);
    connection.server_selection_timeout = Some(timeout);
    Ok(Target {
        environment: environment.map(str::to_string),
        database,
        connection,
        password_env: m.password_env.as_ref().map(|p| p.get_ref().clone()),
        timeout,
    })
}

/// The server: the connection string, parsed by the driver, or host and port. A `host` or
/// `port` beside a `uri` came from a higher layer (a variable or a flag: the layers keep no
/// other such pair) and replaces only what it names in that connection string's one host.
fn server(m: &schema::Mongo, origins: &Origins<'_>) -> Result<ConnectionString> {
    let host = m
        .host
        .as_ref()
        .map(|h| checked_host(h, origins))
        .transpose()?;
    let port = m.port.as_ref().map(|p| *p.get_ref());
    if let Some(uri) = &m.uri {
        let mut connection = ConnectionString::parse(uri.get_ref()).map_err(|e| {
            origins.error(
                &uri.span(),
                format!(
                    "{} is not a valid connection string: {}",
                    redact_uri(uri.get_ref()),
                    crate::ground::driver::short_message(&e)
                ),
                "the form is mongodb://[user:password@]host[:port][/database][?options]",
            )
        })?;
        if host.is_some() || port.is_some() {
            apply_to_uri(&mut connection, m, host, port, origins)?;
        }
        return Ok(connection);
    }
    let mut connection = ConnectionString::default();
    connection.host_info = HostInfo::HostIdentifiers(vec![ServerAddress::Tcp {
        host: host.unwrap_or("localhost").to_string(),
        port: Some(port.unwrap_or(27017)),
    }]);
    Ok(connection)
}

/// A host name as given, or an error naming where it came from.
fn checked_host<'h>(host: &'h toml::Spanned<String>, origins: &Origins<'_>) -> Result<&'h str> {
    let name = host.get_ref().as_str();
    if name.is_empty() || name.contains(['/', '?', '@', ' ', ',']) {
        return Err(origins.error(
            &host.span(),
            format!("host {name:?} is not a host name"),
            "give a host name or address; several hosts go in a `uri`",
        ));
    }
    Ok(name)
}

/// `--host`/`--port` (or `MIGO_HOST`/`MIGO_PORT`) over a lower layer's `uri`: the connection
/// string keeps its credentials and options, and its one host takes the new name or port. Both
/// together replace a list of hosts; one alone cannot say which host of a list it means, nor
/// apply to an SRV name.
fn apply_to_uri(
    connection: &mut ConnectionString,
    m: &schema::Mongo,
    host: Option<&str>,
    port: Option<u16>,
    origins: &Origins<'_>,
) -> Result<()> {
    let uri = m.uri.as_ref().expect("a uri is there");
    let named = m
        .port
        .as_ref()
        .map(toml::Spanned::span)
        .or_else(|| m.host.as_ref().map(toml::Spanned::span))
        .expect("a host or port is there");
    let label = origins.of(&named).label;
    let uri_at = origins.of(&uri.span()).label;
    let refuse = |what: &str, hint: &str| {
        Err(origins.error(
            &named,
            format!("cannot apply to the connection string at {uri_at}, which {what}"),
            hint,
        ))
    };
    match &mut connection.host_info {
        HostInfo::HostIdentifiers(hosts) => match (hosts.as_mut_slice(), host, port) {
            ([ServerAddress::Tcp { host: h, port: p }], _, _) => {
                if let Some(host) = host {
                    *h = host.to_string();
                }
                if port.is_some() {
                    *p = port;
                }
                Ok(())
            }
            (_, Some(host), Some(port)) => {
                *hosts = vec![ServerAddress::Tcp {
                    host: host.to_string(),
                    port: Some(port),
                }];
                Ok(())
            }
            _ => refuse(
                &format!("names several hosts ({})", describe_hosts(hosts)),
                &format!(
                    "give the whole server: a connection string in place of {uri_at}, or both \
                     a host and a port (`{label}` alone cannot say which host it changes)"
                ),
            ),
        },
        _ => refuse(
            "is an SRV name (`mongodb+srv://`)",
            &format!("give the whole server as a connection string in place of {uri_at}"),
        ),
    }
}

fn describe_hosts(hosts: &[ServerAddress]) -> String {
    hosts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The database: the highest layer's `database`, or the path of a connection string set in a
/// higher layer than it. A lower layer's connection string never lends its path to a target
/// that a higher layer named.
fn database(
    m: &schema::Mongo,
    uri_database: Option<String>,
    origins: &Origins<'_>,
) -> Result<String> {
    let layer = |span| origins.of(&span).layer;
    let explicit = m
        .database
        .as_ref()
        .map(|d| (layer(d.span()), d.get_ref().clone(), d.span()));
    let from_uri = match (uri_database, &m.uri) {
        (Some(db), Some(uri)) => Some((layer(uri.span()), db, uri.span())),
        _ => None,
    };
    let chosen = match (explicit, from_uri) {
        (Some(e), Some(u)) if u.0 > e.0 => u,
        (Some(e), _) => e,
        (None, Some(u)) => u,
        (None, None) => {
            return Err(origins.file_error(
                "missing `[mongo] database`".into(),
                "set `database` under `[mongo]`, or `MIGO_DATABASE`, or `--database`",
            ))
        }
    };
    let (_, database, span) = chosen;
    if !is_valid_database_name(&database) {
        return Err(origins.error(
            &span,
            format!("database name {database:?} is not valid"),
            "use letters, digits, `_` and `-` (at most 63 characters)",
        ));
    }
    Ok(database)
}

/// Whether MongoDB accepts `name` as a database name.
pub(crate) fn is_valid_database_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 63 && !name.contains(['/', '\\', '.', ' ', '"', '$', '\0'])
}

fn timeout(m: &schema::Mongo, origins: &Origins<'_>) -> Result<Duration> {
    let Some(secs) = &m.timeout_secs else {
        return Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    };
    if !(1..=MAX_TIMEOUT_SECS).contains(secs.get_ref()) {
        return Err(origins.error(
            &secs.span(),
            format!(
                "timeout {} is out of range: from 1 to {MAX_TIMEOUT_SECS} seconds",
                secs.get_ref()
            ),
            "the default is 10",
        ));
    }
    Ok(Duration::from_secs(*secs.get_ref()))
}

/// The password: given (`MIGO_PASSWORD`, or `password` in the file) or read from the variable
/// `password_env` names; the two are one unit, so the higher layer decides.
fn password(m: &schema::Mongo, origins: &Origins<'_>) -> Result<Option<Secret>> {
    if let Some(p) = &m.password {
        return Ok(Some(Secret::new(p.get_ref().clone())));
    }
    let Some(var) = &m.password_env else {
        return Ok(None);
    };
    match std::env::var(var.get_ref()) {
        Ok(p) => Ok(Some(Secret::new(p))),
        Err(_) => Err(origins.error(
            &var.span(),
            format!(
                "`[mongo] password_env` names `{}`, which is not set",
                var.get_ref()
            ),
            &format!("export {}=… before running migo", var.get_ref()),
        )),
    }
}

/// Puts user, password and auth source on the connection, pinning the auth source so that
/// setting the default database to the migrated one cannot change where the user authenticates.
fn credentials(
    connection: &mut ConnectionString,
    m: &schema::Mongo,
    password: Option<Secret>,
    origins: &Origins<'_>,
) -> Result<()> {
    let from_uri_path = m.uri.as_ref().and(connection.default_database.clone());
    let mut credential = connection.credential.take().unwrap_or_default();
    if let Some(user) = &m.user {
        credential.username = Some(user.get_ref().clone());
    }
    if let Some(password) = password {
        credential.password = Some(password.expose().to_string());
    }
    if let Some(source) = &m.auth_source {
        credential.source = Some(source.get_ref().clone());
    }
    if credential == Credential::default() {
        return Ok(());
    }
    if credential.username.is_none() && credential.password.is_some() {
        let span = m
            .password
            .as_ref()
            .map(toml::Spanned::span)
            .or(m.password_env.as_ref().map(toml::Spanned::span))
            .unwrap_or_default();
        return Err(origins.error(
            &span,
            "a password is configured but `[mongo] user` is not".into(),
            "set `user` under `[mongo]` or `MIGO_USER`",
        ));
    }
    if credential.source.is_none() && credential.mechanism.is_none() {
        credential.source = Some(from_uri_path.unwrap_or_else(|| "admin".into()));
    }
    connection.credential = Some(credential);
    Ok(())
}

fn tls(
    connection: &mut ConnectionString,
    m: &schema::Mongo,
    base_dir: &Path,
    origins: &Origins<'_>,
) {
    let on = m.tls.as_ref().map(|t| *t.get_ref());
    let ca_file = m.tls_ca_file.as_ref().map(|f| {
        let from_file = origins.of(&f.span()).layer <= LayerKind::Environment;
        match f.get_ref() {
            p if p.is_relative() && from_file => base_dir.join(p),
            p => p.clone(),
        }
    });
    let allow_invalid = m
        .tls_allow_invalid_certificates
        .as_ref()
        .map(|a| *a.get_ref());
    if on == Some(false) {
        connection.tls = Some(Tls::Disabled);
    } else if on == Some(true) || ca_file.is_some() || allow_invalid.is_some() {
        let mut options = match connection.tls.take() {
            Some(Tls::Enabled(options)) => options,
            _ => TlsOptions::default(),
        };
        if ca_file.is_some() {
            options.ca_file_path = ca_file;
        }
        if allow_invalid.is_some() {
            options.allow_invalid_certificates = allow_invalid;
        }
        connection.tls = Some(Tls::Enabled(options));
    }
}
