//! The lease lock under real concurrency, real crashes and real stops: exactly one run writes,
//! and a run that lost its lease writes nothing more.

use std::process::Stdio;

use mongodb::bson::{doc, DateTime, Document};

use crate::insert;
use crate::processes::{gated_script, pid_in, signal, wait_stopped, wait_until};
use crate::test::{aligned, readable, who, Test};

fn twenty() -> Test {
    (1..=20).fold(Test::new(), |t, n| {
        t.migration(&format!("{n:04}_m{n}.json"), &insert(&format!("d{n}")))
    })
}

/// A migration that adds 1 to counter `id`.
fn count(id: &str) -> String {
    format!(
        r#"{{"up": [{{"update": "counters", "updates": [{{"q": {{"_id": "{id}"}}, "u": {{"$inc": {{"n": 1}}}}, "upsert": true}}]}}],
  "down": [{{"update": "counters", "updates": [{{"q": {{"_id": "{id}"}}, "u": {{"$inc": {{"n": -1}}}}}}]}}]}}"#
    )
}

/// Every counter and its value.
fn counters(t: &Test) -> Vec<(String, i32)> {
    t.docs("counters")
        .iter()
        .map(|d| {
            (
                d.get_str("_id").unwrap().to_string(),
                d.get_i32("n").unwrap(),
            )
        })
        .collect()
}

