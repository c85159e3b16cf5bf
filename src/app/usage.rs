//! Clap's usage errors as migo's one line, in migo's words: what is wrong with the command line,
//! then the fix (the values to choose from, what a flag takes, what a subcommand needs), never
//! clap's own usage block or its "For more information" tip.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::error::Error;
use crate::ground::escape::escape;
use crate::ground::secret::redact_text;

/// `e` as migo's `error: <what>; hint: <fix>`.
pub(super) fn usage_error(e: &clap::Error) -> Error {
    let rendered = redact_text(&e.render().to_string());
    let command = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map_or_else(|| "migo".to_string(), command_of);
    let context = |kind| e.get(kind).map(|v| redact_text(&v.to_string()));
    // `--port <PORT>`: the flag and its value's name.
    let arg = context(ContextKind::InvalidArg).unwrap_or_default();
    let flag = arg.split(' ').next().unwrap_or_default().to_string();
    let message = first_line(&rendered);
    let (message, hint) = match e.kind() {
        ErrorKind::InvalidValue => {
            let hint = match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(values)) if !values.is_empty() => {
                    let choose = format!("choose one of {}", values.join(", "));
                    match context(ContextKind::SuggestedValue) {
                        Some(near) => format!("did you mean `{near}`? {choose}"),
                        None => choose,
                    }
                }
                // "a value is required for '--steps <N>' but none was supplied"
                _ => format!("give `{flag}` its value: `{arg}`"),
            };
            (message, hint)
        }
        ErrorKind::ValueValidation => {
            let value_name = arg.split(' ').nth(1).unwrap_or_default();
            let hint = takes(&flag, value_name, &message, e)
                .unwrap_or_else(|| format!("`{command} --help` says what `{flag}` takes"));
            (message, hint)
        }
        ErrorKind::MissingRequiredArgument => {
            let args = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(args)) => args.clone(),
                _ => Vec::new(),
            };
            let needs: Vec<String> = args.iter().map(|a| alternatives(&redact_text(a))).collect();
            let one = needs.len() == 1 && !needs[0].starts_with("one of ");
            match needs.is_empty() {
                true => (message, format!("`{command} --help` shows what it needs")),
                false => (
                    format!("`{command}` needs {}", needs.join(" and ")),
                    format!(
                        "`{command} --help` describes {}",
                        if one { "it" } else { "each" }
                    ),
                ),
            }
        }
        ErrorKind::UnknownArgument => {
            let hint = match context(ContextKind::SuggestedArg) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("`{command} --help` lists what it takes"),
            };
            (message, hint)
        }
        ErrorKind::ArgumentConflict => (
            message,
            format!("give one or the other; `{command} --help` says what each does"),
        ),
        _ => (message, format!("`{command} --help` shows how to use it")),
    };
    Error::Usage {
        message: escape(&message),
        hint: Some(escape(&hint)),
    }
}

/// Clap's first line without its `error: `, joined with the next when it ends in a colon
/// ("the following required arguments were not provided:").
fn first_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    match (message.strip_suffix(':'), lines.next()) {
        (Some(start), Some(next)) => format!("{start} {next}"),
        _ => message,
    }
}

/// `migo rollback` from a usage line `migo rollback [OPTIONS] <NAME|…>`.
fn command_of(usage: &str) -> String {
    usage
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `NAME`, or `one of NAME, --last N, --to NAME or --all`, from clap's
/// `<NAME|--last <N>|--to <NAME>|--all>`.
fn alternatives(arg: &str) -> String {
    let inner = arg
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(arg);
    let each: Vec<String> = inner
        .split('|')
        .map(|a| a.replace(['<', '>'], ""))
        .collect();
    match each.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("one of {} or {last}", rest.join(", ")),
        [] => arg.to_string(),
    }
}

/// What `flag` takes, when migo can say: a whole number (in the range clap checked), the
/// server's port, a time for `--since`.
fn takes(flag: &str, value_name: &str, message: &str, e: &clap::Error) -> Option<String> {
    if value_name == "<WHEN>" {
        return Some(format!(
            "give `{flag}` a date or an age, e.g. `{flag} 2026-11-20` or `{flag} 7d`"
        ));
    }
    let whole = std::error::Error::source(e)
        .is_some_and(|s| s.downcast_ref::<std::num::ParseIntError>().is_some());
    let range = range_of(message);
    if !whole && range.is_none() {
        return None;
    }
    let unit = match value_name {
        "<SECS>" => " of seconds",
        _ => "",
    };
    let bounds = match range {
        _ if value_name == "<PORT>" => " up to 65535".to_string(),
        Some((low, Some(high))) => format!(" from {low} to {high}"),
        Some((low, None)) => format!(", {low} or more"),
        None => String::new(),
    };
    let what = match value_name {
        "<PORT>" => "the server's port, a whole number",
        _ => "a whole number",
    };
    Some(format!("`{flag}` takes {what}{unit}{bounds}"))
}

/// The bounds in clap's `0 is not in 1..18446744073709551615` (no upper bound) or
/// `100000 is not in 0..=86400`.
fn range_of(message: &str) -> Option<(u64, Option<u64>)> {
    let range = message.rsplit_once(" is not in ")?.1;
    let (low, high) = range.split_once("..")?;
    let low = low.parse().ok()?;
    let high = match high.strip_prefix('=') {
        Some(inclusive) => inclusive.parse::<u64>().ok()?,
        None => high.parse::<u64>().ok()?.checked_sub(1)?,
    };
    // A range open at the top reads as its type's largest value.
    Some((low, (high < u64::from(u32::MAX) - 1).then_some(high)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_read_as_words() {
        assert_eq!(alternatives("<NAME>"), "NAME");
        assert_eq!(
            alternatives("<NAME|--last <N>|--to <NAME>|--all>"),
            "one of NAME, --last N, --to NAME or --all"
        );
    }

    #[test]
    fn ranges_read_as_bounds() {
        assert_eq!(
            range_of("0 is not in 1..18446744073709551615"),
            Some((1, None))
        );
        assert_eq!(range_of("9 is not in 0..=86400"), Some((0, Some(86400))));
        assert_eq!(range_of("99 is not in 1..=64"), Some((1, Some(64))));
        assert_eq!(range_of("invalid digit found in string"), None);
    }

    #[test]
    fn the_command_is_read_from_the_usage_line() {
        assert_eq!(
            command_of("migo rollback [OPTIONS] <NAME|--last <N>>"),
            "migo rollback"
        );
        assert_eq!(command_of("migo [OPTIONS] [COMMAND]"), "migo");
    }
}
