//! The engine, broken on purpose: a kill between two migrations, a script's background worker
//! after `kill -9`, a background job that keeps the script's stdout, a closed stderr, a lease
//! renewed between a takeover's read and its write, a lock document migo cannot read, a server
//! that restarts between two steps, a signal while migo waits at a prompt or for the lock.

use std::io::Read;
use std::process::{Command, Stdio};

use mongodb::bson::{doc, DateTime, Document};

use crate::processes::{alive, pid_in, signal, wait_stopped, wait_until};
use crate::server::Server;
use crate::test::{readable, Run, Test, LOCK_ID};
use crate::{insert, push};

/// The results of the audit log, newest first.
fn history_results(t: &Test) -> Vec<String> {
    let run = t.run(&["history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["result"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_migration_that_finished_stays_applied_when_migo_is_killed_before_the_next() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2));
    let mut migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "before-step:0002_b")]);
    wait_stopped(&migo);
    migo.kill().unwrap();
    migo.wait().unwrap();
    // 0001_a ran and returned: its record says so, whatever happened next.
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    assert_eq!(crate::order(&t), [1]);
    t.run(&["unlock", "--yes"]).success();
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "NUMBER  NAME    STATE    APPLIED AT  BY     DURATION  CHECKSUM\n\
         1       0001_a  applied  <time>      <who>  <dur>     ok\n\
         2       0002_b  pending\n\
         2 migrations: 1 applied, 1 pending ({})\n",
        t.target()
    ));
}

#[test]
fn kill_9_stops_a_scripts_background_worker_too() {
    let t = Test::new();
    let body = format!(
        "#!/bin/sh\n( while :; do echo tick >> {ticks}; sleep 0.02; done ) &\necho $! > {worker}\n\
         while [ ! -e {go} ]; do sleep 0.05; done\n",
        ticks = t.path("ticks").display(),
        worker = t.path("worker.pid").display(),
        go = t.path("go").display(),
    );
    let t = t.script("0001_worker.sh", &body);
    let mut migo = t.spawn(&["execute"], &[]);
    let worker = pid_in(&t.path("worker.pid"));
    migo.kill().unwrap();
    migo.wait().unwrap();
    // The worker is the script's child, in its process group: migo's watchdog kills it, and
    // no `/bin/sh` (dash, whose `kill` rejects `--`) stands in the way.
    wait_until("the background worker died with migo", || !alive(worker));
}

#[test]
fn a_background_job_that_keeps_stdout_open_does_not_hold_the_run() {
    let t = Test::new();
    let body = format!(
        "#!/bin/sh\nsleep 300 &\necho $! > {bg}\necho started\n",
        bg = t.path("bg.pid").display()
    );
    let t = t
        .script("0001_bg.sh", &body)
        .migration("0002_b.json", &insert("b"));
    let mut migo = t.spawn(&["execute"], &[]);
    let bg = pid_in(&t.path("bg.pid"));
    wait_until("migo finished after its script did", || {
        migo.try_wait().unwrap().is_some()
    });
    let out = migo.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        t.statuses(),
        [
            ("0001_bg".into(), "applied".into()),
            ("0002_b".into(), "applied".into())
        ]
    );
    assert!(!alive(bg), "the background job outlived its migration");
    assert!(t.lock().is_none());
}

#[test]
fn a_closed_stderr_does_not_stop_a_run_half_way() {
    let t = Test::new()
        .script(
            "0001_noisy.sh",
            "#!/bin/sh\ni=0\nwhile [ $i -lt 200 ]; do echo \"line $i\"; echo \"err $i\" >&2; i=$((i+1)); done\n",
        )
        .migration("0002_b.json", &insert("b"));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write to migo's stderr now fails (EPIPE)
    let status = t
        .command(&["execute"])
        .stdout(Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        t.statuses(),
        [
            ("0001_noisy".into(), "applied".into()),
            ("0002_b".into(), "applied".into())
        ]
    );
    assert!(t.lock().is_none(), "the lock was kept");
}

/// A lock document held by another run, its lease ending `expires_in_ms` from now (server
/// clock: the test's is the same machine's).
fn other_holder(expires_in_ms: i64) -> Document {
    let now = DateTime::now().timestamp_millis();
    doc! {
        "token": "other-token", "host": "elsewhere", "pid": 4242_i64, "user": "someone",
        "command": "migo execute", "started_at": DateTime::from_millis(now - 60_000),
        "expires_at": DateTime::from_millis(now + expires_in_ms),
    }
}

#[test]
fn a_takeover_loses_to_a_holder_that_renewed_after_the_read() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.hold_lock(other_holder(-1_000));
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "before-takeover")]);
    wait_stopped(&migo);
    // migo read an expired lease; its holder renews it now, before the takeover.
    t.db()
        .collection::<Document>("migrations")
        .update_one(
            doc! {"_id": LOCK_ID},
            doc! {"$set": {"expires_at": DateTime::from_millis(DateTime::now().timestamp_millis() + 600_000)}},
        )
        .run()
        .unwrap();
    signal(migo.id(), libc::SIGCONT);
    let since = readable(*t.lock().unwrap().get_datetime("started_at").unwrap());
    Run::from_output(&migo.wait_with_output().unwrap())
        .code(7)
        .stdout_is("")
        .stderr_is(&format!(
            "error: the migrations lock is held by someone@elsewhere (pid 4242), running `migo \
             execute` since {since}; hint: wait for it with `--wait SECS`, or run `migo unlock` \
             if no migo process is running on elsewhere\n",
        ));
    assert_eq!(t.lock().unwrap().get_str("token").unwrap(), "other-token");
    assert!(t.records().is_empty() && t.docs("items").is_empty());
}

