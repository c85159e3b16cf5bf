//! The everyday flow: list, execute all or one, ignore, rollback, dry-run, new.

use crate::test::{readable, who, Test};
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
    let table = format!(
        "NUMBER  NAME  STATE    APPLIED AT  BY  DURATION  CHECKSUM\n\
         1       1_a   pending\n\
         2       2_b   pending\n\
         10      10_c  pending\n\
         3 migrations: 3 pending ({})\n",
        t.target()
    );
    t.run(&["list"]).success().stderr_is("").stdout_is(&table);
    assert!(
        t.collections().is_empty(),
        "list wrote to the database: {:?}",
        t.collections()
    );
    t.run(&[]).success().stderr_is("").stdout_is(&table);
}

#[test]
fn execute_applies_all_in_numeric_order_then_nothing() {
    let t = three();
    // Progress (`applying NAME…`) on stderr after the target line; the results on stdout.
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "{}\napplying 1_a…\napplying 2_b…\napplying 10_c…\n",
            t.target()
        ))
        .stdout_masked_is(concat!(
            "applied 1_a (<dur>)\n",
            "applied 2_b (<dur>)\n",
            "applied 10_c (<dur>)\n",
            "3 migration(s) applied in <dur>\n",
        ));
    assert_eq!(order(&t), [1, 2, 10]);
    let records = t.records();
    assert_eq!(records.len(), 3);
    for (record, file) in records.iter().zip(["1_a.json", "2_b.json", "10_c.json"]) {
        assert_eq!(record.get_str("status").unwrap(), "applied");
        assert_eq!(
            record.get_str("checksum").unwrap(),
            sha256(&t.path(&format!("mongomigrations/{file}")))
        );
        assert_eq!(record.get_str("who").unwrap(), who());
        assert_eq!(
            record.get_str("tool_version").unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        assert!(record.get_datetime("applied_at").is_ok() && record.get_i64("duration_ms").is_ok());
    }

    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_is("nothing to execute: 3 migrations: 3 applied\n");
    assert_eq!(order(&t), [1, 2, 10]);
    assert_eq!(
        t.records(),
        records,
        "a second execute changed the registry"
    );
    t.run(&["list"])
        .success()
        .stderr_is("")
        .stdout_masked_is(&format!(
            "NUMBER  NAME  STATE    APPLIED AT  BY     DURATION  CHECKSUM\n\
         1       1_a   applied  <time>      <who>  <dur>     ok\n\
         2       2_b   applied  <time>      <who>  <dur>     ok\n\
         10      10_c  applied  <time>      <who>  <dur>     ok\n\
         3 migrations: 3 applied ({})\n",
            t.target()
        ));
}

#[test]
fn execute_one_by_name_and_refusals_write_nothing() {
    let t = Test::new()
        .migration("0001_w.json", &push(1))
        .migration("0002_x.json", &push(2))
        .migration("0003_y.json", &push(3));
    t.run(&["execute", "0002_x"])
        .success()
        .stderr_is(&format!("{}\napplying 0002_x…\n", t.target()))
        .stdout_masked_is("applied 0002_x (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(order(&t), [2]);
    assert_eq!(
        t.statuses(),
        [("0002_x".to_string(), "applied".to_string())]
    );

    let before = t.records();
    for name in ["0009_nope", "../0002_x"] {
        t.run(&["execute", name])
            .code(6)
            .stdout_is("")
            .stderr_is(&format!(
                "error: no migration named `{name}`; hint: `migo list` shows every migration's \
                 name\n"
            ));
    }
    // The time as `list` writes it.
    let at = readable(*before[0].get_datetime("applied_at").unwrap());
    t.run(&["execute", "0002_x.json"])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "error: cannot execute `0002_x`: it is already applied (at {at} by {}); hint: roll \
             it back first with `migo rollback 0002_x`\n",
            who()
        ));
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
        .stderr_is(&format!("{}\nignoring 0003_y…\n", t.target()))
        .stdout_masked_is("ignored 0003_y (<dur>)\n1 migration(s) ignored in <dur>\n");
    assert_eq!(
        t.statuses(),
        [("0003_y".to_string(), "ignored".to_string())]
    );
    assert!(t.docs("log").is_empty(), "ignore ran the migration");
    t.run(&["list"])
        .success()
        .stderr_is("")
        .stdout_masked_is(&format!(
            "NUMBER  NAME    STATE                   APPLIED AT  BY     DURATION  CHECKSUM\n\
         1       0001_w  pending (out of order)\n\
         3       0003_y  ignored                 <time>      <who>  <dur>     ok\n\
         2 migrations: 1 ignored, 1 pending ({})\n",
            t.target()
        ));
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "{}\nwarning: `0001_w` is out of order: `0003_y`, numbered after it, is already \
             applied\napplying 0001_w…\n",
            t.target()
        ))
        .stdout_masked_is("applied 0001_w (<dur>)\n1 migration(s) applied in <dur>\n");
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
        .stderr_is(&format!("{}\nrolling back 0002_b…\n", t.target()))
        .stdout_masked_is(
            "rolled back 0002_b (<dur>)\n\
             1 migration(s) rolled back in <dur>\n",
        );
    assert_eq!(t.docs("items").len(), 1);
    assert_eq!(
        t.statuses(),
        [("0001_a".to_string(), "applied".to_string())]
    );

    t.run(&["rollback", "0002_b"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: cannot roll back `0002_b`: it is not applied; hint: `migo list` shows which \
             migrations are applied\n",
        );
    // What rollback needs, in migo's words.
    t.run(&["rollback"]).code(2).stdout_is("").stderr_is(
        "error: `migo rollback` needs one of NAME, --last N, --to NAME or --all; hint: `migo \
         rollback --help` describes each\n",
    );
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
        .stdout_is("")
        .stderr_is(
            "error: cannot roll back `0001_a`: it has no `down`, so it is irreversible; hint: add \
             a `down` to `0001_a.json` if the change can be undone\n",
        );
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
    t.run(&["execute", "--json"])
        .success()
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_masked_is(&format!(
            "{{\"command\":\"execute\",\"target\":{{\"environment\":null,\"hosts\":[\"{}:{}\"],\
             \"database\":\"{}\"}},\"steps\":[{{\"name\":\"0001_a\",\"action\":\"up\",\
             \"duration_ms\":<ms>}}]}}\n",
            t.server.host, t.server.port, t.db_name
        ));
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
        .stderr_is("")
        .stdout_is("created mongomigrations/0008_add_index.json\n");
    let text = std::fs::read_to_string(t.path("mongomigrations/0008_add_index.json")).unwrap();
    assert!(text.contains("\"description\": \"add index\""));
    t.run(&["list"]).success().stdout_is(&format!(
        "NUMBER  NAME            STATE    APPLIED AT  BY  DURATION  CHECKSUM\n\
         7       0007_a          pending\n\
         8       0008_add_index  pending\n\
         2 migrations: 2 pending ({})\n",
        t.target()
    ));
    t.run(&["new", "bad name!"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: \"bad name!\" is not a valid migration name; hint: use letters, digits, `_` \
             and `-`, e.g. `add_email_index`\n",
        );
}
