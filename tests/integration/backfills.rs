//! Backfills as their users run them: a `.json` declaration over a collection of thousands of
//! documents, applied in `_id`-range batches with a checkpoint after each; killed and rerun at
//! random batches, stopped by a signal, paused from another shell, throttled, phased, rolled back
//! the same batched way; bad declarations refused before anything runs.

use mongodb::bson::{doc, Bson, Document};

use crate::processes::{signal, wait_stopped, wait_until};
use crate::server::Server;
use crate::test::{Run, Test};

/// `n` users `{_id: i, n: i, hits: 0}`.
fn users(t: &Test, n: i32) {
    let docs: Vec<Document> = (0..n).map(|i| doc! {"_id": i, "n": i, "hits": 0}).collect();
    t.db()
        .collection::<Document>("users")
        .insert_many(docs)
        .run()
        .unwrap();
}

/// A backfill that gives every user without a status one, counting each update in `hits`.
fn status_backfill(batch_size: u32, extra: &str) -> String {
    format!(
        r#"{{"description": "every user gets a status",
  "backfill": {{"collection": "users", "filter": {{"status": {{"$exists": false}}}},
               "update": {{"$set": {{"status": "active"}}, "$inc": {{"hits": 1}}}},
               "batch_size": {batch_size}{extra}}},
  "down": {{"backfill": {{"collection": "users", "filter": {{"status": "active"}},
                        "update": {{"$unset": {{"status": ""}}}}, "batch_size": {batch_size}}}}}}}"#
    )
}

/// How many users have each `hits` count, and how many have a status.
fn tally(t: &Test) -> (Vec<(i32, i32)>, usize) {
    let mut by_hits = std::collections::BTreeMap::new();
    let docs = t.docs("users");
    for d in &docs {
        *by_hits.entry(d.get_i32("hits").unwrap()).or_insert(0) += 1;
    }
    let with_status = docs.iter().filter(|d| d.get_str("status").is_ok()).count();
    (by_hits.into_iter().collect(), with_status)
}

/// The one registry record's backfill checkpoint.
fn checkpoint(t: &Test) -> Document {
    t.records()[0].get_document("backfill").unwrap().clone()
}

fn int(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        other => panic!("{key}: {other:?}"),
    }
}

/// Durations (`882ms`, `1.2s`) and rates blanked, so that output compares exactly.
fn masked(text: &str) -> String {
    let durations = regex::Regex::new(r"\d+(\.\d+)?(ms|s)\b").unwrap();
    let rates = regex::Regex::new(r"[\d,]+ documents/s").unwrap();
    let text = durations.replace_all(text, "<t>");
    rates.replace_all(&text, "<r> documents/s").into_owned()
}

#[test]
fn a_backfill_updates_every_document_in_batches_and_records_its_progress() {
    let t = Test::new().migration("0001_status.json", &status_backfill(300, ""));
    users(&t, 2000);
    let run = t.run(&["execute"]);
    run.success();
    assert_eq!(
        masked(&run.stdout),
        "applied 0001_status (<t>)\n1 migration(s) applied in <t>\n"
    );
    assert_eq!(
        tally(&t),
        (vec![(1, 2000)], 2000),
        "every user updated once"
    );
    let c = checkpoint(&t);
    assert_eq!((int(&c, "done"), int(&c, "batches")), (2000, 7));
    assert_eq!(c.get("last_id"), Some(&Bson::Int32(1999)));
    assert_eq!(t.statuses(), [("0001_status".into(), "applied".into())]);
    t.run(&["list"])
        .success()
        .stdout_has("0001_status  applied");
    // A finished backfill keeps its checkpoint, but `version` lists only unfinished walks, also
    // once its file is gone.
    let version = t.run(&["version"]);
    assert_eq!(
        version.success().stdout.lines().count(),
        2,
        "{}",
        version.stdout
    );
    let file = t.path("mongomigrations/0001_status.json");
    let kept = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let version = t.run(&["version"]);
    assert_eq!(
        version.success().stdout.lines().count(),
        2,
        "{}",
        version.stdout
    );
    std::fs::write(&file, kept).unwrap();
    // Rolled back the same batched way.
    t.run(&["rollback", "0001_status"]).success();
    assert_eq!(tally(&t), (vec![(1, 2000)], 0));
    assert!(t.records().is_empty());
}

