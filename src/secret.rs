//! Keeping passwords out of sight: a `Secret` that never prints, and URI redaction.
//!
//! The password travels from config to the driver (and to child processes' environments) only;
//! anything that may be printed, logged or put in `--json` goes through [`redact_uri`].

use std::fmt;

/// A password. `Debug` and `Display` print `***`; use [`Secret::expose`] where the value is needed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The password itself, for the driver and child environments only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Replaces the password of a `mongodb://user:password@host` URI with `***`.
pub(crate) fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return uri.to_string();
    };
    let authority_end = uri[scheme_end..]
        .find(['/', '?'])
        .map_or(uri.len(), |i| scheme_end + i);
    let Some(at) = uri[scheme_end..authority_end]
        .rfind('@')
        .map(|i| scheme_end + i)
    else {
        return uri.to_string();
    };
    match uri[scheme_end..at].find(':') {
        Some(colon) => format!("{}:***{}", &uri[..scheme_end + colon], &uri[at..]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_only() {
        assert_eq!(
            redact_uri("mongodb://u:p%40ss@h:1/db?x=1"),
            "mongodb://u:***@h:1/db?x=1"
        );
        assert_eq!(redact_uri("mongodb://u@h/db"), "mongodb://u@h/db");
        assert_eq!(redact_uri("mongodb://h:27017/db"), "mongodb://h:27017/db");
        assert_eq!(
            redact_uri("mongodb+srv://a:b@c.example/x"),
            "mongodb+srv://a:***@c.example/x"
        );
    }

    #[test]
    fn debug_hides_the_value() {
        assert_eq!(
            format!("{:?} {}", Secret::new("hunter2"), Secret::new("x")),
            "*** ***"
        );
    }
}
