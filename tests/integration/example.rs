//! The library API: `examples/my_migrations.rs`, a team's own binary with compiled migrations
//! and an extra, listing, executing and rolling back next to file migrations.

use std::path::PathBuf;
use std::process::Command;

use mongodb::bson::{doc, Document};

use crate::test::{Run, Test};

/// The example binary. `cargo test` builds examples as test harnesses only, so the real binary
/// is built here, once, into the same target directory.
fn example() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let migo = PathBuf::from(env!("CARGO_BIN_EXE_migo"));
            let binary = migo.parent().unwrap().join("examples/my_migrations");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "--example", "my_migrations"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo build --example my_migrations");
            assert!(
                status.success() && binary.exists(),
                "cannot build the example"
            );
            binary
        })
        .clone()
}

fn run_example(t: &Test, args: &[&str]) -> Run {
    let mut command = Command::new(example());
    command.args(args);
    t.inside(&mut command);
    Run::of(command)
}

#[test]
fn the_example_binary_runs_compiled_migrations_and_its_extra() {
    let users = r#"{"up": [{"insert": "users", "documents": [{"_id": 1, "name": "Ann"}, {"_id": 2, "name": "Bo"}]}],
      "down": [{"delete": "users", "deletes": [{"q": {}, "limit": 0}]}]}"#;
    let t = Test::new().migration("0001_users.json", users).migration(
        "0004_index.json",
        r#"{"up": [{"createIndexes": "users", "indexes": [{"key": {"name": 1}, "name": "name_1"}]}],
          "down": [{"dropIndexes": "users", "index": "name_1"}]}"#,
    );

    run_example(&t, &["help"]).success().stdout_has(
        "Extras (compiled into this binary):\n  count-users  Count the users and the active ones\n",
    );
    run_example(&t, &["list"])
        .success()
        .stdout_has("1       0001_users            pending")
        .stdout_has("2       0002_add_active_flag  pending")
        .stdout_has("3       0003_display_names    pending")
        .stdout_has("4 migrations: 4 pending");
    run_example(&t, &["execute", "--dry-run"])
        .success()
        .stdout_has("would apply 0002_add_active_flag (0002_add_active_flag (compiled))\n    compiled: 0002_add_active_flag::up");
    run_example(&t, &["execute"])
        .success()
        .stdout_has("applied 0002_add_active_flag")
        .stdout_has("applied 0003_display_names")
        .stdout_has("4 migration(s) applied");
    let docs = t.docs("users");
    assert_eq!(
        docs[0],
        doc! {"_id": 1, "name": "Ann", "active": true, "display_name": "Ann"}
    );
    run_example(&t, &["count-users"])
        .success()
        .stdout_is("users: 2 documents, 2 active\n");
    run_example(&t, &["check"]).success();
    // Plain migo sees the compiled migrations' records, and which binary has them.
    t.run(&["list"])
        .success()
        .stdout_has("0002_add_active_flag  applied (compiled: my_migrations)");
    t.run(&["check"]).success();
    t.run(&["rollback", "0002_add_active_flag"])
        .code(6)
        .one_error_line()
        .stderr_has("`0002_add_active_flag` is a compiled migration of the binary `my_migrations`");

    run_example(&t, &["rollback", "--last", "3"])
        .success()
        .stdout_has("rolled back 0003_display_names")
        .stdout_has("rolled back 0002_add_active_flag");
    assert_eq!(t.docs("users")[1], doc! {"_id": 2, "name": "Bo"});
    assert_eq!(t.statuses(), [("0001_users".into(), "applied".into())]);
    run_example(&t, &["remove", "0003_display_names"])
        .code(6)
        .stderr_has("it is compiled into this binary");
    let records = t
        .db()
        .collection::<Document>("migrations_audit")
        .count_documents(doc! {})
        .run()
        .unwrap();
    assert_eq!(records, 2);
}