#[test]
fn dry_run_shows_what_the_filter_matches_now_and_the_batches() {
    let t = Test::new().migration("0001_status.json", &status_backfill(300, ""));
    users(&t, 1000);
    t.run(&["execute", "--dry-run"]).success().stdout_is(
        "would apply 0001_status (0001_status.json)\n    \
         backfill `users` in batches of 300 (each over an `_id` range), each: \
         {\"q\":{\"status\":{\"$exists\":false}},\"u\":{\"$set\":{\"status\":\"active\"},\"$inc\":{\"hits\":1}},\"multi\":true}\n    \
         now: the filter matches at most 1,000 document(s): at most 4 batch(es) of 300 \
         (the collection's size: no index serves the filter, and counting would scan it)\n\
         dry run: 1 step(s), nothing was changed\n",
    );
    assert!(t.records().is_empty());
    assert_eq!(tally(&t), (vec![(0, 1000)], 0));
    // With an index on the filter's field, the count is exact.
    t.db()
        .run_command(doc! {"createIndexes": "users", "indexes": [{"key": {"status": 1}, "name": "status_1"}]})
        .run()
        .unwrap();
    t.run(&["execute", "--dry-run"])
        .success()
        .stdout_has("    now: the filter matches 1,000 document(s): 4 batch(es) of 300\n");
}

