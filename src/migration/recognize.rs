//! What can be read of a script migration without running it: the database calls of a `.js`
//! (mongosh or migrate-mongo's CommonJS) or `.py` (pymongo) file whose collection and arguments
//! are written out (`db.users.createIndex({email: 1}, {unique: true})`,
//! `await db.collection('users').updateMany({}, {$unset: {legacy: ""}})`,
//! `db["users"].create_index([("email", 1)], unique=True)`), as [`Operation`]s with their line.
//!
//! Comments are skipped, calls inside `down` are left out, collections held in a variable
//! (`const users = db.collection('users')`) are followed, and literal arguments (JavaScript
//! object literals, Python dicts, lists and tuples, keyword arguments) are read; an argument
//! written as an expression (a variable, `new Date()`) reads as unknown. A write whose
//! collection cannot be told makes the script *opaque*.

use std::sync::OnceLock;

use mongodb::bson::{Bson, Document};
use regex::Regex;

use super::operation::{self, IndexRef, IndexSpec, Kind, Operation, Operations, Place};

/// Which language a script is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    JavaScript,
    Python,
}

/// The operations recognised in `text`.
pub(crate) fn script(text: &str, syntax: Syntax) -> Operations {
    let code = Code::new(text, syntax);
    let down = code.down_region();
    let transactions = code.transaction_regions();
    let aliases = code.aliases();
    let mut result = Operations {
        reversible: Some(down.is_some()),
        ..Operations::default()
    };
    // Calls are found where they are code (not in a string), read where strings are kept.
    for found in method_calls().captures_iter(&code.skeleton) {
        let method = found.get(1).expect("group");
        let Some(call) = Call::of(&code.code[method.range()]) else {
            continue;
        };
        let dot = found.get(0).expect("match").start();
        if down.as_ref().is_some_and(|d| d.contains(&dot)) {
            continue;
        }
        let open = found.get(0).expect("match").end();
        let args = Args::parse(&code.code[open..], syntax);
        let receiver = code.receiver(dot, &aliases);
        let place = Place::Line(code.line_of(method.start()));
        let in_transaction = transactions.iter().any(|r| r.contains(&dot));
        let kinds = match (call, receiver) {
            // A loop over documents matters inside a transaction only, on any collection.
            (Call::Collection(CollMethod::Find), receiver) => {
                if !in_transaction {
                    continue;
                }
                let collection = match receiver {
                    Receiver::Collection(name) => name,
                    _ => String::new(),
                };
                vec![Kind::Scan {
                    collection,
                    filter: match args.positional.first() {
                        Some(Bson::Document(d)) => Some(d.clone()),
                        None => Some(Document::new()),
                        _ => None,
                    },
                }]
            }
            (Call::Database(m), Receiver::Database) => database_call(m, &args),
            // `client.db().dropDatabase()`: the name says it all (not `command`, too common).
            (Call::Database(m), Receiver::Unknown) if m != DbMethod::Command => {
                database_call(m, &args)
            }
            (Call::Collection(m), Receiver::Collection(name)) => collection_call(m, &name, &args),
            (Call::Collection(m), Receiver::Unknown) if m.distinctive() => {
                result.opaque = true;
                continue;
            }
            _ => continue,
        };
        result.ops.extend(kinds.into_iter().map(|kind| Operation {
            place,
            kind,
            in_transaction,
        }));
    }
    result
}

