//! `migo preflight` against seeded data, and `execute`'s checks under the lock: counts equal to
//! `countDocuments` where exact is claimed (an estimate labelled as one), every seeded duplicate
//! group and non-conforming document found, index clashes, a doomed unique index refused before
//! any write (exit 16, registry, data and dump directory unchanged) unless `--force`, checks not
//! enforced after a step that changes the data, round trips per step, and a fleet.

use mongodb::bson::{doc, Bson, Document};
use serde_json::Value;

use crate::test::{Run, Test, LOCK_ID};

/// `n` documents `{_id: i, n: i, team: i % 7}`, with an index on `n`.
fn seed_users(t: &Test, n: i32) {
    let users = t.db().collection::<Document>("users");
    let docs: Vec<Document> = (0..n)
        .map(|i| doc! {"_id": i, "n": i, "team": i % 7, "email": format!("u{i}@example.com")})
        .collect();
    users.insert_many(docs).run().unwrap();
    t.db()
        .run_command(doc! {"createIndexes": "users", "indexes": [{"key": {"n": 1}, "name": "n_1"}]})
        .run()
        .unwrap();
}

fn count(t: &Test, collection: &str, filter: Document) -> u64 {
    t.db()
        .collection::<Document>(collection)
        .count_documents(filter)
        .run()
        .unwrap()
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

const STEPS: &str = r#"{"description": "updates and deletes over users",
  "up": [
    {"update": "users", "updates": [{"q": {"n": {"$gte": 2500}}, "u": {"$set": {"late": true}}, "multi": true}]},
    {"update": "users", "updates": [{"q": {"team": 3}, "u": {"$set": {"three": true}}, "multi": true}]},
    {"update": "users", "updates": [{"q": {}, "u": {"$set": {"seen": true}}, "multi": true}]},
    {"delete": "users", "deletes": [{"q": {"n": {"$lt": 100}}, "limit": 0}]}
  ],
  "down": []}"#;

