//! Drift: the database against its applied migrations replayed on a scratch database. Each kind
//! of change made by hand after migrating is reported as exactly that change, with the command
//! that reconciles it (and the commands do reconcile it); a database migrated normally has none;
//! the scratch database is gone after a signal or a failure; `execute --require-no-drift`
//! refuses before the lock; `--fleet` gives a row per member.

use mongodb::bson::{doc, Bson, Document};

use crate::processes::{signal, wait_stopped};
use crate::test::{Run, Test};

/// A collection with a validator, a unique and a partial index; one with a TTL index and a plain
/// one; an empty collection; a seed document.
pub(crate) const USERS: &str = r#"{"up": [
  {"create": "users", "validator": {"email": {"$type": "string"}}},
  {"createIndexes": "users", "indexes": [
    {"key": {"email": 1}, "name": "email_1", "unique": true},
    {"key": {"team": 1, "name": 1}, "name": "team_name", "partialFilterExpression": {"active": true}}]}]}"#;
pub(crate) const EVENTS: &str = r#"{"up": [{"createIndexes": "events", "indexes": [
    {"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 3600},
    {"key": {"kind": 1}, "name": "kind_1"}]}]}"#;
pub(crate) const AUDIT: &str = r#"{"up": [{"create": "audit"}]}"#;
pub(crate) const SEED: &str =
    r#"{"up": [{"insert": "settings", "documents": [{"_id": "theme", "value": "dark"}]}]}"#;

/// A project with four applied migrations and `[drift] ignore`.
fn migrated() -> Test {
    let t = Test::new()
        .config("[drift]\nignore = [\"^sessions$\"]\n")
        .migration("0001_users.json", USERS)
        .migration("0002_events.json", EVENTS)
        .migration("0003_audit.json", AUDIT)
        .migration("0004_seed.json", SEED);
    t.run(&["execute"]).success();
    t
}

fn command(t: &Test, command: Document) {
    t.db()
        .run_command(command)
        .run()
        .expect("a command by hand");
}

fn replaying(t: &Test, n: usize) -> String {
    format!(
        "replaying {n} applied migration(s) of `{}` on a scratch database\n",
        t.db_name
    )
}

/// The scratch databases of `migo` process `pid` left on the server.
fn scratch_of(t: &Test, pid: u32) -> Vec<String> {
    t.server
        .client()
        .list_database_names()
        .run()
        .expect("databases")
        .into_iter()
        .filter(|name| name.ends_with(&format!("_migo_r{pid}")))
        .collect()
}

/// Every scratch database of a replay left on the server for this test's database.
fn scratch_left(t: &Test) -> Vec<String> {
    let stem: String = t.db_name.chars().take(20).collect();
    t.server
        .client()
        .list_database_names()
        .run()
        .expect("databases")
        .into_iter()
        .filter(|name| name.starts_with(&stem) && name.contains("_migo_"))
        .collect()
}

/// Runs the reconciling commands `drift --json` gives against the database.
fn reconcile(t: &Test) {
    let report: serde_json::Value =
        serde_json::from_str(&t.run(&["drift", "--json"]).stdout).expect("a JSON report");
    for difference in report["differences"].as_array().expect("differences") {
        for command in difference["reconcile"].as_array().expect("commands") {
            let Ok(Bson::Document(command)) = Bson::try_from(command.clone()) else {
                panic!("not a command: {command}");
            };
            self::command(t, command);
        }
    }
}

#[test]
fn a_database_migrated_normally_has_no_drift_and_no_scratch_database_is_left() {
    let t = migrated();
    // What the application creates itself is set aside by `[drift] ignore`.
    command(&t, doc! {"create": "sessions"});
    t.run(&["drift"])
        .success()
        .stdout_is(&format!(
            "no drift: `{}` matches what its 4 applied migration(s) make; set aside by [drift] \
             ignore: sessions\n",
            t.db_name
        ))
        .stderr_is(&replaying(&t, 4));
    assert!(scratch_left(&t).is_empty(), "{:?}", scratch_left(&t));
}

