//! Opening the database: driver options from [`MongoSettings`], and one `ping` that turns an
//! unreachable server or a wrong password into a clear error within the configured timeout.

use mongodb::bson::{doc, Bson};
use mongodb::error::ErrorKind;
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use mongodb::options::{ClientOptions, ServerAddress, Tls, TlsOptions};
use mongodb::{Client, Database};

use crate::config::MongoSettings;
use crate::error::{Error, Result};
use crate::secret::redact_uri;

/// Where migo connects, safe to print: the redacted URI or `host:port`, and the database.
pub(crate) fn target(m: &MongoSettings) -> String {
    let server = m
        .uri
        .as_deref()
        .map_or_else(|| format!("{}:{}", m.host, m.port), redact_uri);
    format!("`{server}` (database `{}`)", m.database)
}

/// Connects and checks the server answers and accepts the credentials (one `ping`).
pub(crate) async fn connect(m: &MongoSettings) -> Result<Database> {
    let db = open(m).await?;
    db.run_command(doc! {"ping": 1})
        .await
        .map_err(|e| connect_error(m, &e))?;
    tracing::debug!("connected to {}", target(m));
    Ok(db)
}

/// The database handle, without a round trip: the first command connects. Its errors go through
/// [`classify`], so an unreachable server or a wrong password still reads as one.
pub(crate) async fn open(m: &MongoSettings) -> Result<Database> {
    let options = client_options(m).await?;
    let client = Client::with_options(options).map_err(|e| connect_error(m, &e))?;
    Ok(client.database(&m.database))
}

/// Turns a database error that is really a connection or authentication failure into that.
pub(crate) fn classify(m: &MongoSettings, error: Error) -> Error {
    match &error {
        Error::Database { source, .. } if is_connection_failure(source) => connect_error(m, source),
        _ => error,
    }
}

fn is_connection_failure(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::Authentication { .. } | ErrorKind::ServerSelection { .. } | ErrorKind::Io(_)
    ) || is_auth_failure(e)
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

async fn client_options(m: &MongoSettings) -> Result<ClientOptions> {
    let mut options = match &m.uri {
        Some(uri) => ClientOptions::parse(uri).await.map_err(|e| Error::Config {
            location: "`[mongo] uri`".into(),
            message: format!(
                "{} is not a valid connection string: {}",
                redact_uri(uri),
                e.kind
            ),
            hint: Some("the form is mongodb://[user@]host[:port][/database][?options]".into()),
        })?,
        None => {
            let host = ServerAddress::Tcp {
                host: m.host.clone(),
                port: Some(m.port),
            };
            ClientOptions::builder().hosts(vec![host]).build()
        }
    };
    options.app_name = Some(format!("migo {}", env!("CARGO_PKG_VERSION")));
    if tracing::enabled!(target: "migo::wire", tracing::Level::TRACE) {
        options.command_event_handler = Some(log_commands());
    }
    options.connect_timeout = Some(m.timeout);
    options.server_selection_timeout = Some(m.timeout);
    if m.user.is_some() || m.password.is_some() {
        let mut credential = options.credential.take().unwrap_or_default();
        credential.username = m.user.clone().or(credential.username);
        credential.password = m
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .or(credential.password);
        credential.source = m.auth_source.clone().or(credential.source);
        options.credential = Some(credential);
    }
    if m.tls == Some(true) || m.tls_ca_file.is_some() {
        let tls = TlsOptions::builder()
            .ca_file_path(m.tls_ca_file.clone())
            .allow_invalid_certificates(m.tls_allow_invalid_certificates)
            .build();
        options.tls = Some(Tls::Enabled(tls));
    } else if m.tls == Some(false) {
        options.tls = Some(Tls::Disabled);
    }
    Ok(options)
}

fn connect_error(m: &MongoSettings, e: &mongodb::error::Error) -> Error {
    match e.kind.as_ref() {
        ErrorKind::Authentication { message, .. } => Error::Auth {
            user: user_of(m).unwrap_or_default(),
            target: target(m),
            message: message.clone(),
        },
        ErrorKind::ServerSelection { message, .. } => Error::Connect {
            target: target(m),
            message: server_selection_reason(message, m),
        },
        _ if is_auth_failure(e) => Error::Auth {
            user: user_of(m).unwrap_or_default(),
            target: target(m),
            message: e.to_string(),
        },
        _ => Error::Connect {
            target: target(m),
            message: e.to_string(),
        },
    }
}

/// The driver's topology dump is long; keep the cause a user can act on.
fn server_selection_reason(message: &str, m: &MongoSettings) -> String {
    let secs = m.timeout.as_secs();
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

/// Code 18 is `AuthenticationFailed`, which some servers report as a plain command error.
fn is_auth_failure(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == 18)
}

fn user_of(m: &MongoSettings) -> Option<String> {
    m.user.clone().or_else(|| {
        let uri = m.uri.as_deref()?;
        let rest = &uri[uri.find("://")? + 3..];
        let userinfo = &rest[..rest.find('@')?];
        Some(userinfo.split(':').next().unwrap_or_default().to_string())
    })
}
