//! Fleets: one command on every tenant database. Each member keeps its own registry, lock and
//! audit log; members run `--jobs` at a time; a failure, a held lock or a modified file stays
//! with its member, the summary names it, and a rerun picks up exactly what is left.

use mongodb::bson::{doc, Document};
use mongodb::sync::Database;

use crate::processes::{gated_script, pid_in, signal, wait_stopped};
use crate::server::Server;
use crate::test::Test;

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
    let run = t.run(&["--fleet", "list"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(lines[0].starts_with("DATABASE"));
    assert_eq!(
        row(&run.stdout, &m[0])[..6],
        [m[0].as_str(), "up to date", "3", "0", "0", "0"]
    );
    assert!(row(&run.stdout, &m[0])[6].starts_with("0003_c ("));
    assert_eq!(
        row(&run.stdout, &m[1])[..6],
        [m[1].as_str(), "behind", "1", "2", "0", "0"]
    );
    assert_eq!(
        row(&run.stdout, &m[2])[..6],
        [m[2].as_str(), "behind", "0", "3", "0", "0"]
    );
    assert_eq!(
        lines[4],
        "3 databases: 1 up to date, 2 behind; migrations: 4 applied, 5 pending"
    );
    let json = t.run(&["--fleet", "version", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).unwrap();
    assert_eq!(doc["databases"][1]["database"], m[1].as_str());
    assert_eq!(doc["databases"][1]["newest"]["name"], "0001_a");
    assert_eq!(doc["databases"][1]["target"]["database"], m[1].as_str());
    assert_eq!(doc["totals"]["pending"], 5);
    // `check` fails with exit 8 naming the members behind.
    t.run(&["--fleet", "check"]).code(8).stderr_has(&format!(
        "error: 2 of 3 databases are not up to date: {} (behind), {} (behind)",
        m[1], m[2]
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
    let run = t.run(&["--fleet", "execute", "--jobs", "1", "--fail-fast"]);
    run.code(1).stderr_has(&format!(
        "error: 1 of 5 databases failed: {} (failed); 3 not started (--fail-fast)",
        m[1]
    ));
    assert_eq!(row(&run.stdout, &m[0])[1], "ok");
    assert_eq!(row(&run.stdout, &m[1])[1], "failed");
    for name in &m[2..] {
        assert_eq!(row(&run.stdout, name), [name.as_str(), "not started"]);
        assert!(statuses(&t, name).is_empty(), "{name} was touched");
    }
    // Without it, the others go on; the failed member waits for its own retry, as it would
    // alone (exit 6: its migration failed on its last run).
    t.run(&["--fleet", "execute", "--jobs", "1"])
        .code(6)
        .stderr_has("failed on its last run");
    for name in &m[2..] {
        assert_eq!(statuses(&t, name).len(), 3);
    }
}

#[test]
fn a_locked_member_alone_exits_7_and_the_others_proceed() {
    let (t, m) = fleet(3, "");
    let mut holder = live_run(&t, &m[1]);
    let run = t.run(&["--fleet", "execute", "--json"]);
    run.code(7);
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
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert_eq!(
        row(&stdout, &m[0])[..3],
        [m[0].as_str(), "interrupted", "3"]
    );
    for name in &m[1..] {
        assert_eq!(row(&stdout, name), [name.as_str(), "not started"]);
        assert!(statuses(&t, name).is_empty());
    }
    assert!(
        stderr
            .contains("error: stopped by SIGINT: 0 of 4 databases done, 1 stopped, 3 not started"),
        "{stderr}"
    );
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
    run.success()
        .stderr_has(&format!("eu: 2 database(s) on 127.0.0.1:{}", eu.port))
        .stderr_has(&format!("us: 2 database(s) on 127.0.0.1:{}", us.port));
    for member in ["eu/p_1", "eu/p_2", "us/p_1", "us/p_3"] {
        assert_eq!(row(&run.stdout, member)[..3], [member, "ok", "1"]);
    }
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
        .stdout_has("2 databases: 2 up to date");
    eu.stop();
    us.stop();
}

#[test]
fn dumps_go_into_a_directory_per_member() {
    let (t, m) = fleet(2, "[dump]\nenabled = true\ndirectory = \"dumps\"\n");
    t.run(&["--fleet", "execute"]).success();
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
    let run = t.run(&["--env", "prod", "--fleet", "execute"]);
    run.code(6)
        .error_line()
        .stderr_has(&format!(
            "changes 12 database(s): {}, {}, {}",
            m[0], m[1], m[2]
        ))
        .stderr_has("and 2 more");
    assert!(m.iter().all(|name| statuses(&t, name).is_empty()));
    t.run(&["--env", "prod", "--fleet", "execute", "--yes"])
        .success();
    assert!(m.iter().all(|name| statuses(&t, name).len() == 3));
}

#[test]
fn history_and_dry_run_print_a_block_per_member() {
    let (t, m) = fleet(2, "");
    let dry = t.run(&["--fleet", "execute", "--dry-run"]);
    dry.success()
        .stdout_has(&format!("[{}] would apply 0001_a (0001_a.json)", m[0]))
        .stdout_has(&format!(
            "[{}] dry run: 3 step(s), nothing was changed",
            m[1]
        ));
    assert!(statuses(&t, &m[0]).is_empty());
    t.run(&["--fleet", "execute"]).success();
    let history = t.run(&["--fleet", "history", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&history.success().stdout).unwrap();
    let report = &doc["databases"][0]["report"];
    assert_eq!(report[0]["action"], "execute", "{doc}");
    assert_eq!(report[0]["migrations"].as_array().unwrap().len(), 3);
}

#[test]
fn bad_fleet_input_is_one_error_line_and_writes_nothing() {
    let (t, m) = fleet(2, "");
    for (args, code, message) in [
        (
            &["--fleet", "execute", "--databases", "("][..],
            2,
            "`--databases` \"(\" is not a valid regex",
        ),
        (&["--fleet", "new", "x"], 2, "`--fleet` applies to `list`"),
        (
            &["--fleet", "--database", "x", "list"],
            2,
            "`--database` and `--fleet` exclude each other",
        ),
        (
            &["--databases", "^x", "list"],
            2,
            "`--databases` and `--fail-fast` go with `--fleet`",
        ),
        (
            &["--fleet", "execute", "--databases", "^nothing_here$"],
            2,
            "the fleet has no databases",
        ),
        (&["--fleet", "accept", "0001_a"], 2, "`--fleet` applies to"),
        (&["--fleet", "list", "--jobs", "0"], 2, "--jobs"),
        (&["--fleet", "list", "--jobs", "65"], 2, "--jobs"),
        (
            &["--fleet", "list", "--databases", "\u{1b}[31m("],
            2,
            "`--databases` \"\\u{1b}[31m(\" is not a valid regex",
        ),
    ] {
        t.run(args).code(code).one_error_line().stderr_has(message);
    }
    // A misnamed migration file stops the fleet once, before any member starts.
    let t = t.file("mongomigrations/0004_a b.json", "{}");
    t.run(&["--fleet", "execute"])
        .code(4)
        .error_line()
        .stderr_has("file `0004_a b.json`");
    std::fs::remove_file(t.path("mongomigrations/0004_a b.json")).unwrap();
    let bad = Test::new();
    for (fleet, message) in [
        (
            "databases = [\"a.b\"]",
            "`[fleet] databases` lists \"a.b\", which is not a valid database name",
        ),
        (
            "environments = [\"nope\"]",
            "`[fleet] environments` names `nope`, which is not defined",
        ),
        (
            "databases = \"(\"",
            "`[fleet] databases` \"(\" is not a valid regex",
        ),
        ("colour = 1", "unknown field `colour`"),
    ] {
        let bad = Test::new().config(&format!("[fleet]\n{fleet}\n"));
        bad.run(&["--fleet", "list"])
            .code(3)
            .one_error_line()
            .stderr_has(message);
    }
    bad.run(&["--fleet", "list"])
        .code(2)
        .stderr_has("`--fleet` needs `[fleet]` in migo.toml");
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
