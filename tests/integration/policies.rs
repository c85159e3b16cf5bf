//! Checksums and order: `check`, the `on_modified` and `out_of_order` policies, and `accept`.

use crate::test::Test;
use crate::{insert, sha256};

/// Two migrations, the first applied and then edited.
fn edited_after_applying(config: &str) -> Test {
    let t = Test::new()
        .config(config)
        .migration("0001_a.json", &insert("a"));
    t.run(&["execute"]).success();
    t.migration("0001_a.json", &insert("a-edited"))
        .migration("0002_b.json", &insert("b"))
}

#[test]
fn an_edited_applied_file_fails_check_and_blocks_execute_by_default() {
    let t = edited_after_applying("");
    t.run(&["list"])
        .success()
        .stdout_has("0001_a  applied (modified)");
    t.run(&["check"])
        .code(8)
        .stdout_has("0001_a  applied (modified)")
        .stdout_has("0002_b  pending")
        .one_error_line()
        .stderr_has(
            "migrations are not up to date: 2 migrations: 1 applied, 1 pending, 1 modified",
        );
    let before = t.snapshot();
    t.run(&["execute"])
        .code(6)
        .one_error_line()
        .stderr_has("applied migration `0001_a` was modified after it ran")
        .stderr_has("`migo accept 0001_a`");
    assert_eq!(t.snapshot(), before, "a refused execute wrote something");

    // Accepting the edit records the new checksum; then execute runs and check passes.
    t.run(&["accept", "0001_a"])
        .success()
        .stdout_has("accepted 0001_a");
    let record = &t.records()[0];
    assert_eq!(
        record.get_str("checksum").unwrap(),
        sha256(&t.path("mongomigrations/0001_a.json"))
    );
    t.run(&["accept", "0001_a"])
        .code(6)
        .stderr_has("nothing to accept: `0001_a` matches the checksum it was applied with");
    t.run(&["execute"]).success().stdout_has("applied 0002_b");
    t.run(&["check"]).success().stdout_is(&format!(
        "up to date: 2 migrations: 2 applied ({})\n",
        t.target()
    ));
}

#[test]
fn on_modified_warn_runs_with_a_warning() {
    let t = edited_after_applying("[migrations]\non_modified = \"warn\"\n");
    t.run(&["execute"])
        .success()
        .stderr_has("warning: applied migration `0001_a` was modified after it ran")
        .stdout_has("applied 0002_b");
    // `check` reports the edit whatever the policy.
    t.run(&["check"])
        .code(8)
        .stdout_has("0001_a  applied (modified)");
    // The flag overrides the file.
    let strict = edited_after_applying("[migrations]\non_modified = \"warn\"\n");
    strict.run(&["execute", "--on-modified", "error"]).code(6);
}

/// 0001 and 0003 applied, 0002 added late.
fn late(policy: Option<&str>) -> Test {
    let config = policy.map_or(String::new(), |p| {
        format!("[migrations]\nout_of_order = \"{p}\"\n")
    });
    let t = Test::new()
        .config(&config)
        .migration("0001_a.json", &insert("a"))
        .migration("0003_c.json", &insert("c"));
    t.run(&["execute"]).success();
    let t = t.migration("0002_b.json", &insert("b"));
    t.run(&["list"])
        .success()
        .stdout_has("0002_b  pending (out of order)");
    t
}

#[test]
fn out_of_order_files_follow_each_policy() {
    let warned = late(None);
    warned
        .run(&["execute"])
        .success()
        .stderr_has(
            "warning: `0002_b` is out of order: `0003_c`, numbered after it, is already applied",
        )
        .stdout_has("applied 0002_b");

    let allowed = late(Some("allow"));
    let run = allowed.run(&["execute"]);
    run.success().stdout_has("applied 0002_b");
    assert_eq!(
        run.stderr,
        format!("{}\n", allowed.target()),
        "allow is silent"
    );

    let refused = late(Some("error"));
    refused
        .run(&["execute"])
        .code(6)
        .one_error_line()
        .stderr_has("`0002_b` is out of order")
        .stderr_has("renumber `0002_b` after `0003_c`");
    refused.run(&["execute", "0002_b"]).code(6);
    assert_eq!(refused.docs("items").len(), 2);
    refused
        .run(&["execute", "--out-of-order", "allow"])
        .success()
        .stdout_has("applied 0002_b");
}

#[test]
fn check_reports_every_kind_of_problem_and_its_json() {
    let t = Test::new()
        .migration("0001_a.json", &insert("a"))
        .migration("0002_gone.json", &insert("g"))
        .migration(
            "0003_bad.json",
            r#"{"up": [{"insert": "items", "documents": [{"_id": "a"}]}]}"#,
        )
        .migration("0004_d.json", &insert("d"));
    t.run(&["execute"]).code(1);
    std::fs::remove_file(t.path("mongomigrations/0002_gone.json")).unwrap();
    let run = t.run(&["check", "--json"]);
    run.code(8).one_error_line();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["summary"],
        "4 migrations: 1 applied, 1 pending, 1 failed, 1 missing"
    );
    let problems: Vec<(&str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            ("0002_gone", "missing"),
            ("0003_bad", "failed"),
            ("0004_d", "pending")
        ]
    );
    let failed = &report["problems"][1];
    assert!(
        failed["error"].as_str().unwrap().contains("E11000")
            || failed["error"].as_str().unwrap().contains("duplicate"),
        "{failed}"
    );
}
