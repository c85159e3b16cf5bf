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

    // The built-in part of `help` is pinned by `tasks.rs`; here, the extras it adds.
    run_example(&t, &["help"]).success().stdout_has(
        "Extras (compiled into this binary):\n  count-users  Count the users and the active ones\n",
    );
    run_example(&t, &["list"]).success().stdout_is(&format!(
        "NUMBER  NAME                  STATE    APPLIED AT  BY  DURATION  CHECKSUM\n\
         1       0001_users            pending\n\
         2       0002_add_active_flag  pending\n\
         3       0003_display_names    pending\n\
         4       0004_index            pending\n\
         4 migrations: 4 pending ({})\n",
        t.target()
    ));
    run_example(&t, &["execute", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(concat!(
            "would apply 0001_users (0001_users.json)\n",
            "    {\"insert\":\"users\",\"documents\":[{\"_id\":1,\"name\":\"Ann\"},{\"_id\":2,\"name\":\"Bo\"}]}\n",
            "would apply 0002_add_active_flag (0002_add_active_flag (compiled))\n",
            "    compiled: 0002_add_active_flag::up\n",
            "would apply 0003_display_names (0003_display_names (compiled))\n",
            "    compiled: 0003_display_names::up\n",
            "would apply 0004_index (0004_index.json)\n",
            "    {\"createIndexes\":\"users\",\"indexes\":[{\"key\":{\"name\":1},\"name\":\"name_1\"}]}\n",
            "dry run: 4 step(s), nothing was changed\n",
        ));
    run_example(&t, &["execute"])
        .success()
        .stderr_is(&format!(
            "{}\napplying 0001_users…\napplying 0002_add_active_flag…\n\
             applying 0003_display_names…\napplying 0004_index…\n",
            t.target()
        ))
        .stdout_masked_is(concat!(
            "applied 0001_users (<dur>)\n",
            "applied 0002_add_active_flag (<dur>)\n",
            "applied 0003_display_names (<dur>)\n",
            "applied 0004_index (<dur>)\n",
            "4 migration(s) applied in <dur>\n",
        ));
    let docs = t.docs("users");
    assert_eq!(
        docs[0],
        doc! {"_id": 1, "name": "Ann", "active": true, "display_name": "Ann"}
    );
    run_example(&t, &["count-users"])
        .success()
        .stdout_is("users: 2 documents, 2 active\n");
    let up_to_date = format!("up to date: 4 migrations: 4 applied ({})\n", t.target());
    run_example(&t, &["check"]).success().stdout_is(&up_to_date);
    // Plain migo sees the compiled migrations' records, and which binary has them.
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "NUMBER  NAME                  STATE                              APPLIED AT  BY     \
         DURATION  CHECKSUM\n\
         1       0001_users            applied                            <time>      <who>  \
         <dur>     ok\n\
         2       0002_add_active_flag  applied (compiled: my_migrations)  <time>      <who>  \
         <dur>     compiled\n\
         3       0003_display_names    applied (compiled: my_migrations)  <time>      <who>  \
         <dur>     compiled\n\
         4       0004_index            applied                            <time>      <who>  \
         <dur>     ok\n\
         4 migrations: 4 applied ({})\n",
        t.target()
    ));
    t.run(&["check"]).success().stdout_is(&up_to_date);
    t.run(&["rollback", "0002_add_active_flag"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: `0002_add_active_flag` is a compiled migration of the binary `my_migrations`; \
             this binary cannot run it; hint: run it with that binary, e.g. `cargo run --quiet \
             --bin my_migrations -- …`\n",
        );

    run_example(&t, &["rollback", "--last", "3"])
        .success()
        .stderr_is(&format!(
            "{}\nrolling back 0004_index…\nrolling back 0003_display_names…\n\
             rolling back 0002_add_active_flag…\n",
            t.target()
        ))
        .stdout_masked_is(concat!(
            "rolled back 0004_index (<dur>)\n",
            "rolled back 0003_display_names (<dur>)\n",
            "rolled back 0002_add_active_flag (<dur>)\n",
            "3 migration(s) rolled back in <dur>\n",
        ));
    assert_eq!(t.docs("users")[1], doc! {"_id": 2, "name": "Bo"});
    assert_eq!(t.statuses(), [("0001_users".into(), "applied".into())]);
    run_example(&t, &["remove", "0003_display_names"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: cannot remove `0003_display_names`: it is compiled into this binary; hint: \
             remove it from the binary's source instead\n",
        );
    let records = t
        .db()
        .collection::<Document>("migrations_audit")
        .count_documents(doc! {})
        .run()
        .unwrap();
    assert_eq!(records, 2);
}
