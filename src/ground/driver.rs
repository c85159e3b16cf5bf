//! The driver's errors, read: whether one means the server could not be reached (or refused
//! the credentials, or wants a login), and one line a person can read for any of them.

use mongodb::error::ErrorKind;

/// Whether `e` means the server could not be reached, or refused the credentials.
pub(crate) fn is_connection_failure(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::Authentication { .. } | ErrorKind::ServerSelection { .. } | ErrorKind::Io(_)
    ) || e.contains_label("NetworkError")
        || matches!(e.kind.as_ref(), ErrorKind::ConnectionPoolCleared { .. })
        || is_auth_failure(e)
}

/// `Unauthorized` (13) "… requires authentication": the server wants a login and migo has none
/// (with a user configured, the driver logs in first, or fails with an authentication error).
pub(crate) fn is_login_required(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::Command(c)
        if c.code == 13 && c.message.to_ascii_lowercase().contains("requires authentication"))
}

/// Code 18 is `AuthenticationFailed`, which some servers report as a plain command error.
pub(crate) fn is_auth_failure(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == 18)
}

/// A driver error as one line a person can read: `CodeName (code): message` for a server's
/// answer, the cause for anything else, never the driver's debug dump.
pub(crate) fn short_message(e: &mongodb::error::Error) -> String {
    let text = match e.kind.as_ref() {
        ErrorKind::Command(c) => format!("{} ({}): {}", c.code_name, c.code, c.message),
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => {
            let name = w.code_name.as_deref().unwrap_or("WriteError");
            format!("{name} ({}): {}", w.code, w.message)
        }
        ErrorKind::Write(mongodb::error::WriteFailure::WriteConcernError(w)) => {
            format!("write concern {} ({}): {}", w.code_name, w.code, w.message)
        }
        ErrorKind::InsertMany(failure) => {
            match failure.write_errors.as_ref().and_then(|e| e.first()) {
                Some(w) => format!(
                    "{} ({}): {}",
                    w.code_name.as_deref().unwrap_or("WriteError"),
                    w.code,
                    w.message
                ),
                None => "the insert failed".to_string(),
            }
        }
        ErrorKind::ServerSelection { .. } => "no server is available".to_string(),
        ErrorKind::InvalidArgument { message, .. } => message.clone(),
        ErrorKind::Authentication { message, .. } => message.clone(),
        ErrorKind::Io(io) => io.to_string(),
        ErrorKind::ConnectionPoolCleared { .. } => "the connection to the server was lost".into(),
        ErrorKind::DnsResolve { message, .. } => message.clone(),
        _ => e.kind.to_string(),
    };
    let first_line = text.lines().next().unwrap_or_default().trim().to_string();
    super::secret::redact_text(&first_line)
}
