//! Where dumps go and how a complete one is told from a partial one: `<directory>/<env>-<UTC
//! timestamp>/`, and a marker file, `migo-dump.json`, written last. A dump without the marker
//! was cut off (a full disk, a kill) and `restore` refuses it.

use std::io::Write;
use std::path::{Path, PathBuf};

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};

use super::DumpReport;
use crate::config::{DumpTool, Settings};

/// The completion marker's file name.
pub(crate) const MARKER: &str = "migo-dump.json";

/// What the marker says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub(crate) database: String,
    pub(crate) tool: String,
    pub(crate) gzip: bool,
    /// `[name, documents]` per collection (documents unknown for mongodump).
    pub(crate) collections: Vec<(String, Option<u64>)>,
    pub(crate) finished_at: String,
    pub(crate) migo_version: String,
}

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

/// Writes the marker, and syncs it: the last thing a dump does.
pub(crate) fn write_marker(
    out: &Path,
    database: &str,
    settings: &Settings,
    report: &DumpReport,
) -> std::io::Result<()> {
    let marker = Marker {
        database: database.to_string(),
        tool: match settings.dump.tool {
            DumpTool::Native => "native".into(),
            DumpTool::Mongodump => "mongodump".into(),
        },
        gzip: settings.dump.gzip,
        collections: report.contents.clone(),
        finished_at: DateTime::now().try_to_rfc3339_string().unwrap_or_default(),
        migo_version: env!("CARGO_PKG_VERSION").into(),
    };
    let text = serde_json::to_string_pretty(&marker).map_err(std::io::Error::other)?;
    let mut file = std::fs::File::create(out.join(MARKER))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// The marker of the dump at `dir`, if it has a readable one.
pub(crate) fn read_marker(dir: &Path) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok()
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