/// Kills migo (SIGKILL) at `point`, after it froze there; it waits for a killed run's lease.
fn kill_at(t: &Test, point: &str, vars: &[(&str, &str)]) {
    let mut all = vec![("MIGO_TEST_STOP_AT", point)];
    all.extend_from_slice(vars);
    let mut migo = t.spawn(&["execute", "--wait", "30"], &all);
    let mut ended = None;
    wait_until(&format!("migo stopped itself at {point}"), || {
        ended = migo.try_wait().unwrap();
        ended.is_some() || crate::processes::state(migo.id()) == Some('T')
    });
    if ended.is_some() {
        let out = migo.wait_with_output().unwrap();
        panic!(
            "migo ended before {point}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    migo.kill().unwrap();
    migo.wait().unwrap();
}

/// The batches the record says are done.
fn batches_done(t: &Test) -> i64 {
    t.records()
        .first()
        .and_then(|r| r.get_document("backfill").ok().map(|c| int(c, "batches")))
        .unwrap_or(0)
}

/// Kill points still ahead of a run that has `done` batches of `batches`, drawn from a small
/// deterministic generator: before a batch, after a batch's update (before its checkpoint), or
/// as the step starts.
fn next_point(x: &mut u64, done: i64, batches: i64) -> Option<String> {
    *x = x
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let batch = done + 1 + i64::try_from((*x >> 33) % 3).unwrap_or(0);
    if batch > batches {
        return None;
    }
    Some(match (*x >> 20) % 3 {
        0 => format!("backfill-batch:{batch}"),
        1 => format!("backfill-updated:{batch}"),
        _ => "in-step:0001_status".to_string(),
    })
}

fn killed_and_rerun_until_done(transaction: bool) {
    let extra = if transaction {
        r#", "transaction": true"#
    } else {
        ""
    };
    let t = Test::new().migration("0001_status.json", &status_backfill(200, extra));
    users(&t, 2000);
    let lease = [("MIGO_TEST_LEASE_MS", "300")];
    let mut seed = if transaction { 7 } else { 3 };
    let mut kills = 0;
    while let Some(point) = next_point(&mut seed, batches_done(&t), 10) {
        let done_before = t
            .records()
            .first()
            .and_then(|r| r.get_document("backfill").ok().map(|c| int(c, "done")))
            .unwrap_or(0);
        kill_at(&t, &point, &lease);
        kills += 1;
        // Whatever the kill, no document was updated twice, and the record says no more than
        // what was done.
        let (hits, updated) = tally(&t);
        assert!(
            hits.iter().all(|(h, _)| *h <= 1),
            "{point}: a document updated twice: {hits:?}"
        );
        if let Some(c) = t
            .records()
            .first()
            .and_then(|r| r.get_document("backfill").ok())
        {
            assert!(
                int(c, "done") <= updated as i64,
                "{point}: the checkpoint says more than was done"
            );
            assert!(int(c, "done") >= done_before, "{point}: progress went back");
        }
    }
    assert!(kills >= 4, "only {kills} kills");
    // The rerun waits out the killed run's lease, takes the lock over and resumes.
    t.run_with(&["execute", "--wait", "30"], &lease).success();
    assert_eq!(
        tally(&t),
        (vec![(1, 2000)], 2000),
        "every user updated exactly once"
    );
    // A transactional batch commits with its checkpoint, so the count is exact; otherwise a
    // batch killed between its update and its checkpoint is not counted (its documents no
    // longer match the filter, so they are not updated again either).
    let done = int(&checkpoint(&t), "done");
    match transaction {
        true => assert_eq!(done, 2000),
        false => assert!(done <= 2000 && done > 0, "{done}"),
    }
    assert!(
        checkpoint(&t).get("session").is_none(),
        "a finished backfill keeps no session"
    );
    assert_eq!(t.statuses(), [("0001_status".into(), "applied".into())]);
    // The same as a run that was never stopped.
    let calm = Test::new().migration("0001_status.json", &status_backfill(200, extra));
    users(&calm, 2000);
    calm.run(&["execute"]).success();
    assert!(
        t.docs("users") == calm.docs("users"),
        "the users differ from a calm run's"
    );
}

#[test]
fn kill_9_at_random_batches_then_rerun_updates_every_document_exactly_once() {
    killed_and_rerun_until_done(false);
}

#[test]
fn kill_9_with_transactional_batches_updates_every_document_exactly_once() {
    killed_and_rerun_until_done(true);
}

#[test]
fn a_signal_mid_backfill_records_its_checkpoint_and_execute_resumes_it_saying_so() {
    let t = Test::new().migration("0001_status.json", &status_backfill(250, ""));
    users(&t, 2000);
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "backfill-batch:4")]);
    wait_stopped(&migo);
    signal(migo.id(), libc::SIGTERM);
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    Run::from_output(&out).code(143).stderr_has(
        "\nerror: stopped by SIGTERM during `0001_status`, after 1,000 of about 2,000; its \
         progress is recorded; hint: `migo execute` resumes it after its last recorded batch \
         (`migo list` shows how far it got)\n",
    );
    assert_eq!(t.statuses(), [("0001_status".into(), "interrupted".into())]);
    // The batch the signal came in finishes and is recorded; no batch starts after it.
    assert_eq!(int(&checkpoint(&t), "done"), 1000);
    assert!(t.lock().is_none());
    t.run(&["list"])
        .success()
        .stdout_has("0001_status  interrupted (backfill 1,000 of about 2,000)");
    let run = t.run(&["execute"]);
    run.success()
        .stderr_has("0001_status: resuming after _id 999, 1,000 of about 2,000 done\n");
    assert_eq!(tally(&t), (vec![(1, 2000)], 2000));
}

