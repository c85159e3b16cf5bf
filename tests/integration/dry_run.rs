//! `--dry-run` prints the exact plan and leaves the database byte-for-byte unchanged.

use crate::test::Test;
use crate::{insert, push};

#[test]
fn dry_runs_change_nothing_at_all() {
    let index = r#"{"description": "index on email",
      "up": [{"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]}],
      "down": [{"dropIndexes": "users", "index": "email_1"}]}"#;
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_index.json", index)
        .migration("0003_b.json", &insert("b"))
        .migration("0004_c.json", &push(4));
    t.run(&["execute", "0001_a"]).success();
    t.run(&["execute", "0002_index"]).success();
    // An edited applied file, so that `accept` has something to do.
    let t = t.migration("0001_a.json", &push(11));
    let before = t.snapshot();
    assert!(
        before.contains("email_1") && before.contains("migrations_audit"),
        "{before}"
    );

    t.run(&["execute", "--dry-run", "--on-modified", "warn"])
        .success()
        .stdout_is(concat!(
            "would apply 0003_b (0003_b.json)\n",
            "    {\"insert\":\"items\",\"documents\":[{\"_id\":\"b\"}]}\n",
            "would apply 0004_c (0004_c.json)\n",
            "    {\"update\":\"log\",\"updates\":[{\"q\":{\"_id\":\"order\"},\"u\":{\"$push\":{\"order\":4}},\"upsert\":true}]}\n",
            "dry run: 2 step(s), nothing was changed\n",
        ))
        .stderr_is("warning: applied migration `0001_a` was modified after it ran\n");
    t.run(&["execute", "--dry-run"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: applied migration `0001_a` was modified after it ran (its checksum no longer \
             matches the registry); nothing was run; hint: restore the file, or record the change \
             deliberately with `migo accept 0001_a`, or set `on_modified = \"warn\"`\n",
        );
    t.run(&["ignore", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(concat!(
            "would ignore 0003_b (0003_b.json)\n",
            "would ignore 0004_c (0004_c.json)\n",
            "dry run: 2 step(s), nothing was changed\n",
        ));
    t.run(&["rollback", "0002_index", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(concat!(
            "would roll back 0002_index (0002_index.json)\n",
            "    {\"dropIndexes\":\"users\",\"index\":\"email_1\"}\n",
            "dry run: 1 step(s), nothing was changed\n",
        ));
    t.run(&["accept", "0001_a", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(concat!(
            "would accept the new checksum of 0001_a (0001_a.json)\n",
            "dry run: 1 step(s), nothing was changed\n",
        ));
    t.run(&[
        "execute",
        "0003_b",
        "--dry-run",
        "--json",
        "--on-modified",
        "warn",
    ])
    .success()
    .stderr_is("warning: applied migration `0001_a` was modified after it ran\n")
    .stdout_is(concat!(
        r#"{"dry_run":true,"steps":[{"name":"0003_b","file":"0003_b.json","action":"up","#,
        r#""commands":["{\"insert\":\"items\",\"documents\":[{\"_id\":\"b\"}]}"]}]}"#,
        "\n",
    ));

    assert_eq!(t.snapshot(), before, "a dry run changed the database");
}