/// A method migo knows, on the database or on a collection.
#[derive(Debug, Clone, Copy)]
enum Call {
    Database(DbMethod),
    Collection(CollMethod),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbMethod {
    CreateCollection,
    DropCollection,
    DropDatabase,
    Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CollMethod {
    CreateIndex,
    CreateIndexes,
    DropIndex,
    DropIndexes,
    HideIndex,
    UpdateMany,
    UpdateOne,
    /// mongosh's legacy `update(q, u, {multi})`.
    Update,
    DeleteMany,
    DeleteOne,
    /// mongosh's legacy `remove(q, justOne)`.
    Remove,
    InsertOne,
    InsertMany,
    /// The legacy `insert(…)`.
    Insert,
    Drop,
    Rename,
    BulkWrite,
    Aggregate,
    /// `find(…)`: a cursor, which a script loops over (only counted inside a transaction).
    Find,
}

impl CollMethod {
    /// A write whose name belongs to MongoDB alone (`updateMany`, not `update`, which a Python
    /// dict has too): on a collection migo cannot tell, the script is opaque.
    fn distinctive(self) -> bool {
        !matches!(
            self,
            CollMethod::Aggregate
                | CollMethod::Update
                | CollMethod::Remove
                | CollMethod::Insert
                | CollMethod::Find
                | CollMethod::Drop
                | CollMethod::Rename
        )
    }
}

impl Call {
    fn of(method: &str) -> Option<Call> {
        use CollMethod as C;
        use DbMethod as D;
        Some(match method {
            "createCollection" | "create_collection" => Call::Database(D::CreateCollection),
            "drop_collection" | "dropCollection" => Call::Database(D::DropCollection),
            "dropDatabase" | "drop_database" => Call::Database(D::DropDatabase),
            "runCommand" | "adminCommand" | "command" => Call::Database(D::Command),
            "createIndex" | "ensureIndex" | "create_index" => Call::Collection(C::CreateIndex),
            "createIndexes" | "create_indexes" => Call::Collection(C::CreateIndexes),
            "dropIndex" | "drop_index" => Call::Collection(C::DropIndex),
            "dropIndexes" | "drop_indexes" => Call::Collection(C::DropIndexes),
            "hideIndex" => Call::Collection(C::HideIndex),
            "updateMany" | "update_many" => Call::Collection(C::UpdateMany),
            "updateOne"
            | "update_one"
            | "replaceOne"
            | "replace_one"
            | "findOneAndUpdate"
            | "find_one_and_update"
            | "findOneAndReplace"
            | "find_one_and_replace" => Call::Collection(C::UpdateOne),
            "update" => Call::Collection(C::Update),
            "deleteMany" | "delete_many" => Call::Collection(C::DeleteMany),
            "deleteOne" | "delete_one" | "findOneAndDelete" | "find_one_and_delete" => {
                Call::Collection(C::DeleteOne)
            }
            "remove" => Call::Collection(C::Remove),
            "insertOne" | "insert_one" => Call::Collection(C::InsertOne),
            "insertMany" | "insert_many" => Call::Collection(C::InsertMany),
            "insert" => Call::Collection(C::Insert),
            "drop" => Call::Collection(C::Drop),
            "renameCollection" | "rename" => Call::Collection(C::Rename),
            "bulkWrite"
            | "bulk_write"
            | "initializeOrderedBulkOp"
            | "initializeUnorderedBulkOp" => Call::Collection(C::BulkWrite),
            "aggregate" => Call::Collection(C::Aggregate),
            "find" => Call::Collection(C::Find),
            _ => return None,
        })
    }
}

/// `.method(`
fn method_calls() -> &'static Regex {
    static CALLS: OnceLock<Regex> = OnceLock::new();
    CALLS.get_or_init(|| Regex::new(r"\.\s*([A-Za-z_$][\w$]*)\s*\(").expect("valid"))
}

/// What a call is made on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Receiver {
    Database,
    Collection(String),
    Unknown,
}

/// The script with its comments blanked (`code`, strings kept: collection names are in them)
/// and with string contents blanked too (`skeleton`, for matching brackets), byte for byte.
struct Code {
    code: String,
    skeleton: String,
    syntax: Syntax,
}