#[test]
fn pause_from_another_shell_stops_after_the_batch_and_execute_resumes() {
    let t = Test::new().migration("0001_status.json", &status_backfill(200, ""));
    users(&t, 1000);
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "backfill-batch:3")]);
    wait_stopped(&migo);
    t.run(&["pause", "0001_status"]).success().stdout_is(
        "asked `0001_status` to pause after its current batch; `migo execute` resumes it\n",
    );
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let run = Run::from_output(&out);
    run.code(15).stderr_has(
        "error: `0001_status` paused as asked, after 600 of about 1,000; hint: `migo execute` \
         resumes it after its last batch (`migo list` shows how far it got); `migo rollback \
         0001_status` undoes what it did\n",
    );
    assert_eq!(t.statuses(), [("0001_status".into(), "paused".into())]);
    assert!(t.lock().is_none(), "a paused backfill keeps no lock");
    assert_eq!(tally(&t).1, 600);
    t.run(&["list"])
        .success()
        .stdout_has("0001_status  paused (backfill 600 of about 1,000)");
    let version = t.run(&["version"]);
    version.success();
    assert_eq!(
        version.stdout.lines().nth(1),
        Some("0001_status: paused (backfill 600 of about 1,000)")
    );
    let json = t.run(&["version", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["backfills"][0]["name"], "0001_status");
    assert_eq!(doc["backfills"][0]["state"], "paused");
    assert_eq!(doc["backfills"][0]["backfill"]["done"], 600);
    // Nothing to pause now.
    t.run(&["pause", "0001_status"]).code(6).stderr_is(
        "error: cannot pause `0001_status`: it is not a backfill running now (it is paused); \
         hint: `pause` stops a running backfill after its batch; `migo list` shows what runs\n",
    );
    t.run(&["execute"])
        .success()
        .stderr_has("0001_status: resuming after _id 599, 600 of about 1,000 done\n");
    assert_eq!(tally(&t), (vec![(1, 1000)], 1000));
    assert_eq!(t.statuses(), [("0001_status".into(), "applied".into())]);
}

/// Runs `execute` in the background and returns once its stderr has shown `line`, with the
/// child and the stderr read so far.
fn waiting_for(t: &Test, vars: &[(&str, &str)], line: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut migo = t.spawn(&["execute"], vars);
    let stderr = migo.stderr.take().unwrap();
    let mut reader = std::io::BufReader::new(stderr);
    let mut seen = String::new();
    while !seen.contains(line) {
        let mut next = String::new();
        assert!(
            reader.read_line(&mut next).unwrap() > 0,
            "no {line:?} in {seen}"
        );
        seen.push_str(&next);
    }
    // Keep draining stderr so that the child never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    });
    (migo, seen)
}

#[test]
fn no_batch_starts_while_a_secondary_lags_or_pause_when_says_so() {
    let t = Test::new();
    let lag = t.path("lag");
    std::fs::write(&lag, "30").unwrap();
    let flag = t.path("busy");
    std::fs::write(&flag, "").unwrap();
    let extra = format!(
        r#", "max_lag_secs": 5, "pause_when": "test -e {}""#,
        flag.display()
    );
    let t = t.migration("0001_status.json", &status_backfill(200, &extra));
    users(&t, 400);
    let vars = [
        ("MIGO_TEST_LAG_FILE", lag.to_str().unwrap()),
        ("MIGO_TEST_PACE_POLL_MS", "20"),
    ];
    let (mut migo, _) = waiting_for(
        &t,
        &vars,
        "0001_status: waiting: a secondary is 30.0s behind the primary (max_lag 5.0s)\n",
    );
    assert_eq!(tally(&t).1, 0, "a batch ran while the secondary lagged");
    std::fs::write(&lag, "1").unwrap();
    wait_until("migo waits for pause_when", || {
        migo.try_wait().unwrap().is_none() && tally(&t).1 == 0
    });
    std::fs::remove_file(&flag).unwrap();
    wait_until("the backfill ends", || migo.try_wait().unwrap().is_some());
    assert!(migo.wait().unwrap().success());
    assert_eq!(tally(&t), (vec![(1, 400)], 400));
}

