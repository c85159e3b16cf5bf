//! Checksums and order: `check`, the `on_modified` and `out_of_order` policies, and `accept`.

use crate::test::{aligned, Test};
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

/// The `list` table of `rows` (masked: times, who and durations as placeholders), and its
/// closing line.
fn list(t: &Test, rows: &[&[&str]], summary: &str) -> String {
    let mut table: Vec<&[&str]> = vec![crate::test::LIST_TITLES];
    table.extend_from_slice(rows);
    format!("{}{summary} ({})\n", aligned(&table), t.target())
}

/// `execute`'s lines for one applied migration: (stderr after the target, masked stdout).
fn applied_one(t: &Test, before: &str, name: &str) -> (String, String) {
    (
        format!("{}\n{before}applying {name}…\n", t.target()),
        format!("applied {name} (<dur>)\n1 migration(s) applied in <dur>\n"),
    )
}

const NOT_UP_TO_DATE_HINT: &str = "hint: `migo list` shows each migration; `migo execute` \
                                   applies pending ones, `migo accept NAME` records an intended \
                                   edit, `migo forget NAME` drops the record of a deleted file\n";

#[test]
fn an_edited_applied_file_fails_check_and_blocks_execute_by_default() {
    let t = edited_after_applying("");
    let modified: &[&str] = &[
        "1",
        "0001_a",
        "applied (modified)",
        "<time>",
        "<who>",
        "<dur>",
        "changed",
    ];
    t.run(&["list"])
        .success()
        .stderr_is("")
        .stdout_masked_is(&list(
            &t,
            &[modified, &["2", "0002_b", "pending"]],
            "2 migrations: 1 applied, 1 pending, 1 modified",
        ));
    t.run(&["check"])
        .code(8)
        .stdout_is("0001_a  applied (modified)\n0002_b  pending\n")
        .stderr_is(&format!(
            "error: migrations are not up to date: 2 migrations: 1 applied, 1 pending, 1 \
             modified; {NOT_UP_TO_DATE_HINT}"
        ));
    let before = t.snapshot();
    t.run(&["execute"]).code(6).stdout_is("").stderr_is(
        "error: applied migration `0001_a` was modified after it ran (its checksum no longer \
         matches the registry); nothing was run; hint: restore the file, or record the change \
         deliberately with `migo accept 0001_a`, or set `on_modified = \"warn\"`\n",
    );
    assert_eq!(t.snapshot(), before, "a refused execute wrote something");

    // Accepting the edit records the new checksum; then execute runs and check passes.
    t.run(&["accept", "0001_a"])
        .success()
        .stderr_is(&format!("{}\naccepting 0001_a…\n", t.target()))
        .stdout_masked_is("accepted 0001_a (<dur>)\n1 migration(s) accepted in <dur>\n");
    let record = &t.records()[0];
    assert_eq!(
        record.get_str("checksum").unwrap(),
        sha256(&t.path("mongomigrations/0001_a.json"))
    );
    t.run(&["accept", "0001_a"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: nothing to accept: `0001_a` matches the checksum it was applied with; hint: \
         `migo list` marks changed files `(modified)`\n",
        );
    let (stderr, stdout) = applied_one(&t, "", "0002_b");
    t.run(&["execute"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
    t.run(&["check"]).success().stdout_is(&format!(
        "up to date: 2 migrations: 2 applied ({})\n",
        t.target()
    ));
}

#[test]
fn on_modified_warn_runs_with_a_warning() {
    let t = edited_after_applying("[migrations]\non_modified = \"warn\"\n");
    let (stderr, stdout) = applied_one(
        &t,
        "warning: applied migration `0001_a` was modified after it ran\n",
        "0002_b",
    );
    t.run(&["execute"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
    // `check` reports the edit whatever the policy.
    t.run(&["check"])
        .code(8)
        .stdout_is("0001_a  applied (modified)\n")
        .stderr_is(&format!(
            "error: migrations are not up to date: 2 migrations: 2 applied, 1 modified; \
             {NOT_UP_TO_DATE_HINT}"
        ));
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
    let applied = |n: &'static str, name: &'static str| -> [&'static str; 7] {
        [n, name, "applied", "<time>", "<who>", "<dur>", "ok"]
    };
    t.run(&["list"]).success().stdout_masked_is(&list(
        &t,
        &[
            &applied("1", "0001_a"),
            &["2", "0002_b", "pending (out of order)"],
            &applied("3", "0003_c"),
        ],
        "3 migrations: 2 applied, 1 pending",
    ));
    t
}

#[test]
fn out_of_order_files_follow_each_policy() {
    let warned = late(None);
    let (stderr, stdout) = applied_one(
        &warned,
        "warning: `0002_b` is out of order: `0003_c`, numbered after it, is already applied\n",
        "0002_b",
    );
    warned
        .run(&["execute"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);

    // `allow` is silent.
    let allowed = late(Some("allow"));
    let (stderr, stdout) = applied_one(&allowed, "", "0002_b");
    allowed
        .run(&["execute"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);

    let refused = late(Some("error"));
    let error = "error: `0002_b` is out of order: `0003_c`, numbered after it, is already \
                 applied; nothing was run; hint: renumber `0002_b` after `0003_c`, or set \
                 `out_of_order = \"warn\"` (or `--out-of-order allow`) to run it anyway\n";
    refused
        .run(&["execute"])
        .code(6)
        .stdout_is("")
        .stderr_is(error);
    refused
        .run(&["execute", "0002_b"])
        .code(6)
        .stdout_is("")
        .stderr_is(error);
    assert_eq!(refused.docs("items").len(), 2);
    let (stderr, stdout) = applied_one(&refused, "", "0002_b");
    refused
        .run(&["execute", "--out-of-order", "allow"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
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
