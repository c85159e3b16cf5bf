//! The lease lock under real concurrency and real crashes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, DateTime, Document};

use crate::insert;
use crate::test::Test;

fn twenty() -> Test {
    (1..=20).fold(Test::new(), |t, n| {
        t.migration(&format!("{n:04}_m{n}.json"), &insert(&format!("d{n}")))
    })
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
    t.run(&["execute"])
        .code(7)
        .one_error_line()
        .stderr_has(
            "the migrations lock is held by someone@elsewhere (pid 4242), running `migo execute`",
        )
        .stderr_has("run `migo unlock` if no migo process is running on elsewhere");
    assert!(t.records().is_empty(), "{:?}", t.records());
    assert!(t.docs("items").is_empty());
    let started = Instant::now();
    t.run(&["execute", "--wait", "1"]).code(7);
    assert!(started.elapsed() >= Duration::from_secs(1));
    t.run(&["list"]).success().stdout_has("0001_a  pending");
    t.run(&["execute", "--dry-run"])
        .success()
        .stdout_has("would apply 0001_a");
    t.run(&["unlock"])
        .success()
        .stdout_has("released the lock (live lease) held by someone@elsewhere (pid 4242)");
    t.run(&["unlock"])
        .success()
        .stdout_has("the migrations lock is free");
    t.run(&["execute"]).success().stdout_has("applied 0001_a");
}

#[test]
fn an_expired_lock_is_taken_over_with_a_warning() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.hold_lock(lock_doc(-1));
    t.run(&["execute"])
        .success()
        .stderr_has("warning: took over an expired lock held by someone@elsewhere (pid 4242)");
    assert_eq!(t.docs("items").len(), 1);
    assert!(t.lock().is_none());
}

/// A migration that runs for about `length` on this server: one-document inserts, as many as
/// the server's measured insert latency asks for (SecantusDB and a real MongoDB differ 10×).
fn slow(t: &Test, length: Duration) -> String {
    let probe = t.db().collection::<Document>("probe");
    let started = Instant::now();
    for i in 0..200 {
        probe.insert_one(doc! {"i": i}).run().unwrap();
    }
    probe.drop().run().unwrap();
    let per_insert = started.elapsed() / 200;
    let n = (length.as_secs_f64() / per_insert.as_secs_f64()) as usize;
    let commands: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"insert": "slow", "documents": [{{"i": {i}}}]}}"#))
        .collect();
    format!(
        r#"{{"up": [{}], "down": [{{"drop": "slow"}}]}}"#,
        commands.join(",")
    )
}

/// Starts `migo execute` in the background and returns once its first migration is `running`.
fn start_execute(t: &Test) -> std::process::Child {
    let child = t
        .command(&["execute"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.statuses().first().map(|(_, s)| s.as_str()) != Some("running") {
        assert!(Instant::now() < deadline, "the migration never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn lock_expiry(t: &Test) -> (String, DateTime) {
    let lock = t.lock().expect("a lock is held");
    (
        lock.get_str("token").unwrap().to_string(),
        *lock.get_datetime("expires_at").unwrap(),
    )
}

#[test]
fn a_long_run_renews_its_lease_so_nobody_takes_it_over() {
    let t = Test::new().config("[migrations]\nlock_lease_secs = 3\n");
    let body = slow(&t, Duration::from_secs(15));
    let t = t.migration("0001_slow.json", &body);
    let mut child = start_execute(&t);
    let (token, first_expiry) = lock_expiry(&t);
    // Past the first lease's end: without renewal the lock would now be up for grabs.
    while DateTime::now().timestamp_millis() < first_expiry.timestamp_millis() + 1000 {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the migration ended too early to prove anything"
    );
    let (same_token, later_expiry) = lock_expiry(&t);
    assert_eq!(same_token, token);
    assert!(
        later_expiry > DateTime::now(),
        "the lease was not renewed: {first_expiry} then {later_expiry}"
    );
    t.run(&["execute"])
        .code(7)
        .stderr_has("the migrations lock is held by");
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("{}\n", t.target()),
        "{output:?}"
    );
    assert_eq!(t.statuses(), [("0001_slow".into(), "applied".into())]);
    assert!(t.lock().is_none());
}

#[test]
fn a_killed_run_leaves_an_interrupted_migration_with_ways_out() {
    let t = Test::new().config("[migrations]\nlock_lease_secs = 3\n");
    let body = slow(&t, Duration::from_secs(2));
    let t = t
        .migration("0001_slow.json", &body)
        .migration("0002_b.json", &insert("b"));
    let mut child = start_execute(&t);
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    assert_eq!(
        t.statuses(),
        [("0001_slow".to_string(), "running".to_string())]
    );

    // The dead run's lease is still live: mutations wait for it or fail; list shows `running`.
    t.run(&["list"]).success().stdout_has("0001_slow  running");
    t.run(&["execute"]).code(7);
    std::thread::sleep(Duration::from_secs(3));
    t.run(&["list"])
        .success()
        .stdout_has("0001_slow  interrupted");
    t.run(&["execute"])
        .code(6)
        .stderr_has("warning: took over an expired lock")
        .stderr_has("migration `0001_slow` was interrupted")
        .stderr_has("`migo execute 0001_slow`, or `migo rollback 0001_slow`, or mark it done with `migo ignore 0001_slow`");
    assert!(
        t.docs("items").is_empty(),
        "0002 ran past an interrupted migration"
    );
    assert!(t.lock().is_none());

    t.run(&["rollback", "0001_slow"]).success();
    assert!(t.docs("slow").is_empty() && t.records().is_empty());
    t.run(&["execute"])
        .success()
        .stdout_has("applied 0001_slow")
        .stdout_has("applied 0002_b");
    assert!(!t.docs("slow").is_empty());
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
    t.run(&["list"]).success().stdout_has("0001_x  interrupted");
    t
}

#[test]
fn an_interrupted_migration_is_retried_by_name_or_ignored() {
    let retried = interrupted();
    retried.run(&["execute"]).code(6);
    retried
        .run(&["execute", "0001_x"])
        .success()
        .stdout_has("applied 0001_x");
    retried
        .run(&["execute"])
        .success()
        .stdout_has("applied 0002_y");
    assert_eq!(retried.docs("items").len(), 2);

    let ignored = interrupted();
    ignored
        .run(&["ignore", "0001_x"])
        .success()
        .stdout_has("ignored 0001_x");
    ignored
        .run(&["execute"])
        .success()
        .stdout_has("applied 0002_y");
    assert_eq!(ignored.statuses()[0], ("0001_x".into(), "ignored".into()));
    assert_eq!(ignored.docs("items").len(), 1);
}