#[test]
fn pause_when_is_shown_while_it_holds_the_batches() {
    let t = Test::new();
    let flag = t.path("busy");
    std::fs::write(&flag, "").unwrap();
    let extra = format!(r#", "pause_when": "test -e {}""#, flag.display());
    let t = t.migration("0001_status.json", &status_backfill(200, &extra));
    users(&t, 400);
    let (migo, seen) = waiting_for(
        &t,
        &[("MIGO_TEST_PACE_POLL_MS", "20")],
        "waiting: `test -e ",
    );
    assert!(seen.contains(&format!(
        "0001_status: waiting: `test -e {}` exits 0 (pause_when)\n",
        flag.display()
    )));
    assert_eq!(tally(&t).1, 0);
    std::fs::remove_file(&flag).unwrap();
    let mut migo = migo;
    assert!(migo.wait().unwrap().success());
    assert_eq!(tally(&t), (vec![(1, 400)], 400));
}

#[test]
fn max_rate_and_target_batch_ms_pace_the_batches() {
    let t = Test::new().migration(
        "0001_status.json",
        &status_backfill(50, r#", "max_rate": 200, "target_batch_ms": 1"#),
    );
    users(&t, 300);
    let run = t.run(&["execute"]);
    run.success()
        .stderr_has("0001_status: waiting: max_rate 200 documents/s: waiting ");
    assert_eq!(tally(&t), (vec![(1, 300)], 300));
    // Batches far slower than 1 ms: each one halves the next, down to the smallest.
    let c = checkpoint(&t);
    assert!(int(&c, "batch_size") < 50, "{c:?}");
    assert!(int(&c, "batches") > 6, "{c:?}");
}

#[test]
fn a_filter_the_update_does_not_satisfy_stops_after_the_first_batch() {
    let never_done = r#"{"backfill": {"collection": "users", "filter": {"n": {"$gte": 0}},
        "update": {"$inc": {"hits": 1}}, "batch_size": 100}}"#;
    let t = Test::new().migration("0001_loop.json", never_done);
    users(&t, 500);
    t.run(&["execute"]).code(1).stderr_has(
        "error: migration `0001_loop` failed: after its update, 100 document(s) of the batch \
         before still match the backfill's filter on `users`: the backfill would never finish (or \
         update them again)",
    );
    assert_eq!(
        tally(&t).0,
        vec![(0, 400), (1, 100)],
        "only the first batch ran"
    );
    assert_eq!(t.statuses(), [("0001_loop".into(), "failed".into())]);
}

#[test]
fn bad_declarations_are_refused_before_anything_runs() {
    let cases = [
        (r#"{"backfill": {"filter": {}, "update": {"$set": {"a": 1}}}}"#,
         "`backfill` needs `collection`: the collection to walk"),
        (r#"{"backfill": {"collection": "users", "update": {"$set": {"a": 1}}}}"#,
         "`backfill` needs `filter`: the documents that still need the change (`{}` for all, which the update must then leave matching nothing)"),
        (r#"{"backfill": {"collection": "users", "filter": {}, "update": 7}}"#,
         "`backfill.update` must be an update document (`{\"$set\": …}`) or a pipeline (`[…]`)"),
        (r#"{"backfill": {"collection": "users", "filter": {}, "update": {"status": "x"}}}"#,
         "`backfill.update` is a replacement document; a backfill updates with operators (`{\"$set\": …}`) or a pipeline (`[{\"$set\": …}]`)"),
        (r#"{"backfill": {"collection": "users", "filter": {}, "update": {"$set": {"a": 1}}, "batchsize": 10}}"#,
         "`backfill` has an unknown key `batchsize` (known: collection, filter, update, batch_size, max_lag_secs, target_batch_ms, max_rate, pause_when, transaction)"),
        (r#"{"backfill": {"collection": "users", "filter": {}, "update": {"$set": {"a": 1}}, "batch_size": 0}}"#,
         "`backfill.batch_size` is 0, out of range: a whole number from 1 to 100000"),
        (r#"{"backfill": {"collection": "users", "filter": {}, "update": {"$set": {"a": 1}}}, "up": [{"ping": 1}]}"#,
         "it has both `up` and `backfill`: a migration is one or the other"),
        (r#"{"backfill": {"collection": "users", "filter": {}, "update": {"$set": {"a": 1}}}, "transaction": true}"#,
         "`transaction: true` would put a whole backfill in one transaction, which the server aborts on big collections; use `\"backfill\": {\"transaction\": true}` for one transaction per batch"),
    ];
    for (body, problem) in cases {
        let t = Test::new()
            .migration("0001_ok.json", &crate::insert("a"))
            .migration("0002_bad.json", body);
        users(&t, 10);
        t.run(&["execute"]).code(4).stderr_is(&format!(
            "error: migration `0002_bad.json` is invalid: {problem}; hint: a .json migration is \
             {{\"description\": …, \"up\": [command, …], \"down\": [command, …]}}\n"
        ));
        assert!(t.records().is_empty(), "{body}");
        assert!(t.docs("items").is_empty(), "{body}");
    }
}

