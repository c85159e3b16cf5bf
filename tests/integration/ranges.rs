//! Targeted ranges: `execute --steps/--to`, `rollback --last/--to/--all`, in a consistent order.

use crate::test::Test;
use crate::{order, push};

/// Six `push` migrations, 0001_a … 0006_f.
fn six() -> Test {
    ["a", "b", "c", "d", "e", "f"]
        .iter()
        .zip(1..)
        .fold(Test::new(), |t, (letter, n)| {
            t.migration(&format!("{n:04}_{letter}.json"), &push(n))
        })
}

#[test]
fn ranges_apply_and_roll_back_in_order() {
    let t = six();
    t.run(&["execute", "--steps", "2"])
        .success()
        .stdout_has("2 migration(s) applied");
    assert_eq!(order(&t), [1, 2]);
    t.run(&["execute", "--to", "0005_e"])
        .success()
        .stdout_has("applied 0003_c")
        .stdout_has("applied 0005_e");
    assert_eq!(order(&t), [1, 2, 3, 4, 5]);
    let run = t.run(&["rollback", "--last", "2"]);
    run.success();
    let rolled: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("rolled back 0"))
        .collect();
    assert!(
        rolled[0].starts_with("rolled back 0005_e") && rolled[1].starts_with("rolled back 0004_d"),
        "{rolled:?}"
    );
    assert_eq!(order(&t), [1, 2, 3]);
    t.run(&["rollback", "--to", "0001_a"])
        .success()
        .stdout_has("rolled back 0003_c")
        .stdout_has("rolled back 0002_b");
    assert_eq!(order(&t), [1]);
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    t.run(&["execute", "--to", "0001_a"])
        .code(6)
        .stderr_has("cannot execute up to `0001_a`: it is already applied");
    t.run(&["execute", "--steps", "0"]).code(2);
    t.run(&["rollback", "--last", "1", "--to", "0001_a"])
        .code(2);
    t.run(&["rollback"]).code(2).one_error_line();
}

#[test]
fn a_range_with_an_irreversible_migration_is_refused_whole() {
    let t = six().migration(
        "0003_c.json",
        r#"{"up": [{"update": "log", "updates": [{"q": {"_id": "order"}, "u": {"$push": {"order": 3}}, "upsert": true}]}]}"#,
    );
    t.run(&["execute"]).success();
    let before = t.snapshot();
    t.run(&["rollback", "--to", "0001_a"])
        .code(6)
        .one_error_line()
        .stderr_has("cannot roll back `0003_c`: it has no `down`");
    t.run(&["rollback", "--all", "--yes"]).code(6);
    assert_eq!(t.snapshot(), before, "part of the range ran");
    t.run(&["rollback", "--last", "3"]).success();
    assert_eq!(order(&t), [1, 2, 3]);
}

#[test]
fn rollback_last_follows_applied_order_not_file_order() {
    let t = six();
    t.run(&["execute", "0003_c"]).success();
    t.run(&["execute", "0002_b"]).success();
    assert_eq!(order(&t), [3, 2]);
    t.run(&["rollback", "--last", "1"])
        .success()
        .stdout_has("rolled back 0002_b");
    assert_eq!(order(&t), [3]);
}

#[test]
fn rollback_all_needs_a_confirmation() {
    let t = six();
    t.run(&["execute", "--steps", "3"]).success();
    t.run(&["rollback", "--all", "--dry-run"])
        .success()
        .stdout_has("would roll back 0003_c")
        .stdout_has("dry run: 3 step(s)");
    // No terminal (the test's stdin is not one) and no --yes: refused, nothing changed.
    t.run(&["rollback", "--all"])
        .code(6)
        .one_error_line()
        .stderr_has("`rollback --all` would roll back all 3 applied migration(s)")
        .stderr_has("pass `--yes`");
    assert_eq!(order(&t), [1, 2, 3]);
    t.run(&["rollback", "--all", "--yes"])
        .success()
        .stdout_has("3 migration(s) rolled back");
    assert!(order(&t).is_empty() && t.records().is_empty());
}
