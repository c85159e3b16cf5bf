//! Configuration as data: the layers (base file, `[environments.<name>]`, `MIGO_*` variables,
//! flags) are TOML tables deep-merged in that order, then deserialised once.
//!
//! Every value keeps a span. File values keep their place in the file; a variable's or a flag's
//! value gets a span past the end of the file that stands for it, so the same lookup
//! ([`Origins::of`]) turns any span into `file:line:column`, `MIGO_PORT` or `--port`, and tells
//! which layer a value came from.
//!
//! Two groups of keys are units rather than separate values: the server (`uri`, `host`, `port`)
//! and the password (`password`, `password_env`). The highest layer that sets any key of a
//! password, or a server's `uri`, decides the whole unit; so does an environment's `host` or
//! `port` over a lower `uri` (a base `uri` never survives an environment's `host`). Otherwise
//! `host` and `port` are separate values: `--port` keeps the file's `host`, and a variable's or
//! flag's `host`/`port` over a `uri` are kept beside it, for the target to apply to that
//! connection string's host ([`super::target`]).

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{Error, Result};

/// Where a value came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LayerKind {
    Base,
    Environment,
    Variable,
    Flag,
}

/// A setting given by a `MIGO_*` variable or a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Override {
    /// `section.key`, e.g. `mongo.port`.
    pub(crate) key: &'static str,
    pub(crate) value: Scalar,
    /// `MIGO_PORT` or `--port`.
    pub(crate) label: String,
    pub(crate) layer: LayerKind,
}

/// An override's value, typed as the key expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
}

impl Scalar {
    /// The value as a TOML literal.
    fn literal(&self) -> String {
        match self {
            Scalar::Str(s) => toml::Value::String(s.clone()).to_string(),
            Scalar::Int(n) => n.to_string(),
        }
    }
}

/// The password's keys: the highest layer setting either of them sets both.
const PASSWORD: [&str; 2] = ["password", "password_env"];
/// The server's keys.
const SERVER: [&str; 3] = ["uri", "host", "port"];

/// Turns spans back into places: file positions, or the variables and flags.
#[derive(Debug)]
pub(crate) struct Origins<'a> {
    file: Option<&'a Path>,
    text: &'a str,
    /// Span starts of the values that came from the selected environment's section.
    environment: HashSet<usize>,
    /// Each override's label and layer, by the index its sentinel span encodes.
    overrides: Vec<(String, LayerKind)>,
}

/// A value's origin: its layer, and a label for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) layer: LayerKind,
    pub(crate) label: String,
}

impl<'a> Origins<'a> {
    /// Origins for values of `text` (read from `file`, if any).
    pub(crate) fn new(file: Option<&'a Path>, text: &'a str) -> Origins<'a> {
        Origins {
            file,
            text,
            environment: HashSet::new(),
            overrides: Vec::new(),
        }
    }

    /// The configuration file's name, or `configuration` when there is none.
    pub(crate) fn file_name(&self) -> String {
        self.file
            .map_or_else(|| "configuration".to_string(), |p| p.display().to_string())
    }

    /// `file:line:column` for a byte offset into the file.
    pub(crate) fn at(&self, offset: usize) -> String {
        let before = self.text.get(..offset.min(self.text.len())).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        format!("{}:{line}:{column}", self.file_name())
    }

    /// Where the value at `span` came from.
    pub(crate) fn of(&self, span: &Range<usize>) -> Origin {
        if let Some(index) = span.start.checked_sub(self.text.len() + 1) {
            if let Some((label, layer)) = self.overrides.get(index) {
                return Origin {
                    layer: *layer,
                    label: label.clone(),
                };
            }
        }
        let layer = if self.environment.contains(&span.start) {
            LayerKind::Environment
        } else {
            LayerKind::Base
        };
        Origin {
            layer,
            label: self.at(span.start),
        }
    }

    /// A configuration error about the value at `span`.
    pub(crate) fn error(&self, span: &Range<usize>, message: String, hint: &str) -> Error {
        Error::Config {
            location: self.of(span).label,
            message,
            hint: Some(hint.to_string()),
        }
    }

    /// A configuration error about the file as a whole.
    pub(crate) fn file_error(&self, message: String, hint: &str) -> Error {
        Error::Config {
            location: self.file_name(),
            message,
            hint: Some(hint.to_string()),
        }
    }

    fn sentinel(&self, index: usize) -> Range<usize> {
        let start = self.text.len() + 1 + index;
        start..start + 1
    }
}

/// The override literals, kept alive while the merged table borrows from them.
pub(crate) fn literals(overrides: &[Override]) -> Vec<String> {
    overrides.iter().map(|o| o.value.literal()).collect()
}

