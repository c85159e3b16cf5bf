//! Fleets: one command on every tenant database. Each member keeps its own registry, lock and
//! audit log; members run `--jobs` at a time; a failure, a held lock or a modified file stays
//! with its member, the summary names it, and a rerun picks up exactly what is left.

use mongodb::bson::{doc, Document};
use mongodb::sync::Database;

use crate::processes::{gated_script, pid_in, signal, wait_stopped};
use crate::server::Server;
use crate::test::{aligned, Test};

/// A project whose `[fleet]` is every database named `<prefix>_mNN`, with `count` of them on
/// the server (each holding a seed document, so `listDatabases` shows it).
pub(crate) fn fleet(count: usize, extra: &str) -> (Test, Vec<String>) {
    let t = Test::new();
    let prefix = t.short_name();
    let members: Vec<String> = (0..count).map(|i| format!("{prefix}_m{i:02}")).collect();
    for name in &members {
        t.seed_database(name);
    }
    let t = t
        .config(&format!(
            "[fleet]\ndatabases = \"^{prefix}_m[0-9]+$\"\n{extra}"
        ))
        .migration("0001_a.json", &crate::insert("a"))
        .migration("0002_b.json", &crate::insert("b"))
        .migration("0003_c.json", &crate::insert("c"));
    (t, members)
}

pub(crate) fn database(t: &Test, name: &str) -> Database {
    t.server.client().database(name)
}

/// `(name, status)` of a member's registry records, by number.
pub(crate) fn statuses(t: &Test, name: &str) -> Vec<(String, String)> {
    database(t, name)
        .collection::<Document>("migrations")
        .find(doc! {"number": {"$exists": true}})
        .sort(doc! {"number": 1})
        .run()
        .expect("records")
        .map(|d| {
            let d = d.expect("record");
            let field = |k: &str| d.get_str(k).unwrap_or_default().to_string();
            (field("name"), field("status"))
        })
        .collect()
}

fn items(t: &Test, name: &str) -> Vec<String> {
    database(t, name)
        .collection::<Document>("items")
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .run()
        .expect("items")
        .map(|d| {
            d.expect("item")
                .get_str("_id")
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

pub(crate) fn applied(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), "applied".to_string()))
        .collect()
}

/// The fleet's first line on stderr: how many databases it found on the test's server.
fn found(t: &Test, count: usize) -> String {
    format!(
        "default: {count} database(s) on {}:{}\n",
        t.server.host, t.server.port
    )
}

