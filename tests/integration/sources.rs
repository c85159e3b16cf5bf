//! A file is read once: the bytes discovery checked and hashed are the bytes that run, for every
//! kind, even when the file is edited after `execute` started; and migration names are unique,
//! like numbers, checked before anything runs.

use std::time::Duration;

use crate::processes::{signal, wait_stopped};
use crate::test::{Run, Test};
use crate::tools::{mongosh, node_modules, python};

/// One kind of migration: its file name and its text inserting `{_id: id}` into `marks`.
struct Kind {
    file: &'static str,
    body: fn(&str) -> String,
    executable: bool,
}

fn json(id: &str) -> String {
    format!(r#"{{"up": [{{"insert": "marks", "documents": [{{"_id": "{id}"}}]}}]}}"#)
}

fn mongosh_js(id: &str) -> String {
    format!("function up() {{ db.marks.insertOne({{ _id: '{id}' }}); }}\n")
}

fn commonjs(id: &str) -> String {
    format!("module.exports = {{\n  async up(db) {{ await db.collection('marks').insertOne({{ _id: '{id}' }}); }},\n}};\n")
}

fn migopy(id: &str) -> String {
    format!("def up(db):\n    db.marks.insert_one({{'_id': '{id}'}})\n")
}

fn shell(id: &str) -> String {
    format!(
        "#!/bin/sh\nset -e\nexec \"{}\" -c 'import os, pymongo; pymongo.MongoClient(os.environ[\"MIGO_URI\"])[os.environ[\"MIGO_DATABASE\"]].marks.insert_one({{\"_id\": \"{id}\"}})'\n",
        python().display()
    )
}

const KINDS: &[Kind] = &[
    Kind {
        file: "0001_mark.json",
        body: json,
        executable: false,
    },
    Kind {
        file: "0001_mark.js",
        body: mongosh_js,
        executable: false,
    },
    Kind {
        file: "0001_mark.js",
        body: commonjs,
        executable: false,
    },
    Kind {
        file: "0001_mark.py",
        body: migopy,
        executable: false,
    },
    Kind {
        file: "0001_mark.sh",
        body: shell,
        executable: true,
    },
];

#[test]
fn an_edit_after_execute_started_changes_nothing_that_runs() {
    for kind in KINDS {
        let scratch = tempfile::tempdir().unwrap();
        let t = Test::new()
            .env("TMPDIR", scratch.path().to_str().unwrap())
            .config(&format!(
                "[migrations]\npython = \"{}\"\n",
                python().display()
            ))
            .env("MIGO_MONGOSH", mongosh().to_str().unwrap())
            .env("NODE_PATH", node_modules().to_str().unwrap());
        let original = (kind.body)("original");
        let t = if kind.executable {
            t.script(kind.file, &original)
        } else {
            t.migration(kind.file, &original)
        };
        let name = "0001_mark";
        let migo = t.spawn(
            &["execute"],
            &[("MIGO_TEST_STOP_AT", &format!("before-step:{name}"))],
        );
        wait_stopped(&migo);
        let path = t.path(&format!("mongomigrations/{}", kind.file));
        std::fs::write(&path, (kind.body)("edited")).unwrap();
        signal(migo.id(), libc::SIGCONT);
        let out = migo.wait_with_output().unwrap();
        assert!(out.status.success(), "{}: {out:?}", kind.file);
        let marks: Vec<String> = t
            .docs("marks")
            .iter()
            .map(|d| d.get_str("_id").unwrap().to_string())
            .collect();
        assert_eq!(marks, ["original"], "{}", kind.file);
        // The record's checksum is the one of the bytes that ran, so `list` now sees the edit.
        let record = &t.records()[0];
        assert_eq!(
            record.get_str("checksum").unwrap(),
            sha256_hex(original.as_bytes()),
            "{}",
            kind.file
        );
        t.run(&["list"])
            .success()
            .stdout_has(&format!("{name}  applied (modified)"));
        // The private copies and the interpreters' scratch files are gone with the run.
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert!(left.is_empty(), "{}: left in TMPDIR: {left:?}", kind.file);
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn two_files_with_the_same_name_are_refused_before_anything_runs() {
    // The number sits in the extension: `m.1` and `m.2` would both be called `m`.
    let script = |id: &str| {
        format!(
            "#!/bin/sh\nexec \"{}\" -c 'import os, pymongo; pymongo.MongoClient(os.environ[\"MIGO_URI\"])[os.environ[\"MIGO_DATABASE\"]].marks.insert_one({{\"_id\": \"{id}\"}})'\n",
            python().display()
        )
    };
    let t = Test::new()
        .config("[migrations]\npattern = '^m\\.(?P<number>[0-9]+)$'\n")
        .script("m.1", &script("one"))
        .script("m.2", &script("two"));
    for args in [&["execute"][..], &["list"], &["execute", "m"]] {
        Run::within(t.command(args), Duration::from_secs(60))
            .code(4)
            .stderr_is("error: migrations `m.1` and `m.2` have the same name `m`; hint: a migration's name is its file name without the extension: rename one of them, or make `[migrations] pattern` accept only one of the extensions\n");
    }
    assert!(t.collections().is_empty(), "{:?}", t.collections());
}