/// Merges the file's base sections, the environment `environment` (already checked to exist)
/// and `overrides` (with their `literals`) into one table, and records the origins.
pub(crate) fn merge<'i>(
    file: Option<Spanned<DeTable<'i>>>,
    environment: Option<&str>,
    overrides: &[Override],
    literals: &'i [String],
    origins: &mut Origins<'_>,
) -> Result<DeTable<'i>> {
    let mut base = file.map(Spanned::into_inner).unwrap_or_default();
    let sections = base.remove("environments");
    base.remove("tasks");
    base.remove("fleet");
    check_units(&base, origins)?;
    if let Some(name) = environment {
        let mut section = sections
            .and_then(|s| table(s.into_inner()))
            .and_then(|mut all| all.remove(name))
            .and_then(|s| table(s.into_inner()))
            .unwrap_or_default();
        for only_environment in ["remote", "confirm"] {
            section.remove(only_environment);
        }
        collect_spans(&section, &mut origins.environment);
        check_units(&section, origins)?;
        merge_into(&mut base, section, LayerKind::Environment);
    }
    for layer in [LayerKind::Variable, LayerKind::Flag] {
        let mut table = DeTable::default();
        for (o, literal) in overrides
            .iter()
            .zip(literals)
            .filter(|(o, _)| o.layer == layer)
        {
            origins.overrides.push((o.label.clone(), o.layer));
            let span = origins.sentinel(origins.overrides.len() - 1);
            let value = DeValue::parse(literal)
                .map_err(|e| Error::Config {
                    location: o.label.clone(),
                    message: e.message().to_string(),
                    hint: None,
                })?
                .into_inner();
            insert(&mut table, o.key, Spanned::new(span, value));
        }
        check_units(&table, origins)?;
        merge_into(&mut base, table, layer);
    }
    Ok(base)
}

fn table(value: DeValue<'_>) -> Option<DeTable<'_>> {
    match value {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

/// Sets `section.key` in `table`.
fn insert<'i>(table: &mut DeTable<'i>, path: &'static str, value: Spanned<DeValue<'i>>) {
    let (section, key) = path.split_once('.').expect("section.key");
    let span = value.span();
    let entry = table
        .entry(Spanned::new(span.clone(), Cow::Borrowed(section)))
        .or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::default())));
    if let DeValue::Table(inner) = entry.get_mut() {
        inner.insert(Spanned::new(span, Cow::Borrowed(key)), value);
    }
}

/// `uri` with `host` or `port` in one layer is ambiguous: refuse it, naming both.
fn check_units(layer: &DeTable<'_>, origins: &Origins<'_>) -> Result<()> {
    let Some(DeValue::Table(mongo)) = layer.get("mongo").map(Spanned::get_ref) else {
        return Ok(());
    };
    let Some(uri) = mongo.get("uri") else {
        return Ok(());
    };
    match ["host", "port"]
        .into_iter()
        .find(|k| mongo.contains_key(*k))
    {
        Some(other) => {
            let other_at = origins.of(&mongo.get(other).expect("present").span()).label;
            Err(origins.error(
                &uri.span(),
                format!("`uri` and `{other}` (at {other_at}) both name the server"),
                "keep one: `uri` for a connection string, or `host`/`port`",
            ))
        }
        None => Ok(()),
    }
}

/// Deep-merges `high` (a layer of kind `layer`) into `low`: tables key by key, anything else
/// replaced, and the units replaced whole.
fn merge_into<'i>(low: &mut DeTable<'i>, high: DeTable<'i>, layer: LayerKind) {
    let sets = |keys: &[&str]| {
        matches!(
            high.get("mongo").map(Spanned::get_ref),
            Some(DeValue::Table(t)) if keys.iter().any(|k| t.contains_key(*k))
        )
    };
    let mut replaced: Vec<&str> = Vec::new();
    if sets(&PASSWORD) {
        replaced.extend(PASSWORD);
    }
    if sets(&["uri"]) {
        replaced.extend(SERVER);
    } else if sets(&["host", "port"]) && layer == LayerKind::Environment {
        // An environment naming a host or port is another deployment: a lower `uri` goes whole.
        replaced.push("uri");
    }
    if let Some(DeValue::Table(lower)) = low.get_mut("mongo").map(Spanned::get_mut) {
        for key in replaced {
            lower.remove(key);
        }
    }
    for (key, value) in high {
        let existing = low.get_mut(key.get_ref().as_ref());
        match (existing.map(Spanned::get_mut), value.get_ref()) {
            (Some(DeValue::Table(lower)), DeValue::Table(_)) => {
                if let DeValue::Table(higher) = value.into_inner() {
                    merge_tables(lower, higher);
                }
            }
            _ => {
                low.insert(key, value);
            }
        }
    }
}

