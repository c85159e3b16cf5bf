//! The `--json` documents are a contract: each command's whole document, compared exactly after
//! the values that change from run to run (times, durations, the user, the test's database and
//! port) are replaced by placeholders.

use serde_json::Value;

use crate::test::{Run, Test};

/// The document with volatile values replaced: `<time>`, `<ms>`, `<who>`, `<db>`, `<port>`.
fn shape(t: &Test, run: &Run) -> String {
    let mut doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{}", run.stdout));
    normalize(&mut doc, t);
    serde_json::to_string_pretty(&doc).unwrap()
}

fn normalize(value: &mut Value, t: &Test) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), &*v) {
                    ("at" | "applied_at" | "started_at", Value::String(_)) => *v = "<time>".into(),
                    ("duration_ms", Value::Number(_)) => *v = "<ms>".into(),
                    ("who", Value::String(_)) => *v = "<who>".into(),
                    ("tool_version", Value::String(_)) => *v = "<version>".into(),
                    _ => normalize(v, t),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, t)),
        Value::String(text) => {
            *text = text
                .replace(&t.db_name, "<db>")
                .replace(&t.server.port.to_string(), "<port>")
        }
        _ => {}
    }
}

fn project() -> Test {
    Test::new()
        .migration("0001_a.json", &crate::insert("a"))
        .migration("0002_b.json", &crate::insert("b"))
}

#[test]
fn list_check_and_version_documents() {
    let t = project();
    t.run(&["execute", "0001_a"]).success();
    let list = t.run(&["list", "--json"]);
    let expected = r#"{
  "target": {
    "environment": null,
    "hosts": [
      "127.0.0.1:<port>"
    ],
    "database": "<db>"
  },
  "migrations": [
    {
      "number": 1,
      "name": "0001_a",
      "file": "0001_a.json",
      "state": "applied",
      "modified": false,
      "out_of_order": false,
      "checksum": "CHECKSUM_A",
      "applied_checksum": "CHECKSUM_A",
      "applied_at": "<time>",
      "who": "<who>",
      "duration_ms": "<ms>",
      "error": null,
      "direction": "up",
      "compiled": null,
      "problem": null,
      "backfill": null,
      "replaced_by": null,
      "checkpoint": false
    },
    {
      "number": 2,
      "name": "0002_b",
      "file": "0002_b.json",
      "state": "pending",
      "modified": false,
      "out_of_order": false,
      "checksum": "CHECKSUM_B",
      "applied_checksum": null,
      "applied_at": null,
      "who": null,
      "duration_ms": null,
      "error": null,
      "direction": null,
      "compiled": null,
      "problem": null,
      "backfill": null,
      "replaced_by": null,
      "checkpoint": false
    }
  ]
}"#
    .replace(
        "CHECKSUM_A",
        &crate::sha256(&t.path("mongomigrations/0001_a.json")),
    )
    .replace(
        "CHECKSUM_B",
        &crate::sha256(&t.path("mongomigrations/0002_b.json")),
    );
    assert_eq!(shape(&t, list.success()), expected);

    let check = t.run(&["check", "--json"]);
    let doc: Value = serde_json::from_str(&check.code(8).stdout).unwrap();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ok", "target", "summary", "problems", "lint"]);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["summary"], "2 migrations: 1 applied, 1 pending");
    assert_eq!(doc["problems"][0]["name"], "0002_b");
    // The pending migration, linted: nothing found.
    assert_eq!(
        doc["lint"],
        serde_json::json!({"ok": true, "linted": 1, "errors": 0, "warnings": 0, "findings": [], "allowed": []})
    );

    let version = t.run(&["version", "--json"]);
    assert_eq!(
        shape(&t, version.success()),
        r#"{
  "version": "0001_a",
  "number": 1,
  "applied_at": "<time>",
  "applied": 1,
  "ignored": 0,
  "pending": 1,
  "total": 2,
  "target": {
    "environment": null,
    "hosts": [
      "127.0.0.1:<port>"
    ],
    "database": "<db>"
  },
  "backfills": []
}"#
    );
}

#[test]
fn change_dry_run_and_error_documents() {
    let t = project();
    let dry = t.run(&["execute", "--dry-run", "--json"]);
    let doc: Value = serde_json::from_str(&dry.success().stdout).unwrap();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["steps"][0]["name"], "0001_a");
    assert_eq!(doc["steps"][0]["file"], "0001_a.json");
    assert_eq!(doc["steps"][0]["action"], "up");
    assert_eq!(doc["steps"][0]["commands"].as_array().unwrap().len(), 1);

    let execute = t.run(&["execute", "--json"]);
    assert_eq!(
        shape(&t, execute.success()),
        r#"{
  "command": "execute",
  "target": {
    "environment": null,
    "hosts": [
      "127.0.0.1:<port>"
    ],
    "database": "<db>"
  },
  "steps": [
    {
      "name": "0001_a",
      "action": "up",
      "duration_ms": "<ms>"
    },
    {
      "name": "0002_b",
      "action": "up",
      "duration_ms": "<ms>"
    }
  ]
}"#
    );

    // A failure: one document with the message (it holds the time and user of the record),
    // the hint, the stable reason and the exit code.
    let refused = t.run(&["execute", "0001_a", "--json"]);
    let doc: Value = serde_json::from_str(&refused.code(6).stdout).unwrap();
    let error = doc["error"].as_object().unwrap();
    assert_eq!(
        error.keys().collect::<Vec<_>>(),
        ["message", "hint", "reason", "exit_code"]
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("cannot execute `0001_a`: it is already applied (at "));
    assert_eq!(
        error["hint"],
        "roll it back first with `migo rollback 0001_a`"
    );
    assert_eq!(error["reason"], "already_applied");
    assert_eq!(error["exit_code"], 6);
}