impl Code {
    fn new(text: &str, syntax: Syntax) -> Code {
        let bytes = text.as_bytes();
        let mut code = bytes.to_vec();
        let mut skeleton = bytes.to_vec();
        let blank = |buffer: &mut Vec<u8>, from: usize, to: usize| {
            for b in &mut buffer[from..to] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        };
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            let line_comment = match syntax {
                Syntax::JavaScript => rest.starts_with(b"//"),
                Syntax::Python => rest.starts_with(b"#"),
            };
            if line_comment {
                let end = find_from(bytes, i, b"\n").unwrap_or(bytes.len());
                blank(&mut code, i, end);
                blank(&mut skeleton, i, end);
                i = end;
            } else if syntax == Syntax::JavaScript && rest.starts_with(b"/*") {
                let end = find_from(bytes, i + 2, b"*/").map_or(bytes.len(), |e| e + 2);
                blank(&mut code, i, end);
                blank(&mut skeleton, i, end);
                i = end;
            } else if matches!(bytes[i], b'"' | b'\'' | b'`') {
                let quote = bytes[i];
                let triple = syntax == Syntax::Python
                    && rest.len() >= 3
                    && rest[1] == quote
                    && rest[2] == quote;
                let end = if triple {
                    let close = [quote; 3];
                    find_from(bytes, i + 3, &close).map_or(bytes.len(), |e| e + 3)
                } else {
                    string_end(bytes, i)
                };
                // The content: up to the closing quote, or to where an unterminated string
                // stops (a line's end, the text's end).
                let close = match bytes.get(end.wrapping_sub(1)) {
                    Some(&b) if b == quote && end > i + 1 => end - 1,
                    _ => end,
                };
                if close > i + 1 {
                    blank(&mut skeleton, i + 1, close);
                }
                i = end;
            } else {
                i += 1;
            }
        }
        // Only ASCII bytes were replaced, by ASCII spaces, so both stay UTF-8.
        Code {
            code: String::from_utf8(code).unwrap_or_default(),
            skeleton: String::from_utf8(skeleton).unwrap_or_default(),
            syntax,
        }
    }

    /// The line (from 1) of byte `at`.
    fn line_of(&self, at: usize) -> usize {
        self.code.as_bytes()[..at]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// The bytes of `down`'s body, when the script defines one.
    fn down_region(&self) -> Option<std::ops::Range<usize>> {
        match self.syntax {
            Syntax::JavaScript => {
                static DOWN: OnceLock<Regex> = OnceLock::new();
                let pattern = DOWN.get_or_init(|| {
                    Regex::new(
                        r"function\s+down\s*\(|\bdown\s*[:=]\s*(async\s+)?(function\b|\()|\bdown\s*\([^)]*\)\s*\{|exports\.down\s*=",
                    )
                    .expect("valid")
                });
                let start = pattern.find(&self.skeleton)?.start();
                let open = self.skeleton[start..].find('{').map(|o| start + o)?;
                let close = matching(&self.skeleton, open).unwrap_or(self.skeleton.len());
                Some(start..close)
            }
            Syntax::Python => {
                static DOWN: OnceLock<Regex> = OnceLock::new();
                let pattern = DOWN.get_or_init(|| {
                    Regex::new(r"(?m)^([ \t]*)(async\s+)?def\s+down\s*\(").expect("valid")
                });
                let found = pattern.captures(&self.skeleton)?;
                let start = found.get(0).expect("match").start();
                Some(start..python_block_end(&self.skeleton, start, found[1].len()))
            }
        }
    }

    /// The bytes that run inside a transaction: a `withTransaction(…)` call's arguments, from
    /// `startTransaction(` to `commitTransaction(`; in Python, the whole script when it starts
    /// one.
    fn transaction_regions(&self) -> Vec<std::ops::Range<usize>> {
        let text = &self.skeleton;
        match self.syntax {
            Syntax::Python => {
                let mut regions = Vec::new();
                if text.contains("start_transaction(") || text.contains("with_transaction(") {
                    regions.push(0..text.len());
                }
                regions
            }
            Syntax::JavaScript => {
                static OPENS: OnceLock<Regex> = OnceLock::new();
                let opens = OPENS.get_or_init(|| {
                    Regex::new(r"withTransaction\w*\s*\(|startTransaction\s*\(").expect("valid")
                });
                let mut regions = Vec::new();
                for found in opens.find_iter(text) {
                    let at = found.start();
                    let end = if found.as_str().starts_with("startTransaction") {
                        text[at..]
                            .find("commitTransaction(")
                            .map_or(text.len(), |e| at + e)
                    } else {
                        matching(text, found.end() - 1).unwrap_or(text.len())
                    };
                    regions.push(at..end);
                }
                // A function of the file called inside a transaction runs in it too (one level:
                // `withTransaction(() => addArea(session, photos))`).
                let mut called = Vec::new();
                for region in &regions {
                    called.extend(self.called_functions(region.clone()));
                }
                regions.extend(called);
                regions
            }
        }
    }

    /// The bodies of the functions defined in this file that `region` calls.
    fn called_functions(&self, region: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
        static CALL: OnceLock<Regex> = OnceLock::new();
        let call = CALL.get_or_init(|| Regex::new(r"\b([A-Za-z_$][\w$]*)\s*\(").expect("valid"));
        let mut bodies = Vec::new();
        for found in call.captures_iter(&self.skeleton[region]) {
            let name = regex::escape(&found[1]);
            let Ok(definition) = Regex::new(&format!(
                r"function\s+{name}\s*\(|\b{name}\s*=\s*(async\s+)?(function\b|\()"
            )) else {
                continue;
            };
            let Some(start) = definition.find(&self.skeleton).map(|d| d.start()) else {
                continue;
            };
            if let Some(open) = self.skeleton[start..].find('{').map(|o| start + o) {
                let close = matching(&self.skeleton, open).unwrap_or(self.skeleton.len());
                bodies.push(start..close);
            }
        }
        bodies
    }

    /// Variables holding a collection: `const users = db.collection('users')`,
    /// `users = db["users"]`.
    fn aliases(&self) -> Vec<(String, String)> {
        static ALIAS: OnceLock<Regex> = OnceLock::new();
        let pattern = ALIAS.get_or_init(|| {
            Regex::new(
                r"(?:\b(?:const|let|var)\s+|(?m:^)[ \t]*)([A-Za-z_$][\w$]*)\s*=\s*(?:await\s+)?([\w$.]*?(?:\.(?:getCollection|collection|get_collection)\s*\(\s*['`]([^'`]+)['`]\s*\)|\.(?:getCollection|collection|get_collection)\s*\(\s*\x22([^\x22]+)\x22\s*\)|\bdb\s*\[\s*['\x22]([^'\x22]+)['\x22]\s*\]|\bdb\.([A-Za-z_$][\w$]*)))\s*;?\s*$",
            )
            .expect("valid")
        });
        self.code
            .lines()
            .filter_map(|line| {
                let found = pattern.captures(line)?;
                let name = (3..=6).find_map(|g| found.get(g))?.as_str();
                if found.get(6).is_some() && is_database_method(name) {
                    return None;
                }
                Some((found[1].to_string(), name.to_string()))
            })
            .collect()
    }

    /// What the call whose `.` is at byte `dot` is made on.
    fn receiver(&self, dot: usize, aliases: &[(String, String)]) -> Receiver {
        static COLLECTION: OnceLock<Regex> = OnceLock::new();
        let pattern = COLLECTION.get_or_init(|| {
            Regex::new(
                r"(?:\.(?:getCollection|collection|get_collection)\s*\(\s*['`]([^'`]+)['`]\s*\)|\.(?:getCollection|collection|get_collection)\s*\(\s*\x22([^\x22]+)\x22\s*\)|\bdb\s*\[\s*['\x22]([^'\x22]+)['\x22]\s*\]|\bdb\s*\.\s*([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$.]*))\s*$",
            )
            .expect("valid")
        });
        let from = floor_char_boundary(&self.code, dot.saturating_sub(300));
        let before = &self.code[from..dot];
        let Some(found) = pattern.captures(before) else {
            return Receiver::Unknown;
        };
        if let Some(name) = (1..=3).find_map(|g| found.get(g)) {
            return Receiver::Collection(name.as_str().to_string());
        }
        if let Some(name) = found.get(4) {
            let name = name.as_str();
            return if is_database_method(name) {
                Receiver::Unknown
            } else {
                Receiver::Collection(name.to_string())
            };
        }
        let word = found.get(5).map_or("", |w| w.as_str());
        let last = word.rsplit('.').next().unwrap_or(word);
        if word == "db" || last == "db" || word.ends_with("database") {
            return Receiver::Database;
        }
        aliases
            .iter()
            .rev()
            .find(|(alias, _)| alias == word)
            .map_or(Receiver::Unknown, |(_, name)| {
                Receiver::Collection(name.clone())
            })
    }
}

