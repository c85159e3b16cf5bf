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
fn output_writes_the_file_whole_even_over_a_fifo() {
    let t = project();
    t.run(&["execute"]).success();
    let fifo = t.path("schema.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    t.run(&["snapshot", "--output", "schema.json"])
        .success()
        .stdout_is("")
        .stderr_is(
            "wrote the schema of `DB` (4 collection(s), 4 index(es)) to schema.json\n"
                .replace("DB", &t.db_name)
                .as_str(),
        );
    let written = std::fs::metadata(&fifo).unwrap();
    assert!(written.is_file());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(written.permissions().mode() & 0o777, 0o644);
    assert_eq!(std::fs::read_to_string(&fifo).unwrap(), SCHEMA);
    // A directory in the way is one error naming it.
    std::fs::create_dir(t.path("dir")).unwrap();
    t.run(&["snapshot", "--output", "dir"]).code(2).stderr_is(
        "error: `--output dir` is a directory; hint: name the file to write, e.g. `--output \
         schema.json`\n",
    );
}
