//! The audit log: one entry per action, read back by `history`.

use mongodb::bson::{doc, DateTime};

use crate::insert;
use crate::test::{aligned, Test};

#[test]
fn every_action_is_recorded_and_history_shows_it_newest_first() {
    let t = Test::new()
        .config("[environments.ci]\n")
        .migration("0001_a.json", &insert("a"))
        .migration("0002_b.json", &insert("b"))
        .migration("0003_c.json", &insert("c"))
        .migration("0004_dup.json", &insert("a"));
    let none = "no history yet: every execute, rollback, ignore, accept and unlock is recorded \
                here\n";
    t.run(&["history"]).success().stderr_is("").stdout_is(none);
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

    // Newest first; the failed run names what it was given, and its environment.
    let failed = format!(
        "migration `0004_dup` failed: command 1 of 1 (`insert`): code 11000: E11000 \
         duplicate key error collection: {}.items index: _id_ dup key: {{ _id: \"a\" }}",
        t.db_name
    );
    let titles: &[&str] = &[
        "AT",
        "ACTION",
        "RESULT",
        "MIGRATIONS",
        "BY",
        "ENV",
        "DURATION",
        "ERROR",
    ];
    let unlock: &[&str] = &["<time>", "unlock", "ok", "", "<who>", "", "<dur>", ""];
    let ignore: &[&str] = &["<time>", "ignore", "ok", "0002_b", "<who>", "", "<dur>", ""];
    let all = aligned(&[
        titles,
        unlock,
        ignore,
        &[
            "<time>", "rollback", "ok", "0002_b", "<who>", "", "<dur>", "",
        ],
        &[
            "<time>",
            "execute",
            "failed",
            "0002_b, 0003_c, 0004_dup",
            "<who>",
            "ci",
            "<dur>",
            &failed,
        ],
        &[
            "<time>", "execute", "ok", "0001_a", "<who>", "", "<dur>", "",
        ],
    ]);
    t.run(&["history"])
        .success()
        .stderr_is("")
        .stdout_masked_is(&all);
    t.run(&["history", "--limit", "2"])
        .success()
        .stdout_masked_is(&aligned(&[titles, unlock, ignore]));
    t.run(&["history", "--since", "2999-01-01"])
        .success()
        .stdout_is(none);
    t.run(&["history", "--since", "1h"])
        .success()
        .stdout_masked_is(&all);

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
        .stdout_is("")
        .stderr_is(
            "error: invalid value 'yesterday' for '--since <WHEN>': `yesterday` is neither a date \
             (2026-11-20, 2026-11-20T10:00:00Z) nor an age (30m, 12h, 7d); hint: give `--since` \
             a date or an age, e.g. `--since 2026-11-20` or `--since 7d`\n",
        );
}