/// One drift case: what is done by hand, and the lines `drift` prints for it.
struct Case {
    what: &'static str,
    by_hand: Vec<Document>,
    report: &'static str,
    /// Whether the test server carries out the reconciling commands (SecantusDB accepts a
    /// `collMod` of an index's `hidden` flag and ignores it).
    reconciles: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "an extra index",
            by_hand: vec![
                doc! {"createIndexes": "users", "indexes": [{"key": {"name": 1}, "name": "name_1"}]},
            ],
            report: r#"extra index `name_1` on `users`: {"key":{"name":1}}
  reconcile: {"dropIndexes":"users","index":"name_1"}
"#,
            reconciles: true,
        },
        Case {
            what: "a missing index",
            by_hand: vec![doc! {"dropIndexes": "events", "index": "kind_1"}],
            report: r#"missing index `kind_1` on `events`: {"key":{"kind":1}}
  reconcile: {"createIndexes":"events","indexes":[{"name":"kind_1","key":{"kind":1}}]}
"#,
            reconciles: true,
        },
        Case {
            what: "a changed unique flag",
            by_hand: vec![
                doc! {"dropIndexes": "users", "index": "email_1"},
                doc! {"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1"}]},
            ],
            report: r#"changed index `email_1` on `users`: unique true → false
  reconcile: {"dropIndexes":"users","index":"email_1"}
  reconcile: {"createIndexes":"users","indexes":[{"name":"email_1","key":{"email":1},"unique":true}]}
"#,
            reconciles: true,
        },
        Case {
            what: "a changed partial filter",
            by_hand: vec![
                doc! {"dropIndexes": "users", "index": "team_name"},
                doc! {"createIndexes": "users", "indexes": [{"key": {"team": 1, "name": 1}, "name": "team_name", "partialFilterExpression": {"active": {"$eq": true}}}]},
            ],
            report: r#"changed index `team_name` on `users`: partialFilterExpression {"active":true} → {"active":{"$eq":true}}
  reconcile: {"dropIndexes":"users","index":"team_name"}
  reconcile: {"createIndexes":"users","indexes":[{"name":"team_name","key":{"team":1,"name":1},"partialFilterExpression":{"active":true}}]}
"#,
            reconciles: true,
        },
        Case {
            what: "a changed TTL",
            by_hand: vec![
                doc! {"collMod": "events", "index": {"name": "at_1", "expireAfterSeconds": 60}},
            ],
            report: r#"changed index `at_1` on `events`: expireAfterSeconds 3600 → 60
  reconcile: {"collMod":"events","index":{"name":"at_1","expireAfterSeconds":3600}}
"#,
            reconciles: true,
        },
        Case {
            what: "a hidden index",
            // SecantusDB ignores `collMod` on `hidden`: the index is hidden by re-creating it.
            by_hand: vec![
                doc! {"dropIndexes": "events", "index": "kind_1"},
                doc! {"createIndexes": "events", "indexes": [{"key": {"kind": 1}, "name": "kind_1", "hidden": true}]},
            ],
            report: r#"changed index `kind_1` on `events`: hidden false → true
  reconcile: {"collMod":"events","index":{"name":"kind_1","hidden":false}}
"#,
            reconciles: crate::server::is_external(),
        },
        Case {
            what: "a changed validator",
            by_hand: vec![
                doc! {"collMod": "users", "validator": {"email": {"$type": "string"}, "name": {"$exists": true}}},
            ],
            report: r#"changed collection `users`: validator {"email":{"$type":"string"}} → {"email":{"$type":"string"},"name":{"$exists":true}}
  reconcile: {"collMod":"users","validator":{"email":{"$type":"string"}}}
"#,
            reconciles: true,
        },
        Case {
            what: "a changed validation level",
            by_hand: vec![doc! {"collMod": "users", "validationLevel": "moderate"}],
            report: r#"changed collection `users`: validationLevel "strict" → "moderate"
  reconcile: {"collMod":"users","validationLevel":"strict"}
"#,
            reconciles: true,
        },
        Case {
            what: "a missing collection",
            by_hand: vec![doc! {"drop": "audit"}],
            report: r#"missing collection `audit`
  reconcile: {"create":"audit"}
"#,
            reconciles: true,
        },
        Case {
            what: "an extra collection",
            by_hand: vec![doc! {"create": "stray"}],
            report: r#"extra collection `stray`
  reconcile: {"drop":"stray"}
"#,
            reconciles: true,
        },
    ]
}

