//! `migo snapshot`: a schema as one canonical JSON document, the database's own or the one its
//! migrations make (`--replay`), printed or written whole to a file.

use mongodb::bson::doc;

use crate::drift::{AUDIT, EVENTS, SEED, USERS};
use crate::test::Test;

fn project() -> Test {
    Test::new()
        .migration("0001_users.json", USERS)
        .migration("0002_events.json", EVENTS)
        .migration("0003_audit.json", AUDIT)
        .migration("0004_seed.json", SEED)
}

/// The schema the four migrations make: collections and indexes by name, fields in their fixed
/// order, a key pattern's order as written.
const SCHEMA: &str = r#"{
  "migo_schema": 1,
  "collections": [
    {
      "name": "audit",
      "type": "collection",
      "options": {},
      "indexes": []
    },
    {
      "name": "events",
      "type": "collection",
      "options": {},
      "indexes": [
        {
          "name": "at_1",
          "key": {
            "at": 1
          },
          "expireAfterSeconds": 3600
        },
        {
          "name": "kind_1",
          "key": {
            "kind": 1
          }
        }
      ]
    },
    {
      "name": "settings",
      "type": "collection",
      "options": {},
      "indexes": []
    },
    {
      "name": "users",
      "type": "collection",
      "options": {
        "validator": {
          "email": {
            "$type": "string"
          }
        },
        "validationLevel": "strict",
        "validationAction": "error"
      },
      "indexes": [
        {
          "name": "email_1",
          "key": {
            "email": 1
          },
          "unique": true
        },
        {
          "name": "team_name",
          "key": {
            "team": 1,
            "name": 1
          },
          "partialFilterExpression": {
            "active": true
          }
        }
      ]
    }
  ]
}
"#;

#[test]
fn a_snapshot_is_one_canonical_document_without_migos_own_collections() {
    let t = project();
    t.run(&["execute"]).success();
    t.run(&["snapshot"])
        .success()
        .stdout_is(SCHEMA)
        .stderr_is("");
    // The same schema made another way (other field order, doubles, explicit defaults) gives
    // the same document.
    let other = Test::new();
    other
        .db()
        .run_command(doc! {"create": "users", "validationAction": "error", "validator": {"email": {"$type": "string"}}})
        .run()
        .unwrap();
    for command in [
        doc! {"createIndexes": "users", "indexes": [
            {"name": "team_name", "partialFilterExpression": {"active": true}, "key": {"team": 1.0, "name": 1.0}, "sparse": false},
            {"unique": true, "key": {"email": 1}, "name": "email_1", "hidden": false, "background": true},
        ]},
        doc! {"createIndexes": "events", "indexes": [
            {"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 3600.0},
            {"key": {"kind": 1}, "name": "kind_1", "collation": {"locale": "simple"}},
        ]},
        doc! {"create": "settings"},
        doc! {"create": "audit"},
    ] {
        other.db().run_command(command).run().unwrap();
    }
    other.run(&["snapshot"]).success().stdout_is(SCHEMA);
}

#[test]
fn the_replay_shows_what_the_migrations_make_without_touching_the_database() {
    let t = project();
    t.run(&["snapshot", "--replay"])
        .success()
        .stdout_is(SCHEMA)
        .stderr_is("");
    assert!(t.collections().is_empty(), "the database was written to");
}

#[test]
fn output_writes_a_regular_file_whole_and_refuses_anything_else() {
    let t = project();
    t.run(&["execute"]).success();
    std::fs::write(t.path("schema.json"), "an older snapshot").unwrap();
    t.run(&["snapshot", "--output", "schema.json"])
        .success()
        .stdout_is("")
        .stderr_is(
            "wrote the schema of `DB` (4 collection(s), 4 index(es)) to schema.json\n"
                .replace("DB", &t.db_name)
                .as_str(),
        );
    let written = std::fs::metadata(t.path("schema.json")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(written.permissions().mode() & 0o777, 0o644);
    assert_eq!(
        std::fs::read_to_string(t.path("schema.json")).unwrap(),
        SCHEMA
    );
    // A FIFO, a directory or a symlink in the way is one error naming it, and stays as it was.
    let fifo = t.path("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::create_dir(t.path("dir")).unwrap();
    std::os::unix::fs::symlink("schema.json", t.path("link")).unwrap();
    for (name, what) in [
        ("fifo", "a FIFO"),
        ("dir", "a directory"),
        ("link", "a symlink"),
    ] {
        t.run(&["snapshot", "--output", name])
            .code(2)
            .stderr_is(&format!(
                "error: `--output {name}` is {what}, not a regular file; hint: name the file to \
             write, e.g. `--output schema.json`\n"
            ));
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_full_disk_keeps_the_file_that_was_there() {
    let Some(disk) = crate::disk::Tmpfs::mount("8k") else {
        return;
    };
    let t = project();
    t.run(&["execute"]).success();
    let out = disk.path().join("schema.json");
    std::fs::write(&out, "an older snapshot").unwrap();
    // Fill what is left.
    let filler = disk.path().join("filler");
    let _ = std::fs::write(&filler, vec![b'x'; 16 * 1024]);
    let run = t.run(&["snapshot", "--output", out.to_str().unwrap()]);
    run.code(10).one_error_line();
    assert!(
        run.stderr.ends_with(
            "No space left on device (os error 28); hint: the disk is full: free some space \
             there and run the command again\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "an older snapshot");
    let left: Vec<_> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "a temporary file was left: {left:?}");
}