fn all_once(names: &[&str]) -> Vec<(String, i32)> {
    names.iter().map(|n| (n.to_string(), 1)).collect()
}
#[test]
fn concurrent_executes_apply_every_migration_exactly_once() {
    for round in 0..10 {
        let t = twenty();
        let wait = round % 2 == 0;
        let children: Vec<_> = (0..8)
            .map(|_| {
                let args: &[&str] = if wait {
                    &["execute", "--wait", "60"]
                } else {
                    &["execute"]
                };
                t.command(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let codes: Vec<i32> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.code().unwrap_or(-1))
            .collect();
        if wait {
            assert!(codes.iter().all(|&c| c == 0), "round {round}: {codes:?}");
        } else {
            assert!(
                codes.iter().all(|&c| c == 0 || c == 7),
                "round {round}: {codes:?}"
            );
            assert!(
                codes.contains(&0),
                "round {round}: nobody won the lock: {codes:?}"
            );
        }
        assert_eq!(t.docs("items").len(), 20, "round {round}");
        let statuses = t.statuses();
        assert_eq!(statuses.len(), 20, "round {round}");
        assert!(
            statuses.iter().all(|(_, s)| s == "applied"),
            "round {round}: {statuses:?}"
        );
        assert!(
            t.lock().is_none(),
            "round {round}: the lock was not released"
        );
    }
}
/// The refusal of a run whose migration `0001_slow` was interrupted.
const INTERRUPTED: &str = "error: migration `0001_slow` was interrupted: its run stopped before \
                           finishing, so it may be half applied; nothing was run; hint: fix it \
                           and retry with `migo execute 0001_slow`, or `migo rollback \
                           0001_slow`, or mark it done with `migo ignore 0001_slow`\n";

/// This machine's host name, as a lock names it.
fn host() -> String {
    who().split_once('@').unwrap().1.to_string()
}

fn lock_doc(expires_in_ms: i64) -> Document {
    let now = DateTime::now().timestamp_millis();
    doc! {
        "_id": "migo", "token": "other", "host": "elsewhere", "pid": 4242, "user": "someone",
        "command": "migo execute", "started_at": DateTime::from_millis(now - 1000),
        "expires_at": DateTime::from_millis(now + expires_in_ms),
    }
}

#[test]
fn a_held_lock_refuses_mutations_but_not_reads_and_unlock_releases_it() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.hold_lock(lock_doc(60_000));
    let holder = format!(
        "someone@elsewhere (pid 4242), running `migo execute` since {}",
        readable(*t.lock().unwrap().get_datetime("started_at").unwrap())
    );
    let held = format!(
        "error: the migrations lock is held by {holder}; hint: wait for it with `--wait SECS`, or \
         run `migo unlock` if no migo process is running on elsewhere\n"
    );
    t.run(&["execute"]).code(7).stdout_is("").stderr_is(&held);
    assert!(t.records().is_empty(), "{:?}", t.records());
    assert!(t.docs("items").is_empty());
    let started = std::time::Instant::now();
    t.run(&["execute", "--wait", "1"])
        .code(7)
        .stdout_is("")
        .stderr_is(&held);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    t.run(&["list"]).success().stderr_is("").stdout_is(&format!(
        "NUMBER  NAME    STATE    APPLIED AT  BY  DURATION  CHECKSUM\n\
         1       0001_a  pending\n\
         1 migration: 1 pending ({})\n",
        t.target()
    ));
    t.run(&["execute", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(
            "would apply 0001_a (0001_a.json)\n\
             \x20   {\"insert\":\"items\",\"documents\":[{\"_id\":\"a\"}]}\n\
             dry run: 1 step(s), nothing was changed\n",
        );
    // A live lease may belong to a migo that is still running: unlock asks first.
    t.run(&["unlock"]).code(6).stdout_is("").stderr_is(&format!(
        "error: the lock is held by {holder}, and its lease is live: that migo may still be \
         running (releasing it stops it at its next registry write), and needs confirmation; \
         hint: pass `--yes` to confirm without a terminal\n"
    ));
    assert!(t.lock().is_some(), "a refused unlock released the lock");
    t.run(&["unlock", "--yes"])
        .success()
        .stderr_is("")
        .stdout_is(&format!(
            "released the lock (live lease) held by {holder}\n"
        ));
    t.run(&["unlock"])
        .success()
        .stdout_is("the migrations lock is free: nothing to release\n");
    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\napplying 0001_a…\n", t.target()))
        .stdout_masked_is("applied 0001_a (<dur>)\n1 migration(s) applied in <dur>\n");
}

#[test]
fn an_expired_lock_is_taken_over_with_a_warning() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.hold_lock(lock_doc(-1));
    let since = readable(*t.lock().unwrap().get_datetime("started_at").unwrap());
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "warning: took over an expired lock held by someone@elsewhere (pid 4242), running \
             `migo execute` since {since}\n{}\napplying 0001_a…\n",
            t.target()
        ))
        .stdout_masked_is("applied 0001_a (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(t.docs("items").len(), 1);
    assert!(t.lock().is_none());
}

/// A project whose `0001_slow.sh` waits for the test's go-ahead, then counts; `0002_c` counts.
fn gated(t: Test) -> Test {
    let script = gated_script(t.dir(), "slow");
    t.script("0001_slow.sh", &script)
        .migration("0002_c.json", &count("c"))
}

#[test]
fn a_long_run_renews_its_lease_so_nobody_takes_it_over() {
    let t = gated(Test::new());
    let a = t.spawn(&["execute"], &[("MIGO_TEST_LEASE_MS", "600")]);
    pid_in(&t.path("slow.pid"));
    let first = t.lock().expect("a lock is held");
    let token = first.get_str("token").unwrap().to_string();
    let first_expiry = *first.get_datetime("expires_at").unwrap();
    // The server's clock passes the first lease's end; the lease is renewed, not taken over.
    wait_until("the lease was renewed past its first end", || {
        t.lock().is_some_and(|l| {
            l.get_datetime("expires_at").unwrap().timestamp_millis()
                > first_expiry.timestamp_millis() + 600
        })
    });
    assert_eq!(t.lock().unwrap().get_str("token").unwrap(), token);
    let since = readable(*first.get_datetime("started_at").unwrap());
    t.run(&["execute"])
        .code(7)
        .stdout_is("")
        .stderr_is(&format!(
            "error: the migrations lock is held by {who} (pid {}), running `migo execute` since \
             {since}; hint: wait for it with `--wait SECS`, or run `migo unlock` if no migo \
             process is running on {}\n",
            a.id(),
            host(),
            who = who()
        ));
    std::fs::write(t.path("go"), "").unwrap();
    let output = a.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(counters(&t), all_once(&["c", "slow"]));
    assert!(t.lock().is_none());
}

#[test]
fn a_holder_stopped_before_its_first_migration_writes_nothing_when_it_wakes() {
    // Repro A: the holder stops after its dump; its lease runs out; another run takes over and
    // applies everything; the holder wakes and must not apply anything again.
    let t = (1..=3).fold(Test::new().config("[dump]\nenabled = true\n"), |t, n| {
        t.migration(&format!("000{n}_c{n}.json"), &count(&format!("c{n}")))
    });
    t.db()
        .collection::<Document>("seed")
        .insert_one(doc! {"_id": 1})
        .run()
        .unwrap();
    let a = t.spawn(
        &["execute"],
        &[
            ("MIGO_TEST_LEASE_MS", "300"),
            ("MIGO_TEST_STOP_AT", "after-dump"),
        ],
    );
    wait_stopped(&a);
    let since = readable(*t.lock().unwrap().get_datetime("started_at").unwrap());
    t.run(&["execute", "--wait", "30"])
        .success()
        .stderr_is(&format!(
            "warning: took over an expired lock held by {who} (pid {}), running `migo execute` \
             since {since}\n{}\napplying 0001_c1…\napplying 0002_c2…\napplying 0003_c3…\n",
            a.id(),
            t.target(),
            who = who()
        ))
        .stdout_masked_is(&format!(
            "dumped `{}/mongodumps/default-<stamp>` (2 collection(s), 1 document(s), 0.0 MB) in \
             <dur>\napplied 0001_c1 (<dur>)\napplied 0002_c2 (<dur>)\napplied 0003_c3 (<dur>)\n\
             3 migration(s) applied in <dur>\n",
            t.dir().display()
        ));
    assert_eq!(counters(&t), all_once(&["c1", "c2", "c3"]));
    signal(a.id(), libc::SIGCONT);
    let woken = a.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&woken.stderr);
    assert_eq!(woken.status.code(), Some(13), "{stderr}");
    assert!(
        stderr.contains("error: stopped: the migrations lock was lost (another migo took the lock over after its lease ran out)"),
        "{stderr}"
    );
    assert_eq!(counters(&t), all_once(&["c1", "c2", "c3"]));
    let statuses: Vec<String> = t.statuses().into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, ["applied", "applied", "applied"]);
    let history = t.run(&["history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&history.success().stdout).unwrap();
    let results: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert!(results.contains(&"lost_lock"), "{results:?}");
}

#[test]
fn a_holder_stopped_in_a_slow_script_cannot_record_it_or_go_on() {
    // Repro B: the holder stops while its script runs. The next run takes the expired lease
    // over, finds the script's migration interrupted and refuses to guess; the holder wakes and
    // writes nothing. Each counter ends at exactly 1 once the operator decides.
    let t = gated(Test::new());
    let a = t.spawn(&["execute"], &[("MIGO_TEST_LEASE_MS", "300")]);
    pid_in(&t.path("slow.pid"));
    signal(a.id(), libc::SIGSTOP);
    wait_stopped(&a);
    let since = readable(*t.lock().unwrap().get_datetime("started_at").unwrap());
    t.run(&["execute", "--wait", "30"])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "warning: took over an expired lock held by {who} (pid {}), running `migo execute` \
             since {since}\n{INTERRUPTED}",
            a.id(),
            who = who()
        ));
    std::fs::write(t.path("go"), "").unwrap();
    wait_until("the script counted", || !counters(&t).is_empty());
    signal(a.id(), libc::SIGCONT);
    let woken = a.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&woken.stderr);
    assert_eq!(woken.status.code(), Some(13), "{stderr}");
    assert!(stderr.contains("while `0001_slow` was running"), "{stderr}");
    assert_eq!(t.statuses(), [("0001_slow".into(), "running".into())]);
    assert_eq!(counters(&t), all_once(&["slow"]));
    t.run(&["ignore", "0001_slow"]).success();
    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\napplying 0002_c…\n", t.target()))
        .stdout_masked_is("applied 0002_c (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(counters(&t), all_once(&["c", "slow"]));
}

