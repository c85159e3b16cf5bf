//! The way out that a hint names is one migo takes: after an interrupted or failed rollback the
//! hints name `rollback NAME` (to finish it) and `ignore NAME` (to record it applied again),
//! never `execute NAME`, which migo refuses for a migration whose `down` may have run.

use crate::processes::{pid_in, signal};
use crate::test::Test;

/// `0001_r.sh`: `up` inserts nothing and succeeds; `down` writes its pid, then waits for the
/// file `go-down` and exits 0.
fn rollback_waits(t: Test) -> Test {
    let body = format!(
        "#!/bin/sh\ncase \"$1\" in\n  up) exit 0 ;;\n  down)\n    echo $$ > {pid}\n    while [ ! -e {go} ]; do sleep 0.05; done\n    exit 0 ;;\nesac\n",
        pid = t.path("down.pid").display(),
        go = t.path("go-down").display(),
    );
    t.script("0001_r.sh", &body)
}

#[test]
fn an_interrupted_rollback_is_told_to_roll_back_or_ignore_and_both_work() {
    let t = rollback_waits(Test::new());
    t.run(&["execute"]).success();
    let migo = t.spawn(&["rollback", "0001_r"], &[]);
    pid_in(&t.path("down.pid"));
    signal(migo.id(), libc::SIGTERM);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert_eq!(
        stderr.lines().last().unwrap(),
        "error: stopped by SIGTERM while `0001_r` was running; it is recorded as interrupted; \
         hint: check what its `down` undid, then finish the rollback with `migo rollback \
         0001_r`, or record it applied again with `migo ignore 0001_r`",
        "{stderr}"
    );
    assert_eq!(t.statuses(), [("0001_r".into(), "interrupted".into())]);
    // What the hint does not name, migo refuses, naming the same two ways out.
    t.run(&["execute", "0001_r"])
        .code(6)
        .stdout_is("")
        .stderr_is(
            "error: cannot execute `0001_r`: its rollback did not finish, so `up`'s effects may \
             still be there; hint: finish the rollback with `migo rollback 0001_r`, or record it \
             applied again with `migo ignore 0001_r`\n",
        );
    // Both ways out work: record it applied again, then roll it back to the end.
    t.run(&["ignore", "0001_r"]).success();
    assert_eq!(t.statuses(), [("0001_r".into(), "ignored".into())]);
    std::fs::write(t.path("go-down"), "").unwrap();
    t.run(&["rollback", "0001_r"]).success();
    assert!(t.records().is_empty(), "{:?}", t.records());
}

#[test]
fn a_connection_lost_during_a_rollback_is_told_to_roll_back_or_ignore() {
    let server = crate::server::Server::start(&[], None);
    let t = Test::new();
    let config = format!(
        "[mongo]\nuri = \"{}\"\ndatabase = \"{}\"\ntimeout_secs = 1\n",
        server.uri, t.db_name
    );
    let t = t
        .raw_config(&config)
        .migration("0001_x.json", &crate::insert("x"));
    t.run(&["execute"]).success();
    let migo = t.spawn(
        &["rollback", "0001_x"],
        &[("MIGO_TEST_STOP_AT", "in-step:0001_x")],
    );
    crate::processes::wait_stopped(&migo);
    server.stop();
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    let error = stderr.lines().last().unwrap();
    let hint = error.split("; hint: ").nth(1).unwrap_or_default();
    assert_eq!(
        hint,
        "once the server is back, `migo list` shows `0001_x` as interrupted; check its data, \
         then finish the rollback with `migo rollback 0001_x`, or record it applied again with \
         `migo ignore 0001_x`",
        "{stderr}"
    );
}