/// Names on `db` that are not collections (`db.getCollection(…)`, `db.runCommand(…)`).
fn is_database_method(name: &str) -> bool {
    matches!(
        name,
        "getCollection"
            | "collection"
            | "get_collection"
            | "runCommand"
            | "adminCommand"
            | "command"
            | "createCollection"
            | "create_collection"
            | "dropDatabase"
            | "drop_collection"
            | "getSiblingDB"
            | "getName"
            | "getCollectionNames"
            | "list_collection_names"
            | "listCollections"
            | "client"
    )
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The byte after the closing quote of the string starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if quote != b'`' => return i,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The byte after the bracket closing the one at `open` (`{`, `(` or `[`), in a skeleton.
fn matching(skeleton: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in skeleton.bytes().enumerate().skip(open) {
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the Python block of the `def` at `start` (indented by `indent`) ends.
fn python_block_end(skeleton: &str, start: usize, indent: usize) -> usize {
    let mut at = skeleton[start..]
        .find('\n')
        .map_or(skeleton.len(), |n| start + n + 1);
    while at < skeleton.len() {
        let end = skeleton[at..]
            .find('\n')
            .map_or(skeleton.len(), |n| at + n + 1);
        let line = &skeleton[at..end];
        let text = line.trim_start();
        if !text.trim().is_empty() && line.len() - text.len() <= indent {
            return at;
        }
        at = end;
    }
    skeleton.len()
}

/// A call's arguments: positional values, and Python's keyword arguments.
#[derive(Debug, Default)]
struct Args {
    positional: Vec<Bson>,
    keywords: Document,
}

impl Args {
    /// Reads the arguments after a call's `(`, up to its `)`.
    fn parse(text: &str, syntax: Syntax) -> Args {
        let mut parser = Literal {
            text: text.as_bytes(),
            at: 0,
            syntax,
        };
        let mut args = Args::default();
        loop {
            parser.space();
            match parser.peek() {
                None | Some(b')') => return args,
                Some(b',') => parser.at += 1,
                _ => {
                    if let Some(keyword) = parser.keyword() {
                        let value = parser.value();
                        args.keywords.insert(keyword, value);
                    } else {
                        args.positional.push(parser.value());
                    }
                    parser.space();
                    match parser.peek() {
                        Some(b',') => parser.at += 1,
                        _ => return args,
                    }
                }
            }
        }
    }

    fn doc(&self, i: usize) -> Option<Document> {
        match self.positional.get(i) {
            Some(Bson::Document(d)) => Some(d.clone()),
            _ => None,
        }
    }

    fn text(&self, i: usize) -> Option<String> {
        self.positional
            .get(i)
            .and_then(Bson::as_str)
            .map(String::from)
    }

    /// Options given as a document (JavaScript) merged with keyword arguments (Python).
    fn options(&self, i: usize) -> Document {
        let mut options = self.doc(i).unwrap_or_default();
        options.extend(self.keywords.clone());
        options
    }
}

/// A reader of literal values: JavaScript object literals and Python dicts, lists and tuples.
struct Literal<'a> {
    text: &'a [u8],
    at: usize,
    syntax: Syntax,
}

impl Literal<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Skips white space and comments (`//`, `/* */` in JavaScript, `#` in Python).
    fn space(&mut self) {
        loop {
            while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
                self.at += 1;
            }
            let rest = &self.text[self.at.min(self.text.len())..];
            let line_comment = match self.syntax {
                Syntax::JavaScript => rest.starts_with(b"//"),
                Syntax::Python => rest.starts_with(b"#"),
            };
            if line_comment {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.at += 1;
                }
            } else if self.syntax == Syntax::JavaScript && rest.starts_with(b"/*") {
                self.at =
                    find_from(self.text, self.at + 2, b"*/").map_or(self.text.len(), |e| e + 2);
            } else {
                return;
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    /// `name=` before a Python keyword argument.
    fn keyword(&mut self) -> Option<String> {
        if self.syntax != Syntax::Python {
            return None;
        }
        let start = self.at;
        let word = self.word();
        self.space();
        let is_keyword = !word.is_empty()
            && !word.contains('.')
            && self.peek() == Some(b'=')
            && self.text.get(self.at + 1) != Some(&b'=');
        if is_keyword {
            self.at += 1;
            Some(word)
        } else {
            self.at = start;
            None
        }
    }

    /// One value; what is not a literal reads as `Undefined` (and is skipped).
    fn value(&mut self) -> Bson {
        self.space();
        let start = self.at;
        let value = match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(b']'),
            Some(b'(') if self.syntax == Syntax::Python => self.array(b')'),
            Some(b'"' | b'\'') => self.string(),
            Some(b'`') => {
                let end = string_end(self.text, self.at);
                let raw = &self.text[self.at + 1..end.saturating_sub(1).max(self.at + 1)];
                self.at = end;
                if raw.windows(2).any(|w| w == b"${") {
                    Some(Bson::Undefined)
                } else {
                    Some(Bson::String(String::from_utf8_lossy(raw).into_owned()))
                }
            }
            Some(b) if b == b'-' || b.is_ascii_digit() => self.number(),
            Some(_) => {
                let word = self.word();
                match word.as_str() {
                    "true" | "True" => Some(Bson::Boolean(true)),
                    "false" | "False" => Some(Bson::Boolean(false)),
                    "null" | "None" => Some(Bson::Null),
                    "undefined" => Some(Bson::Undefined),
                    w if w.ends_with("ASCENDING") => Some(Bson::Int32(1)),
                    w if w.ends_with("DESCENDING") => Some(Bson::Int32(-1)),
                    w if w.ends_with("TEXT") => Some(Bson::String("text".into())),
                    w if w.ends_with("HASHED") => Some(Bson::String("hashed".into())),
                    _ => None,
                }
            }
            None => None,
        };
        self.space();
        let ends = matches!(self.peek(), None | Some(b',' | b'}' | b']' | b')' | b':'));
        match value {
            Some(v) if ends => v,
            _ => {
                // An expression: skip it to the next delimiter at its own depth.
                self.at = start;
                self.skip_expression();
                Bson::Undefined
            }
        }
    }

    fn skip_expression(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' | b'\'' | b'`' => {
                    self.at = string_end(self.text, self.at);
                    continue;
                }
                b'{' | b'(' | b'[' => depth += 1,
                b'}' | b')' | b']' if depth == 0 => return,
                b'}' | b')' | b']' => depth -= 1,
                b',' if depth == 0 => return,
                _ => {}
            }
            self.at += 1;
        }
    }

    fn string(&mut self) -> Option<Bson> {
        let quote = self.peek()?;
        let mut out = Vec::new();
        self.at += 1;
        while let Some(b) = self.peek() {
            self.at += 1;
            match b {
                b'\\' => {
                    let escaped = self.peek()?;
                    self.at += 1;
                    out.push(match escaped {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                }
                b if b == quote => {
                    return Some(Bson::String(String::from_utf8_lossy(&out).into_owned()))
                }
                b'\n' => return None,
                other => out.push(other),
            }
        }
        None
    }

    fn number(&mut self) -> Option<Bson> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'_'))
        {
            self.at += 1;
        }
        let text = String::from_utf8_lossy(&self.text[start..self.at]).replace('_', "");
        if let Ok(n) = text.parse::<i64>() {
            return Some(i32::try_from(n).map_or(Bson::Int64(n), Bson::Int32));
        }
        text.parse::<f64>().ok().map(Bson::Double)
    }

    fn array(&mut self, close: u8) -> Option<Bson> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.space();
            match self.peek() {
                None => return None,
                Some(b) if b == close => {
                    self.at += 1;
                    return Some(Bson::Array(items));
                }
                // Another bracket closes here: not a literal.
                Some(b'}' | b']' | b')') => return None,
                Some(b',') => self.at += 1,
                Some(b'.') => {
                    self.skip_expression();
                    items.push(Bson::Undefined);
                }
                _ => items.push(self.value()),
            }
        }
    }

    fn object(&mut self) -> Option<Bson> {
        self.at += 1;
        let mut doc = Document::new();
        let mut unreadable = false;
        loop {
            self.space();
            let key = match self.peek() {
                None => return None,
                Some(b'}') => {
                    self.at += 1;
                    return Some(if unreadable {
                        Bson::Undefined
                    } else {
                        Bson::Document(doc)
                    });
                }
                Some(b',') => {
                    self.at += 1;
                    continue;
                }
                Some(b']' | b')') => return None,
                Some(b'"' | b'\'') => match self.string() {
                    Some(Bson::String(s)) => s,
                    _ => return None,
                },
                Some(b'.' | b'[') => {
                    // `...spread` or `[computed]`: the object cannot be known.
                    unreadable = true;
                    self.skip_expression();
                    continue;
                }
                Some(_) => {
                    let word = self.word();
                    if word.is_empty() {
                        return None;
                    }
                    word
                }
            };
            self.space();
            match self.peek() {
                Some(b':') => {
                    self.at += 1;
                    let value = self.value();
                    doc.insert(key, value);
                }
                // `{ email }`: shorthand for a variable.
                Some(b',' | b'}') => {
                    doc.insert(key, Bson::Undefined);
                }
                _ => {
                    unreadable = true;
                    self.skip_expression();
                }
            }
        }
    }
}