#[test]
fn phases_run_schema_steps_before_the_deploy_and_backfills_after() {
    let backfill = status_backfill(100, "").replacen('{', r#"{"phase": "after_deploy", "#, 1);
    let t = Test::new()
        .migration("0001_status.json", &backfill)
        .migration("0002_index.json", r#"{"up": [{"createIndexes": "users", "indexes": [{"key": {"status": 1}, "name": "status_1"}]}], "down": [{"dropIndexes": "users", "index": "status_1"}]}"#);
    users(&t, 300);
    t.run(&["execute", "--phase", "before_deploy"])
        .success()
        .stdout_has("applied 0002_index");
    assert_eq!(t.statuses(), [("0002_index".into(), "applied".into())]);
    assert_eq!(tally(&t).1, 0, "the backfill waits for the deploy");
    t.run(&["execute", "--phase", "after_deploy"])
        .success()
        .stdout_has("applied 0001_status");
    assert_eq!(tally(&t).1, 300);
    // A plain execute runs both phases in order: before_deploy ones first.
    t.run(&["rollback", "--all", "--yes"]).success();
    let run = t.run(&["execute"]);
    run.success();
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("applied "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ["0002_index", "0001_status"]);
}

#[test]
fn ids_of_several_types_are_all_walked() {
    let t = Test::new().migration("0001_status.json", &status_backfill(3, ""));
    let mixed: Vec<Document> = (0..5)
        .map(|i| doc! {"_id": i, "hits": 0})
        .chain((0..5).map(|i| doc! {"_id": format!("s{i}"), "hits": 0}))
        .chain((0..5).map(|_| doc! {"_id": mongodb::bson::oid::ObjectId::new(), "hits": 0}))
        .collect();
    t.db()
        .collection::<Document>("users")
        .insert_many(mixed)
        .run()
        .unwrap();
    t.run(&["execute"]).success();
    assert_eq!(tally(&t), (vec![(1, 15)], 15));
}

#[test]
fn json_runs_report_progress_as_json_lines_on_stderr() {
    let t = Test::new().migration("0001_status.json", &status_backfill(250, ""));
    users(&t, 500);
    let run = t.run(&["execute", "--json"]);
    run.success();
    let batches: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(batches.len(), 2, "{}", run.stderr);
    assert_eq!(batches[1]["backfill"], "0001_status");
    assert_eq!(batches[1]["event"], "batch");
    assert_eq!(
        (batches[1]["done"].as_i64(), batches[1]["total"].as_i64()),
        (Some(500), Some(500))
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["steps"][0]["name"], "0001_status");
    let list: serde_json::Value =
        serde_json::from_str(&t.run(&["list", "--json"]).success().stdout).unwrap();
    let progress = &list["migrations"][0]["backfill"];
    assert_eq!(
        (progress["done"].as_i64(), progress["batches"].as_i64()),
        (Some(500), Some(2))
    );
}

#[test]
fn migo_test_runs_a_backfill_and_its_down_on_a_scratch_copy() {
    let t = Test::new().migration("0001_status.json", &status_backfill(100, ""));
    users(&t, 300);
    // `hits` counts updates, so its `down` cannot restore it: the trial says exactly that.
    let run = t.run(&["test", "0001_status"]);
    run.code(8).stdout_has("0001_status");
    assert_eq!(
        tally(&t),
        (vec![(0, 300)], 0),
        "the real collection was touched"
    );
    // A backfill whose down undoes it exactly passes.
    let exact = r#"{"backfill": {"collection": "users", "filter": {"status": {"$exists": false}},
        "update": {"$set": {"status": "active"}}, "batch_size": 100},
      "down": {"backfill": {"collection": "users", "filter": {"status": "active"},
        "update": {"$unset": {"status": ""}}, "batch_size": 100}}}"#;
    let t = Test::new().migration("0001_exact.json", exact);
    users(&t, 300);
    t.run(&["test", "0001_exact"]).success();
    assert_eq!(tally(&t), (vec![(0, 300)], 0));
}

