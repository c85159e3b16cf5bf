//! Where things are in a `.json` migration's text: the line of each command of `up` (or of each
//! element of a golang-migrate `.up.json` array) and of a top-level key, so that a finding
//! points at the line of the offending command (`--format github` annotates that line).

/// The lines (from 1) of the top-level keys and of each element of `up` (or of the top-level
/// array), as one pass over the text finds them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Lines {
    /// Line of each command of `up`, in order.
    pub(crate) commands: Vec<usize>,
    /// Each top-level key with its line.
    pub(crate) keys: Vec<(String, usize)>,
}

impl Lines {
    /// The line of top-level `key`.
    pub(crate) fn key(&self, key: &str) -> Option<usize> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, l)| *l)
    }
}

/// Scans `text` (valid JSON: the migration was parsed before) for [`Lines`].
pub(crate) fn lines(text: &str) -> Lines {
    let bytes = text.as_bytes();
    let mut found = Lines::default();
    let mut scanner = Scanner {
        bytes,
        at: 0,
        line: 1,
    };
    scanner.space();
    match scanner.peek() {
        Some(b'[') => found.commands = scanner.elements(),
        Some(b'{') => {
            scanner.at += 1;
            loop {
                scanner.space();
                match scanner.peek() {
                    Some(b'"') => {
                        let line = scanner.line;
                        let key = scanner.string();
                        scanner.space();
                        scanner.at += 1; // `:`
                        scanner.space();
                        if key == "up" && scanner.peek() == Some(b'[') {
                            found.commands = scanner.elements();
                        } else {
                            scanner.value();
                        }
                        found.keys.push((key, line));
                    }
                    Some(b',') => scanner.at += 1,
                    _ => break,
                }
            }
        }
        _ => {}
    }
    found
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn step(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.at += 1;
    }

    fn space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.step();
        }
    }

    /// A string's content (escapes kept as written; keys rarely have any).
    fn string(&mut self) -> String {
        self.at += 1;
        let start = self.at;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => {
                    self.step();
                    self.step();
                }
                b'"' => {
                    let text = String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned();
                    self.at += 1;
                    return text;
                }
                _ => self.step(),
            }
        }
        String::new()
    }

    /// Skips one value.
    fn value(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    self.string();
                    if depth == 0 {
                        return;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.step();
                        return;
                    }
                }
                b',' if depth == 0 => return,
                _ => {}
            }
            self.step();
        }
    }

    /// The line of each element of the array at the cursor, which it skips.
    fn elements(&mut self) -> Vec<usize> {
        let mut lines = Vec::new();
        self.at += 1;
        loop {
            self.space();
            match self.peek() {
                Some(b']') | None => {
                    self.at += 1;
                    return lines;
                }
                Some(b',') => self.at += 1,
                Some(_) => {
                    lines.push(self.line);
                    self.value();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_command_and_key() {
        let text = "{\n  \"description\": \"a \\\"b\\\" [x]\",\n  \"up\": [\n    {\"create\": \"a\"},\n    {\"createIndexes\": \"a\",\n     \"indexes\": [{\"key\": {\"x\": 1}}]},\n\n    {\"drop\": \"b\"}\n  ],\n  \"lint\": {\"allow\": {}}\n}\n";
        let lines = lines(text);
        assert_eq!(lines.commands, vec![4, 5, 8]);
        assert_eq!(lines.key("lint"), Some(10));
        assert_eq!(lines.key("description"), Some(2));
        assert_eq!(lines.key("down"), None);
    }

    #[test]
    fn a_golang_migrate_array() {
        assert_eq!(
            lines("[\n{\"a\": 1},\n\n{\"b\": [1, 2]}]").commands,
            vec![2, 4]
        );
        assert_eq!(lines("[{\"a\": 1}, {\"b\": 2}]").commands, vec![1, 1]);
    }
}
