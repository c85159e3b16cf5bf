//! A code backfill as a script declares it: the walk written as a literal (`const backfill =
//! {…}` in a mongosh script, the `backfill` of a CommonJS module's exports, a migopy module's
//! `backfill = {…}`) beside a `batch` function that does each batch's work. The walk is read
//! from the text, as lint reads calls ([`super::recognize`]), so that it is checked (by the
//! `.json` form's rules, [`super::backfill`]), dry-run, linted and preflighted before the
//! interpreter runs anything.

use mongodb::bson::Bson;

use super::backfill::{Backfill, Form};
use super::recognize::{self, Syntax};
use super::shape::{self, Declared, Export};

/// Which interpreter's spelling a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spelling {
    Mongosh,
    CommonJs,
    Python,
}

impl Spelling {
    /// What a code backfill of this spelling looks like.
    pub(crate) fn hint(self) -> &'static str {
        match self {
            Spelling::Mongosh => "a mongosh backfill declares `const backfill = {collection: …, filter: …, batch_size: …}` and defines `function batch(batch) { … }`",
            Spelling::CommonJs => "a CommonJS backfill is `module.exports = { backfill: {collection: …, filter: …, batch_size: …}, async batch(db, batch) { … } }`",
            Spelling::Python => "a Python backfill declares `backfill = {\"collection\": …, \"filter\": …, \"batch_size\": …}` and defines `def batch(db, batch):`",
        }
    }

    fn syntax(self) -> Syntax {
        match self {
            Spelling::Python => Syntax::Python,
            Spelling::Mongosh | Spelling::CommonJs => Syntax::JavaScript,
        }
    }
}

/// What a script's text shows of a code backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    batch: bool,
    declared: Option<Declared>,
    up: bool,
}

fn found(text: &str, spelling: Spelling) -> Found {
    match spelling {
        Spelling::Mongosh => {
            let js = shape::js(text);
            Found {
                batch: js.defines_batch,
                declared: js.backfill,
                up: js.defines[0],
            }
        }
        Spelling::CommonJs => {
            let js = shape::js(text);
            // Exports built at run time (`module.exports = m`) may hold `batch`: only a declared
            // walk makes it a backfill, and the interpreter then says whether `batch` is there.
            let batch = match js.exports_batch {
                Export::Yes => true,
                Export::Unknown => js.backfill.is_some(),
                Export::No => false,
            };
            Found {
                batch,
                declared: js.backfill,
                up: js.exports[0] == Export::Yes,
            }
        }
        Spelling::Python => {
            let py = shape::python(text);
            Found {
                batch: py.batch.is_some(),
                declared: py.backfill,
                up: py.up.is_some(),
            }
        }
    }
}

/// Whether `text` is a code backfill's (or an attempt at one, which [`read`] refuses).
pub(crate) fn is_backfill(text: &str, spelling: Spelling) -> bool {
    !matches!(literal_at(found(text, spelling)), Ok(None))
}

/// Where the declaration's literal is, `None` when the file is no code backfill: a `batch`
/// beside an `up` is a helper, and so is a `backfill` without `batch`, so that migrations
/// written before the code form keep their meaning.
fn literal_at(f: Found) -> Result<Option<usize>, String> {
    match (f.declared, f.batch, f.up) {
        (None, false, _) | (None, true, true) | (Some(_), false, true) => Ok(None),
        (None, true, false) => Err(
            "it defines `batch` but declares no `backfill`: the walk its batches come from \
             (collection, filter, batch_size)"
                .into(),
        ),
        (Some(_), false, false) => {
            Err("it declares `backfill` but defines no `batch` function".into())
        }
        (Some(_), true, true) => {
            Err("it has both `up` and `backfill`: a migration is one or the other".into())
        }
        (Some(Declared::Expression), true, false) => Err(
            "`backfill` must be written out as an object literal: migo reads it before \
             anything runs"
                .into(),
        ),
        (Some(Declared::Literal(at)), true, false) => Ok(Some(at)),
    }
}

/// The spelling of a `.js` or `.py` file's text, by its extension and code.
pub(crate) fn spelling_of(text: &str, extension: &str) -> Option<Spelling> {
    match extension {
        "py" => Some(Spelling::Python),
        "js" if shape::js(text).commonjs => Some(Spelling::CommonJs),
        "js" => Some(Spelling::Mongosh),
        _ => None,
    }
}

