//! "Did you mean …?": the known name closest to a mistyped one, by edit distance (a swap of two
//! neighbouring letters counts as one edit, as `exectue` for `execute`), or the one known name
//! it begins (`exec`); nothing when no name is close enough to be a likely typo.

/// The known name `word` most likely stands for, if any.
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let near = known
        .iter()
        .map(|name| (distance(&word, name), *name))
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

/// The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours, one edit each.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| (0..=b.len()).map(|j| if i == 0 { j } else { i }).collect())
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["list", "execute", "rollback", "history", "help", "seed"];

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
