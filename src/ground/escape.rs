//! Text from outside (file names, arguments, server messages) made safe to print: control
//! characters are escaped, so `0001_a\nerror: fake` cannot print a line that looks like migo's.

/// `text` with every control character escaped (`\n`, `\u{1b}`); anything else kept.
pub(crate) fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `text` escaped and in double quotes, for values.
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_start_a_line() {
        assert_eq!(escape("0001_a\nerror: fake"), r"0001_a\nerror: fake");
        assert_eq!(escape("é\u{1b}[31m"), r"é\u{1b}[31m");
        assert_eq!(quoted("abc"), "\"abc\"");
    }
}
