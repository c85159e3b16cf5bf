//! `migo squash --to NAME`: a checkpoint that makes the schema of the history up to NAME in one
//! step. A fresh database applies it instead of the history (in far fewer round trips, to the
//! same schema); a database with the history records it without a write of any other kind; data
//! steps are kept or dropped as the user says; a checkpoint that would not make the same schema
//! is never written.

use crate::processes::{signal, wait_stopped};
use crate::test::{Run, Test};

/// The name of the command a `MIGO_LOG=migo::wire=trace` line shows sent to database `db`.
fn command_name<'l>(line: &'l str, db: &str) -> Option<&'l str> {
    let prefix = format!("{db}.");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(prefix.as_str()))
        .filter(|_| line.contains("migo::wire"))
}

/// Commands sent to database `db`, by name.
fn sent<'r>(run: &'r Run, db: &str) -> Vec<&'r str> {
    run.stderr
        .lines()
        .filter_map(|l| command_name(l, db))
        .collect()
}

/// 200 migrations over 20 collections: each collection created with a validator, then 9
/// indexes each, some unique, some partial, some with a TTL.
fn two_hundred() -> Test {
    let mut t = Test::new();
    for i in 1..=200u32 {
        let collection = format!("c{:02}", (i - 1) % 20);
        let body = if i <= 20 {
            format!(
                r#"{{"up": [{{"create": "{collection}", "validator": {{"n": {{"$type": "int"}}}}}}]}}"#
            )
        } else {
            let mut options = String::new();
            if i % 3 == 0 {
                options.push_str(r#", "unique": true"#);
            }
            if i % 5 == 0 {
                options.push_str(&format!(
                    r#", "partialFilterExpression": {{"f{i}": {{"$exists": true}}}}"#
                ));
            }
            if i % 7 == 0 {
                options.push_str(r#", "expireAfterSeconds": 600"#);
            }
            format!(
                r#"{{"up": [{{"createIndexes": "{collection}", "indexes": [{{"key": {{"f{i}": 1}}, "name": "f{i}_1"{options}}}]}}]}}"#
            )
        };
        t = t.migration(&format!("{i:04}_m{i}.json"), &body);
    }
    t
}

#[test]
fn two_hundred_migrations_become_one_checkpoint_that_a_fresh_database_applies_in_one_step() {
    let t = two_hundred().env("MIGO_LOG", "migo::wire=trace");
    let history = t.run(&["execute"]);
    history.success();
    let full = sent(&history, &t.db_name).len();
    t.run(&["squash", "--to", "0200_m200"]).success().stdout_is(
        "wrote mongomigrations/0201_checkpoint.json: 20 collection(s) and 180 index(es) in \
             40 command(s), in place of 200 migration(s) up to `0200_m200`\n\
             checked: applied to an empty scratch database, it makes exactly what those \
             migrations make; databases that have them record it without running it\n",
    );
    let checkpoint = std::fs::read_to_string(t.path("mongomigrations/0201_checkpoint.json"))
        .expect("the checkpoint");
    let file: serde_json::Value = serde_json::from_str(&checkpoint).unwrap();
    assert_eq!(
        file["checkpoint"]["replaces"].as_array().unwrap().len(),
        200
    );
    assert_eq!(file["checkpoint"]["replaces"][0], "0001_m1");
    assert_eq!(file["up"].as_array().unwrap().len(), 40);
    assert!(file.get("down").is_none(), "a checkpoint is irreversible");

    // A fresh database: the checkpoint alone, in far fewer round trips.
    let fresh = format!("{}_fresh", t.short_name());
    let run = t.run(&["--database", &fresh, "execute"]);
    run.success()
        .stdout_masked_is("applied 0201_checkpoint (<dur>)\n1 migration(s) applied in <dur>\n");
    let one_step = sent(&run, &fresh).len();
    assert!(
        full >= 10 * one_step,
        "the history took {full} commands, the checkpoint {one_step}"
    );
    let snapshot = |db: &str| {
        let run = t.run(&["--database", db, "snapshot"]);
        run.success();
        run.stdout.clone()
    };
    assert_eq!(snapshot(&fresh), snapshot(&t.db_name));
    let list = t.run(&["--database", &fresh, "list"]);
    assert!(list
        .stdout
        .contains("0001_m1          replaced (by 0201_checkpoint)"));
    assert!(list.stdout.ends_with(&format!(
        "201 migrations: 1 applied, 200 replaced (default: database `{fresh}` on {}:{})\n",
        t.server.host, t.server.port
    )));
    t.run(&["--database", &fresh, "check"]).success();
    t.run(&["--database", &fresh, "drift"]).success();

    // The database with the history: the checkpoint's record, and no write of any other kind.
    let before = t.snapshot_without(&["migrations", "migrations_audit"]);
    let run = t.run(&["execute"]);
    run.success()
        .stdout_masked_is("ignored 0201_checkpoint (<dur>)\n1 migration(s) ignored in <dur>\n");
    // Every command it sent reads, or writes migo's own registry, lock and audit log.
    for line in run.stderr.lines() {
        let Some(name) = command_name(line, &t.db_name) else {
            continue;
        };
        let read = matches!(name, "aggregate" | "find");
        let ours = line.contains(&format!("\"{name}\":\"migrations"));
        assert!(read || ours, "a write beside the registry: {line}");
    }
    assert_eq!(
        t.snapshot_without(&["migrations", "migrations_audit"]),
        before
    );
    let statuses = t.statuses();
    assert_eq!(statuses.len(), 201);
    assert_eq!(statuses[200], ("0201_checkpoint".into(), "ignored".into()));
    t.run(&["drift"]).success();
    t.server.client().database(&fresh).drop().run().unwrap();
}

/// A history with a data step: `0002_seed` inserts a document.
fn seeded() -> Test {
    Test::new()
        .migration(
            "0001_users.json",
            r#"{"up": [{"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]}]}"#,
        )
        .migration(
            "0002_seed.json",
            r#"{"up": [{"insert": "settings", "documents": [{"_id": "theme", "value": "dark"}]}]}"#,
        )
        .migration(
            "0003_more.json",
            r#"{"up": [{"createIndexes": "settings", "indexes": [{"key": {"value": 1}, "name": "value_1"}]}]}"#,
        )
}

#[test]
fn data_steps_are_named_and_each_is_kept_or_dropped() {
    let t = seeded();
    t.run(&["squash", "--to", "0003_more"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: the migrations up to `0003_more` have 1 data step(s) a checkpoint cannot \
             carry: `0002_seed` (its `insert` command changes documents); nothing was written; \
             hint: decide for each: `--keep 0002_seed` runs them after the checkpoint on a fresh \
             database, `--drop 0002_seed` never runs them there (`all` names every one)\n",
        );
    t.run(&["squash", "--to", "0003_more", "--keep", "0001_users"])
        .code(2)
        .stderr_is(
            "error: `--keep 0001_users`: it is not a data step of the migrations up to \
             `0003_more`; hint: their data steps: 0002_seed\n",
        );
    assert!(!t.path("mongomigrations/0004_checkpoint.json").exists());

    // Kept: on a fresh database it runs after the checkpoint, which made its collection.
    t.run(&["squash", "--to", "0003_more", "--keep", "0002_seed"])
        .success()
        .stdout_has("kept, run after it on a fresh database: 0002_seed\n");
    t.run(&["execute"]).success().stdout_masked_is(
        "applied 0004_checkpoint (<dur>)\napplied 0002_seed (<dur>)\n\
         2 migration(s) applied in <dur>\n",
    );
    assert_eq!(t.docs("settings").len(), 1);
    let states: Vec<(String, String)> = t.statuses();
    assert_eq!(
        states,
        [
            ("0002_seed".to_string(), "applied".to_string()),
            ("0004_checkpoint".to_string(), "applied".to_string())
        ]
    );
    t.run(&["check"]).success();
    t.run(&["drift"]).success();

    // Dropped: a fresh database has the collection the seed made, without its document.
    let t = seeded();
    t.run(&["squash", "--to", "0003_more", "--drop", "all"])
        .success()
        .stdout_has("dropped, never run on a fresh database: 0002_seed\n");
    t.run(&["execute"]).success();
    assert_eq!(
        t.collections(),
        ["migrations", "migrations_audit", "settings", "users"]
    );
    assert!(t.docs("settings").is_empty());
}

#[test]
fn a_checkpoint_that_would_not_make_the_same_schema_is_not_written() {
    // A kept step that makes an index the history later drops: after the checkpoint, it makes
    // it again.
    let t = Test::new()
        .migration("0001_a.json", r#"{"up": [{"create": "a"}]}"#)
        .migration(
            "0002_fill.json",
            r#"{"up": [{"insert": "a", "documents": [{"t": 1}]}, {"createIndexes": "a", "indexes": [{"key": {"t": 1}, "name": "tmp_1"}]}]}"#,
        )
        .migration(
            "0003_drop.json",
            r#"{"up": [{"dropIndexes": "a", "index": "tmp_1"}]}"#,
        );
    t.run(&["squash", "--to", "0003_drop", "--keep", "0002_fill"])
        .code(14)
        .stdout_is(
            "the checkpoint and the kept steps, applied to an empty database, would not make \
             what the migrations up to `0003_drop` make (migrations → checkpoint):\n\
             extra index `tmp_1` on `a`: {\"key\":{\"t\":1}}\n",
        )
        .stderr_is(
            "replaying the 3 migration(s) up to `0003_drop` on a scratch database\n\
             checking the checkpoint on an empty scratch database\n\
             error: the checkpoint would not make what the migrations up to `0003_drop` make: \
             the checkpoint and the kept steps made 1 extra index; nothing was written; hint: \
             the differences are listed above: the server does not build this schema back from \
             its own description; keep the history, or squash up to an earlier migration\n",
        );
    assert!(!t.path("mongomigrations/0004_checkpoint.json").exists());
    // Dropped instead, the step is no longer replayed after the checkpoint: it passes.
    t.run(&["squash", "--to", "0003_drop", "--drop", "0002_fill"])
        .success();
}

#[test]
fn the_checkpoint_needs_the_number_after_the_history() {
    let t = seeded();
    t.run(&["squash", "--to", "0001_users"]).code(6).stderr_is(
        "error: cannot squash up to `0001_users`: the checkpoint takes the next number, and \
             `0002_seed` has it; nothing was written; hint: squash up to the newest migration, \
             or renumber the migrations after the history\n",
    );
    t.run(&["squash", "--to", "0009_nothing"])
        .code(6)
        .stderr_is(
            "error: no migration named `0009_nothing`; hint: `migo list` shows every migration's \
         name\n",
        );
}

#[test]
fn a_second_squash_replaces_the_first_checkpoint_too() {
    let t = seeded();
    t.run(&["squash", "--to", "0003_more", "--drop", "all"])
        .success();
    let t = t.migration(
        "0005_later.json",
        r#"{"up": [{"createIndexes": "users", "indexes": [{"key": {"at": 1}, "name": "at_1"}]}]}"#,
    );
    t.run(&["squash", "--to", "0005_later"])
        .success()
        .stdout_has("in place of 5 migration(s) up to `0005_later`");
    t.run(&["execute"])
        .success()
        .stdout_masked_is("applied 0006_checkpoint (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(t.statuses(), [("0006_checkpoint".into(), "applied".into())]);
    t.run(&["drift"]).success();
}

#[test]
fn a_signal_during_the_replay_writes_nothing_and_drops_the_scratch_database() {
    let t = seeded();
    let migo = t.spawn(
        &["squash", "--to", "0003_more", "--drop", "all"],
        &[("MIGO_TEST_STOP_AT", "replay:0002_seed")],
    );
    wait_stopped(&migo);
    let pid = migo.id();
    signal(pid, libc::SIGTERM);
    signal(pid, libc::SIGCONT);
    let run = Run::from_output(&migo.wait_with_output().unwrap());
    run.code(143).stdout_is("");
    assert!(run
        .stderr
        .ends_with("error: stopped by SIGTERM; hint: run the command again to go on\n"));
    assert!(!t.path("mongomigrations/0004_checkpoint.json").exists());
    let left: Vec<String> = t
        .server
        .client()
        .list_database_names()
        .run()
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(&format!("_migo_r{pid}")) || n.ends_with(&format!("_migo_c{pid}")))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn once_every_database_has_the_checkpoint_the_history_files_can_go() {
    let t = seeded();
    t.run(&["execute"]).success();
    t.run(&["squash", "--to", "0003_more", "--keep", "0002_seed"])
        .success();
    t.run(&["execute"]).success();
    for gone in ["0001_users.json", "0003_more.json"] {
        std::fs::remove_file(t.path(&format!("mongomigrations/{gone}"))).unwrap();
    }
    t.run(&["check"]).success();
    let list = t.run(&["list"]);
    list.success();
    assert!(
        list.stdout
            .contains("0001_users       applied (file gone: in 0004_checkpoint)"),
        "{}",
        list.stdout
    );
    // The replay runs the checkpoint in place of the files that are gone.
    t.run(&["drift"]).success().stdout_is(&format!(
        "no drift: `{}` matches what its 2 applied migration(s) make\n",
        t.db_name
    ));
    t.db()
        .run_command(mongodb::bson::doc! {"dropIndexes": "users", "index": "email_1"})
        .run()
        .unwrap();
    t.run(&["drift"])
        .code(14)
        .stdout_has("missing index `email_1` on `users`");
}

#[test]
fn a_database_with_the_history_records_the_checkpoint_then_runs_what_follows() {
    let t = seeded();
    t.run(&["execute"]).success();
    t.run(&["squash", "--to", "0003_more", "--drop", "all"])
        .success();
    let t = t.migration("0005_later.json", &crate::insert("later"));
    // `test --pending` leaves the checkpoint out: it has no `down`, and squash checked it.
    t.run(&["test", "--pending"])
        .success()
        .stdout_has("pass  0005_later\n");
    t.run(&["execute"]).success().stdout_masked_is(
        "ignored 0004_checkpoint (<dur>)\napplied 0005_later (<dur>)\n\
         2 migration(s) in <dur>: 1 ignored, 1 applied\n",
    );
    assert_eq!(t.docs("items").len(), 1);
}

#[test]
fn rolling_back_past_a_recorded_checkpoint_removes_only_its_record() {
    let t = seeded();
    t.run(&["execute"]).success();
    t.run(&["squash", "--to", "0003_more", "--drop", "all"])
        .success();
    t.run(&["execute"]).success();
    let before = t.snapshot_without(&["migrations", "migrations_audit"]);
    t.run(&["rollback", "--last", "1"]).success();
    assert_eq!(t.statuses().len(), 3, "the checkpoint's record is gone");
    assert_eq!(
        t.snapshot_without(&["migrations", "migrations_audit"]),
        before
    );
    t.run(&["list"])
        .success()
        .stdout_has("0004_checkpoint  pending (checkpoint)");
    // On a database where it ran, it has no `down`.
    let fresh = format!("{}_fresh", t.short_name());
    t.run(&["--database", &fresh, "execute"]).success();
    t.run(&["--database", &fresh, "rollback", "0004_checkpoint"])
        .code(6)
        .stderr_is(
            "error: cannot roll back `0004_checkpoint`: it has no `down`, so it is irreversible; \
             hint: add a `down` to `0004_checkpoint.json` if the change can be undone\n",
        );
    t.server.client().database(&fresh).drop().run().unwrap();
}

#[test]
fn a_full_disk_writes_no_checkpoint_at_all() {
    // Four pages: the three migrations, and what the filler can take of the rest.
    let Some(disk) = crate::disk::Tmpfs::mount("16k") else {
        return;
    };
    let t = seeded();
    for entry in std::fs::read_dir(t.path("mongomigrations")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), disk.path().join(entry.file_name())).unwrap();
    }
    let _ = std::fs::write(disk.path().join("_filler.md"), vec![b'x'; 16 * 1024]);
    let dir = disk.path().to_str().unwrap().to_string();
    let run = t.run(&[
        "--directory",
        &dir,
        "squash",
        "--to",
        "0003_more",
        "--drop",
        "all",
    ]);
    run.code(10).error_line();
    assert!(
        run.stderr.ends_with(
            "No space left on device (os error 28); hint: the disk is full: free some space \
             there and run the command again\n"
        ),
        "{}",
        run.stderr
    );
    let mut left: Vec<String> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "0001_users.json",
            "0002_seed.json",
            "0003_more.json",
            "_filler.md"
        ]
    );
}
