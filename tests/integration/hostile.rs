//! Hostile input, one row per case: what an operator or an attacker might feed migo (files,
//! arguments, variables, numbers), the exit code and message fragment it must give as one error
//! line, and the database left byte for byte as it was. A new case is one row.

use std::os::unix::ffi::OsStrExt;

use mongodb::bson::{doc, Document};

use crate::push;
use crate::test::Test;

/// One hostile input.
struct Case {
    what: &'static str,
    /// Prepares the project (files, variables, registry documents).
    setup: fn(Test) -> Test,
    args: &'static [&'static str],
    code: i32,
    message: &'static str,
}

fn nothing(t: Test) -> Test {
    t
}

fn link_to_dev_zero(t: Test) -> Test {
    std::os::unix::fs::symlink("/dev/zero", t.path("mongomigrations/0002_z.json")).unwrap();
    t
}

fn fifo(t: Test) -> Test {
    let path = std::ffi::CString::new(t.path("mongomigrations/0002_f.json").as_os_str().as_bytes())
        .unwrap();
    // SAFETY: mkfifo(3) with a valid path.
    #[allow(unsafe_code)]
    let made = unsafe { libc::mkfifo(path.as_ptr(), 0o644) };
    assert_eq!(made, 0);
    t
}

fn sparse_gigabyte(t: Test) -> Test {
    let file = std::fs::File::create(t.path("mongomigrations/0002_big.json")).unwrap();
    file.set_len(1 << 30).unwrap();
    t
}

fn link_outside(t: Test) -> Test {
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), crate::push(2)).unwrap();
    let (_, path) = outside.keep().unwrap();
    std::os::unix::fs::symlink(path, t.path("mongomigrations/0002_out.json")).unwrap();
    t
}

fn bom(t: Test) -> Test {
    let body = format!("\u{feff}{}", push(2));
    t.migration("0002_bom.json", &body)
}

fn latin1(t: Test) -> Test {
    std::fs::write(t.path("mongomigrations/0002_l.json"), b"{\"u\xe9\": 1}").unwrap();
    t
}

fn latin1_name(t: Test) -> Test {
    let name = std::ffi::OsStr::from_bytes(b"0002_caf\xe9.json");
    std::fs::write(t.path("mongomigrations").join(name), push(2)).unwrap();
    t
}

fn huge_number(t: Test) -> Test {
    t.migration("99999999999999999999_x.json", &push(2))
}

fn largest_number(t: Test) -> Test {
    t.migration("9223372036854775807_x.json", &push(2))
}

fn foreign_record(t: Test) -> Test {
    t.db()
        .collection::<Document>("migrations")
        .insert_one(doc! {"_id": "x", "name": 5})
        .run()
        .unwrap();
    t
}

fn migrate_mongo_changelog(t: Test) -> Test {
    t.db()
        .collection::<Document>("migrations")
        .insert_one(
            doc! {"fileName": "20160608155948-a.js", "appliedAt": mongodb::bson::DateTime::now()},
        )
        .run()
        .unwrap();
    t
}

fn same_names(t: Test) -> Test {
    std::fs::remove_file(t.path("mongomigrations/0001_a.json")).unwrap();
    t.config("[migrations]\npattern = '^m\\.(?P<number>[0-9]+)$'\n")
        .script("m.1", "#!/bin/sh\necho one\n")
        .script("m.2", "#!/bin/sh\necho two\n")
}

fn both_js_shapes(t: Test) -> Test {
    t.migration(
        "0002_dual.js",
        "function up() { db.x.insertOne({}); }\nmodule.exports = { up };\n",
    )
}

fn es_module(t: Test) -> Test {
    t.migration("0002_esm.js", "export async function up(db) {}\n")
}

fn up_only_in_a_class(t: Test) -> Test {
    t.migration(
        "0002_class.py",
        "class Migration:\n    def up(self, db):\n        db.x.insert_one({})\n",
    )
}

fn up_without_db(t: Test) -> Test {
    t.migration("0002_no_db.py", "def up():\n    pass\n")
}

fn bad_timeout(t: Test) -> Test {
    t.env("MIGO_TIMEOUT", "abc")
}