/// The object literal opening (`{`) at byte `at` of `text`: a document, or `Undefined` (or a
/// document holding `Undefined`) where it is not all literal.
pub(crate) fn object_at(text: &str, at: usize, syntax: Syntax) -> Bson {
    let mut parser = Literal {
        text: text.as_bytes(),
        at,
        syntax,
    };
    parser.object().unwrap_or(Bson::Undefined)
}

/// Whether `value` holds something that was not a literal.
pub(crate) fn has_unknown(value: &Bson) -> bool {
    match value {
        Bson::Undefined => true,
        Bson::Document(d) => d.values().any(has_unknown),
        Bson::Array(items) => items.iter().any(has_unknown),
        _ => false,
    }
}

fn database_call(method: DbMethod, args: &Args) -> Vec<Kind> {
    match method {
        DbMethod::CreateCollection => {
            let Some(collection) = args.text(0) else {
                return vec![Kind::Other {
                    verb: "create".into(),
                }];
            };
            let mut command = mongodb::bson::doc! {"create": collection};
            command.extend(args.options(1));
            operation::of_command(&command, Place::Line(0))
                .into_iter()
                .map(|op| op.kind)
                .collect()
        }
        DbMethod::DropCollection => match args.text(0) {
            Some(collection) => vec![Kind::Drop { collection }],
            None => vec![Kind::Other {
                verb: "drop".into(),
            }],
        },
        DbMethod::DropDatabase => vec![Kind::DropDatabase],
        DbMethod::Command => {
            // `runCommand({collMod: …})`, or pymongo's `command("collMod", "users", validator=…)`.
            let command = match (args.doc(0), args.text(0)) {
                (Some(doc), _) => doc,
                (None, Some(name)) => {
                    let mut doc = Document::new();
                    doc.insert(
                        name,
                        args.positional.get(1).cloned().unwrap_or(Bson::Int32(1)),
                    );
                    doc.extend(args.keywords.clone());
                    doc
                }
                (None, None) => {
                    return vec![Kind::Other {
                        verb: "command".into(),
                    }]
                }
            };
            operation::of_command(&command, Place::Line(0))
                .into_iter()
                .map(|op| op.kind)
                .collect()
        }
    }
}

