//! Stops that tell the truth: SIGTERM and SIGINT record the step in flight, write the audit
//! entry, release the lock and exit 143/130; a second signal stops at once; a rollback leaves a
//! marker; a server that dies mid-run is exit 5, naming the migration whose state is unknown.

use crate::processes::{alive, gated_script, pid_in, signal, wait_stopped, wait_until};
use crate::server::Server;
use crate::test::{aligned, Run, Test};

fn gated(ignore_signals: bool) -> Test {
    let t = Test::new();
    let mut body = gated_script(t.dir(), "slow");
    if ignore_signals {
        body = body.replacen("set -e\n", "set -e\ntrap '' INT TERM\n", 1);
    }
    t.script("0001_slow.sh", &body)
        .migration("0002_b.json", &crate::insert("b"))
}

fn history_results(t: &Test) -> Vec<String> {
    let run = t.run(&["history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sigterm_and_sigint_record_the_step_write_history_release_the_lock() {
    for (sig, code, name) in [
        (libc::SIGTERM, 143, "SIGTERM"),
        (libc::SIGINT, 130, "SIGINT"),
    ] {
        let t = gated(false);
        let migo = t.spawn(&["execute"], &[]);
        let script = pid_in(&t.path("slow.pid"));
        signal(migo.id(), sig);
        let out = migo.wait_with_output().unwrap();
        Run::from_output(&out)
            .code(code)
            .stdout_is("")
            .stderr_is(&format!(
                "{}\napplying 0001_slow…\nmigo: {name} received: stopping after the step in \
                 flight (again to stop at once)\nerror: stopped by {name} while `0001_slow` was \
                 running; it is recorded as interrupted; hint: check what `0001_slow` did, then \
                 `migo execute 0001_slow` to run it again, or `migo ignore 0001_slow` / `migo \
                 rollback 0001_slow`\n",
                t.target()
            ));
        assert!(!alive(script), "the script outlived the stop");
        let record = &t.records()[0];
        assert_eq!(record.get_str("status").unwrap(), "interrupted");
        assert_eq!(
            record.get_str("error").unwrap(),
            format!("stopped by {name}")
        );
        assert!(t.lock().is_none(), "the lock was not released");
        assert_eq!(history_results(&t), ["interrupted"]);
        assert!(t.docs("items").is_empty(), "a step ran after the signal");
        t.run(&["list"]).success().stdout_masked_is(&format!(
            "{}2 migrations: 1 pending, 1 interrupted ({})\n",
            aligned(&[
                crate::test::LIST_TITLES,
                &[
                    "1",
                    "0001_slow",
                    "interrupted",
                    "<time>",
                    "<who>",
                    "<dur>",
                    "ok"
                ],
                &["2", "0002_b", "pending"],
            ]),
            t.target()
        ));
    }
}

#[test]
fn a_second_signal_stops_at_once_and_kills_the_children() {
    let t = gated(true);
    let mut migo = t.spawn(&["execute"], &[("MIGO_TEST_GRACE_MS", "600000")]);
    let script = pid_in(&t.path("slow.pid"));
    signal(migo.id(), libc::SIGINT);
    // The script ignores the forwarded signal and the grace period is long: once migo said it
    // is stopping, only a second signal ends this now.
    let mut stderr = std::io::BufReader::new(migo.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("SIGINT received") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0);
    }
    assert!(alive(script));
    signal(migo.id(), libc::SIGINT);
    let status = migo.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    wait_until("the script was killed", || !alive(script));
    std::fs::write(t.path("go"), "").unwrap();
    assert!(t.docs("counters").is_empty());
}

/// `0001_r.sh`: `up` does nothing; `down` records its pid and waits for `go-down`, then exits
/// with the status in the file `down-status`.
fn rollback_script(t: Test) -> Test {
    let body = format!(
        r#"#!/bin/sh
case "$1" in
  up) exit 0 ;;
  down)
    echo $$ > {pid}
    while [ ! -e {go} ]; do sleep 0.05; done
    exit "$(cat {status} 2>/dev/null || echo 0)" ;;
esac
"#,
        pid = t.path("down.pid").display(),
        go = t.path("go-down").display(),
        status = t.path("down-status").display(),
    );
    t.script("0001_r.sh", &body)
}