#[test]
fn each_kind_of_drift_made_by_hand_is_reported_as_exactly_that_change() {
    for case in cases() {
        let t = migrated();
        for c in &case.by_hand {
            command(&t, c.clone());
        }
        let run = t.run(&["drift"]);
        let summary = match case.what {
            "an extra index" => "1 extra index",
            "a missing index" => "1 missing index",
            "a missing collection" => "1 missing collection",
            "an extra collection" => "1 extra collection",
            "a changed validator" | "a changed validation level" => "1 changed collection",
            _ => "1 changed index",
        };
        run.code(14)
            .stdout_is(&format!(
                "`{}` differs from what its 4 applied migration(s) make (migrations → \
                 database):\n{}",
                t.db_name, case.report
            ))
            .stderr_is(&format!(
                "{}error: `{}` differs from what its 4 applied migration(s) make: {summary}; \
                 hint: `migo drift` lists each difference with the command that reconciles it: \
                 make the change in a migration, or reconcile the database; `[drift] ignore` sets \
                 aside collections the application creates itself\n",
                replaying(&t, 4),
                t.db_name
            ));
        assert!(scratch_left(&t).is_empty(), "{}", case.what);
        if case.reconciles {
            reconcile(&t);
            t.run(&["drift"]).success().stdout_has("no drift: ");
        }
    }
}