#[test]
fn counts_are_exact_where_they_say_so_and_estimates_say_so() {
    let t = Test::new().migration("0001_steps.json", STEPS);
    seed_users(&t, 3000);
    let run = t.run(&["preflight"]);
    run.success().stderr_is("").stdout_is(&format!(
        "0001_steps
  up[0]  info: update of `users` where {{\"n\":{{\"$gte\":2500}}}}: 500 documents (exact: index `n_1`)
  up[1]  info: update of `users` where {{\"team\":3}}: 429 documents (exact: no index serves the filter, 3000 documents scanned)
  up[2]  info: update of `users` where {{}}: 3000 documents (exact: the collection's count)
  up[3]  info: delete of `users` where {{\"n\":{{\"$lt\":100}}}}: 100 documents (exact: index `n_1`)
preflight: nothing fails in 1 pending migration ({})
",
        t.target()
    ));
    let filters = [
        doc! {"n": {"$gte": 2500}},
        doc! {"team": 3},
        doc! {},
        doc! {"n": {"$lt": 100}},
    ];
    let doc = json(t.run(&["preflight", "--json"]).success());
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ok", "target", "pending", "checks", "opaque"]);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 4);
    let keys: Vec<&String> = checks[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "migration",
            "at",
            "check",
            "collection",
            "outcome",
            "detail",
            "documents",
            "exact",
            "samples",
            "after"
        ]
    );
    for (check, filter) in checks.iter().zip(filters) {
        assert_eq!(check["exact"], true);
        assert_eq!(
            check["documents"].as_u64(),
            Some(count(&t, "users", filter))
        );
    }
    // Above the scan limit and without an index: an estimate, labelled so.
    let run = t.run_with(
        &["preflight", "--json"],
        &[("MIGO_TEST_PREFLIGHT_SCAN_LIMIT", "1000")],
    );
    let doc = json(run.success());
    let team = &doc["checks"][1];
    assert_eq!(team["exact"], false);
    let estimate = team["documents"].as_u64().unwrap();
    assert!((300..=560).contains(&estimate), "{team}");
    let detail = team["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "update of `users` where {{\"team\":3}}: ~{estimate} documents (estimate: "
        )),
        "{detail}"
    );
    assert!(
        detail.ends_with(" of 1000 sampled of 3000; no index serves the filter)"),
        "{detail}"
    );
    // The indexed ones stay exact.
    assert_eq!(doc["checks"][0]["exact"], true);
}

/// `users` with four duplicate groups among 400 documents: `a` ×3, `b` ×2, `c` ×4, and three
/// without an email (two missing it, one `null`), which a unique index counts as one key.
fn seed_duplicates(t: &Test) {
    let mut docs: Vec<Document> = (0..388)
        .map(|i| doc! {"_id": i, "email": format!("u{i}@example.com")})
        .collect();
    for (i, email) in [
        "a@x", "a@x", "a@x", "b@x", "b@x", "c@x", "c@x", "c@x", "c@x",
    ]
    .iter()
    .enumerate()
    {
        docs.push(doc! {"_id": 1000 + i as i32, "email": *email});
    }
    docs.push(doc! {"_id": 2000});
    docs.push(doc! {"_id": 2001});
    docs.push(doc! {"_id": 2002, "email": Bson::Null});
    t.db()
        .collection::<Document>("users")
        .insert_many(docs)
        .run()
        .unwrap();
}

const UNIQUE_EMAIL: &str = r#"{"description": "users are looked up by email",
  "up": [{"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]}],
  "down": [{"dropIndexes": "users", "index": "email_1"}]}"#;

#[test]
fn every_seeded_duplicate_group_is_found() {
    let t = Test::new().migration("0001_unique_email.json", UNIQUE_EMAIL);
    seed_duplicates(&t);
    let run = t.run(&["preflight"]);
    run.code(16).stdout_is(&format!(
        "0001_unique_email
  up[0]  info: index `email_1` on `users`, which holds 400 documents ({})
  up[0]  FAIL: unique index `email_1` on `users`: 4 duplicate key(s) over 12 documents: {{\"email\":\"c@x\"}} ×4, {{\"email\":null}} ×3, {{\"email\":\"a@x\"}} ×3 and 1 more
preflight: 1 failed in 1 pending migration ({})
",
        size_of(&t, "users"),
        t.target()
    ))
    .stderr_is("error: preflight: `0001_unique_email` would fail: unique index `email_1` on `users`: 4 duplicate key(s) over 12 documents: {\"email\":\"c@x\"} ×4, {\"email\":null} ×3, {\"email\":\"a@x\"} ×3 and 1 more; hint: remove or merge the duplicates first (an earlier migration), then run it again; `migo execute --force` would run it anyway\n");
    let doc = json(&t.run(&["preflight", "--json"]));
    let check = &doc["checks"][1];
    assert_eq!(check["check"], "duplicates");
    assert_eq!(check["outcome"], "fail");
    assert_eq!(check["documents"], 12);
    assert_eq!(
        check["samples"],
        serde_json::json!([
            {"key": {"email": "c@x"}, "documents": 4},
            {"key": {"email": null}, "documents": 3},
            {"key": {"email": "a@x"}, "documents": 3},
        ])
    );
    assert_eq!(doc["ok"], false);
    // Nothing was written: no lock, no record, no index.
    assert!(t.lock().is_none());
    assert!(t.records().is_empty());
    assert_eq!(
        t.db()
            .collection::<Document>("users")
            .list_index_names()
            .run()
            .unwrap(),
        ["_id_"]
    );
}

/// `users`' data size as preflight shows it.
fn size_of(t: &Test, collection: &str) -> String {
    let stats = t
        .db()
        .run_command(doc! {"collStats": collection})
        .run()
        .unwrap();
    let size = match stats.get("size") {
        Some(Bson::Int32(n)) => *n as f64,
        Some(Bson::Int64(n)) => *n as f64,
        Some(Bson::Double(n)) => *n,
        _ => 0.0,
    };
    if size < 1000.0 {
        format!("{size} B")
    } else {
        format!("{:.1} kB", size / 1000.0)
    }
}

#[test]
fn every_document_a_new_validator_rejects_is_counted() {
    let orders = |t: &Test| {
        let docs: Vec<Document> = (0..500)
            .map(|i| match i % 70 {
                10 => doc! {"_id": i, "total": i},
                _ => doc! {"_id": i, "total": i, "currency": "EUR"},
            })
            .collect();
        t.db()
            .collection::<Document>("orders")
            .insert_many(docs)
            .run()
            .unwrap();
    };
    let strict = r#"{"up": [{"collMod": "orders", "validator": {"$jsonSchema": {"required": ["currency"]}}}], "down": [{"collMod": "orders", "validator": {}}]}"#;
    let t = Test::new().migration("0001_strict.json", strict);
    orders(&t);
    let expected = (0..500).filter(|i| i % 70 == 10).count() as u64;
    assert_eq!(expected, 7);
    let run = t.run(&["preflight"]);
    run.code(16).stdout_is(&format!(
        "0001_strict
  up[0]  FAIL: validator on `orders`: 7 documents fail it (_id 10, 80, 150, …); at strict/error level, every write to them will be rejected
preflight: 1 failed in 1 pending migration ({})
",
        t.target()
    ));
    let doc = json(&t.run(&["preflight", "--json"]));
    assert_eq!(doc["checks"][0]["documents"], expected);
    assert_eq!(
        doc["checks"][0]["samples"],
        serde_json::json!([10, 80, 150])
    );
    // At action "warn", writes go on: reported, not failed.
    let warn = r#"{"up": [{"collMod": "orders", "validator": {"$jsonSchema": {"required": ["currency"]}}, "validationAction": "warn"}], "down": [{"collMod": "orders", "validator": {}}]}"#;
    let t = Test::new().migration("0001_warn.json", warn);
    orders(&t);
    let run = t.run(&["preflight"]);
    run.success();
    assert!(
        run.stdout.contains("  up[0]  info: validator on `orders`: 7 documents fail it (_id 10, 80, 150, …); not strict, so writes to them go on\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_index_that_clashes_with_an_existing_one_fails_before_the_deploy() {
    // huggingface/dataset-viewer #3009: an unnamed index whose generated name is taken.
    let jobs = |t: &Test| {
        t.db()
            .run_command(doc! {"createIndexes": "jobs", "indexes": [
                {"key": {"job_type": 1, "status": 1}, "name": "job_type_1_status_1", "unique": true}
            ]})
            .run()
            .unwrap();
        t.db()
            .collection::<Document>("jobs")
            .insert_one(doc! {"job_type": "a", "status": "done"})
            .run()
            .unwrap();
    };
    let t = Test::new().migration(
        "0001_jobs.py",
        "def up(db):\n    db[\"jobs\"].create_index([(\"job_type\", 1), (\"status\", 1)])\n\n\ndef down(db):\n    pass\n",
    );
    jobs(&t);
    let run = t.run(&["preflight"]);
    run.code(16);
    assert_eq!(
        run.stdout.lines().nth(1).unwrap(),
        "  line 2  FAIL: index `job_type_1_status_1` on `jobs`: an index of that name exists with another key or other options, {\"key\":{\"job_type\":1,\"status\":1},\"name\":\"job_type_1_status_1\",\"unique\":true} (IndexOptionsConflict)"
    );
    // The same index, identical: the build does nothing, nothing fails.
    let t = Test::new().migration(
        "0001_jobs.json",
        r#"{"up": [{"createIndexes": "jobs", "indexes": [{"key": {"job_type": 1, "status": 1}, "name": "job_type_1_status_1", "unique": true}]}], "down": []}"#,
    );
    jobs(&t);
    let run = t.run(&["preflight"]);
    run.success();
    assert!(run.stdout.contains("  up[0]  pass: index `job_type_1_status_1` on `jobs`: `job_type_1_status_1` exists already, identical (the build does nothing)\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "  up[0]  pass: unique index `job_type_1_status_1` on `jobs`: no duplicate keys\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn execute_refuses_a_doomed_unique_index_before_any_write() {
    let t = Test::new()
        .config("[dump]\nenabled = true\ndirectory = \"dumps\"\n")
        .migration("0001_a.json", &crate::insert("a"))
        .migration("0002_unique_email.json", UNIQUE_EMAIL);
    seed_duplicates(&t);
    let before = t.snapshot();
    let run = t.run(&["execute"]);
    run.code(16).stdout_is("").stderr_is(&format!(
        "{}\nerror: preflight: `0002_unique_email` would fail: unique index `email_1` on `users`: 4 duplicate key(s) over 12 documents: {{\"email\":\"c@x\"}} ×4, {{\"email\":null}} ×3, {{\"email\":\"a@x\"}} ×3 and 1 more; nothing was written; hint: remove or merge the duplicates first (an earlier migration), then run it again; `migo execute --force` runs it anyway (recorded in the audit log)\n",
        t.target()
    ));
    // No record, no data (0001 did not run either), no dump, the lock released.
    assert!(t.records().is_empty());
    assert_eq!(
        t.snapshot_without(&["migrations", "migrations_audit"]),
        before
    );
    assert!(!t.path("dumps").exists());
    assert!(t.lock().is_none());
    let audit = t.docs("migrations_audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].get_str("result").unwrap(), "failed");
    assert!(audit[0]
        .get_str("error")
        .unwrap()
        .starts_with("preflight: `0002_unique_email` would fail"));
    assert_eq!(
        t.run(&["execute", "--json"])
            .code(16)
            .stdout
            .lines()
            .count(),
        1
    );

    // `--force` runs it anyway: the server then refuses the index, as preflight said.
    let run = t.run(&["execute", "--force"]);
    run.code(1);
    assert!(run.stderr.contains("warning: preflight: `0002_unique_email` would fail: unique index `email_1` on `users`: 4 duplicate key(s) over 12 documents"), "{}", run.stderr);
    assert!(
        run.stderr.contains("; running it anyway (--force)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(
        t.statuses(),
        [
            ("0001_a".to_string(), "applied".to_string()),
            ("0002_unique_email".to_string(), "failed".to_string())
        ]
    );
    let audit = t.docs("migrations_audit");
    let forced = audit
        .iter()
        .find(|a| a.get_document("details").is_ok())
        .expect("the forced run");
    let details = forced.get_document("details").unwrap();
    assert_eq!(details.get_bool("force"), Ok(true));
    let failed = details.get_array("preflight_failed").unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].as_document().unwrap().get_str("migration"),
        Ok("0002_unique_email")
    );
    assert!(t.path("dumps").exists(), "the forced run dumped first");
}

#[test]
fn a_release_that_removes_the_duplicates_first_is_not_refused() {
    let t = Test::new()
        .migration(
            "0001_dedupe.json",
            r#"{"up": [{"delete": "users", "deletes": [{"q": {"_id": {"$gte": 1000}}, "limit": 0}]}], "down": []}"#,
        )
        .migration("0002_unique_email.json", UNIQUE_EMAIL);
    seed_duplicates(&t);
    let run = t.run(&["preflight"]);
    run.success();
    assert!(
        run.stdout.contains("  up[0]  warn: unique index `email_1` on `users`: 4 duplicate key(s) over 12 documents: {\"email\":\"c@x\"} ×4, {\"email\":null} ×3, {\"email\":\"a@x\"} ×3 and 1 more; not enforced: `0001_dedupe` changes `users` before\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(&format!(
            "preflight: 1 not enforced in 2 pending migrations ({})\n",
            t.target()
        )),
        "{}",
        run.stdout
    );
    t.run(&["execute"]).success();
    assert_eq!(t.statuses().len(), 2);
    assert_eq!(count(&t, "users", doc! {}), 388);
}

#[test]
fn a_script_is_checked_from_its_text() {
    // Rocket.Chat #27064: `{ bio: 1 }` unique over users without a bio.
    let t = Test::new().migration(
        "0001_bio.js",
        "function up() {\n  db.users.createIndex({ bio: 1 }, { unique: 1 });\n}\nfunction down() {\n  db.users.dropIndex('bio_1');\n}\n",
    );
    let users: Vec<Document> = (0..50)
        .map(|i| match i {
            0..=2 => doc! {"_id": i, "bio": format!("bio {i}")},
            _ => doc! {"_id": i},
        })
        .collect();
    t.db()
        .collection::<Document>("users")
        .insert_many(users)
        .run()
        .unwrap();
    let run = t.run(&["preflight"]);
    run.code(16);
    assert_eq!(
        run.stdout.lines().nth(2).unwrap(),
        "  line 2  FAIL: unique index `bio_1` on `users`: 1 duplicate key(s) over 47 documents: {\"bio\":null} ×47"
    );
}

#[test]
fn preflight_reads_only() {
    let t = Test::new()
        .migration("0001_unique_email.json", UNIQUE_EMAIL)
        .migration("0002_steps.json", STEPS);
    seed_duplicates(&t);
    let before = t.snapshot();
    t.run(&["preflight"]).code(16);
    t.run(&["preflight", "0002_steps"]).success();
    assert_eq!(t.snapshot(), before);
    assert!(t
        .db()
        .collection::<Document>("migrations")
        .find_one(doc! {"_id": LOCK_ID})
        .run()
        .unwrap()
        .is_none());
    // Nothing pending.
    let t = Test::new();
    t.run(&["preflight"])
        .success()
        .stdout_is(&format!("preflight: nothing pending ({})\n", t.target()));
}

fn commands_sent(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter(|l| l.contains("migo::wire"))
        .count()
}

#[test]
fn round_trips_per_pending_step() {
    let steps = |n: usize| {
        let mut t = Test::new();
        for i in 1..=n {
            t = t.migration(
                &format!("{i:04}_step.json"),
                &format!(r#"{{"up": [{{"update": "users", "updates": [{{"q": {{"n": {i}}}, "u": {{"$set": {{"x": 1}}}}}}]}}], "down": []}}"#),
            );
        }
        seed_users(&t, 100);
        let run = t.env("MIGO_LOG", "migo::wire=trace").run(&["preflight"]);
        run.success();
        commands_sent(&run)
    };
    let (one, five) = (steps(1), steps(5));
    // The registry read and `listCollections` once; per step, an `explain` and a count.
    assert_eq!(one, 4, "one step");
    assert_eq!(five - one, 4 * 2, "per step");

    // `execute`: no command for steps that build no index and set no validator; three for a
    // unique index (`listCollections`, `listIndexes`, the duplicates' `$group`).
    let execute = |extra: Option<&str>| {
        let mut t = Test::new().migration("0001_a.json", &crate::insert("a"));
        if let Some(body) = extra {
            t = t.migration("0002_index.json", body);
        }
        t.db()
            .collection::<Document>("users")
            .insert_one(doc! {"email": "x"})
            .run()
            .unwrap();
        let run = t.env("MIGO_LOG", "migo::wire=trace").run(&["execute"]);
        run.success();
        commands_sent(&run)
    };
    let plain = execute(None);
    let index = r#"{"up": [{"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]}], "down": []}"#;
    let with_index = execute(Some(index));
    // The index step itself: its command and two registry writes.
    assert_eq!(with_index - plain, 3 + 3);
}

#[test]
fn a_fleet_shows_a_row_per_database_that_fails() {
    let (t, m) = crate::fleet::fleet(3, "");
    let t = t.migration("0004_unique_email.json", UNIQUE_EMAIL);
    for (name, dup) in [(&m[0], false), (&m[1], true), (&m[2], false)] {
        let users = t
            .server
            .client()
            .database(name)
            .collection::<Document>("users");
        let mut docs = vec![doc! {"email": "a@x"}, doc! {"email": "b@x"}];
        if dup {
            docs.push(doc! {"email": "a@x"});
        }
        users.insert_many(docs).run().unwrap();
    }
    let run = t.run(&["--fleet", "preflight"]);
    let width = m[1].len().max("DATABASE".len());
    run.code(16).stdout_is(&format!(
        "{:<width$}  MIGRATION          FAILS
{}  0004_unique_email  unique index `email_1` on `users`: 1 duplicate key(s) over 2 documents: {{\"email\":\"a@x\"}} ×2
preflight: 3 databases: 2 pass, 1 fail
",
        "DATABASE", m[1]
    ));
    assert!(
        run.stderr.ends_with(&format!(
            "error: preflight: 1 of 3 databases would fail: {}; hint: the table names each database's migration and what fails it; `migo --database NAME preflight` shows every check of one database\n",
            m[1]
        )),
        "{}",
        run.stderr
    );
    let doc = json(&t.run(&["--fleet", "preflight", "--json"]));
    assert_eq!(
        doc["totals"],
        serde_json::json!({"databases": 3, "ok": 2, "failed": 1})
    );
    assert_eq!(doc["databases"][1]["failures"][0]["documents"], 2);
    // Nothing was written on any member.
    for name in &m {
        assert!(crate::fleet::statuses(&t, name).is_empty());
    }
    // A member's execute refuses; the others run.
    t.run(&["--fleet", "execute"]).code(16);
    assert_eq!(crate::fleet::statuses(&t, &m[0]).len(), 4);
    assert!(crate::fleet::statuses(&t, &m[1]).is_empty());
}

#[test]
fn a_signal_after_the_checks_stops_before_any_write() {
    use crate::processes::{signal, wait_stopped};
    let t = Test::new()
        .migration("0001_unique_email.json", UNIQUE_EMAIL)
        .migration("0002_a.json", &crate::insert("a"));
    t.db()
        .collection::<Document>("users")
        .insert_one(doc! {"email": "a@x"})
        .run()
        .unwrap();
    let before = t.snapshot();
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "after-preflight")]);
    wait_stopped(&migo);
    assert!(t.lock().is_some(), "the checks run under the lock");
    signal(migo.id(), libc::SIGTERM);
    signal(migo.id(), libc::SIGCONT);
    let output = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.ends_with("error: stopped by SIGTERM; hint: run the command again to go on\n"),
        "{stderr}"
    );
    assert!(t.records().is_empty());
    assert!(t.lock().is_none());
    assert_eq!(
        t.snapshot_without(&["migrations", "migrations_audit"]),
        before
    );
}

#[test]
fn hostile_names_and_values_are_shown_escaped() {
    let t = Test::new().migration(
        "0001_odd.json",
        r#"{"up": [{"createIndexes": "we\u001b[31mird", "indexes": [{"key": {"k": 1}, "name": "k\n1", "unique": true}]}], "down": []}"#,
    );
    let odd = t.db().collection::<Document>("we\u{1b}[31mird");
    odd.insert_many([doc! {"k": "x\ny"}, doc! {"k": "x\ny"}])
        .run()
        .unwrap();
    let run = t.run(&["preflight"]);
    run.code(16);
    assert!(
        run.stdout.lines().all(|l| !l.contains('\u{1b}')),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("FAIL: unique index `k\\n1` on `we\\u{1b}[31mird`: 1 duplicate key(s) over 2 documents: {\"k\":\"x\\ny\"} ×2\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}