fn collection_call(method: CollMethod, collection: &str, args: &Args) -> Vec<Kind> {
    use CollMethod as C;
    let collection = collection.to_string();
    let filter = || match args.positional.first() {
        Some(Bson::Document(d)) => Some(d.clone()),
        // pymongo's `update_many({}, …)` with no argument at all is not valid; a missing
        // filter in mongosh's `deleteMany()` means every document.
        None => Some(Document::new()),
        _ => None,
    };
    let update = || args.positional.get(1).cloned();
    match method {
        C::CreateIndex => {
            let key = match args.positional.first() {
                Some(Bson::Document(d)) if !has_unknown(&Bson::Document(d.clone())) => {
                    Some(d.clone())
                }
                Some(Bson::String(field)) => Some(mongodb::bson::doc! {field.as_str(): 1}),
                Some(Bson::Array(pairs)) => key_of_pairs(pairs),
                _ => None,
            };
            vec![Kind::CreateIndex {
                collection,
                index: index_spec(key, args.options(1)),
            }]
        }
        C::CreateIndexes => {
            let Some(Bson::Array(items)) = args.positional.first() else {
                return vec![Kind::Other {
                    verb: "createIndexes".into(),
                }];
            };
            let shared = args.options(1);
            items
                .iter()
                .map(|item| {
                    let spec = match item {
                        // The driver's shape: `{key, name, unique}`.
                        Bson::Document(d) if d.contains_key("key") => {
                            let key = d.get_document("key").ok().cloned();
                            let mut options = d.clone();
                            options.remove("key");
                            index_spec(key, options)
                        }
                        // mongosh's: key patterns, the options shared.
                        Bson::Document(d) => index_spec(Some(d.clone()), shared.clone()),
                        _ => index_spec(None, shared.clone()),
                    };
                    Kind::CreateIndex {
                        collection: collection.clone(),
                        index: spec,
                    }
                })
                .collect()
        }
        C::DropIndex | C::HideIndex => {
            let index = match args.positional.first() {
                Some(Bson::String(name)) if name == "*" => IndexRef::All,
                Some(Bson::String(name)) => IndexRef::Name(name.clone()),
                Some(Bson::Document(key)) => IndexRef::Key(key.clone()),
                Some(Bson::Array(pairs)) => {
                    key_of_pairs(pairs).map_or(IndexRef::Unknown, IndexRef::Key)
                }
                _ => IndexRef::Unknown,
            };
            if method == C::HideIndex {
                vec![Kind::HideIndex { collection, index }]
            } else {
                vec![Kind::DropIndex { collection, index }]
            }
        }
        C::DropIndexes => match args.positional.first() {
            None => vec![Kind::DropIndex {
                collection,
                index: IndexRef::All,
            }],
            Some(Bson::Array(names)) => names
                .iter()
                .map(|n| Kind::DropIndex {
                    collection: collection.clone(),
                    index: n
                        .as_str()
                        .map_or(IndexRef::Unknown, |n| IndexRef::Name(n.into())),
                })
                .collect(),
            Some(Bson::String(name)) if name == "*" => vec![Kind::DropIndex {
                collection,
                index: IndexRef::All,
            }],
            Some(Bson::String(name)) => vec![Kind::DropIndex {
                collection,
                index: IndexRef::Name(name.clone()),
            }],
            Some(_) => vec![Kind::DropIndex {
                collection,
                index: IndexRef::Unknown,
            }],
        },
        C::UpdateMany | C::UpdateOne | C::Update => {
            let multi = match method {
                C::UpdateMany => true,
                C::UpdateOne => false,
                _ => operation::truthy(args.options(2).get("multi")),
            };
            vec![Kind::Update {
                collection,
                filter: filter(),
                update: update(),
                multi,
            }]
        }
        C::DeleteMany | C::DeleteOne | C::Remove => {
            let multi = match method {
                C::DeleteMany => true,
                C::DeleteOne => false,
                _ => {
                    !matches!(args.positional.get(1), Some(Bson::Boolean(true)))
                        && !operation::truthy(args.options(1).get("justOne"))
                }
            };
            vec![Kind::Delete {
                collection,
                filter: filter(),
                multi,
            }]
        }
        C::InsertOne => vec![Kind::Insert {
            collection,
            documents: 1,
        }],
        C::InsertMany | C::Insert => vec![Kind::Insert {
            collection,
            documents: match args.positional.first() {
                Some(Bson::Array(items)) => items.len(),
                _ => 1,
            },
        }],
        C::Drop => vec![Kind::Drop { collection }],
        C::Rename => vec![Kind::Rename {
            from: collection,
            to: args.text(0).unwrap_or_default(),
        }],
        C::BulkWrite => vec![Kind::Other {
            verb: "bulkWrite".into(),
        }],
        C::Find => Vec::new(),
        C::Aggregate => {
            let writes = matches!(args.positional.first(), Some(Bson::Array(stages))
                if stages.iter().filter_map(Bson::as_document).any(|s| s.contains_key("$out") || s.contains_key("$merge")));
            if writes {
                vec![Kind::Other {
                    verb: "aggregate".into(),
                }]
            } else {
                Vec::new()
            }
        }
    }
}

