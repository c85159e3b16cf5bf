//! Where dumps go: `<directory>/<env>-<UTC timestamp>/`, named so that the names sort as time
//! does and retention can tell an environment's dumps from everything else. (What makes a dump
//! complete is its manifest: [`super::manifest`].)

use std::path::PathBuf;

use mongodb::bson::DateTime;

use crate::config::Settings;

/// A fresh directory for a dump: `<directory>/<environment>-<UTC timestamp>`.
pub(crate) fn new_dump_dir(settings: &Settings) -> PathBuf {
    settings.dump.directory.join(format!(
        "{}-{}",
        environment_label(settings),
        stamp(DateTime::now())
    ))
}

/// `20261122T101500.123Z`: always three digits of milliseconds, so names sort as time does.
pub(crate) fn stamp(at: DateTime) -> String {
    let text = at.try_to_rfc3339_string().unwrap_or_default();
    let text = text.trim_end_matches('Z');
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    format!("{}.{millis}Z", seconds.replace(['-', ':'], ""))
}

/// `default`, or the selected environment's name.
pub(crate) fn environment_label(settings: &Settings) -> &str {
    settings.environment().unwrap_or("default")
}

/// The environment of a dump directory's name and its time as a key that sorts as time does,
/// when the name is a dump's: `<env>-20261122T101500.123Z` (older migos wrote 0 to 3 digits of
/// milliseconds).
pub(crate) fn parse_dir_name(name: &str) -> Option<(&str, String)> {
    let (environment, stamp) = name.rsplit_once('-')?;
    let body = stamp.strip_suffix('Z')?;
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, ""));
    let bytes = seconds.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    let is_stamp = bytes.len() == 15
        && digits(0..8)
        && bytes[8] == b'T'
        && digits(9..15)
        && fraction.len() <= 9
        && fraction.bytes().all(|b| b.is_ascii_digit());
    let key = format!("{seconds}.{fraction:0<9}");
    (is_stamp && !environment.is_empty()).then_some((environment, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_names_split_at_the_timestamp() {
        assert_eq!(
            parse_dir_name("eu-1-20261122T101500.123Z"),
            Some(("eu-1", "20261122T101500.123000000".to_string()))
        );
        assert_eq!(parse_dir_name("eu-20261122T101500.1Z").unwrap().0, "eu");
        assert!(parse_dir_name("a-20261122T101500.13Z") < parse_dir_name("a-20261122T101500.2Z"));
        assert_eq!(
            stamp(DateTime::from_millis(1_700_000_000_130)),
            "20231114T221320.130Z"
        );
        assert_eq!(
            stamp(DateTime::from_millis(1_700_000_000_000)),
            "20231114T221320.000Z"
        );
        assert_eq!(parse_dir_name("eu-1"), None);
        assert_eq!(parse_dir_name("notes"), None);
    }
}