#[test]
fn the_json_report_names_each_difference_with_both_sides() {
    let t = migrated();
    command(
        &t,
        doc! {"collMod": "events", "index": {"name": "at_1", "expireAfterSeconds": 60}},
    );
    command(&t, doc! {"create": "sessions"});
    let run = t.run(&["drift", "--json"]);
    run.code(14);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let expected = serde_json::json!({
        "ok": false,
        "target": {"environment": null, "hosts": [format!("{}:{}", t.server.host, t.server.port)], "database": t.db_name},
        "replayed": ["0001_users", "0002_events", "0003_audit", "0004_seed"],
        "differences": [{
            "kind": "changed_index",
            "collection": "events",
            "index": "at_1",
            "migrations": {"name": "at_1", "key": {"at": 1}, "expireAfterSeconds": 3600},
            "database": {"name": "at_1", "key": {"at": 1}, "expireAfterSeconds": 60},
            "changes": [{"field": "expireAfterSeconds", "migrations": 3600, "database": 60}],
            "reconcile": [{"collMod": "events", "index": {"name": "at_1", "expireAfterSeconds": 3600}}],
            "note": null,
        }],
        "ignored": ["sessions"],
    });
    assert_eq!(report, expected);
    // The error is in the report: no second JSON document.
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn an_ignore_pattern_never_hides_a_collection_the_migrations_make() {
    let t = migrated().config("[drift]\nignore = [\".*\"]\n");
    command(&t, doc! {"collMod": "users", "validationLevel": "off"});
    command(&t, doc! {"create": "app_cache"});
    t.run(&["drift"]).code(14).stdout_is(&format!(
        "`{}` differs from what its 4 applied migration(s) make (migrations → database):\n\
             changed collection `users`: validationLevel \"strict\" → \"off\"\n  \
             reconcile: {{\"collMod\":\"users\",\"validationLevel\":\"strict\"}}\n\
             set aside by [drift] ignore: app_cache\n",
        t.db_name
    ));
}

#[test]
fn a_bad_ignore_pattern_is_a_config_error_naming_it() {
    let t = Test::new().config("[drift]\nignore = [\"(\"]\n");
    t.run(&["drift"]).code(3).stderr_is(
        "error: migo.toml:7:10: `[drift] ignore` \"(\" is not a valid regex: unclosed group; \
         hint: give Rust regexes matched against collection names, e.g. [\"^sessions$\", \
         \"^cache_\"]\n",
    );
}

#[test]
fn execute_require_no_drift_refuses_before_taking_the_lock() {
    let t = migrated().migration("0005_more.json", &crate::insert("more"));
    let lock_document = || {
        t.db()
            .collection::<Document>("migrations")
            .find_one(doc! {"_id": crate::test::LOCK_ID})
            .run()
            .unwrap()
    };
    let lock_before = lock_document();
    command(
        &t,
        doc! {"createIndexes": "users", "indexes": [{"key": {"name": 1}, "name": "name_1"}]},
    );
    t.run(&["execute", "--require-no-drift"])
        .code(14)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: `{}` differs from what its 4 applied migration(s) make: 1 extra index; \
             hint: `migo drift` lists each difference with the command that reconciles it: make \
             the change in a migration, or reconcile the database; `[drift] ignore` sets aside \
             collections the application creates itself\n",
            replaying(&t, 4),
            t.db_name
        ));
    assert!(t.docs("items").is_empty(), "the pending migration ran");
    assert_eq!(t.statuses().len(), 4);
    // With `--json`, the error document says why, for scripts.
    let run = t.run(&["execute", "--require-no-drift", "--json"]);
    run.code(14);
    let error: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(error["error"]["reason"], "drift");
    assert_eq!(error["error"]["exit_code"], 14);
    let history: serde_json::Value =
        serde_json::from_str(&t.run(&["history", "--json"]).stdout).unwrap();
    assert_eq!(
        history.as_array().unwrap().len(),
        1,
        "only the first execute is in the audit log"
    );
    // The lock was never taken: its document is as the first execute left it.
    assert_eq!(lock_document(), lock_before);
    // Once reconciled, the same command runs.
    reconcile(&t);
    t.run(&["execute", "--require-no-drift"])
        .success()
        .stdout_has("applied 0005_more");
    assert_eq!(t.docs("items").len(), 1);
}

/// The scratch database is dropped when a signal stops the replay, and the exit code is the
/// signal's.
#[test]
fn a_signal_during_the_replay_drops_the_scratch_database() {
    for (sig, code, name) in [
        (libc::SIGINT, 130, "SIGINT"),
        (libc::SIGTERM, 143, "SIGTERM"),
    ] {
        let t = migrated();
        let migo = t.spawn(&["drift"], &[("MIGO_TEST_STOP_AT", "replay:0002_events")]);
        wait_stopped(&migo);
        let scratch = scratch_of(&t, migo.id());
        assert_eq!(scratch.len(), 1, "the replay's scratch database exists");
        signal(migo.id(), sig);
        signal(migo.id(), libc::SIGCONT);
        let run = Run::from_output(&migo.wait_with_output().unwrap());
        run.code(code).stdout_is("").stderr_is(&format!(
            "{}migo: {name} received: stopping after the step in flight (again to stop at \
             once)\nerror: stopped by {name}; hint: run the command again to go on\n",
            replaying(&t, 4)
        ));
        assert!(scratch_left(&t).is_empty(), "{name} left {scratch:?}");
    }
}

