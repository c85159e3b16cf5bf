//! What a `.js` or `.py` file is, read from its code rather than from substrings: a small
//! scanner blanks comments, strings, template literals and regular-expression literals out (so
//! `module.exports` in a comment or `def up` in a docstring count for nothing), then the code's
//! tokens and nesting say what the file defines at its top level.
//!
//! JavaScript: a CommonJS module assigns `module.exports` or `exports.x`; a mongosh script
//! defines `function up()` (taking nothing: it uses the global `db`); an ES module has top-level
//! `import`/`export` statements. Python: a migopy module defines `up` at module level (`def`,
//! `async def`, an assignment; decorators and type hints are fine, a method of a class or a
//! function in a string is not); `if __name__ == "__main__":` marks a program.
//!
//! This is a pre-check for clear errors before anything runs; the interpreter confirms, when it
//! loads the file, that the function is really there.

/// Whether a CommonJS module exports a function, as far as its code shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    Yes,
    No,
    /// `module.exports = something` the code does not spell out: the interpreter will tell.
    Unknown,
}

/// What a `.js` file's code shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsShape {
    /// It assigns `module.exports` or `exports.x` (outside comments and strings).
    pub(crate) commonjs: bool,
    /// It has top-level `import` or `export` statements.
    pub(crate) esm: bool,
    /// It defines a top-level `function up()` taking no parameter: a mongosh script's shape.
    pub(crate) bare_up: bool,
    /// Top-level definitions of `up` and `down` (`function up`, `up = …`, `const up = …`).
    pub(crate) defines: [bool; 2],
    /// What `module.exports` / `exports` hold of `up` and `down`.
    pub(crate) exports: [Export; 2],
    /// A code backfill's function: a top-level `function batch` (mongosh), or what the exports
    /// hold of `batch` (CommonJS).
    pub(crate) defines_batch: bool,
    pub(crate) exports_batch: Export,
    /// A code backfill's declaration: a top-level `const backfill = …` (mongosh) or the
    /// `backfill` of the exports (CommonJS).
    pub(crate) backfill: Option<Declared>,
}

/// Where a code backfill's declaration is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// An object literal opening (`{`) at this byte offset of the text.
    Literal(usize),
    /// An expression migo cannot read without running the file.
    Expression,
}

/// What a `.py` file's code shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PyShape {
    /// The module-level `up`, if any.
    pub(crate) up: Option<PyFunction>,
    /// The module-level `down`, if any.
    pub(crate) down: Option<PyFunction>,
    /// It has a module-level `if __name__ == "__main__":`.
    pub(crate) main_guard: bool,
    /// A code backfill's module-level `batch`, if any.
    pub(crate) batch: Option<PyFunction>,
    /// A code backfill's module-level `backfill = {…}`.
    pub(crate) backfill: Option<Declared>,
}

/// A module-level Python definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PyFunction {
    /// `def up():` takes nothing; `def up(db):` (or `up = …`, whose arguments are unknown) does.
    pub(crate) takes_arguments: bool,
}

const NAMES: [&str; 2] = ["up", "down"];

// ---------------------------------------------------------------------------------------------
// JavaScript

/// One token of JavaScript code, with the number of `{` open before it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    /// Its byte offset in the code (and in the text: blanking keeps offsets).
    at: usize,
    depth: usize,
    /// Parentheses and brackets open before it.
    nesting: usize,
}