fn bad_port(t: Test) -> Test {
    t.env("MIGO_PORT", "abc")
}

fn big_port(t: Test) -> Test {
    t.env("MIGO_PORT", "70000")
}

fn bad_wait(t: Test) -> Test {
    t.env("MIGO_WAIT", "soon")
}

const LONG_NAME: &str = "a_name_that_goes_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on";

const CASES: &[Case] = &[
    Case { what: "a symlink to /dev/zero", setup: link_to_dev_zero, args: &["list"], code: 4, message: "migration `0002_z.json` is invalid: it is a symlink to `/dev/zero`, outside the project" },
    Case { what: "a FIFO", setup: fifo, args: &["list"], code: 4, message: "migration `0002_f.json` is invalid: it is not a regular file (a FIFO)" },
    Case { what: "a sparse gigabyte", setup: sparse_gigabyte, args: &["execute"], code: 4, message: "it is 1073741824 bytes, over the limit of 16777216 (16 MiB)" },
    Case { what: "a symlink out of the project", setup: link_outside, args: &["execute"], code: 4, message: "outside the project" },
    Case { what: "a byte-order mark", setup: bom, args: &["execute"], code: 4, message: "migration `0002_bom.json` is invalid: it starts with a byte-order mark (BOM, bytes 0 to 2)" },
    Case { what: "Latin-1 content", setup: latin1, args: &["execute"], code: 4, message: "migration `0002_l.json` is invalid: it is not UTF-8 text (invalid byte at offset 3)" },
    Case { what: "a Latin-1 file name", setup: latin1_name, args: &["list"], code: 4, message: "migration `0002_caf\u{fffd}.json` is invalid: its name is not UTF-8" },
    Case { what: "a number over i64", setup: huge_number, args: &["list"], code: 4, message: "its number 99999999999999999999 is too large (at most 9223372036854775807" },
    Case { what: "`new` after the largest number", setup: largest_number, args: &["new", "next"], code: 2, message: "has the largest number a migration may have" },
    Case { what: "a 300-character name", setup: nothing, args: &["new", LONG_NAME], code: 2, message: "the migration name is 264 characters long; the limit is 200" },
    Case { what: "a control character in NAME", setup: nothing, args: &["execute", "0001_a\nerror: fake"], code: 6, message: "no migration named `0001_a\\nerror: fake`" },
    Case { what: "two files with the same name", setup: same_names, args: &["execute"], code: 4, message: "error: migrations `m.1` and `m.2` have the same name `m`; hint: " },
    Case { what: "a .js that is both CommonJS and mongosh", setup: both_js_shapes, args: &["execute"], code: 4, message: "migration `0002_dual.js` is invalid: it is both a CommonJS module" },
    Case { what: "an ES module", setup: es_module, args: &["execute"], code: 4, message: "migration `0002_esm.js` is invalid: it is an ES module" },
    Case { what: "`def up` only in a class", setup: up_only_in_a_class, args: &["execute"], code: 4, message: "migration `0002_class.py` is invalid: it defines no `up` (python)" },
    Case { what: "`def up()` without the database", setup: up_without_db, args: &["execute"], code: 4, message: "migration `0002_no_db.py` is invalid: its `up` takes no argument" },
    Case { what: "MIGO_TIMEOUT=abc", setup: bad_timeout, args: &["list"], code: 3, message: "error: MIGO_TIMEOUT: \"abc\" is not a whole number" },
    Case { what: "MIGO_PORT=abc", setup: bad_port, args: &["list"], code: 3, message: "error: MIGO_PORT: \"abc\" is not a whole number" },
    Case { what: "MIGO_PORT=70000", setup: big_port, args: &["list"], code: 3, message: "error: MIGO_PORT: invalid value: integer `70000`, expected u16" },
    Case { what: "MIGO_WAIT=soon", setup: bad_wait, args: &["execute"], code: 3, message: "error: MIGO_WAIT: \"soon\" is not a whole number" },
    Case { what: "--timeout 0", setup: nothing, args: &["--timeout", "0", "list"], code: 3, message: "error: --timeout: timeout 0 is out of range: from 1 to 3600 seconds" },
    Case { what: "--database a/b", setup: nothing, args: &["--database", "a/b", "list"], code: 3, message: "error: --database: database name \"a/b\" is not valid" },
    Case { what: "--wait beyond a day", setup: nothing, args: &["--wait", "99999999", "execute"], code: 2, message: "99999999 is not in 0..=86400" },
    Case { what: "--since é", setup: nothing, args: &["history", "--since", "é"], code: 2, message: "`é` is neither a date" },
    Case { what: "--since far back", setup: nothing, args: &["history", "--since=-9223372036854775s"], code: 2, message: "is neither a date" },
    Case { what: "--since too far back", setup: nothing, args: &["history", "--since=9223372036854775807w"], code: 2, message: "is too far back" },
    Case { what: "a connection string the driver rejects", setup: nothing, args: &["--uri", "mongodb://u:S3cr/etPW@h:notaport", "list"], code: 3, message: "mongodb://u:***@h:notaport is not a valid connection string" },
    Case { what: "a password with `?`", setup: nothing, args: &["--uri", "mongodb://u:pa?ss@h/x?bogusOption=1", "list"], code: 3, message: "mongodb://u:***@h/x?bogusOption=1" },
    Case { what: "a registry document of unknown shape", setup: foreign_record, args: &["list"], code: 3, message: "the registry `migrations` holds a document migo cannot read (_id \"x\")" },
    Case { what: "migrate-mongo's changelog as the registry", setup: migrate_mongo_changelog, args: &["execute"], code: 3, message: "hint: it looks like migrate-mongo's history" },
];