#[test]
fn a_migration_that_fails_in_the_replay_drops_the_scratch_database() {
    let t = migrated();
    // The file of an applied migration, changed so that it fails on a fresh database.
    let t = t.migration(
        "0003_audit.json",
        r#"{"up": [{"collMod": "nowhere", "validationLevel": "off"}]}"#,
    );
    let run = t.run(&["drift"]);
    run.code(1).stdout_is("");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "warning: `0003_audit` changed since it was applied: its file as it is now is replayed",
            replaying(&t, 4).trim_end(),
        ]
    );
    assert!(
        lines[2].starts_with(
            "error: migration `0003_audit` failed when replayed on the scratch database `"
        ),
        "{}",
        run.stderr
    );
    assert!(lines[2].ends_with(
        "; hint: the scratch database was dropped; make `0003_audit` run on a database that has \
         only what the migrations before it make (`migo list` marks a file changed since it was \
         applied)"
    ));
    assert!(scratch_left(&t).is_empty());
}

#[test]
fn a_migration_whose_file_is_gone_cannot_be_replayed() {
    let t = migrated();
    std::fs::remove_file(t.path("mongomigrations/0002_events.json")).unwrap();
    t.run(&["drift"]).code(6).stdout_is("").stderr_is(
        "error: the file of migration `0002_events` is missing, so it cannot be run; hint: \
         restore the file from version control, or drop the record with `migo forget \
         0002_events`\n",
    );
    assert!(scratch_left(&t).is_empty());
}

#[test]
fn scripts_replay_against_the_scratch_database() {
    // A script migration that creates an index through its own driver, told the database in
    // MIGO_DATABASE: on the replay, the scratch database.
    let python = crate::tools::python();
    let script = format!(
        "#!/bin/sh\nset -e\n[ \"$1\" = up ] || exit 0\n\"{}\" -c 'import os, pymongo; \
         pymongo.MongoClient(os.environ[\"MIGO_URI\"])[os.environ[\"MIGO_DATABASE\"]].orders.create_index(\"due\")'\n",
        python.display()
    );
    let t = Test::new().script("0001_orders.sh", &script);
    t.run(&["execute"]).success();
    t.run(&["drift"]).success().stdout_is(&format!(
        "no drift: `{}` matches what its 1 applied migration(s) make\n",
        t.db_name
    ));
    command(&t, doc! {"dropIndexes": "orders", "index": "due_1"});
    t.run(&["drift"]).code(14).stdout_is(&format!(
        "`{}` differs from what its 1 applied migration(s) make (migrations → database):\n\
         missing index `due_1` on `orders`: {{\"key\":{{\"due\":1}}}}\n  \
         reconcile: {{\"createIndexes\":\"orders\",\"indexes\":[{{\"name\":\"due_1\",\"key\":{{\"due\":1}}}}]}}\n",
        t.db_name
    ));
}

#[test]
fn a_hostile_collection_name_is_escaped() {
    let t = migrated();
    command(&t, doc! {"create": "x\nerror: fake"});
    t.run(&["drift"]).code(14).stdout_is(&format!(
        "`{}` differs from what its 4 applied migration(s) make (migrations → database):\n\
         extra collection `x\\nerror: fake`\n  reconcile: {{\"drop\":\"x\\nerror: fake\"}}\n",
        t.db_name
    ));
}