#[test]
fn a_lock_document_migo_cannot_read_is_an_error_and_unlock_replaces_it() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.hold_lock(doc! {"token": 17, "started_at": "yesterday"});
    t.run(&["execute"]).code(3).stdout_is("").stderr_is(
        "error: the registry: the lock document (`_id: \"__migo_lock__\"`) in `migrations` \
             cannot be read: invalid type: integer `17`, expected a string; hint: if no migo is \
             running, `migo unlock --yes` replaces it with a released lock\n",
    );
    assert!(t.records().is_empty() && t.docs("items").is_empty());
    t.run(&["unlock", "--yes"])
        .success()
        .stdout_is("released the lock (an unreadable lock document)\n");
    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\napplying 0001_a…\n", t.target()))
        .stdout_masked_is("applied 0001_a (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    assert_eq!(history_results(&t)[1], "unlock ok");
}

#[test]
fn a_server_that_restarts_between_two_steps_is_ridden_out() {
    let storage = tempfile::tempdir().unwrap();
    let server = Server::start(&[], Some(storage.path()));
    let t = Test::new();
    let config = format!(
        "[mongo]\nuri = \"{}\"\ndatabase = \"{}\"\ntimeout_secs = 2\n\
         [migrations]\nlock_lease_secs = 60\n",
        server.uri, t.db_name
    );
    let t = t
        .raw_config(&config)
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2));
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "before-step:0002_b")]);
    wait_stopped(&migo);
    server.stop();
    let server = Server::start_on(server.port, &[], Some(storage.path()));
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let db = server.client().database(&t.db_name);
    let statuses: Vec<String> = db
        .collection::<Document>("migrations")
        .find(doc! {"_id": {"$ne": LOCK_ID}})
        .sort(doc! {"number": 1})
        .run()
        .unwrap()
        .map(|d| d.unwrap().get_str("status").unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["applied", "applied"]);
    server.stop();
}

#[test]
fn a_server_gone_before_a_step_says_the_step_did_not_run() {
    let server = Server::start(&[], None);
    let t = Test::new();
    let config = format!(
        "[mongo]\nuri = \"{}\"\ndatabase = \"{}\"\ntimeout_secs = 1\n\
         [migrations]\nlock_lease_secs = 3\n",
        server.uri, t.db_name
    );
    let t = t
        .raw_config(&config)
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2));
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "before-step:0002_b")]);
    wait_stopped(&migo);
    server.stop();
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "error: the connection to default: database `{}` on 127.0.0.1:{} was lost before `0002_b` started; it did not run: ",
            t.db_name, server.port
        )),
        "{stderr}"
    );
    assert!(
        error.ends_with("; hint: once the server is back, run the command again"),
        "{stderr}"
    );
}

/// The pid of the `migo` process under `parent` (a `script` wrapper), once it runs.
fn migo_under(parent: u32) -> u32 {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_migo")).unwrap();
    let mut found = None;
    wait_until("migo started under script", || {
        found = descendants(parent)
            .into_iter()
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe));
        found.is_some()
    });
    found.unwrap()
}

/// Every process below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        let children =
            std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            all.push(child);
            queue.push(child);
        }
    }
    all
}

#[test]
fn ctrl_c_at_a_confirmation_prompt_stops_migo_at_once() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.run(&["execute"]).success();
    // A terminal (util-linux `script`), so migo asks instead of refusing.
    let mut command = Command::new("script");
    let line = format!("{} rollback --all", env!("CARGO_BIN_EXE_migo"));
    command.args(["-qec", &line, "/dev/null"]);
    t.inside(&mut command);
    let mut script = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut shown = Vec::new();
    let mut stdout = script.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&shown).contains("Go ahead? [y/N] ") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "no prompt: {shown:?}");
        shown.push(byte[0]);
    }
    let migo = migo_under(script.id());
    signal(migo, libc::SIGINT);
    wait_until("migo stopped at the prompt", || !alive(migo));
    let _ = script.kill();
    let _ = script.wait();
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    assert!(t.lock().is_none());
}

#[test]
fn a_signal_while_waiting_for_the_lock_stops_without_taking_it() {
    let t = Test::new().migration("0001_a.json", &insert("a"));
    t.hold_lock(other_holder(600_000));
    let mut migo = t.spawn(
        &["execute", "--wait", "600"],
        &[("MIGO_TEST_STOP_AT", "waiting-for-lock")],
    );
    wait_stopped(&migo);
    signal(migo.id(), libc::SIGTERM);
    signal(migo.id(), libc::SIGCONT);
    let status = migo.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert_eq!(t.lock().unwrap().get_str("token").unwrap(), "other-token");
    assert!(t.records().is_empty() && t.docs("items").is_empty());
}
