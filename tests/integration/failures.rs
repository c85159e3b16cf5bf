//! Honest failures: a failing command stops the run and is recorded; a malformed file stops the
//! run before anything executes.

use crate::test::Test;
use crate::{insert, order, push};

#[test]
fn a_failing_migration_stops_the_run_and_is_recorded() {
    let duplicate = r#"{"up": [{"insert": "items", "documents": [{"_id": "a"}]}], "down": []}"#;
    let t = Test::new()
        .migration("0001_a.json", &insert("a"))
        .migration("0002_dup.json", duplicate)
        .migration("0003_c.json", &push(3));
    let dup_key = format!(
        "code 11000: E11000 duplicate key error collection: {}.items index: _id_ dup key: \
         {{ _id: \"a\" }}",
        t.db_name
    );
    t.run(&["execute"])
        .code(1)
        .stdout_masked_is("applied 0001_a (<dur>)\n")
        .stderr_is(&format!(
            "{}\napplying 0001_a…\napplying 0002_dup…\nerror: migration `0002_dup` failed: \
             command 1 of 1 (`insert`): {dup_key}; hint: fix it, then retry with `migo execute 0002_dup`, or `migo ignore 0002_dup` / `migo \
             rollback 0002_dup`\n",
            t.target()
        ));
    assert_eq!(
        t.statuses(),
        [
            ("0001_a".to_string(), "applied".to_string()),
            ("0002_dup".to_string(), "failed".to_string())
        ]
    );
    let failed = &t.records()[1];
    assert_eq!(
        failed.get_str("error").unwrap(),
        format!("command 1 of 1 (`insert`): {dup_key}")
    );
    assert!(order(&t).is_empty(), "0003 ran after a failure");
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "NUMBER  NAME      STATE    APPLIED AT  BY     DURATION  CHECKSUM\n\
         1       0001_a    applied  <time>      <who>  <dur>     ok\n\
         2       0002_dup  failed   <time>      <who>  <dur>     ok\n\
         3       0003_c    pending\n\
         3 migrations: 1 applied, 1 pending, 1 failed ({})\n",
        t.target()
    ));

    // The failed migration blocks a plain execute until the user decides.
    t.run(&["execute"])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "error: migration `0002_dup` failed on its last run (command 1 of 1 (`insert`): \
         {dup_key}); nothing was run; hint: fix it and retry with `migo execute 0002_dup`, or \
         `migo rollback 0002_dup`, or mark it done with `migo ignore 0002_dup`\n"
        ));
    assert!(order(&t).is_empty());
    t.run(&["ignore", "0002_dup"]).success();
    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\napplying 0003_c…\n", t.target()))
        .stdout_masked_is("applied 0003_c (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(order(&t), [3]);
}

#[test]
fn a_malformed_file_stops_the_run_before_the_first_migration() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2))
        .migration("0003_bad.json", "{\"up\": [\n  {\"insert\": \"x\"},\n]}");
    t.run(&["execute"]).code(4).stdout_is("").stderr_is(
        "error: migration `0003_bad.json` is invalid: trailing comma at line 3 column 1; hint: a \
         .json migration is {\"description\": …, \"up\": [command, …], \"down\": [command, …]}\n",
    );
    assert!(
        t.collections().is_empty(),
        "something was written: {:?}",
        t.collections()
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .raw_config(&format!(
            "[mongo]\nhost = \"127.0.0.1\"\nport = {port}\ndatabase = \"x\"\ntimeout_secs = 1\n"
        ));
    let started = std::time::Instant::now();
    t.run(&["list"]).code(5).stdout_is("").stderr_is(&format!(
        "error: cannot connect to default: database `x` on 127.0.0.1:{port}: connection refused; \
         hint: is the server running on 127.0.0.1:{port}? Start it, or fix `host`/`port`/`uri` \
         under `[mongo]` (or `--host`/`--port`/`--uri`)\n"
    ));
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_transactional_migration_is_all_or_nothing() {
    let twice = r#"{"transaction": true,
  "up": [{"insert": "items", "documents": [{"_id": "t1"}]}, {"insert": "items", "documents": [{"_id": "t1"}]}],
  "down": []}"#;
    let once = r#"{"transaction": true, "up": [{"insert": "items", "documents": [{"_id": "ok"}]}],
  "down": [{"delete": "items", "deletes": [{"q": {"_id": "ok"}, "limit": 1}]}]}"#;
    let t = Test::new()
        .migration("0001_ok.json", once)
        .migration("0002_twice.json", twice);
    // Nothing is recorded for the rolled-back transaction: the hint offers only what migo
    // takes for a pending migration (`rollback` is refused below).
    t.run(&["execute"])
        .code(1)
        .stdout_masked_is("applied 0001_ok (<dur>)\n")
        .stderr_is(&format!(
            "{}\napplying 0001_ok…\napplying 0002_twice…\nerror: migration `0002_twice` failed: \
             command 2 of 2 (`insert`): code 11000: E11000 duplicate key error collection: \
             {}.items index: _id_ dup key: {{ _id: \"t1\" }} (the transaction was rolled back: \
             nothing changed); hint: it is still pending: fix it, then retry with `migo execute \
             0002_twice`, or mark it done with `migo ignore 0002_twice`\n",
            t.target(),
            t.db_name
        ));
    let ids: Vec<String> = t
        .docs("items")
        .iter()
        .map(|d| d.get_str("_id").unwrap().to_string())
        .collect();
    assert_eq!(ids, ["ok"], "the failed transaction left documents behind");
    assert_eq!(
        t.statuses(),
        [("0001_ok".to_string(), "applied".to_string())]
    );

    t.run(&["rollback", "0002_twice"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: cannot roll back `0002_twice`: it is not applied; hint: `migo list` shows \
             which migrations are applied\n",
        );
    t.run(&["rollback", "0001_ok"]).success();
    assert!(t.docs("items").is_empty() && t.records().is_empty());
}