#[test]
fn a_rollback_leaves_a_marker_and_a_failed_one_keeps_who_applied_it() {
    let t = rollback_script(Test::new());
    t.run(&["execute"]).success();
    let applied = t.records()[0].clone();
    let mut migo = t.spawn(&["rollback", "0001_r"], &[]);
    pid_in(&t.path("down.pid"));
    migo.kill().unwrap();
    migo.wait().unwrap();
    let marker = &t.records()[0];
    assert_eq!(marker.get_str("status").unwrap(), "running");
    assert_eq!(marker.get_str("direction").unwrap(), "down");
    assert_eq!(marker.get_str("who"), applied.get_str("who"));
    assert_eq!(
        marker.get_datetime("applied_at"),
        applied.get_datetime("applied_at")
    );
    t.run(&["unlock", "--yes"]).success();
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "{}1 migration: 1 interrupted ({})\n",
        aligned(&[
            crate::test::LIST_TITLES,
            &[
                "1",
                "0001_r",
                "interrupted (rollback)",
                "<time>",
                "<who>",
                "<dur>",
                "ok"
            ],
        ]),
        t.target()
    ));
    t.run(&["execute", "0001_r"])
        .code(6)
        .stdout_is("")
        .stderr_is(
        "error: cannot execute `0001_r`: its rollback did not finish, so `up`'s effects may still \
         be there; hint: finish the rollback with `migo rollback 0001_r`, or record it applied \
         again with `migo ignore 0001_r`\n",
    );

    std::fs::write(t.path("go-down"), "").unwrap();
    std::fs::write(t.path("down-status"), "3").unwrap();
    t.run(&["rollback", "0001_r"])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "{}\nrolling back 0001_r…\nerror: migration `0001_r` failed: exit status 3; hint: \
             `up`'s effects may still be there: fix `down` and retry with `migo rollback 0001_r`, \
             or record it applied again with `migo ignore 0001_r`\n",
            t.target()
        ));
    let failed = &t.records()[0];
    assert_eq!(failed.get_str("status").unwrap(), "failed");
    assert_eq!(failed.get_str("who"), applied.get_str("who"));
    let rollback = failed.get_document("rollback").unwrap();
    assert_eq!(
        rollback.get_str("error").unwrap(),
        "rollback failed: exit status 3"
    );
    t.run(&["execute"]).code(6).stdout_is("").stderr_is(
        "error: migration `0001_r` failed to roll back: its `down` stopped part way, so it may be \
         half undone (rollback failed: exit status 3); nothing was run; hint: fix its `down` and \
         retry with `migo rollback 0001_r`, or, if `up`'s effects are all still there, record it \
         applied again with `migo ignore 0001_r`\n",
    );
    std::fs::write(t.path("down-status"), "0").unwrap();
    t.run(&["rollback", "0001_r"]).success();
    assert!(t.records().is_empty());
}

#[test]
fn a_server_that_dies_mid_run_is_exit_5_naming_the_migration() {
    let server = Server::start(&[], None);
    let t = Test::new();
    let config = format!(
        "[mongo]\nuri = \"{}\"\ndatabase = \"{}\"\ntimeout_secs = 1\n",
        server.uri, t.db_name
    );
    let two = r#"{"up": [{"insert": "a", "documents": [{"_id": 1}]}, {"insert": "a", "documents": [{"_id": 2}]}], "down": []}"#;
    let t = t.raw_config(&config).migration("0001_x.json", two);
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "in-step:0001_x")]);
    wait_stopped(&migo);
    server.stop();
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    let error: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains("was lost while `0001_x` was running, so its state is unknown"),
        "{stderr}"
    );
    assert!(
        error[0]
            .contains("hint: once the server is back, `migo list` shows `0001_x` as interrupted"),
        "{stderr}"
    );
    assert!(!error[0].contains("topology"), "{stderr}");
}