/// Plain deep merge below the top level (no units there).
fn merge_tables<'i>(low: &mut DeTable<'i>, high: DeTable<'i>) {
    for (key, value) in high {
        match (
            low.get_mut(key.get_ref().as_ref()).map(Spanned::get_mut),
            value.get_ref(),
        ) {
            (Some(DeValue::Table(lower)), DeValue::Table(_)) => {
                if let DeValue::Table(higher) = value.into_inner() {
                    merge_tables(lower, higher);
                }
            }
            _ => {
                low.insert(key, value);
            }
        }
    }
}

/// Every value span start under `table`.
fn collect_spans(table: &DeTable<'_>, into: &mut HashSet<usize>) {
    for value in table.values() {
        into.insert(value.span().start);
        match value.get_ref() {
            DeValue::Table(inner) => collect_spans(inner, into),
            DeValue::Array(items) => {
                for item in items {
                    into.insert(item.span().start);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(key: &'static str, value: Scalar, label: &str, layer: LayerKind) -> Override {
        Override {
            key,
            value,
            label: label.into(),
            layer,
        }
    }

    fn merged(text: &str, env: Option<&str>, overrides: &[Override]) -> Result<String> {
        let literals = literals(overrides);
        let mut origins = Origins::new(Some(Path::new("m.toml")), text);
        let file = DeTable::parse(text).unwrap();
        let table = merge(Some(file), env, overrides, &literals, &mut origins)?;
        let mongo = match table.get("mongo").map(Spanned::get_ref) {
            Some(DeValue::Table(t)) => t,
            _ => return Ok(String::new()),
        };
        let mut keys: Vec<String> = mongo
            .iter()
            .map(|(k, v)| format!("{}@{}", k.get_ref(), origins.of(&v.span()).label))
            .collect();
        keys.sort();
        Ok(keys.join(" "))
    }

    #[test]
    fn a_higher_layer_naming_the_server_replaces_the_whole_target() {
        let text = "[mongo]\nuri = \"mongodb://a\"\ndatabase = \"d\"\n\
                    [environments.s.mongo]\nhost = \"b\"\nport = 2\n";
        assert_eq!(
            merged(text, Some("s"), &[]).unwrap(),
            "database@m.toml:3:12 host@m.toml:5:8 port@m.toml:6:8"
        );
        let flag = over(
            "mongo.uri",
            Scalar::Str("mongodb://c".into()),
            "--uri",
            LayerKind::Flag,
        );
        assert_eq!(
            merged(text, Some("s"), &[flag]).unwrap(),
            "database@m.toml:3:12 uri@--uri"
        );
        // A variable's or flag's port is kept beside a lower uri, for the target to apply.
        let var = over(
            "mongo.port",
            Scalar::Int(7),
            "MIGO_PORT",
            LayerKind::Variable,
        );
        assert_eq!(
            merged(text, None, &[var]).unwrap(),
            "database@m.toml:3:12 port@MIGO_PORT uri@m.toml:2:7"
        );
    }

    #[test]
    fn host_and_port_override_only_what_they_name() {
        let text = "[mongo]\nhost = \"db.internal\"\nport = 1\n\
                    [environments.s.mongo]\nport = 2\n";
        let flag = over("mongo.port", Scalar::Int(3), "--port", LayerKind::Flag);
        assert_eq!(
            merged(text, None, &[flag]).unwrap(),
            "host@m.toml:2:8 port@--port"
        );
        assert_eq!(
            merged(text, Some("s"), &[]).unwrap(),
            "host@m.toml:2:8 port@m.toml:5:8"
        );
        // An environment's port over a base uri names another deployment: the uri goes.
        let text = "[mongo]\nuri = \"mongodb://a\"\n[environments.s.mongo]\nport = 2\n";
        assert_eq!(merged(text, Some("s"), &[]).unwrap(), "port@m.toml:4:8");
    }

    #[test]
    fn uri_and_host_in_one_layer_is_an_error_naming_both() {
        let text = "[mongo]\nuri = \"mongodb://a\"\nhost = \"b\"\n";
        let err = merged(text, None, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.toml:2:7: `uri` and `host` (at m.toml:3:8) both name the server"
        );
    }

    #[test]
    fn the_password_is_a_unit_too() {
        let text = "[mongo]\npassword_env = \"X\"\n";
        let var = over(
            "mongo.password",
            Scalar::Str("p".into()),
            "MIGO_PASSWORD",
            LayerKind::Variable,
        );
        assert_eq!(
            merged(text, None, &[var]).unwrap(),
            "password@MIGO_PASSWORD"
        );
    }
}