#[test]
fn kill_9_takes_the_script_and_its_children_along() {
    let t = gated(Test::new());
    let mut a = t.spawn(&["execute"], &[]);
    let script = pid_in(&t.path("slow.pid"));
    a.kill().unwrap(); // SIGKILL: no cleanup code of migo runs
    a.wait().unwrap();
    wait_until("the script died with migo", || {
        !crate::processes::alive(script)
    });
    // Had it survived, it would count now.
    std::fs::write(t.path("go"), "").unwrap();
    assert_eq!(t.statuses(), [("0001_slow".into(), "running".into())]);
    t.run(&["unlock", "--yes"]).success();
    // Killed before its end: no time or duration of its own, who started it.
    t.run(&["list"])
        .success()
        .stderr_is("")
        .stdout_masked_is(&format!(
            "{}2 migrations: 1 pending, 1 interrupted ({})\n",
            aligned(&[
                crate::test::LIST_TITLES,
                &["1", "0001_slow", "interrupted", "", "<who>", "", "ok"],
                &["2", "0002_c", "pending"],
            ]),
            t.target()
        ));
    t.run(&["execute"])
        .code(6)
        .stdout_is("")
        .stderr_is(INTERRUPTED);
    assert!(counters(&t).is_empty(), "the orphaned script ran on");
    t.run(&["execute", "0001_slow"]).success();
    t.run(&["execute"]).success();
    assert_eq!(counters(&t), all_once(&["c", "slow"]));
}
/// The state a killed run leaves once its lease expired, without waiting for one.
fn interrupted() -> Test {
    let t = Test::new()
        .migration("0001_x.json", &insert("x"))
        .migration("0002_y.json", &insert("y"));
    t.run(&["ignore", "0001_x"]).success();
    t.db()
        .collection::<Document>("migrations")
        .update_one(doc! {"_id": "0001_x"}, doc! {"$set": {"status": "running"}})
        .run()
        .unwrap();
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "{}2 migrations: 1 pending, 1 interrupted ({})\n",
        aligned(&[
            crate::test::LIST_TITLES,
            &[
                "1",
                "0001_x",
                "interrupted",
                "<time>",
                "<who>",
                "<dur>",
                "ok"
            ],
            &["2", "0002_y", "pending"],
        ]),
        t.target()
    ));
    t
}