/// pymongo's `[("email", 1), ("at", -1)]` as a key document.
fn key_of_pairs(pairs: &[Bson]) -> Option<Document> {
    let mut key = Document::new();
    for pair in pairs {
        match pair {
            Bson::Array(p) if p.len() == 2 && !has_unknown(&p[1]) => {
                key.insert(p[0].as_str()?.to_string(), p[1].clone());
            }
            Bson::String(field) => {
                key.insert(field.clone(), Bson::Int32(1));
            }
            _ => return None,
        }
    }
    Some(key)
}

/// An index specification from a key and the options of `createIndex`.
fn index_spec(key: Option<Document>, options: Document) -> IndexSpec {
    let mut spec = Document::new();
    if let Some(key) = &key {
        spec.insert("key", key.clone());
    }
    for (option, value) in options {
        // pymongo's `background=True` and friends are options; `session` is not.
        if option != "session" && !has_unknown(&value) {
            spec.insert(option, value);
        }
    }
    let mut index = IndexSpec::of(spec);
    index.key = key;
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn kinds(text: &str, syntax: Syntax) -> Vec<(usize, Kind)> {
        script(text, syntax)
            .ops
            .into_iter()
            .map(|op| match op.place {
                Place::Line(line) => (line, op.kind),
                Place::Command(_) | Place::Backfill => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn mongosh_calls_with_literal_arguments() {
        let text = "// 0004: unique emails\nfunction up() {\n  db.users.createIndex({ email: 1 }, { unique: true, name: 'email_1' });\n  db.getCollection('users').updateMany({}, { $unset: { legacy: \"\" } });\n  // db.users.drop();\n}\nfunction down() {\n  db.users.dropIndex('email_1');\n}\n";
        let ops = script(text, Syntax::JavaScript);
        assert_eq!(ops.reversible, Some(true));
        assert!(!ops.opaque);
        let kinds = kinds(text, Syntax::JavaScript);
        assert_eq!(kinds.len(), 2, "{kinds:#?}");
        match &kinds[0] {
            (3, Kind::CreateIndex { collection, index }) => {
                assert_eq!(collection, "users");
                assert!(index.unique);
                assert_eq!(index.name.as_deref(), Some("email_1"));
                assert_eq!(index.key, Some(doc! {"email": 1}));
            }
            other => panic!("{other:?}"),
        }
        match &kinds[1] {
            (
                4,
                Kind::Update {
                    filter,
                    update,
                    multi: true,
                    ..
                },
            ) => {
                assert_eq!(filter.as_ref(), Some(&Document::new()));
                assert_eq!(
                    update.as_ref(),
                    Some(&Bson::Document(doc! {"$unset": {"legacy": ""}}))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn commonjs_modules_with_aliases_and_transactions() {
        let text = r#"module.exports = {
  async up(db, client) {
    const users = db.collection('users');
    const session = client.startSession();
    await session.withTransaction(async () => {
      await users.updateMany({ active: { $exists: false } }, { $set: { active: true } }, { session });
    });
    await db.collection(`events`).renameCollection('events_old');
    await db.collection(name).deleteMany({});
  },
};
"#;
        let ops = script(text, Syntax::JavaScript);
        assert_eq!(ops.reversible, Some(false));
        assert!(ops.opaque, "a delete on a collection held in a variable");
        assert_eq!(ops.ops.len(), 2, "{:#?}", ops.ops);
        assert!(ops.ops[0].in_transaction);
        assert_eq!(ops.ops[0].place, Place::Line(6));
        assert!(
            matches!(&ops.ops[0].kind, Kind::Update { collection, multi: true, filter: Some(f), .. } if collection == "users" && f.contains_key("active"))
        );
        assert!(!ops.ops[1].in_transaction);
        assert_eq!(
            ops.ops[1].kind,
            Kind::Rename {
                from: "events".into(),
                to: "events_old".into()
            }
        );
    }

    #[test]
    fn python_modules_with_keyword_arguments() {
        let text = "\"\"\"db.users.drop() in a docstring\"\"\"\nimport pymongo\n\ndef up(db):\n    db.users.create_index([(\"email\", pymongo.ASCENDING)], unique=True)\n    db[\"orders\"].delete_many({})\n    db.command(\"collMod\", \"users\", validator={\"$jsonSchema\": {\"required\": [\"email\"]}})\n\ndef down(db):\n    db.users.drop_index(\"email_1\")\n";
        let kinds = kinds(text, Syntax::Python);
        assert_eq!(kinds.len(), 3, "{kinds:#?}");
        match &kinds[0] {
            (5, Kind::CreateIndex { index, .. }) => {
                assert!(index.unique);
                assert_eq!(index.name, None);
                assert_eq!(index.key, Some(doc! {"email": 1}));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&kinds[1], (6, Kind::Delete { collection, multi: true, filter: Some(f) }) if collection == "orders" && f.is_empty())
        );
        assert!(
            matches!(&kinds[2], (7, Kind::Validator { collection, validator }) if collection == "users" && validator.required_fields() == ["email"])
        );
    }

    #[test]
    fn every_prefix_of_broken_text_is_read_to_its_end() {
        let samples = [
            "// ünïcødé ✓ `x\nfunction up() {\n  db.getCollection(`é`).updateMany({ $or: [ { a: 1 }, ], }, { $set: { 'b': \"}\" } }\n  db[\"ünï\"].deleteMany({ \"x\": { $in: [1, [3, {]} } } );\n  db.users.createIndex(\n}\nfunction down() { db.a.drop(",
            "def up(db):\n    db.x.update_many({'a': (1, 2,\n    db['é'].create_index([(\"a\", pymongo.ASCENDING)], unique=True, name='''x\n\ndef down(db)\n    '''\n",
            "module.exports = { async up(db, client) { await client.withSession(s => s.withTransaction(() => f(db.collection('a').find({...x}))); }, down: async function () { /* ",
        ];
        for sample in samples {
            for end in (0..=sample.len()).filter(|e| sample.is_char_boundary(*e)) {
                let _ = script(&sample[..end], Syntax::JavaScript);
                let _ = script(&sample[..end], Syntax::Python);
                let _ = Args::parse(&sample[end..], Syntax::JavaScript);
                let _ = Args::parse(&sample[end..], Syntax::Python);
            }
        }
    }

    #[test]
    fn expressions_read_as_unknown() {
        let args = Args::parse(
            "{ at: { $lt: new Date() }, ...base }, { $set: { n: a + 1 } })",
            Syntax::JavaScript,
        );
        assert_eq!(args.positional[0], Bson::Undefined);
        assert_eq!(
            args.positional[1],
            Bson::Document(doc! {"$set": {"n": Bson::Undefined}})
        );
        let args = Args::parse("{ at: { $lt: new Date() } })", Syntax::JavaScript);
        assert!(has_unknown(&args.positional[0]));
        let args = Args::parse("{\"a\": [1, 2.5, 'x', None]}, name='a_1')", Syntax::Python);
        assert_eq!(
            args.positional[0],
            Bson::Document(doc! {"a": [1, 2.5, "x", Bson::Null]})
        );
        assert_eq!(args.keywords, doc! {"name": "a_1"});
    }
}
