//! Opening the database for a [`Target`], and turning the driver's connection failures into one
//! readable line: an unreachable server, a wrong password, a server that went away, a server
//! that wants a login nobody configured.
//!
//! Before the first client of a deployment is made, its seed hosts' TCP ports are probed, all at
//! once, for a short while: when every one of them refuses the connection, nothing listens there
//! and migo says so at once instead of waiting out the driver's server selection. A host that
//! does not answer (a firewall dropping packets, a slow network) is left to the driver and its
//! timeout; `mongodb+srv` names are not probed (the driver resolves them).

use futures_util::stream::{FuturesUnordered, StreamExt};
use mongodb::bson::{doc, Bson};
use mongodb::error::ErrorKind;
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use mongodb::{Client, Database};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::config::Target;
use crate::error::{Error, Result};
use crate::ground::driver::{is_auth_failure, is_connection_failure, short_message};

/// Connects and checks the server answers and accepts the credentials (one `ping`).
pub(crate) async fn connect(target: &Target) -> Result<Database> {
    let db = open(target).await?;
    db.run_command(doc! {"ping": 1})
        .await
        .map_err(|e| connect_error(target, &e))?;
    tracing::debug!("connected to {}", target.describe());
    Ok(db)
}

/// The database handle, without a round trip: the first command connects. Its errors go through
/// [`classify`], so an unreachable server or a wrong password still reads as one.
pub(crate) async fn open(target: &Target) -> Result<Database> {
    let key = target.cluster_key();
    let client = match CLIENTS.get(&key) {
        Some(client) => client,
        None => {
            if let Some(hosts) = refused_everywhere(target).await {
                return Err(Error::ConnectionRefused {
                    target: target.describe(),
                    hosts,
                });
            }
            let mut options = target.client_options().await?;
            if tracing::enabled!(target: "migo::wire", tracing::Level::TRACE) {
                options.command_event_handler = Some(log_commands());
            }
            let client = Client::with_options(options).map_err(|e| connect_error(target, &e))?;
            CLIENTS.insert(key, client.clone());
            client
        }
    };
    Ok(client.database(&target.database))
}

/// How long the probe waits for a host before leaving it to the driver.
const PROBE: Duration = Duration::from_millis(500);

/// The seed hosts (`a:1,b:2`) when every one of them refused the TCP connection; `None` as soon
/// as one accepts it or does not answer within [`PROBE`], and for SRV names and Unix sockets.
async fn refused_everywhere(target: &Target) -> Option<String> {
    let hosts = target.tcp_hosts()?;
    let wait = PROBE.min(target.timeout);
    let mut probes: FuturesUnordered<_> = hosts
        .iter()
        .map(|(host, port)| tokio::time::timeout(wait, refuses(host, *port)))
        .collect();
    while let Some(result) = probes.next().await {
        if result != Ok(true) {
            return None;
        }
    }
    // Written as the target line writes them (`a:1,b:2`): the error names them twice.
    let shown: Vec<String> = hosts.iter().map(|(h, p)| format!("{h}:{p}")).collect();
    tracing::debug!(
        "every seed host refused the connection: {}",
        shown.join(",")
    );
    Some(shown.join(","))
}

/// Whether every address of `host` refuses a TCP connection on `port`.
async fn refuses(host: &str, port: u16) -> bool {
    let Ok(addresses) = tokio::net::lookup_host((host, port)).await else {
        return false;
    };
    let mut any = false;
    for address in addresses {
        any = true;
        match tokio::net::TcpStream::connect(address).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            _ => return false,
        }
    }
    any
}

/// Clients by deployment ([`Target::cluster_key`]) for the whole process: one connection pool
/// per deployment, which the databases of a fleet share, with no new handshake per database.
pub(crate) struct ClientCache(OnceLock<Mutex<HashMap<String, Client>>>);

impl ClientCache {
    pub(crate) const fn new() -> ClientCache {
        ClientCache(OnceLock::new())
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, Client>> {
        self.0
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client of deployment `key`, if there is one yet.
    pub(crate) fn get(&self, key: &str) -> Option<Client> {
        self.clients().get(key).cloned()
    }

    /// Keeps `client` as deployment `key`'s.
    pub(crate) fn insert(&self, key: String, client: Client) {
        self.clients().insert(key, client);
    }
}

/// The clients of migo's own commands (made on the main runtime).
static CLIENTS: ClientCache = ClientCache::new();

/// Turns a database error that is really a connection or authentication failure into that.
pub(crate) fn classify(target: &Target, error: Error) -> Error {
    match &error {
        Error::Database { source, .. } if is_connection_failure(source) => {
            connect_error(target, source)
        }
        _ => error,
    }
}

/// `-vv`: every command the driver sends, as the driver publishes it (it blanks the bodies of
/// authentication commands, so no credential reaches the log).
fn log_commands() -> EventHandler<CommandEvent> {
    EventHandler::callback(|event| {
        if let CommandEvent::Started(started) = event {
            let command = Bson::Document(started.command).into_relaxed_extjson();
            tracing::trace!(target: "migo::wire", "{}.{} {command}", started.db, started.command_name);
        }
    })
}

fn connect_error(target: &Target, e: &mongodb::error::Error) -> Error {
    let user = || target.user().unwrap_or_default().to_string();
    match e.kind.as_ref() {
        ErrorKind::Authentication { message, .. } => Error::Auth {
            user: user(),
            target: target.describe(),
            message: message.clone(),
        },
        _ if is_auth_failure(e) => Error::Auth {
            user: user(),
            target: target.describe(),
            message: short_message(e),
        },
        ErrorKind::ServerSelection { message, .. } => Error::Connect {
            target: target.describe(),
            message: server_selection_reason(message, target),
        },
        _ => Error::Connect {
            target: target.describe(),
            message: short_message(e),
        },
    }
}

/// The driver's topology dump is long; keep the cause a user can act on.
fn server_selection_reason(message: &str, target: &Target) -> String {
    let secs = target.timeout.as_secs();
    let cause = [
        "Connection refused",
        "timed out",
        "failed to lookup address",
        "Name or service not known",
    ]
    .into_iter()
    .find(|c| message.contains(c));
    match cause {
        Some(c) => format!("no server answered within {secs}s ({})", c.to_lowercase()),
        None => format!("no usable server within {secs}s"),
    }
}
