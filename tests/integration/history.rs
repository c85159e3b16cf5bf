//! The audit log: one entry per action, read back by `history`.

use mongodb::bson::{doc, DateTime};

use crate::insert;
use crate::test::Test;

#[test]
fn every_action_is_recorded_and_history_shows_it_newest_first() {
    let t = Test::new()
        .config("[environments.ci]\n")
        .migration("0001_a.json", &insert("a"))
        .migration("0002_b.json", &insert("b"))
        .migration("0003_c.json", &insert("c"))
        .migration("0004_dup.json", &insert("a"));
    t.run(&["history"]).success().stdout_has("no history yet");
    t.run(&["execute", "0001_a"]).success();
    t.run(&["--env", "ci", "execute"]).code(1);
    t.run(&["rollback", "0002_b"]).success();
    t.run(&["ignore", "0002_b"]).success();
    t.hold_lock(doc! {"token": "t", "host": "h", "pid": 1, "user": "u",
    "command": "migo execute", "started_at": DateTime::now(), "expires_at": DateTime::now()});
    t.run(&["unlock"]).success();
    // Refusals, reads and dry runs are not actions: nothing recorded.
    t.run(&["execute", "0001_a"]).code(6);
    t.run(&["rollback", "0003_c", "--dry-run"]).success();
    t.run(&["list"]).success();

    let run = t.run(&["history"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", run.stdout);
    assert!(lines[0].starts_with("AT "), "{}", lines[0]);
    let actions: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(
        actions,
        ["unlock", "ignore", "rollback", "execute", "execute"]
    );
    run.stdout_has("0002_b, 0003_c, 0004_dup")
        .stdout_has("failed: migration `0004_dup` failed")
        .stdout_has(" ci ");

    t.run(&["history", "--limit", "2"])
        .success()
        .stdout_has("unlock")
        .stdout_has("ignore");
    assert_eq!(
        t.run(&["history", "--limit", "2"]).stdout.lines().count(),
        3
    );
    assert!(t
        .run(&["history", "--since", "2999-01-01"])
        .stdout
        .contains("no history yet"));
    assert_eq!(
        t.run(&["history", "--since", "1h"]).stdout.lines().count(),
        6
    );

    let run = t.run(&["history", "--json", "--limit", "0"]);
    run.success();
    let entries: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let failed = &entries[3];
    assert_eq!(failed["action"], "execute");
    assert_eq!(failed["result"], "failed");
    assert_eq!(failed["environment"], "ci");
    assert_eq!(
        failed["migrations"],
        serde_json::json!(["0002_b", "0003_c", "0004_dup"])
    );
    assert_eq!(failed["completed"], serde_json::json!(["0002_b", "0003_c"]));
    assert!(failed["error"].as_str().unwrap().contains("0004_dup"));
    assert!(failed["who"].as_str().unwrap().contains('@'));
    assert!(failed["command"].as_str().unwrap().starts_with("migo "));
    let keys: Vec<&str> = failed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "at",
            "action",
            "environment",
            "who",
            "command",
            "migrations",
            "completed",
            "result",
            "error",
            "duration_ms",
            "tool_version",
            "dump",
            "remote",
            "details"
        ]
    );
    assert_eq!(
        entries[0]["details"]["released"]
            .as_str()
            .unwrap()
            .split(" held")
            .next(),
        Some("expired lease")
    );
    assert_eq!(t.docs("migrations_audit").len(), 5);
}

#[test]
fn a_bad_since_is_a_usage_error() {
    let t = Test::new();
    t.run(&["history", "--since", "yesterday"])
        .code(2)
        .stderr_has("`yesterday` is neither a date");
}
