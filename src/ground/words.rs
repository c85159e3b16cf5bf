//! How numbers, times, durations, file kinds and near misses read in words, for every stage that writes a
//! message: `2026-11-21 23:59:42Z`, `12ms`/`3.4s`/`2m05s`, `120,000`, `3,000 of about 20,000`, and "did you mean …?"
//! (the known name closest to a mistyped one, by edit distance with a swap of two neighbouring
//! letters as one edit, as `exectue` for `execute`, or the one known name it begins, `exec`).

use std::time::Duration;

use mongodb::bson::DateTime;

/// `2026-11-21 23:59:42Z`: a time as every table and message shows it, UTC to the second.
pub(crate) fn timestamp(at: DateTime) -> String {
    let text = at.try_to_rfc3339_string().unwrap_or_default();
    format!("{}Z", text.get(..19).unwrap_or(&text).replace('T', " "))
}

/// `12ms`, `3.4s`, `2m05s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{:.1}s", d.as_secs_f64()),
        _ => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// `120,000`.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// `3,000`, `3,000 of 20,000` or, when the total was the server's estimate,
/// `3,000 of about 20,000`.
pub(crate) fn done_of(done: i64, total: Option<i64>, estimated: bool) -> String {
    let of = match total {
        Some(total) if estimated => format!(" of about {}", thousands(total)),
        Some(total) => format!(" of {}", thousands(total)),
        None => String::new(),
    };
    format!("{}{of}", thousands(done))
}

/// The known name `word` most likely stands for, if any: within a third of its length in
/// edits (at least one, at most three), else the only known name it begins.
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let near = known
        .iter()
        .map(|name| (strsim::osa_distance(&word, name), *name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name);
    if near.is_some() {
        return near;
    }
    let mut starting = known
        .iter()
        .filter(|name| word.chars().count() >= 3 && name.starts_with(&word));
    match (starting.next(), starting.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// What a path is when it is not a regular file, for a message: `a FIFO`, `a directory`, …
pub(crate) fn file_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["list", "execute", "rollback", "history", "help", "seed"];

    #[test]
    fn timestamps_are_utc_to_the_second() {
        assert_eq!(
            timestamp(DateTime::from_millis(1_700_000_000_123)),
            "2023-11-14 22:13:20Z"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(3400)), "3.4s");
        assert_eq!(duration(Duration::from_millis(125_000)), "2m05s");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(120_000), "120,000");
        assert_eq!(thousands(-1_234), "-1,234");
        assert_eq!(done_of(3_000, Some(20_000), true), "3,000 of about 20,000");
    }

    #[test]
    fn typos_find_their_word() {
        for (typo, meant) in [
            ("exectue", "execute"),
            ("exec", "execute"),
            ("rolback", "rollback"),
            ("lsit", "list"),
            ("histroy", "history"),
            ("sede", "seed"),
            ("EXECUTE", "execute"),
        ] {
            assert_eq!(closest(typo, KNOWN), Some(meant), "{typo}");
        }
    }

    #[test]
    fn far_words_find_nothing() {
        for word in ["deploy", "x", "he", "migrations", ""] {
            assert_eq!(closest(word, KNOWN), None, "{word}");
        }
    }
}
