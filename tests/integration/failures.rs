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
    t.run(&["execute"])
        .code(1)
        .stdout_has("applied 0001_a")
        .error_line()
        .stderr_has("migration `0002_dup` failed: command 1 of 1 (`insert`)")
        .stderr_has("E11000");
    assert_eq!(
        t.statuses(),
        [
            ("0001_a".to_string(), "applied".to_string()),
            ("0002_dup".to_string(), "failed".to_string())
        ]
    );
    let failed = &t.records()[1];
    assert!(
        failed.get_str("error").unwrap().contains("E11000"),
        "{failed:?}"
    );
    assert!(order(&t).is_empty(), "0003 ran after a failure");
    t.run(&["list"])
        .success()
        .stdout_has("0002_dup  failed")
        .stdout_has("0003_c    pending");

    // The failed migration blocks a plain execute until the user decides.
    t.run(&["execute"])
        .code(6)
        .one_error_line()
        .stderr_has("migration `0002_dup` failed on its last run")
        .stderr_has("migo execute 0002_dup");
    assert!(order(&t).is_empty());
    t.run(&["ignore", "0002_dup"]).success();
    t.run(&["execute"]).success().stdout_has("applied 0003_c");
    assert_eq!(order(&t), [3]);
}

#[test]
fn a_malformed_file_stops_the_run_before_the_first_migration() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2))
        .migration("0003_bad.json", "{\"up\": [\n  {\"insert\": \"x\"},\n]}");
    t.run(&["execute"])
        .code(4)
        .one_error_line()
        .stderr_has("migration `0003_bad.json` is invalid: trailing comma at line 3");
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
    t.run(&["list"])
        .code(5)
        .one_error_line()
        .stderr_has(&format!(
            "cannot connect to default: database `x` on 127.0.0.1:{port}: connection refused"
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
    t.run(&["execute"])
        .code(1)
        .stdout_has("applied 0001_ok")
        .stderr_has("migration `0002_twice` failed: command 2 of 2 (`insert`)")
        .stderr_has("the transaction was rolled back");
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

    t.run(&["rollback", "0001_ok"]).success();
    assert!(t.docs("items").is_empty() && t.records().is_empty());
}