#[test]
fn drift_on_a_fleet_gives_a_row_per_member() {
    // The seed document that makes each member show in `listDatabases` is the application's.
    let (t, members) = crate::fleet::fleet(3, "[drift]\nignore = [\"^seed$\"]\n");
    t.run(&["--fleet", "execute"]).success();
    crate::fleet::database(&t, &members[1])
        .run_command(doc! {"createIndexes": "items", "indexes": [{"key": {"x": 1}, "name": "x_1"}]})
        .run()
        .unwrap();
    let run = t.run(&["--fleet", "drift", "--jobs", "2"]);
    run.code(14);
    let m = &members;
    assert_eq!(
        crate::fleet::row(&run.stdout, &m[0])[..3],
        [m[0].as_str(), "ok", "0"]
    );
    let drifted = crate::fleet::row(&run.stdout, &m[1]);
    assert_eq!(drifted[..3], [m[1].as_str(), "drift", "1"]);
    assert_eq!(
        drifted[4],
        format!(
            "`{}` differs from what its 3 applied migration(s) make: 1 extra index",
            m[1]
        )
    );
    assert_eq!(
        crate::fleet::row(&run.stdout, &m[2])[..3],
        [m[2].as_str(), "ok", "0"]
    );
    // The drifted member's own report, its lines prefixed with its name.
    assert!(run.stdout.starts_with(&format!(
        "[{0}] `{0}` differs from what its 3 applied migration(s) make (migrations → database):\n\
         [{0}] extra index `x_1` on `items`: {{\"key\":{{\"x\":1}}}}\n\
         [{0}]   reconcile: {{\"dropIndexes\":\"items\",\"index\":\"x_1\"}}\n",
        m[1]
    )));
    assert!(run
        .stdout
        .contains("3 databases: 2 ok, 1 drift; 1 difference(s) in "));
    assert!(run.stderr.ends_with(&format!(
        "error: 1 of 3 databases differ from what their migrations make: {} (drift); hint: `migo \
         --database NAME drift` lists one database's differences, each with the command that \
         reconciles it\n",
        m[1]
    )));
    let json: serde_json::Value =
        serde_json::from_str(&t.run(&["--fleet", "drift", "--json"]).stdout).unwrap();
    assert_eq!(json["command"], "drift");
    assert_eq!(json["totals"]["drift"], 1);
    assert_eq!(
        json["databases"][1]["report"]["differences"][0]["kind"],
        "extra_index"
    );
}

#[test]
fn a_scratch_database_left_by_kill_9_is_dropped_by_the_next_replay() {
    let t = migrated();
    let mut migo = t.spawn(&["drift"], &[("MIGO_TEST_STOP_AT", "replay:0002_events")]);
    wait_stopped(&migo);
    let pid = migo.id();
    migo.kill().unwrap();
    migo.wait().unwrap();
    let left = scratch_of(&t, pid);
    assert_eq!(left.len(), 1, "kill -9 leaves the scratch database");
    t.run(&["drift"]).success().stderr_is(&format!(
        "{}warning: dropped the scratch database `{}` that a killed migo (pid {pid}) left\n",
        replaying(&t, 4),
        left[0],
    ));
    assert!(scratch_left(&t).is_empty());
}

/// A password with `/` and `@`: the replay's scripts get it (for the scratch database), and it
/// shows nowhere.
#[test]
fn a_password_with_a_slash_and_an_at_sign_replays_and_never_shows() {
    const PASSWORD: &str = "p/ss@word:1";
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new();
    let (_secured, host, port) = crate::auth::server_with_roles(
        storage.path(),
        PASSWORD,
        &[doc! {"role": "root", "db": "admin"}],
    );
    let python = crate::tools::python();
    let script = format!(
        "#!/bin/sh\nset -e\n[ \"$1\" = up ] || exit 0\necho \"connecting as $MIGO_URI\"\n\"{}\" -c \
         'import os, pymongo; \
         pymongo.MongoClient(os.environ[\"MIGO_URI\"])[os.environ[\"MIGO_DATABASE\"]].orders.create_index(\"due\")'\n",
        python.display()
    );
    let config = format!(
        "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\n\
         password_env = \"PW\"\ntimeout_secs = 5\n",
        t.db_name
    );
    let t = t
        .raw_config(&config)
        .env("PW", PASSWORD)
        .script("0001_orders.sh", &script)
        .migration("0002_users.json", USERS);
    t.run(&["execute"]).success().never_shows(PASSWORD);
    for args in [
        &["drift"][..],
        &["-vv", "drift", "--json"],
        &["snapshot", "--replay"],
    ] {
        let run = t.run(args);
        run.success()
            .never_shows(PASSWORD)
            .never_shows("p%2Fss%40word:1");
    }
    t.run(&["squash", "--to", "0002_users", "--drop", "all"])
        .success()
        .never_shows(PASSWORD);
    let checkpoint =
        std::fs::read_to_string(t.path("mongomigrations/0003_checkpoint.json")).unwrap();
    assert!(!checkpoint.contains("p/ss"));
}

