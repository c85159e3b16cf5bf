//! The everyday flow: list, execute all or one, ignore, rollback, dry-run, new.

use crate::test::Test;
use crate::{insert, order, push, sha256};

fn three() -> Test {
    // Numbers 1, 2, 10: lexical order would run 10 before 2.
    Test::new()
        .migration("1_a.json", &push(1))
        .migration("2_b.json", &push(2))
        .migration("10_c.json", &push(10))
}

#[test]
fn fresh_database_lists_three_pending_and_writes_nothing() {
    let t = three();
    t.run(&["list"])
        .success()
        .stdout_has("NUMBER  NAME  STATE    APPLIED AT  BY  DURATION  CHECKSUM\n1       1_a   pending\n2       2_b   pending\n10      10_c  pending\n")
        .stdout_has("3 migrations: 3 pending");
    assert!(
        t.collections().is_empty(),
        "list wrote to the database: {:?}",
        t.collections()
    );
    t.run(&[]).success().stdout_has("3 migrations: 3 pending");
}

#[test]
fn execute_applies_all_in_numeric_order_then_nothing() {
    let t = three();
    t.run(&["execute"])
        .success()
        .stdout_has("applied 1_a (")
        .stdout_has("applied 10_c (")
        .stdout_has("3 migration(s) applied");
    assert_eq!(order(&t), [1, 2, 10]);
    let records = t.records();
    assert_eq!(records.len(), 3);
    for (record, file) in records.iter().zip(["1_a.json", "2_b.json", "10_c.json"]) {
        assert_eq!(record.get_str("status").unwrap(), "applied");
        assert_eq!(
            record.get_str("checksum").unwrap(),
            sha256(&t.path(&format!("mongomigrations/{file}")))
        );
        assert!(record.get_str("who").unwrap().contains('@'));
        assert_eq!(
            record.get_str("tool_version").unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        assert!(record.get_datetime("applied_at").is_ok() && record.get_i64("duration_ms").is_ok());
    }

    t.run(&["execute"])
        .success()
        .stdout_has("nothing to execute: 3 migrations: 3 applied");
    assert_eq!(order(&t), [1, 2, 10]);
    assert_eq!(
        t.records(),
        records,
        "a second execute changed the registry"
    );
    t.run(&["list"])
        .success()
        .stdout_has("3 migrations: 3 applied");
}

#[test]
fn execute_one_by_name_and_refusals_write_nothing() {
    let t = Test::new()
        .migration("0001_w.json", &push(1))
        .migration("0002_x.json", &push(2))
        .migration("0003_y.json", &push(3));
    t.run(&["execute", "0002_x"])
        .success()
        .stdout_has("applied 0002_x");
    assert_eq!(order(&t), [2]);
    assert_eq!(
        t.statuses(),
        [("0002_x".to_string(), "applied".to_string())]
    );

    let before = t.records();
    t.run(&["execute", "0009_nope"])
        .code(6)
        .one_error_line()
        .stderr_has("no migration named `0009_nope`");
    t.run(&["execute", "../0002_x"])
        .code(6)
        .stderr_has("no migration named `../0002_x`");
    t.run(&["execute", "0002_x.json"])
        .code(6)
        .stderr_has("cannot execute `0002_x`: it is already applied");
    assert_eq!(t.records(), before);
    assert_eq!(order(&t), [2]);
}

#[test]
fn ignore_registers_without_running() {
    let t = Test::new()
        .migration("0001_w.json", &push(1))
        .migration("0003_y.json", &push(3));
    t.run(&["ignore", "0003_y"])
        .success()
        .stdout_has("ignored 0003_y");
    assert_eq!(
        t.statuses(),
        [("0003_y".to_string(), "ignored".to_string())]
    );
    assert!(t.docs("log").is_empty(), "ignore ran the migration");
    t.run(&["list"])
        .success()
        .stdout_has("0003_y  ignored")
        .stdout_has("1 ignored, 1 pending");
    t.run(&["execute"]).success().stdout_has("applied 0001_w");
    assert_eq!(order(&t), [1]);
}

#[test]
fn rollback_runs_down_and_unregisters() {
    let t = Test::new()
        .migration("0001_a.json", &insert("a"))
        .migration("0002_b.json", &insert("b"));
    t.run(&["execute"]).success();
    t.run(&["rollback", "0002_b"])
        .success()
        .stdout_has("rolled back 0002_b");
    assert_eq!(t.docs("items").len(), 1);
    assert_eq!(
        t.statuses(),
        [("0001_a".to_string(), "applied".to_string())]
    );

    t.run(&["rollback", "0002_b"])
        .code(6)
        .one_error_line()
        .stderr_has("cannot roll back `0002_b`: it is not applied");
    t.run(&["rollback"]).code(2).stderr_has("<NAME>");
    assert_eq!(
        t.statuses(),
        [("0001_a".to_string(), "applied".to_string())]
    );
}

#[test]
fn rollback_refuses_an_irreversible_migration() {
    let t = Test::new().migration(
        "0001_a.json",
        r#"{"up": [{"insert": "items", "documents": [{"_id": 1}]}]}"#,
    );
    t.run(&["execute"]).success();
    t.run(&["rollback", "0001_a"])
        .code(6)
        .one_error_line()
        .stderr_has("cannot roll back `0001_a`: it has no `down`, so it is irreversible");
    assert_eq!(t.docs("items").len(), 1);
    assert_eq!(
        t.statuses(),
        [("0001_a".to_string(), "applied".to_string())]
    );
}

#[test]
fn dry_run_prints_the_commands_and_writes_nothing() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.run(&["execute", "--dry-run"])
        .success()
        .stdout_is("would apply 0001_a (0001_a.json)\n    {\"insert\":\"items\",\"documents\":[{\"_id\":\"a\"}]}\ndry run: 1 step(s), nothing was changed\n");
    assert!(t.collections().is_empty());
}

#[test]
fn json_output_is_machine_readable() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    let run = t.run(&["execute", "--json"]);
    run.success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["command"], "execute");
    assert_eq!(report["steps"][0]["name"], "0001_a");
    let run = t.run(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["target"]["database"], t.db_name.as_str());
    let list = &list["migrations"];
    assert_eq!(list[0]["state"], "applied");
    assert_eq!(
        list[0]["checksum"],
        sha256(&t.path("mongomigrations/0001_a.json"))
    );
}

#[test]
fn new_creates_the_next_numbered_file() {
    let t = Test::new().migration("0007_a.json", &insert("a"));
    t.run(&["new", "add_index"])
        .success()
        .stdout_has("0008_add_index.json");
    let text = std::fs::read_to_string(t.path("mongomigrations/0008_add_index.json")).unwrap();
    assert!(text.contains("\"description\": \"add index\""));
    t.run(&["list"])
        .success()
        .stdout_has("0008_add_index  pending");
    t.run(&["new", "bad name!"])
        .code(2)
        .one_error_line()
        .stderr_has("is not a valid migration name");
}
