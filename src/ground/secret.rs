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
/// printed, and redacts any connection string left. A secret is found as it is and in any
/// percent-encoded form (`p%2Fss%40word`, `p%2fss%40word`, `p/ss%40word`, `+` for a space): the
/// forms a script's URL encoder, or a connection string it builds and prints, gives it.
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
            clean = replace_encoded(&clean, secret.as_bytes());
        }
        redact_text(&clean)
    }
}

/// `text` with every span that decodes to `secret` replaced by `***`.
fn replace_encoded(text: &str, secret: &[u8]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        match encoded_at(bytes, at, secret) {
            Some(end) => {
                out.push_str(&text[copied..at]);
                out.push_str("***");
                (copied, at) = (end, end);
            }
            None => at += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Where a span of `text` starting at `at` that decodes to `secret` ends: each byte of the
/// secret is there as itself, as `%XX` (either case of hex), or, for a space, as `+`.
/// A match starts and ends on character boundaries, since each matched byte is all of a
/// character or a `%XX` escape of one of its bytes.
fn encoded_at(text: &[u8], at: usize, secret: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = secret.split_first() else {
        return Some(at);
    };
    let escaped = text
        .get(at..at + 3)
        .filter(|e| e[0] == b'%')
        .and_then(|e| std::str::from_utf8(&e[1..]).ok())
        .and_then(|hex| u8::from_str_radix(hex, 16).ok());
    if escaped == Some(first) {
        if let Some(end) = encoded_at(text, at + 3, rest) {
            return Some(end);
        }
    }
    let plain = text
        .get(at)
        .is_some_and(|&b| b == first || (first == b' ' && b == b'+'));
    if plain {
        return encoded_at(text, at + 1, rest);
    }
    None
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
    fn scrubs_every_percent_encoded_form() {
        let password = Secret::new("p/ss@word é");
        let scrubber = Scrubber::new(&[&password]);
        for shown in [
            "p/ss@word é",
            "p%2Fss%40word%20%C3%A9",
            "p%2fss%40word+%c3%a9",
            "p/ss%40word %C3%A9",
            "%70%2F%73s%40word é",
        ] {
            assert_eq!(scrubber.scrub(&format!("[{shown}]")), "[***]", "{shown}");
        }
        assert_eq!(scrubber.scrub("p/ss@wor"), "p/ss@wor");
        let percent = Scrubber::new(&[&Secret::new("50%")]);
        assert_eq!(percent.scrub("a 50% b 50%25 c"), "a *** b *** c");
    }

    #[test]
    fn debug_hides_the_value() {
        assert_eq!(
            format!("{:?} {}", Secret::new("hunter2"), Secret::new("x")),
            "*** ***"
        );
    }
}
