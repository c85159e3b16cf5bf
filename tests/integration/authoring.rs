//! Authoring: `version`, `remove`, `new --format`, and the `test` round trip.

use mongodb::bson::{doc, Document};

use crate::test::{readable, who, Test};
use crate::{insert, push};

#[test]
fn version_shows_the_newest_applied_and_the_counts() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2))
        .migration("0003_c.json", &push(3));
    t.run(&["version"]).success().stdout_is(&format!(
        "no migration applied yet\n3 migrations: 3 pending ({})\n",
        t.target()
    ));
    t.run(&["execute", "--steps", "2"]).success();
    t.run(&["version"])
        .success()
        .stderr_is("")
        .stdout_masked_is(&format!(
            "0002_b (applied <time> by <who>)\n3 migrations: 2 applied, 1 pending ({})\n",
            t.target()
        ));
    let run = t.run(&["version", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
    assert_eq!(v["version"], "0002_b");
    assert_eq!(v["number"], 2);
    assert_eq!(
        (v["applied"].as_u64(), v["pending"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(v["target"]["database"], t.db_name.as_str());
}

#[test]
fn remove_deletes_a_pending_file_and_refuses_an_applied_one() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2));
    t.run(&["execute", "0001_a"]).success();
    t.run(&["remove", "0002_b", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is("would remove mongomigrations/0002_b.json\n");
    assert!(t.path("mongomigrations/0002_b.json").exists());
    t.run(&["remove", "0002_b"])
        .success()
        .stderr_is("")
        .stdout_is("removed mongomigrations/0002_b.json\n");
    assert!(!t.path("mongomigrations/0002_b.json").exists());
    // The time as `list` writes it.
    let at = readable(*t.records()[0].get_datetime("applied_at").unwrap());
    t.run(&["remove", "0001_a"])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "error: cannot remove `0001_a`: it is applied (at {at} by {}); hint: roll it back \
             first with `migo rollback 0001_a`\n",
            who()
        ));
    assert!(t.path("mongomigrations/0001_a.json").exists());
    t.run(&["remove", "../migo.toml"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: no migration named `../migo.toml`; hint: `migo list` shows every \
             migration's name\n",
        );
    assert!(t.path("migo.toml").exists());
}

#[test]
fn new_writes_each_format_and_refuses_names_the_pattern_rejects() {
    let t = Test::new()
        .config("[migrations]\npattern = '^(?P<number>[0-9]+)_[a-z_]+\\.(json|js|sh)$'\n");
    t.run(&["new", "create_users"])
        .success()
        .stdout_is("created mongomigrations/0001_create_users.json\n");
    t.run(&["new", "backfill", "--format", "js"])
        .success()
        .stdout_is("created mongomigrations/0002_backfill.js\n");
    t.run(&["new", "reindex", "--format", "sh"])
        .success()
        .stderr_is("")
        .stdout_is("created mongomigrations/0003_reindex.sh\n");
    let js = std::fs::read_to_string(t.path("mongomigrations/0002_backfill.js")).unwrap();
    assert!(
        js.contains("function up()") && js.contains("function down()"),
        "{js}"
    );
    let sh = t.path("mongomigrations/0003_reindex.sh");
    let text = std::fs::read_to_string(&sh).unwrap();
    assert!(text.starts_with("#!/bin/sh") && text.contains("up)") && text.contains("down)"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sh).unwrap().permissions().mode() & 0o111,
        0o111
    );
    // The json template is a runnable migration.
    t.run(&["remove", "0002_backfill"]).success();
    t.run(&["remove", "0003_reindex"]).success();
    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\napplying 0001_create_users…\n", t.target()))
        .stdout_masked_is(
            "applied 0001_create_users (<dur>)\n\
             1 migration(s) applied in <dur>\n",
        );
    assert_eq!(
        t.statuses(),
        [("0001_create_users".to_string(), "applied".to_string())]
    );
    // The suggested pattern keeps the extensions the pattern accepts.
    t.run(&["new", "Bad-Name"]).code(2).stdout_is("").stderr_is(
        "error: `0002_Bad-Name.json` would not match the pattern \
             `^(?P<number>[0-9]+)_[a-z_]+\\.(json|js|sh)$`; hint: choose a name the pattern \
             accepts, or change `[migrations] pattern`, e.g. to \
             `^(?P<number>[0-9]+)_[A-Za-z0-9_-]+\\.(json|js|sh)$`\n",
    );
    let json_only =
        Test::new().config("[migrations]\npattern = '^(?P<number>[0-9]+)_[a-z]+\\.json$'\n");
    json_only
        .run(&["new", "x", "--format", "sh"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: `0001_x.sh` would not match the pattern `^(?P<number>[0-9]+)_[a-z]+\\.json$`; \
             hint: choose a name the pattern accepts, or change `[migrations] pattern`, e.g. to \
             `^(?P<number>[0-9]+)_[A-Za-z0-9_-]+\\.(json|sh)$`\n",
        );
    assert!(!json_only.path("mongomigrations/0001_x.sh").exists());
}

/// `users` with a nickname on one of three documents.
fn users() -> Test {
    let t = Test::new();
    t.db()
        .collection::<Document>("users")
        .insert_many([
            doc! {"_id": 1, "nick": "ann"},
            doc! {"_id": 2},
            doc! {"_id": 3},
        ])
        .run()
        .unwrap();
    t
}

#[test]
fn test_reports_a_lossy_down_and_passes_a_faithful_one() {
    let lossy = r#"{"up": [{"update": "users", "updates": [{"q": {}, "u": {"$set": {"nick": "anon"}}, "multi": true}]}],
      "down": [{"update": "users", "updates": [{"q": {}, "u": {"$unset": {"nick": ""}}, "multi": true}]}]}"#;
    let faithful = r#"{"up": [{"update": "users", "updates": [{"q": {}, "u": {"$set": {"active": true}}, "multi": true}]},
                              {"createIndexes": "users", "indexes": [{"key": {"active": 1}, "name": "active_1"}]}],
      "down": [{"dropIndexes": "users", "index": "active_1"},
               {"update": "users", "updates": [{"q": {}, "u": {"$unset": {"active": ""}}, "multi": true}]}]}"#;
    let t = users()
        .migration("0001_lossy.json", lossy)
        .migration("0002_faithful.json", faithful)
        .migration("0003_other.json", &insert("x"));
    let before = t.snapshot();

    t.run(&["test", "0002_faithful"])
        .success()
        .stderr_is("")
        .stdout_is(
            "pass  0002_faithful\n\
             \x20 ok    up        ran\n\
             \x20 ok    down      restores the data exactly\n\
             \x20 ok    up again  gives the same data as the first up\n\
             1 of 1 migration(s) passed up → down → up (scratch databases dropped)\n",
        );
    t.run(&["test", "0001_lossy"])
        .code(8)
        .stdout_is(
            "FAIL  0001_lossy\n\
             \x20 ok    up        ran\n\
             \x20 FAIL  down      does not restore the data: collection `users`, document 1: \
             was {\"_id\":1,\"nick\":\"ann\"}, now {\"_id\":1}\n\
             0 of 1 migration(s) passed up → down → up (scratch databases dropped)\n",
        )
        .stderr_is(
            "error: round trip failed for 0001_lossy; hint: make `down` undo exactly what `up` \
             did (e.g. keep the old value before overwriting it), then run `migo test` again\n",
        );
    let run = t.run(&["test", "--pending", "--json"]);
    run.code(8);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let passed: Vec<(&str, bool)> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        passed,
        [
            ("0001_lossy", false),
            ("0002_faithful", true),
            ("0003_other", true)
        ]
    );
    // On an empty scratch database there is no nickname to lose.
    // The closing line says why the scratch database started empty: `--empty` was asked for.
    t.run(&["test", "0001_lossy", "--empty"])
        .success()
        .stderr_is("")
        .stdout_is(
            "pass  0001_lossy\n\
             \x20 ok    up        ran\n\
             \x20 ok    down      restores the data exactly\n\
             \x20 ok    up again  gives the same data as the first up\n\
             1 of 1 migration(s) passed up → down → up (scratch databases dropped), on an empty \
             scratch database (--empty)\n",
        );

    assert_eq!(t.snapshot(), before, "test touched the real database");
    assert!(t.records().is_empty());
    let databases = t.server.client().list_database_names().run().unwrap();
    assert!(
        !databases.iter().any(|d| d.contains("_migo_test_")),
        "a scratch database was left: {databases:?}"
    );
}