/// For lint and preflight: the declaration of a script's code backfill and its line (from 1),
/// when it is one and is valid (an invalid one is `execute`'s error to report).
pub(crate) fn declared(text: &str, extension: &str) -> Option<(Backfill, usize)> {
    let spelling = spelling_of(text, extension)?;
    let at = literal_at(found(text, spelling)).ok()??;
    let backfill = read(text, spelling).ok()??;
    let line = text[..at].matches('\n').count() + 1;
    Some((backfill, line))
}

/// The checked declaration of `text`, `None` when it is no code backfill; the error is one line
/// naming what is wrong (the hint is [`Spelling::hint`]).
pub(crate) fn read(text: &str, spelling: Spelling) -> Result<Option<Backfill>, String> {
    let Some(at) = literal_at(found(text, spelling))? else {
        return Ok(None);
    };
    let value = recognize::object_at(text, at, spelling.syntax());
    if let Some(key) = unreadable(&value) {
        return Err(format!(
            "`backfill{key}` is not a literal: migo reads the declaration before anything runs \
             (write dates and ids as Extended JSON: `{{$date: \"2024-01-01T00:00:00Z\"}}`, \
             `{{$oid: \"…\"}}`)"
        ));
    }
    let json = value.into_relaxed_extjson();
    Backfill::parse_as(json, "backfill", Form::Code { transaction: false }).map(Some)
}

/// The path (`.filter`, empty for the whole) of the first part of `value` that is no literal.
fn unreadable(value: &Bson) -> Option<String> {
    match value {
        Bson::Undefined => Some(String::new()),
        Bson::Document(d) => d.iter().find_map(|(key, v)| {
            recognize::has_unknown(v)
                .then(|| format!(".{key}{}", unreadable(v).unwrap_or_default()))
        }),
        Bson::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            recognize::has_unknown(v).then(|| format!("[{i}]{}", unreadable(v).unwrap_or_default()))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn each_spelling_declares_its_walk() {
        let mongosh = "// status\nconst backfill = { collection: 'users', filter: { status: { $exists: false } }, // left\n  batch_size: 200 };\nasync function batch(batch) { db.users.updateMany(batch.filter, {}); }\n";
        let b = read(mongosh, Spelling::Mongosh).unwrap().unwrap();
        assert_eq!(b.collection, "users");
        assert_eq!(b.filter, doc! {"status": {"$exists": false}});
        assert_eq!(b.batch_size, Some(200));
        let cjs = "module.exports = {\n  backfill: { collection: \"users\", filter: {} },\n  async batch(db, batch) {},\n  async down(db) {},\n};\n";
        assert_eq!(
            read(cjs, Spelling::CommonJs).unwrap().unwrap().collection,
            "users"
        );
        let py = "backfill = {\n    \"collection\": \"users\",  # the walk\n    \"filter\": {\"n\": {\"$gte\": 0}},\n}\n\ndef batch(db, batch):\n    pass\n";
        assert_eq!(
            read(py, Spelling::Python).unwrap().unwrap().filter,
            doc! {"n": {"$gte": 0}}
        );
        assert_eq!(read("function up() {}\n", Spelling::Mongosh), Ok(None));
        // Written before the code form: a helper named `batch`, a variable named `backfill`.
        let helper = "function batch(items) { return items; }\nfunction up() { batch([]); }\n";
        assert_eq!(read(helper, Spelling::Mongosh), Ok(None));
        let variable = "backfill = {'a': 1}\n\ndef up(db):\n    pass\n";
        assert_eq!(read(variable, Spelling::Python), Ok(None));
    }

    #[test]
    fn a_declaration_that_is_not_all_literal_is_refused() {
        let err = read(
            "const backfill = { collection: 'users', filter: { at: new Date() } };\nfunction batch(b) {}\n",
            Spelling::Mongosh,
        )
        .unwrap_err();
        assert!(
            err.starts_with("`backfill.filter.at` is not a literal"),
            "{err}"
        );
        let err = read(
            "const backfill = make();\nfunction batch(b) {}\n",
            Spelling::Mongosh,
        )
        .unwrap_err();
        assert!(err.contains("object literal"), "{err}");
        let err = read(
            "backfill = {'collection': 'u', 'filter': {}, 'transaction': True}\ndef batch(db, b):\n    pass\n",
            Spelling::Python,
        )
        .unwrap_err();
        assert!(err.contains("outside migo's transaction"), "{err}");
    }
}
