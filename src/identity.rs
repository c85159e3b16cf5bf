//! Who runs migo (`user@host`): recorded in the registry, the lock and the audit log.

/// A user on a host.
pub(crate) struct Identity {
    pub(crate) user: String,
    pub(crate) host: String,
}

impl Identity {
    /// The user running this process and this machine's name.
    pub(crate) fn current() -> Identity {
        let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
        Identity {
            user: whoami::username(),
            host,
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.user, self.host)
    }
}