/// The summary row of `member`: its cells, split on runs of spaces.
pub(crate) fn row(stdout: &str, member: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(member))
        .unwrap_or_else(|| panic!("no row for {member} in:\n{stdout}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

/// A live run on `member`, holding its lock, frozen before its first step.
fn live_run(t: &Test, member: &str) -> std::process::Child {
    let child = t.spawn(
        &["--database", member, "execute"],
        &[("MIGO_TEST_STOP_AT", "before-step:0001_a")],
    );
    wait_stopped(&child);
    child
}

#[test]
fn a_mixed_fleet_reports_each_member_and_a_rerun_finishes_it() {
    let (t, m) = fleet(22, "");
    // Up to date, behind by one, and untouched members.
    for name in &m[0..5] {
        t.run(&["--database", name, "execute"]).success();
    }
    for name in &m[5..8] {
        t.run(&["--database", name, "execute", "--steps", "2"])
            .success();
    }
    // m08's `0002_b` fails: its `b` already exists.
    database(&t, &m[8])
        .collection::<Document>("items")
        .insert_one(doc! {"_id": "b"})
        .run()
        .unwrap();
    // m09 applied `0001_a` from a file that was changed since.
    std::fs::write(t.path("mongomigrations/0001_a.json"), crate::insert("a2")).unwrap();
    t.run(&["--database", &m[9], "execute", "0001_a"]).success();
    std::fs::write(t.path("mongomigrations/0001_a.json"), crate::insert("a")).unwrap();
    // m10 is locked by a live run.
    let mut holder = live_run(&t, &m[10]);

    let run = t.run(&["--fleet", "execute", "--jobs", "4"]);
    run.code(1).error_line().stderr_has(&format!(
        "error: 3 of 22 databases failed: {} (failed), {} (failed), {} (locked); hint: run the \
         same command again: each database picks up what is left",
        m[8], m[9], m[10]
    ));
    assert_eq!(row(&run.stdout, &m[0])[..3], [m[0].as_str(), "ok", "0"]);
    assert_eq!(row(&run.stdout, &m[5])[..3], [m[5].as_str(), "ok", "1"]);
    assert_eq!(row(&run.stdout, &m[11])[..3], [m[11].as_str(), "ok", "3"]);
    assert_eq!(row(&run.stdout, &m[8])[..3], [m[8].as_str(), "failed", "1"]);
    assert!(row(&run.stdout, &m[8])[4].starts_with("migration `0002_b` failed: "));
    assert_eq!(row(&run.stdout, &m[9])[1], "failed");
    assert!(row(&run.stdout, &m[9])[3].contains("`0001_a` was modified after it ran"));
    assert_eq!(row(&run.stdout, &m[10])[1], "locked");
    run.stdout_has("22 databases: 19 ok, 2 failed, 1 locked; 37 migration(s) applied in ");
    run.stdout_has(&format!("[{}] applied 0003_c (", m[11]))
        .stderr_has(&format!("[{}] error: migration `0002_b` failed: ", m[8]))
        .stderr_has(&format!(
            "retry with `migo --database {} execute 0002_b`",
            m[8]
        ))
        .stderr_has(&format!(
            "[{}] error: the migrations lock is held by ",
            m[10]
        ));
    // Each member's registry and data, as if migo had run there alone.
    for name in m[0..8].iter().chain(&m[11..]) {
        assert_eq!(
            statuses(&t, name),
            applied(&["0001_a", "0002_b", "0003_c"]),
            "{name}"
        );
        assert_eq!(items(&t, name), ["a", "b", "c"], "{name}");
    }
    assert_eq!(
        statuses(&t, &m[8]),
        [("0001_a", "applied"), ("0002_b", "failed")].map(|(a, b)| (a.into(), b.into()))
    );
    assert_eq!(statuses(&t, &m[9]), applied(&["0001_a"]));
    assert_eq!(items(&t, &m[9]), ["a2"]);
    assert!(statuses(&t, &m[10]).is_empty());
    // `check` shows the members that are not up to date.
    let check = t.run(&["--fleet", "check"]);
    check.code(8).stdout_has(
        "22 databases: 19 up to date, 1 behind, 2 attention; migrations: 59 applied, 6 pending, \
         1 failed, 1 modified",
    );
    assert_eq!(check.stdout.lines().count(), 5, "{}", check.stdout);
    assert_eq!(
        row(&check.stdout, &m[8])[..6],
        [m[8].as_str(), "attention", "1", "1", "1", "0"]
    );
    assert_eq!(
        row(&check.stdout, &m[9])[..6],
        [m[9].as_str(), "attention", "1", "2", "0", "1"]
    );
    assert_eq!(
        row(&check.stdout, &m[10])[..6],
        [m[10].as_str(), "behind", "0", "3", "0", "0"]
    );

    // Fix m08 and retry its migration, accept m09's file, let m10's run finish: a rerun does
    // exactly what is left.
    database(&t, &m[8])
        .collection::<Document>("items")
        .delete_one(doc! {"_id": "b"})
        .run()
        .unwrap();
    t.run(&["--database", &m[8], "execute", "0002_b"]).success();
    t.run(&["--database", &m[9], "accept", "0001_a"]).success();
    signal(holder.id(), libc::SIGCONT);
    assert!(holder.wait().unwrap().success());
    let rerun = t.run(&["--fleet", "execute"]);
    rerun
        .success()
        .stdout_has("22 databases: 22 ok; 3 migration(s) applied in ");
    assert_eq!(row(&rerun.stdout, &m[8])[..3], [m[8].as_str(), "ok", "1"]);
    assert_eq!(row(&rerun.stdout, &m[9])[..3], [m[9].as_str(), "ok", "2"]);
    assert_eq!(row(&rerun.stdout, &m[10])[..3], [m[10].as_str(), "ok", "0"]);
    for name in &m {
        assert_eq!(
            statuses(&t, name),
            applied(&["0001_a", "0002_b", "0003_c"]),
            "{name}"
        );
    }
    t.run(&["--fleet", "check"])
        .success()
        .stdout_has("up to date: 22 databases: 22 up to date; migrations: 66 applied");
}

#[test]
fn list_shows_a_row_per_member_and_the_totals() {
    let (t, m) = fleet(3, "");
    t.run(&["--database", &m[0], "execute"]).success();
    t.run(&["--database", &m[1], "execute", "--steps", "1"])
        .success();
    t.run(&["--fleet", "list"])
        .success()
        .stderr_is(&found(&t, 3))
        .stdout_masked_is(&format!(
            "{}3 databases: 1 up to date, 2 behind; migrations: 4 applied, 5 pending\n",
            aligned(&[
                &["DATABASE", "STATE", "APPLIED", "PENDING", "FAILED", "MODIFIED", "NEWEST"],
                &[&m[0], "up to date", "3", "0", "0", "0", "0003_c (<time>)"],
                &[&m[1], "behind", "1", "2", "0", "0", "0001_a (<time>)"],
                &[&m[2], "behind", "0", "3", "0", "0"],
            ])
        ));
    let json = t.run(&["--fleet", "version", "--json"]);
    json.success().stderr_is(&found(&t, 3));
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["databases"][1]["database"], m[1].as_str());
    assert_eq!(doc["databases"][1]["newest"]["name"], "0001_a");
    assert_eq!(doc["databases"][1]["target"]["database"], m[1].as_str());
    assert_eq!(doc["totals"]["pending"], 5);
    // `check` fails with exit 8 naming the members behind.
    t.run(&["--fleet", "check"]).code(8).stderr_is(&format!(
        "{}error: 2 of 3 databases are not up to date: {} (behind), {} (behind); hint: \
         `migo --database NAME list` shows one database's migrations\n",
        found(&t, 3),
        m[1],
        m[2]
    ));
}

#[test]
fn fail_fast_starts_no_member_after_the_first_failure() {
    let (t, m) = fleet(5, "");
    database(&t, &m[1])
        .collection::<Document>("items")
        .insert_one(doc! {"_id": "a"})
        .run()
        .unwrap();
    let m1 = &m[1];
    let dup_key = format!(
        "command 1 of 1 (`insert`): code 11000: E11000 duplicate key error collection: \
         {m1}.items index: _id_ dup key: {{ _id: \"a\" }}"
    );
    let again = "hint: run the same command again: each database picks up what is left; `migo \
                 --database NAME list` shows one\n";
    let applied = |name: &str| {
        format!(
            "[{name}] applied 0001_a (<dur>)\n[{name}] applied 0002_b (<dur>)\n\
             [{name}] applied 0003_c (<dur>)\n"
        )
    };
    let failed = format!("migration `0001_a` failed: {dup_key}");
    t.run(&["--fleet", "execute", "--jobs", "1", "--fail-fast"])
        .code(1)
        .stdout_masked_is(&format!(
            "{}{}5 databases: 1 ok, 1 failed, 3 not started; 3 migration(s) applied in <dur>\n",
            applied(&m[0]),
            aligned(&[
                &["DATABASE", "RESULT", "APPLIED", "DURATION", "ERROR"],
                &[&m[0], "ok", "3", "<dur>"],
                &[m1, "failed", "0", "<dur>", &failed],
                &[&m[2], "not started"],
                &[&m[3], "not started"],
                &[&m[4], "not started"],
            ])
        ))
        .stderr_is(&format!(
            "{}[{m1}] error: {failed}; hint: fix it, then retry with `migo --database {m1} \
             execute 0001_a`, or `migo --database {m1} ignore 0001_a` / `migo --database {m1} \
             rollback 0001_a`\n\
             error: 1 of 5 databases failed: {m1} (failed); 3 not started (--fail-fast); {again}",
            found(&t, 5)
        ));
    for name in &m[2..] {
        assert!(statuses(&t, name).is_empty(), "{name} was touched");
    }
    // Without it, the others go on; the failed member waits for its own retry, as it would
    // alone (exit 6: its migration failed on its last run).
    let last_run =
        format!("migration `0001_a` failed on its last run ({dup_key}); nothing was run");
    t.run(&["--fleet", "execute", "--jobs", "1"])
        .code(6)
        .stdout_masked_is(&format!(
            "{}{}{}{}5 databases: 4 ok, 1 failed; 9 migration(s) applied in <dur>\n",
            applied(&m[2]),
            applied(&m[3]),
            applied(&m[4]),
            aligned(&[
                &["DATABASE", "RESULT", "APPLIED", "DURATION", "ERROR"],
                &[&m[0], "ok", "0", "<dur>"],
                &[m1, "failed", "", "<dur>", &last_run],
                &[&m[2], "ok", "3", "<dur>"],
                &[&m[3], "ok", "3", "<dur>"],
                &[&m[4], "ok", "3", "<dur>"],
            ])
        ))
        .stderr_is(&format!(
            "{}[{m1}] error: {last_run}; hint: fix it and retry with `migo --database {m1} \
             execute 0001_a`, or `migo --database {m1} rollback 0001_a`, or mark it done with \
             `migo --database {m1} ignore 0001_a`\n\
             error: 1 of 5 databases failed: {m1} (failed); {again}",
            found(&t, 5)
        ));
    for name in &m[2..] {
        assert_eq!(statuses(&t, name).len(), 3);
    }
}

#[test]
fn a_locked_member_alone_exits_7_and_the_others_proceed() {
    let (t, m) = fleet(3, "");
    let mut holder = live_run(&t, &m[1]);
    let run = t.run(&["--fleet", "execute", "--json"]);
    let host = crate::test::who().split_once('@').unwrap().1.to_string();
    run.code(7).stderr_masked_is(&format!(
        "{}[{m1}] error: the migrations lock is held by <who> (pid {}), running `migo --database \
         {m1} execute` since <time>; hint: wait for it with `--wait SECS`, or run `migo \
         --database {m1} unlock` if no migo process is running on {host}\n\
         error: 1 of 3 databases failed: {m1} (locked); hint: run the same command again: each \
         database picks up what is left; `migo --database NAME list` shows one\n",
        found(&t, 3),
        holder.id(),
        m1 = m[1]
    ));
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let members = doc["databases"].as_array().unwrap();
    assert_eq!(members[1]["result"], "locked");
    assert_eq!(members[1]["error"]["reason"], "locked");
    assert_eq!(members[1]["error"]["exit_code"], 7);
    assert_eq!(members[0]["result"], "ok");
    assert_eq!(members[0]["steps"], 3);
    assert_eq!(members[0]["report"]["steps"].as_array().unwrap().len(), 3);
    assert_eq!(doc["totals"]["locked"], 1);
    signal(holder.id(), libc::SIGCONT);
    assert!(holder.wait().unwrap().success());
    assert_eq!(statuses(&t, &m[2]).len(), 3);
}

#[test]
fn ctrl_c_stops_starting_members_and_prints_the_summary() {
    let (t, m) = fleet(4, "");
    let body = gated_script(t.dir(), "slow");
    let t = t.script("0004_slow.sh", &body);
    let migo = t.spawn(&["--fleet", "execute", "--jobs", "1"], &[]);
    pid_in(&t.path("slow.pid"));
    signal(migo.id(), libc::SIGINT);
    let out = migo.wait_with_output().unwrap();
    let stopped = "stopped by SIGINT while `0004_slow` was running; it is recorded as interrupted";
    crate::test::Run::from_output(&out)
        .code(130)
        .stdout_masked_is(&format!(
            "[{m0}] applied 0001_a (<dur>)\n[{m0}] applied 0002_b (<dur>)\n\
             [{m0}] applied 0003_c (<dur>)\n{}\
             4 databases: 1 interrupted, 3 not started; 3 migration(s) applied in <dur>\n",
            aligned(&[
                &["DATABASE", "RESULT", "APPLIED", "DURATION", "ERROR"],
                &[&m[0], "interrupted", "3", "<dur>", stopped],
                &[&m[1], "not started"],
                &[&m[2], "not started"],
                &[&m[3], "not started"],
            ]),
            m0 = m[0]
        ))
        .stderr_is(&format!(
            "{}migo: SIGINT received: stopping after the step in flight (again to stop at once)\n\
             [{m0}] error: {stopped}; hint: check what `0004_slow` did, then `migo --database \
             {m0} execute 0004_slow` to run it again, or `migo --database {m0} ignore 0004_slow` \
             / `migo --database {m0} rollback 0004_slow`\n\
             error: stopped by SIGINT: 0 of 4 databases done, 1 stopped, 3 not started; hint: \
             run the same command again: each database picks up what is left; `migo --database \
             NAME list` shows one\n",
            found(&t, 4),
            m0 = m[0]
        ));
    for name in &m[1..] {
        assert!(statuses(&t, name).is_empty());
    }
    // The member stopped as a single run does: recorded, audited, lock released.
    assert_eq!(
        statuses(&t, &m[0])[3],
        ("0004_slow".into(), "interrupted".into())
    );
    let lock = database(&t, &m[0])
        .collection::<Document>("migrations")
        .find_one(doc! {"_id": crate::test::LOCK_ID})
        .run()
        .unwrap()
        .unwrap();
    assert!(
        lock.get_str("token").is_err(),
        "the lock was not released: {lock}"
    );
}

#[test]
fn environments_span_two_clusters() {
    let (eu, us) = (Server::start(&[], None), Server::start(&[], None));
    let t = Test::new();
    for (server, names) in [
        (&eu, ["p_1", "p_2"].as_slice()),
        (&us, &["p_1", "p_3", "q_1"]),
    ] {
        for name in names {
            crate::test::seed(&server.client().database(name));
        }
    }
    let t = t
        .config(&format!(
            "[environments.eu.mongo]\nuri = \"{}\"\n[environments.us.mongo]\nuri = \"{}\"\n\
             [fleet]\ndatabases = \"^p_\"\nenvironments = [\"eu\", \"us\"]\n",
            eu.uri, us.uri
        ))
        .migration("0001_a.json", &crate::insert("a"));
    let run = t.run(&["--fleet", "execute"]);
    let applied = |member: &str| format!("[{member}] applied 0001_a (<dur>)\n");
    run.by_member()
        .success()
        .stderr_is(&format!(
            "eu: 2 database(s) on 127.0.0.1:{}\nus: 2 database(s) on 127.0.0.1:{}\n",
            eu.port, us.port
        ))
        .stdout_masked_is(&format!(
            "{}{}{}{}{}4 databases: 4 ok; 4 migration(s) applied in <dur>\n",
            applied("eu/p_1"),
            applied("eu/p_2"),
            applied("us/p_1"),
            applied("us/p_3"),
            aligned(&[
                &["DATABASE", "RESULT", "APPLIED", "DURATION", "ERROR"],
                &["eu/p_1", "ok", "1", "<dur>"],
                &["eu/p_2", "ok", "1", "<dur>"],
                &["us/p_1", "ok", "1", "<dur>"],
                &["us/p_3", "ok", "1", "<dur>"],
            ])
        ));
    let count = |server: &Server, db: &str| {
        server
            .client()
            .database(db)
            .collection::<Document>("items")
            .count_documents(doc! {})
            .run()
            .unwrap()
    };
    assert_eq!(
        [
            count(&eu, "p_1"),
            count(&eu, "p_2"),
            count(&us, "p_1"),
            count(&us, "p_3"),
            count(&us, "q_1")
        ],
        [1, 1, 1, 1, 0]
    );
    // One environment alone: `--env` picks its cluster.
    t.run(&["--env", "us", "--fleet", "list"])
        .success()
        .stderr_is(&format!("us: 2 database(s) on 127.0.0.1:{}\n", us.port))
        .stdout_masked_is(&format!(
            "{}2 databases: 2 up to date; migrations: 2 applied\n",
            aligned(&[
                &["DATABASE", "STATE", "APPLIED", "PENDING", "FAILED", "MODIFIED", "NEWEST"],
                &["p_1", "up to date", "1", "0", "0", "0", "0001_a (<time>)"],
                &["p_3", "up to date", "1", "0", "0", "0", "0001_a (<time>)"],
            ])
        ));
    eu.stop();
    us.stop();
}

#[test]
fn dumps_go_into_a_directory_per_member() {
    let (t, m) = fleet(2, "[dump]\nenabled = true\ndirectory = \"dumps\"\n");
    // Members run at once: each member's lines in order, the members' lines grouped.
    let dumped = |name: &str| {
        format!(
            "[{name}] dumped `{}/dumps/{name}/default-<stamp>` (2 collection(s), 1 document(s), \
             0.0 MB) in <dur>\n",
            t.dir().display()
        )
    };
    let applied = |name: &str| {
        format!(
            "[{name}] applied 0001_a (<dur>)\n[{name}] applied 0002_b (<dur>)\n\
             [{name}] applied 0003_c (<dur>)\n"
        )
    };
    t.run(&["--fleet", "execute"])
        .by_member()
        .success()
        .stderr_is(&found(&t, 2))
        .stdout_masked_is(&format!(
            "{}{}{}{}{}2 databases: 2 ok; 6 migration(s) applied in <dur>\n",
            dumped(&m[0]),
            applied(&m[0]),
            dumped(&m[1]),
            applied(&m[1]),
            aligned(&[
                &["DATABASE", "RESULT", "APPLIED", "DURATION", "ERROR"],
                &[&m[0], "ok", "3", "<dur>"],
                &[&m[1], "ok", "3", "<dur>"],
            ])
        ));
    for name in &m {
        let dir = t.path(&format!("dumps/{name}"));
        let dumps: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(dumps.len(), 1, "{}", dir.display());
        let dump = dumps[0].as_ref().unwrap().path();
        assert!(dump.join("migo-dump.json").is_file(), "{}", dump.display());
    }
}

#[test]
fn a_confirm_environment_asks_once_for_the_fleet() {
    let (t, m) = fleet(12, "[environments.prod]\nconfirm = true\n");
    let first: Vec<&str> = m[..10].iter().map(String::as_str).collect();
    t.run(&["--env", "prod", "--fleet", "execute"])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "prod: 12 database(s) on {}:{}\nerror: `migo --env prod --fleet execute` changes 12 \
             database(s): {}, and 2 more, and needs confirmation; hint: pass `--yes` to confirm \
             without a terminal\n",
            t.server.host,
            t.server.port,
            first.join(", ")
        ));
    assert!(m.iter().all(|name| statuses(&t, name).is_empty()));
    t.run(&["--env", "prod", "--fleet", "execute", "--yes"])
        .success();
    assert!(m.iter().all(|name| statuses(&t, name).len() == 3));
}