/// `execute`'s lines for one step: (stderr, masked stdout).
fn one(t: &Test, doing: &str, done: &str, name: &str) -> (String, String) {
    (
        format!("{}\n{doing} {name}…\n", t.target()),
        format!("{done} {name} (<dur>)\n1 migration(s) {done} in <dur>\n"),
    )
}

#[test]
fn an_interrupted_migration_is_retried_by_name_or_ignored() {
    let retried = interrupted();
    retried.run(&["execute"]).code(6);
    let (stderr, stdout) = one(&retried, "applying", "applied", "0001_x");
    retried
        .run(&["execute", "0001_x"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
    let (stderr, stdout) = one(&retried, "applying", "applied", "0002_y");
    retried
        .run(&["execute"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
    assert_eq!(retried.docs("items").len(), 2);

    let ignored = interrupted();
    let (stderr, stdout) = one(&ignored, "ignoring", "ignored", "0001_x");
    ignored
        .run(&["ignore", "0001_x"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
    let (stderr, stdout) = one(&ignored, "applying", "applied", "0002_y");
    ignored
        .run(&["execute"])
        .success()
        .stderr_is(&stderr)
        .stdout_masked_is(&stdout);
    assert_eq!(ignored.statuses()[0], ("0001_x".into(), "ignored".into()));
    assert_eq!(ignored.docs("items").len(), 1);
}