#[test]
fn an_environment_sets_aside_its_own_collections() {
    let t = migrated().config("[environments.prod.drift]\nignore = [\"^jobs$\"]\n");
    command(&t, doc! {"create": "jobs"});
    t.run(&["drift"])
        .code(14)
        .stdout_has("extra collection `jobs`");
    t.run(&["--env", "prod", "drift"])
        .success()
        .stdout_is(&format!(
            "no drift: `{}` matches what its 4 applied migration(s) make; set aside by [drift] \
         ignore: jobs\n",
            t.db_name
        ));
}

/// A signal while a script migration runs on the scratch database: the script is stopped with
/// migo, and the scratch database still dropped.
#[test]
fn a_signal_while_a_script_replays_stops_it_and_drops_the_scratch_database() {
    let t = Test::new();
    let body = crate::processes::gated_script(t.dir(), "slow");
    let t = t
        .script("0001_slow.sh", &body)
        .migration("0002_users.json", USERS);
    std::fs::write(t.path("go"), "").unwrap();
    t.run(&["execute"]).success();
    std::fs::remove_file(t.path("go")).unwrap();
    std::fs::remove_file(t.path("slow.pid")).unwrap();
    let migo = t.spawn(&["drift"], &[]);
    let script = crate::processes::pid_in(&t.path("slow.pid"));
    assert_eq!(scratch_of(&t, migo.id()).len(), 1);
    signal(migo.id(), libc::SIGINT);
    let run = Run::from_output(&migo.wait_with_output().unwrap());
    run.code(130);
    assert!(
        run.stderr
            .ends_with("error: stopped by SIGINT; hint: run the command again to go on\n"),
        "{}",
        run.stderr
    );
    assert!(!crate::processes::alive(script), "the script outlived migo");
    assert!(scratch_left(&t).is_empty());
}

/// The roles a replay needs: making and dropping databases. Without the right to manage users
/// it still works (no migration could have made one); without the right to make a database, one
/// error says which roles to give.
#[test]
fn a_replay_needs_the_right_to_make_a_database_and_says_so() {
    for (roles, allowed) in [
        (
            vec![
                doc! {"role": "readWriteAnyDatabase", "db": "admin"},
                doc! {"role": "dbAdminAnyDatabase", "db": "admin"},
            ],
            true,
        ),
        (vec![], false),
    ] {
        let storage = tempfile::tempdir().unwrap();
        let t = Test::new();
        let mut roles = roles;
        roles.push(doc! {"role": "readWrite", "db": &t.db_name});
        let (_secured, host, port) = crate::auth::server_with_roles(storage.path(), "pw", &roles);
        let config = format!(
            "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\n\
             password_env = \"PW\"\ntimeout_secs = 5\n",
            t.db_name
        );
        let t = t
            .raw_config(&config)
            .env("PW", "pw")
            .migration("0001_users.json", USERS);
        t.run(&["execute"]).success();
        let run = t.run(&["drift"]);
        if allowed {
            run.success().stdout_has("no drift: ");
            continue;
        }
        run.code(5).stdout_is("");
        let error = run.stderr.lines().last().unwrap();
        assert!(
            error.starts_with("error: the user may not create or drop the scratch database `"),
            "{}",
            run.stderr
        );
        assert!(error.ends_with(
            "; hint: migo replays migrations on a scratch database beside yours: give the user \
             the roles `readWriteAnyDatabase` and `dbAdminAnyDatabase` (or roles on databases \
             named `<database>_migo_*`)"
        ));
    }
}