#[test]
fn history_and_dry_run_print_a_block_per_member() {
    let (t, m) = fleet(2, "");
    // Each member's block whole (the members finish in either order).
    let plan = |name: &str| {
        let step = |n: &str, id: &str| {
            format!(
                "[{name}] would apply {n} ({n}.json)\n\
                 [{name}]     {{\"insert\":\"items\",\"documents\":[{{\"_id\":\"{id}\"}}]}}\n"
            )
        };
        format!(
            "{}{}{}[{name}] dry run: 3 step(s), nothing was changed\n",
            step("0001_a", "a"),
            step("0002_b", "b"),
            step("0003_c", "c")
        )
    };
    t.run(&["--fleet", "execute", "--dry-run"])
        .by_member()
        .success()
        .stderr_is(&found(&t, 2))
        .stdout_masked_is(&format!(
            "{}{}{}2 databases: 2 ok; 0 migration(s) applied in <dur>\n",
            plan(&m[0]),
            plan(&m[1]),
            aligned(&[
                &["DATABASE", "RESULT", "APPLIED", "DURATION", "ERROR"],
                &[&m[0], "ok", "0", "<dur>"],
                &[&m[1], "ok", "0", "<dur>"],
            ])
        ));
    assert!(statuses(&t, &m[0]).is_empty());
    t.run(&["--fleet", "execute"]).success();
    let history = t.run(&["--fleet", "history", "--json"]);
    history.success().stderr_is(&found(&t, 2));
    let doc: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let report = &doc["databases"][0]["report"];
    assert_eq!(report[0]["action"], "execute", "{doc}");
    assert_eq!(report[0]["migrations"].as_array().unwrap().len(), 3);
}