#[test]
fn every_hostile_input_gets_one_error_line_its_code_and_writes_nothing() {
    for case in CASES {
        let t = (case.setup)(Test::new().migration("0001_a.json", &push(1)));
        let before = t.snapshot();
        let run = t.run(case.args);
        assert_ne!(
            run.code, 101,
            "{}: migo panicked:\n{}",
            case.what, run.stderr
        );
        run.code(case.code)
            .one_error_line()
            .stderr_has(case.message);
        for secret in ["S3cr/etPW", "pa?ss"] {
            run.never_shows(secret);
        }
        assert_eq!(t.snapshot(), before, "{}: the database changed", case.what);
    }
}

/// Values that have broken parsers elsewhere: empty, non-ASCII, control characters, huge and
/// negative numbers, things that look like flags or paths.
const HOSTILE: &[&str] = &[
    "",
    "é",
    "日本語",
    "\u{1b}[31mred",
    "a\nb",
    "-1",
    "0",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "--",
    "../../etc/passwd",
    "%s%n",
    "mongodb://u:p@h",
];

#[test]
fn no_argument_makes_migo_panic() {
    let t = Test::new().migration("0001_a.json", &push(1));
    let shapes: &[&[&str]] = &[
        &["execute", "{}"],
        &["execute", "--steps", "{}"],
        &["execute", "--to", "{}"],
        &["ignore", "{}"],
        &["rollback", "{}"],
        &["rollback", "--last", "{}"],
        &["rollback", "--to", "{}"],
        &["accept", "{}"],
        &["forget", "{}"],
        &["remove", "{}"],
        &["history", "--limit", "{}"],
        &["history", "--since", "{}"],
        &["new", "{}"],
        &["test", "{}"],
        &["restore", "{}"],
        &["--env", "{}", "list"],
        &["--port", "{}", "list"],
        &["--timeout", "{}", "list"],
        &["--wait", "{}", "execute"],
        &["--database", "{}", "list"],
        &["--collection", "{}", "list"],
        &["--pattern", "{}", "list"],
        &["--uri", "{}", "list"],
        &["completions", "{}"],
        &["{}"],
    ];
    for shape in shapes {
        for value in HOSTILE {
            let args: Vec<String> = shape.iter().map(|a| a.replace("{}", value)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = t.run_with(&args, &[("MIGO_TIMEOUT", "1")]);
            assert!(
                run.code != 101 && !run.stderr.contains("panicked"),
                "{args:?} panicked:\n{}",
                run.stderr
            );
            assert!(
                run.stderr
                    .lines()
                    .filter(|l| l.starts_with("error: "))
                    .count()
                    <= 1,
                "{args:?}: more than one error line:\n{}",
                run.stderr
            );
        }
    }
}