#[test]
fn a_server_restart_mid_backfill_keeps_the_checkpoint_and_execute_resumes() {
    let storage = tempfile::tempdir().unwrap();
    let server: &'static Server = Box::leak(Box::new(Server::start(&[], Some(storage.path()))));
    let t = Test::new()
        .on(server)
        .migration("0001_status.json", &status_backfill(250, ""));
    users(&t, 2000);
    // A lease long enough that the walk meets the missing server (within the 5 s timeout)
    // before the renewer gives the lease up (after two thirds of it): that ending is a lost
    // lease, exit 13, which a test of its own covers.
    let lease = [("MIGO_TEST_LEASE_MS", "12000")];
    let mut vars = vec![("MIGO_TEST_STOP_AT", "backfill-batch:5")];
    vars.extend_from_slice(&lease);
    let migo = t.spawn(&["execute"], &vars);
    wait_stopped(&migo);
    // The server goes away in the middle of the walk, and stays away while migo goes on.
    server.stop();
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let cut = Run::from_output(&out);
    cut.code(5).error_line();
    let error = cut.stderr.lines().last().unwrap();
    let (what, hint) = error.split_once("; hint: ").unwrap();
    assert!(
        what.starts_with("error: the connection to ")
            && what.contains(" was lost during `0001_status`, after 1,000 of about 2,000: "),
        "{error}"
    );
    assert_eq!(
        hint,
        "once the server is back, `migo execute` resumes it after its last recorded batch \
         (`migo list` shows how far it got)"
    );
    let server = Server::start_on(server.port, &[], Some(storage.path()));
    // The four recorded batches survived the restart; the run that lost its server is
    // `interrupted` once its lease ran out, and `execute` resumes after its last batch.
    assert_eq!(int(&checkpoint(&t), "done"), 1000);
    let run = t.run_with(&["execute", "--wait", "30"], &lease);
    run.success()
        .stderr_has("0001_status: resuming after _id 999, 1,000 of about 2,000 done\n");
    assert_eq!(
        tally(&t),
        (vec![(1, 2000)], 2000),
        "every user updated once"
    );
    assert_eq!(t.statuses(), [("0001_status".into(), "applied".into())]);
    server.stop();
}

#[test]
fn a_run_that_lost_its_lease_mid_backfill_writes_nothing_more() {
    // The holder is stopped between two batches long enough for its lease to run out; a second
    // run takes the lock over, resumes the backfill and finishes it. The first wakes up: its
    // next batch would match nothing (the filter), and its checkpoint is refused by the fence.
    for transaction in [false, true] {
        let extra = if transaction {
            r#", "transaction": true"#
        } else {
            ""
        };
        let t = Test::new().migration("0001_status.json", &status_backfill(250, extra));
        users(&t, 2000);
        let lease = [("MIGO_TEST_LEASE_MS", "300")];
        let mut vars = vec![("MIGO_TEST_STOP_AT", "backfill-batch:3")];
        vars.extend_from_slice(&lease);
        let first = t.spawn(&["execute"], &vars);
        wait_stopped(&first);
        t.run_with(&["execute", "--wait", "30"], &lease)
            .success()
            .stderr_has("warning: took over an expired lock held by")
            .stderr_has("0001_status: resuming after _id 499, 500 of about 2,000 done\n");
        let done = checkpoint(&t);
        signal(first.id(), libc::SIGCONT);
        let out = first.wait_with_output().unwrap();
        Run::from_output(&out).code(13).error_line().stderr_has(
            "while `0001_status` was running; it wrote nothing more (`0001_status` shows as \
             interrupted unless the run that took the lock over finished it); hint: ",
        );
        assert_eq!(
            tally(&t),
            (vec![(1, 2000)], 2000),
            "transaction {transaction}: every user updated once"
        );
        assert_eq!(checkpoint(&t), done, "the stale run recorded nothing");
        assert_eq!(t.statuses(), [("0001_status".into(), "applied".into())]);
    }
}