#[test]
fn bad_fleet_input_is_one_error_line_and_writes_nothing() {
    let (t, m) = fleet(2, "");
    let not_for_fleet = "error: `--fleet` applies to `list`, `check`, `version`, `execute`, \
                         `ignore`, `rollback`, `history`, `test`, `dump`, `drift`, `lint` and \
                         `preflight`; hint: run the others on one database with `--database \
                         NAME`\n";
    for (args, code, error) in [
        (
            &["--fleet", "execute", "--databases", "("][..],
            2,
            "error: `--databases` \"(\" is not a valid regex: unclosed group; hint: give a Rust \
             regex, e.g. `--databases '^tenant_'`\n",
        ),
        (&["--fleet", "new", "x"], 2, not_for_fleet),
        (
            &["--fleet", "--database", "x", "list"],
            2,
            "error: `--database` and `--fleet` exclude each other; hint: `--databases REGEX` \
             chooses the fleet's databases; without `--fleet`, `--database` runs on one\n",
        ),
        (
            &["--databases", "^x", "list"],
            2,
            "error: `--databases` and `--fail-fast` go with `--fleet`; hint: add `--fleet` to run \
             on every database of the fleet\n",
        ),
        (
            &["--fleet", "execute", "--databases", "^nothing_here$"],
            2,
            "error: the fleet has no databases: none matches on the server; hint: check `[fleet] \
             databases` (or `--databases`); `migo --fleet list` lists the members it finds\n",
        ),
        (&["--fleet", "accept", "0001_a"], 2, not_for_fleet),
        (
            &["--fleet", "list", "--jobs", "0"],
            2,
            "error: invalid value '0' for '--jobs <N>': 0 is not in 1..=64; hint: `--jobs` takes \
             a whole number from 1 to 64\n",
        ),
        (
            &["--fleet", "list", "--jobs", "65"],
            2,
            "error: invalid value '65' for '--jobs <N>': 65 is not in 1..=64; hint: `--jobs` \
             takes a whole number from 1 to 64\n",
        ),
        (
            &["--fleet", "list", "--databases", "\u{1b}[31m("],
            2,
            "error: `--databases` \"\\u{1b}[31m(\" is not a valid regex: unclosed character class; \
             hint: give a Rust regex, e.g. `--databases '^tenant_'`\n",
        ),
    ] {
        t.run(args).code(code).stdout_is("").stderr_is(error);
    }
    // A misnamed migration file stops the fleet once, before any member starts.
    let t = t.file("mongomigrations/0004_a b.json", "{}");
    t.run(&["--fleet", "execute"])
        .code(4)
        .stdout_is("")
        .stderr_is(&format!(
            "{}error: file `0004_a b.json` in `mongomigrations` does not match the pattern \
             `^(?P<number>[0-9]+)_[A-Za-z0-9_-]+(\\.(up|down))?\\.(json|js|sh|py)$`; hint: \
             rename it, prefix it with `_` to keep it aside, or change `[migrations] pattern`\n",
            found(&t, 2)
        ));
    std::fs::remove_file(t.path("mongomigrations/0004_a b.json")).unwrap();
    let bad = Test::new();
    for (fleet, error) in [
        (
            "databases = [\"a.b\"]",
            "error: migo.toml:6:1: `[fleet] databases` lists \"a.b\", which is not a valid \
             database name; hint: use letters, digits, `_` and `-` (at most 63 characters)\n",
        ),
        (
            "environments = [\"nope\"]",
            "error: migo.toml:6:1: `[fleet] environments` names `nope`, which is not defined; \
             hint: define `[environments.<name>]` for each cluster of the fleet\n",
        ),
        (
            "databases = \"(\"",
            "error: migo.toml:6:1: `[fleet] databases` \"(\" is not a valid regex: unclosed \
             group; hint: give a Rust regex, e.g. \"^tenant_\", or a list of names\n",
        ),
        (
            "colour = 1",
            "error: migo.toml:7:1: unknown field `colour`, expected one of `databases`, \
             `exclude`, `environments`; hint: every key is documented in migo.reference.toml\n",
        ),
    ] {
        let bad = Test::new().config(&format!("[fleet]\n{fleet}\n"));
        bad.run(&["--fleet", "list"])
            .code(3)
            .stdout_is("")
            .stderr_is(error);
    }
    bad.run(&["--fleet", "list"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: `--fleet` needs `[fleet]` in migo.toml, or `--databases REGEX`; hint: add \
         `[fleet]` with `databases = \"^tenant_\"` (a regex or a list of names)\n",
        );
    assert!(m.iter().all(|name| statuses(&t, name).is_empty()));
}

#[test]
fn a_terminal_gets_a_progress_display_and_the_summary() {
    let (t, m) = fleet(3, "");
    // util-linux `script` gives migo a terminal for stdout and stderr.
    let mut command = std::process::Command::new("script");
    let line = format!("{} --fleet execute --jobs 1", env!("CARGO_BIN_EXE_migo"));
    command.args(["-qec", &line, "/dev/null"]);
    t.inside(&mut command);
    command.env("NO_COLOR", "1");
    let run = crate::test::Run::of(command);
    run.success()
        .stdout_has("/3 databases")
        .stdout_has("3 databases: 3 ok; 9 migration(s) applied in ");
    // The members' lines come above the display, not prefixed lines only in a log.
    assert!(
        run.stdout.contains(&format!("[{}] applied 0003_c", m[2])),
        "{}",
        run.stdout
    );
}