/// The kinds of `.js` file, from their code.
pub(crate) fn js(text: &str) -> JsShape {
    let code = blank_js(text);
    let tokens = js_tokens(&code);
    let at = |i: usize| tokens.get(i).map_or("", |t| t.text);
    let statement_start = |i: usize| i == 0 || matches!(at(i - 1), ";" | "}" | "{");
    let mut shape = JsShape {
        commonjs: false,
        esm: false,
        bare_up: false,
        defines: [false; 2],
        exports: [Export::No; 2],
        defines_batch: false,
        exports_batch: Export::No,
        backfill: None,
    };
    // `backfill = …` at `i` (the `=`): a literal or an expression.
    let declared = |i: usize| match tokens.get(i + 1) {
        Some(t) if t.text == "{" => Declared::Literal(t.at),
        _ => Declared::Expression,
    };
    let mut literal_keys: Option<Vec<&str>> = None;
    let mut opaque = false;
    for (i, token) in tokens.iter().enumerate() {
        let top = token.depth == 0 && token.nesting == 0;
        let after_dot = i > 0 && at(i - 1) == ".";
        match token.text {
            "module" if at(i + 1) == "." && at(i + 2) == "exports" && !after_dot => {
                shape.commonjs = true;
                match at(i + 3) {
                    "=" if at(i + 4) == "{" => {
                        literal_keys
                            .get_or_insert_with(Vec::new)
                            .extend(object_keys(&tokens, i + 4));
                        if let Some(value) = object_value(&tokens, i + 4, "backfill") {
                            shape.backfill = Some(declared(value - 1));
                        }
                    }
                    "=" => opaque = true,
                    "." | "[" => {
                        note_export(&tokens, i + 3, &mut shape);
                        if at(i + 4) == "backfill" && at(i + 5) == "=" {
                            shape.backfill = Some(declared(i + 5));
                        }
                    }
                    _ => {}
                }
            }
            "exports" if !after_dot && matches!(at(i + 1), "." | "[") => {
                shape.commonjs = true;
                note_export(&tokens, i + 1, &mut shape);
                if at(i + 2) == "backfill" && at(i + 3) == "=" {
                    shape.backfill = Some(declared(i + 3));
                }
            }
            "export" if top && statement_start(i) => shape.esm = true,
            "import" if top && statement_start(i) && !matches!(at(i + 1), "(" | ".") => {
                shape.esm = true;
            }
            "function" if top && at(i + 1) == "batch" => shape.defines_batch = true,
            "function" if top => {
                let name = at(i + 1);
                if let Some(n) = NAMES.iter().position(|n| *n == name) {
                    shape.defines[n] = true;
                    if n == 0 && at(i + 2) == "(" && at(i + 3) == ")" {
                        shape.bare_up = true;
                    }
                }
            }
            "var" | "let" | "const" if top => {
                if let Some(n) = NAMES.iter().position(|n| *n == at(i + 1)) {
                    shape.defines[n] |= at(i + 2) == "=";
                }
                match at(i + 1) {
                    "batch" => shape.defines_batch |= at(i + 2) == "=",
                    "backfill" if at(i + 2) == "=" => shape.backfill = Some(declared(i + 2)),
                    _ => {}
                }
            }
            name if top && statement_start(i) && at(i + 1) == "=" && at(i + 2) != "=" => {
                if let Some(n) = NAMES.iter().position(|n| *n == name) {
                    shape.defines[n] = true;
                }
                match name {
                    "batch" => shape.defines_batch = true,
                    "backfill" => shape.backfill = Some(declared(i + 1)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if let Some(keys) = literal_keys {
        for (n, name) in NAMES.iter().enumerate() {
            if keys.contains(name) {
                shape.exports[n] = Export::Yes;
            }
        }
        if keys.contains(&"batch") {
            shape.exports_batch = Export::Yes;
        }
    }
    if opaque {
        for export in shape.exports.iter_mut().chain([&mut shape.exports_batch]) {
            if *export == Export::No {
                *export = Export::Unknown;
            }
        }
    }
    shape
}

/// The index of the token after `key:` in the object literal opening at `open`.
fn object_value(tokens: &[Token<'_>], open: usize, key: &str) -> Option<usize> {
    let depth = tokens[open].depth + 1;
    let nesting = tokens[open].nesting;
    let at = |j: usize| tokens.get(j).map_or("", |t| t.text);
    let mut i = open + 1;
    while let Some(token) = tokens.get(i) {
        if token.depth < depth {
            return None;
        }
        let key_position = matches!(at(i - 1), "{" | ",");
        if token.depth == depth
            && token.nesting == nesting
            && key_position
            && token.text == key
            && at(i + 1) == ":"
        {
            return Some(i + 2);
        }
        i += 1;
    }
    None
}

/// `.up =`, `["up"] =` after `exports` (at `i`, the `.` or `[`).
fn note_export(tokens: &[Token<'_>], i: usize, shape: &mut JsShape) {
    let at = |j: usize| tokens.get(j).map_or("", |t| t.text);
    let name = match at(i) {
        "." if at(i + 2) == "=" => at(i + 1),
        // `exports["up"] =`: the blanked string keeps its quotes, so the name is unknown.
        "[" => {
            for export in &mut shape.exports {
                if *export == Export::No {
                    *export = Export::Unknown;
                }
            }
            return;
        }
        _ => return,
    };
    if let Some(n) = NAMES.iter().position(|n| *n == name) {
        shape.exports[n] = Export::Yes;
    }
    if name == "batch" {
        shape.exports_batch = Export::Yes;
    }
}

/// The keys of the object literal opening at `open` (a `{`): `up() {}`, `async up() {}`,
/// `up: …`, `up,` (shorthand). A spread (`...other`) makes every key possible.
fn object_keys<'a>(tokens: &[Token<'a>], open: usize) -> Vec<&'a str> {
    let depth = tokens[open].depth + 1;
    let mut keys = Vec::new();
    let mut i = open + 1;
    let mut key_position = true;
    while let Some(token) = tokens.get(i) {
        if token.depth < depth {
            break;
        }
        if token.depth == depth && token.nesting == tokens[open].nesting {
            match token.text {
                "," => key_position = true,
                "..." if key_position => keys.extend(NAMES),
                "async" | "get" | "set" | "*" if key_position => {}
                text if key_position => {
                    keys.push(text);
                    key_position = false;
                }
                _ => {}
            }
        }
        i += 1;
    }
    keys
}

/// Identifiers, numbers and punctuation of blanked code (`...` is one token).
fn js_tokens(code: &str) -> Vec<Token<'_>> {
    let bytes = code.as_bytes();
    let mut tokens = Vec::new();
    let (mut depth, mut nesting) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if is_ident(c) {
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
        } else if code[i..].starts_with("...") {
            i += 3;
        } else {
            i += code[i..].chars().next().map_or(1, char::len_utf8);
        }
        let text = &code[start..i];
        match text {
            "}" => depth = depth.saturating_sub(1),
            ")" | "]" => nesting = nesting.saturating_sub(1),
            _ => {}
        }
        tokens.push(Token {
            text,
            at: start,
            depth,
            nesting,
        });
        match text {
            "{" => depth += 1,
            "(" | "[" => nesting += 1,
            _ => {}
        }
    }
    tokens
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The code with comments, strings, template literals and regular expressions blanked out
/// (their quotes or slashes kept, their content turned to spaces, newlines kept).
fn blank_js(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // `{` of code and `${` of templates, so that `}` knows where to return.
    let mut braces: Vec<bool> = Vec::new();
    let mut last = ' '; // the last significant character of code
    let mut last_word = String::new();
    if text.starts_with("#!") {
        while i < chars.len() && chars[i] != '\n' {
            blank(&mut out, chars[i]);
            i += 1;
        }
    }
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied().unwrap_or('\0');
        if c == '/' && next == '/' {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == '*' {
            out.push_str("  ");
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            out.push_str("  ");
            i += 2;
            continue;
        }
        if c == '\'' || c == '"' {
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != c && chars[i] != '\n' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() && chars[i] == c {
                out.push(c);
                i += 1;
            }
            last = c;
            continue;
        }
        if c == '`' || (c == '}' && braces.last() == Some(&true)) {
            // A template literal, or its rest after a `${…}`.
            if c == '}' {
                braces.pop();
            }
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                } else if chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
                    break;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() && chars[i] == '$' {
                out.push_str("${");
                braces.push(true);
                i += 2;
                last = '{';
            } else {
                out.push('`');
                i += 1;
                last = '`';
            }
            continue;
        }
        if c == '/' && regex_may_start(last, &last_word) {
            out.push('/');
            i += 1;
            let mut class = false;
            while i < chars.len() && chars[i] != '\n' && (class || chars[i] != '/') {
                match chars[i] {
                    '\\' => {
                        out.push(' ');
                        i += 1;
                    }
                    '[' => class = true,
                    ']' => class = false,
                    _ => {}
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() && chars[i] == '/' {
                out.push('/');
                i += 1;
            }
            last = '/';
            last_word.clear();
            continue;
        }
        match c {
            '{' => braces.push(false),
            '}' => {
                braces.pop();
            }
            _ => {}
        }
        if c.is_alphanumeric() || c == '_' || c == '$' {
            if !(last.is_alphanumeric() || last == '_' || last == '$') {
                last_word.clear();
            }
            last_word.push(c);
        } else if !c.is_whitespace() {
            last_word.clear();
        }
        if !c.is_whitespace() {
            last = c;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Pushes `c` blanked: a newline stays, anything else becomes as many spaces as its UTF-8 bytes
/// (so that offsets in the blanked code are offsets in the text).
fn blank(out: &mut String, c: char) {
    if c == '\n' {
        out.push('\n');
    } else {
        out.extend(std::iter::repeat_n(' ', c.len_utf8()));
    }
}

/// Whether a `/` after `last` (and the word `word`, when `last` ends one) starts a regular
/// expression rather than a division.
fn regex_may_start(last: char, word: &str) -> bool {
    if last.is_alphanumeric() || last == '_' || last == '$' {
        return matches!(
            word,
            "return"
                | "typeof"
                | "instanceof"
                | "in"
                | "of"
                | "new"
                | "delete"
                | "void"
                | "throw"
                | "case"
                | "do"
                | "else"
                | "yield"
                | "await"
        );
    }
    !matches!(last, ')' | ']' | '"' | '\'' | '`' | '/')
}

// ---------------------------------------------------------------------------------------------
// Python

/// The module-level definitions of a `.py` file.
pub(crate) fn python(text: &str) -> PyShape {
    let (code, starts) = blank_python(text);
    let mut shape = PyShape::default();
    for start in starts {
        let line = code[start..].lines().next().unwrap_or_default();
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let first = words.first().copied().unwrap_or_default();
        let (name, definition) = match first {
            "def" => (words.get(1).copied(), true),
            "async" if words.get(1) == Some(&"def") => (words.get(2).copied(), true),
            "if" => {
                let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
                // The blanked string keeps its quotes: `if __name__ == "        ":`.
                if compact.starts_with("if__name__==") && line.contains(':') {
                    shape.main_guard |= main_literal(text, start);
                }
                continue;
            }
            _ => (Some(first), false),
        };
        match name {
            Some("batch") if definition => {
                shape.batch = Some(PyFunction {
                    takes_arguments: takes_arguments(&code, start),
                });
                continue;
            }
            Some("backfill") if !definition => {
                let rest = line.trim_start()["backfill".len()..].trim_start();
                if rest.starts_with('=') && !rest.starts_with("==") {
                    let value = rest[1..].trim_start();
                    shape.backfill = Some(match value.starts_with('{') {
                        true => Declared::Literal(start + (line.len() - value.len())),
                        false => Declared::Expression,
                    });
                }
                continue;
            }
            _ => {}
        }
        let Some(n) = name.and_then(|name| NAMES.iter().position(|n| *n == name)) else {
            continue;
        };
        let function = if definition {
            PyFunction {
                takes_arguments: takes_arguments(&code, start),
            }
        } else {
            // `up = make_step(…)` or `up: Step = …`; not `up == …`.
            let rest = line.trim_start()[NAMES[n].len()..].trim_start();
            let assigns = (rest.starts_with('=') && !rest.starts_with("=="))
                || (rest.starts_with(':') && rest.contains('='));
            if !assigns {
                continue;
            }
            PyFunction {
                takes_arguments: true,
            }
        };
        match n {
            0 => shape.up = Some(function),
            _ => shape.down = Some(function),
        }
    }
    shape
}

/// Whether the `if __name__ == …` at `start` compares with `"__main__"` (read from the original
/// text, since the blanked one has lost the string).
fn main_literal(text: &str, start: usize) -> bool {
    text[start..]
        .lines()
        .next()
        .is_some_and(|l| l.contains("\"__main__\"") || l.contains("'__main__'"))
}

/// Whether the `def` at `start` has parameters.
fn takes_arguments(code: &str, start: usize) -> bool {
    let Some(open) = code[start..].find('(') else {
        return false;
    };
    let mut depth = 0;
    let mut inside = String::new();
    for c in code[start + open..].chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        if depth >= 1 {
            inside.push(c);
        }
    }
    !inside.trim_start_matches('(').trim().is_empty()
}

/// The code with comments and string contents blanked (quotes and newlines kept), and the byte
/// offsets where module-level statements start (column 0, outside brackets, not a
/// continuation line).
fn blank_python(text: &str) -> (String, Vec<usize>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut continued = false;
    let mut line_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if line_start {
            line_start = false;
            if depth == 0 && !continued && !c.is_whitespace() && c != '#' {
                starts.push(out.len());
            }
            continued = false;
        }
        match c {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                continue;
            }
            '\'' | '"' => {
                let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
                let quote = if triple { 3 } else { 1 };
                for _ in 0..quote {
                    out.push(c);
                }
                i += quote;
                while i < chars.len() {
                    if chars[i] == '\\' {
                        out.push(' ');
                        i += 1;
                        if i < chars.len() {
                            blank(&mut out, chars[i]);
                            i += 1;
                        }
                        continue;
                    }
                    if chars[i] == c
                        && (!triple
                            || (chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c)))
                    {
                        break;
                    }
                    if chars[i] == '\n' && !triple {
                        break;
                    }
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() && chars[i] == c {
                    for _ in 0..quote {
                        out.push(c);
                    }
                    i += quote;
                }
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                // The next line continues this statement.
                out.push_str("\\\n");
                i += 2;
                continued = true;
                line_start = true;
                continue;
            }
            '\n' => line_start = true,
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    (out, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commonjs_is_told_by_its_code() {
        let migrate_mongo = "module.exports = {\n  async up(db, client) {\n    await db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: true}});\n  },\n\n  async down(db, client) {},\n};\n";
        let shape = js(migrate_mongo);
        assert!(shape.commonjs && !shape.esm && !shape.bare_up);
        assert_eq!(shape.exports, [Export::Yes, Export::Yes]);
        let at_the_end = "/*\n * a long header: function up() { } and module.exports = {} in words\n */\nasync function up(db) {}\nasync function down(db) {}\nexports.up = up;\nexports.down = down;\n";
        let shape = js(at_the_end);
        assert!(shape.commonjs && !shape.bare_up);
        assert_eq!(shape.exports, [Export::Yes, Export::Yes]);
        let shorthand = "const up = async (db) => {};\nmodule.exports = { up };\n";
        assert_eq!(js(shorthand).exports, [Export::Yes, Export::No]);
        let opaque = "const m = require('./m');\nmodule.exports = m;\n";
        assert_eq!(js(opaque).exports, [Export::Unknown, Export::Unknown]);
        let spread = "module.exports = { ...base, down() {} };\n";
        assert_eq!(js(spread).exports, [Export::Yes, Export::Yes]);
        let no_up = "module.exports = { async upgrade(db) {}, name: 'up' };\n";
        assert_eq!(js(no_up).exports, [Export::No, Export::No]);
    }

    #[test]
    fn mongosh_scripts_are_not_fooled_by_comments_and_strings() {
        let script = "// this is not module.exports = {}\nconst note = \"module.exports\";\nconst t = `exports.up = ${note}`;\nconst re = /module\\.exports/g;\nfunction up() { db.x.insertOne({ note }); }\nfunction down() {}\n";
        let shape = js(script);
        assert!(!shape.commonjs && !shape.esm && shape.bare_up);
        assert_eq!(shape.defines, [true, true]);
        let assigned = "up = function () {};\nvar down = () => 1;\n";
        assert_eq!(js(assigned).defines, [true, true]);
        let nested = "function outer() { function up() {} }\n";
        assert_eq!(js(nested).defines, [false, false]);
        let division = "const a = 4 / 2; const b = a / 1; function up() {}\n";
        assert!(js(division).bare_up);
    }

    #[test]
    fn es_modules_are_recognised() {
        let esm = "import { x } from './x.js';\nexport const up = async (db) => {};\n";
        assert!(js(esm).esm);
        let dynamic = "async function up() { const m = await import('./m.js'); }\n";
        assert!(!js(dynamic).esm);
    }

    #[test]
    fn python_module_level_definitions() {
        let docstring = "\"\"\"\ndef up(db):\n    pass\n\"\"\"\nasync def up(db: Database) -> None:\n    pass\n";
        assert_eq!(
            python(docstring).up,
            Some(PyFunction {
                takes_arguments: true
            })
        );
        let in_class = "class Migration:\n    def up(self, db):\n        pass\n";
        assert_eq!(python(in_class).up, None);
        let in_string = "text = 'def up(db): pass'\n";
        assert_eq!(python(in_string).up, None);
        let decorated = "@trace\ndef up(\n    db,\n):\n    pass\n\ndef down():\n    pass\n";
        let shape = python(decorated);
        assert!(shape.up.unwrap().takes_arguments);
        assert!(!shape.down.unwrap().takes_arguments);
        let script = "import sys\n\ndef up():\n    pass\n\nif __name__ == '__main__':\n    up()\n";
        let shape = python(script);
        assert!(shape.main_guard && !shape.up.unwrap().takes_arguments);
        let assigned = "from helpers import step\nup = step('x')\nup_count = 1\n";
        assert!(python(assigned).up.is_some());
        let compared = "up == 1\n";
        assert_eq!(python(compared).up, None);
        let continued = "x = 1 + \\\ndef_up = 2\n";
        assert_eq!(python(continued).up, None);
        let bracketed = "x = [\ndef up(db): pass\n]\n";
        assert_eq!(python(bracketed).up, None);
    }
}