#[test]
fn a_fleet_backfills_every_member_and_a_rerun_resumes_the_one_that_stopped() {
    let (t, members) = crate::fleet::fleet(3, "");
    let t = t.migration("0004_status.json", &status_backfill(100, ""));
    for name in &members {
        let docs: Vec<Document> = (0..500)
            .map(|i| doc! {"_id": i, "n": i, "hits": 0})
            .collect();
        crate::fleet::database(&t, name)
            .collection::<Document>("users")
            .insert_many(docs)
            .run()
            .unwrap();
    }
    let hits = |name: &str| -> Vec<i32> {
        let mut all: Vec<i32> = crate::fleet::database(&t, name)
            .collection::<Document>("users")
            .find(doc! {})
            .run()
            .unwrap()
            .map(|d| d.unwrap().get_i32("hits").unwrap())
            .collect();
        all.dedup();
        all
    };
    // The first member's walk is stopped by SIGTERM: it records the batch in flight and
    // stops, and the fleet starts no other member.
    let migo = t.spawn(
        &["--fleet", "execute", "--jobs", "1"],
        &[("MIGO_TEST_STOP_AT", "backfill-batch:3")],
    );
    wait_stopped(&migo);
    signal(migo.id(), libc::SIGTERM);
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let first = Run::from_output(&out);
    assert_eq!(out.status.code(), Some(143), "{}", first.stderr);
    let record = crate::fleet::database(&t, &members[0])
        .collection::<Document>("migrations")
        .find_one(doc! {"_id": "0004_status"})
        .run()
        .unwrap()
        .unwrap();
    assert_eq!(int(record.get_document("backfill").unwrap(), "done"), 300);
    assert_eq!(hits(&members[0]), [1, 0]);
    assert_eq!(hits(&members[1]), [0]);
    // The rerun resumes that member after its last batch and runs the ones never reached.
    t.run(&["--fleet", "execute", "--jobs", "2"])
        .success()
        .stderr_has(&format!(
            "[{}] 0004_status: resuming after _id 299, 300 of about 500 done\n",
            members[0]
        ));
    for name in &members {
        assert_eq!(hits(name), [1], "{name}: every user updated once");
        assert_eq!(
            crate::fleet::statuses(&t, name).last().unwrap(),
            &("0004_status".to_string(), "applied".to_string())
        );
    }
}

#[test]
fn a_resumed_run_checks_the_last_recorded_batch_too() {
    // One batch is the whole walk: killed right after it was recorded, the rerun has no next
    // batch to compare with. It still checks the batch it resumes after, and refuses to call
    // `applied` a backfill whose documents all still match.
    let never_done = r#"{"backfill": {"collection": "users", "filter": {"n": {"$gte": 0}},
        "update": {"$inc": {"hits": 1}}, "batch_size": 200}}"#;
    let t = Test::new().migration("0001_loop.json", never_done);
    users(&t, 200);
    kill_at(&t, "backfill-batch:2", &[("MIGO_TEST_LEASE_MS", "300")]);
    assert_eq!(batches_done(&t), 1);
    t.run_with(
        &["execute", "--wait", "30"],
        &[("MIGO_TEST_LEASE_MS", "300")],
    )
    .code(1)
    .stderr_has(
        "error: migration `0001_loop` failed: after its update, 200 document(s) of the batch \
             before still match the backfill's filter on `users`",
    );
    assert_eq!(tally(&t).0, vec![(1, 200)], "no document updated twice");
    assert_eq!(t.statuses(), [("0001_loop".into(), "failed".into())]);
}
