//! Keeping passwords out of sight: a `Secret` that never prints, URI redaction for anything that
//! may be printed, logged, stored or put in `--json`, and a [`Scrubber`] for the output of child
//! processes, which may print what they were given.

use std::fmt;

/// A password or a URI with one. `Debug` and `Display` print `***`; [`Secret::expose`] gives the
/// value where it is needed (the driver, a child's environment).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the driver and child environments only.
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

/// A connection string with its credentials replaced: everything between `//` and the last `@`
/// becomes `user:***` (or `***` when the user cannot be told apart), so a password holding `/`,
/// `?` or `@` is hidden whole.
pub(crate) fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return uri.to_string();
    };
    let rest = &uri[scheme_end..];
    let Some(at) = rest.rfind('@') else {
        return uri.to_string();
    };
    let userinfo = &rest[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) if !user.contains(['/', '?', '@', '#']) => format!("{user}:***"),
        Some(_) => "***".to_string(),
        None if userinfo.contains(['/', '?', '#']) => "***".to_string(),
        None => userinfo.to_string(),
    };
    format!("{}{shown}{}", &uri[..scheme_end], &rest[at..])
}

/// `text` with every connection string in it redacted (each runs to the next whitespace).
pub(crate) fn redact_text(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = find_uri(rest) {
        out.push_str(&rest[..found]);
        let end = rest[found..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |i| found + i);
        out.push_str(&redact_uri(&rest[found..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next `mongodb://` or `mongodb+srv://` starts.
fn find_uri(text: &str) -> Option<usize> {
    ["mongodb://", "mongodb+srv://"]
        .iter()
        .filter_map(|scheme| text.find(scheme))
        .min()
}

/// Removes known secrets (the password, the full connection string) from text a child process
/// printed, and redacts any connection string left.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// A scrubber for these secrets (empty ones are ignored).
    pub(crate) fn new(secrets: &[&Secret]) -> Scrubber {
        let mut secrets: Vec<String> = secrets
            .iter()
            .map(|s| s.expose().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        // Longest first, so a URI holding the password is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    /// `text` without the secrets.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut clean = text.to_string();
        for secret in &self.secrets {
            if clean.contains(secret.as_str()) {
                clean = clean.replace(secret.as_str(), "***");
            }
        }
        redact_text(&clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_everything_up_to_the_last_at() {
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
        assert_eq!(
            redact_uri("mongodb://u:p@ss/w0rd@h/db"),
            "mongodb://u:***@h/db"
        );
        assert_eq!(redact_uri("mongodb://u:S3cr/etPW@h"), "mongodb://u:***@h");
        assert_eq!(
            redact_uri("mongodb://u:pa?ss@h/d?x=1"),
            "mongodb://u:***@h/d?x=1"
        );
    }

    #[test]
    fn redacts_every_uri_in_a_text() {
        assert_eq!(
            redact_text("migo --uri=mongodb://a:b@h/d list and mongodb+srv://c:d@e"),
            "migo --uri=mongodb://a:***@h/d list and mongodb+srv://c:***@e"
        );
    }

    #[test]
    fn scrubs_known_secrets() {
        let password = Secret::new("hunter2");
        let uri = Secret::new("mongodb://u:hunter2@h/db");
        let scrubber = Scrubber::new(&[&password, &uri]);
        assert_eq!(
            scrubber.scrub("uri=mongodb://u:hunter2@h/db pw=hunter2"),
            "uri=*** pw=***"
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
