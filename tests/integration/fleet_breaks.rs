//! What an operator (or the server) does to a fleet run: freeze it mid-step, kill it, fill the
//! disk under its dumps, name databases with control characters, give a password with `/` and
//! `@`, roll everything back without thinking. Each member must end as a single run would.

use mongodb::bson::{doc, Document};

use crate::fleet::{applied, database, fleet, row, statuses};
use crate::processes::{signal, wait_stopped};
use crate::server::{self, Server};
use crate::test::Test;

const ALL: [&str; 3] = ["0001_a", "0002_b", "0003_c"];

#[test]
fn a_fleet_frozen_mid_step_keeps_that_member_locked_and_finishes_when_continued() {
    let (t, m) = fleet(3, "");
    let frozen = t.spawn(
        &["--fleet", "execute", "--jobs", "1"],
        &[("MIGO_TEST_STOP_AT", "in-step:0002_b")],
    );
    wait_stopped(&frozen);
    // Another deploy of the fleet meanwhile: the frozen member is locked, the others proceed.
    let other = t.run(&["--fleet", "execute"]);
    other.code(7).stderr_has(&format!(
        "error: 1 of 3 databases failed: {} (locked)",
        m[0]
    ));
    assert_eq!(row(&other.stdout, &m[0])[1], "locked");
    for name in &m[1..] {
        assert_eq!(statuses(&t, name), applied(&ALL), "{name}");
    }
    assert_eq!(
        statuses(&t, &m[0]),
        [("0001_a", "applied"), ("0002_b", "running")].map(|(a, b)| (a.into(), b.into()))
    );
    signal(frozen.id(), libc::SIGCONT);
    let out = frozen.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in &m {
        assert_eq!(statuses(&t, name), applied(&ALL), "{name}");
    }
}

#[test]
fn a_fleet_killed_mid_step_leaves_the_member_interrupted_and_the_rest_to_a_rerun() {
    let (t, m) = fleet(3, "");
    let mut killed = t.spawn(
        &["--fleet", "execute", "--jobs", "1"],
        &[
            ("MIGO_TEST_STOP_AT", "in-step:0002_b"),
            ("MIGO_TEST_LEASE_MS", "300"),
        ],
    );
    wait_stopped(&killed);
    signal(killed.id(), libc::SIGKILL);
    killed.wait().unwrap();
    // The rerun waits out the dead run's lease, takes the lock over, and finds 0002_b
    // interrupted: that member waits for a decision, the others are done.
    let rerun = t.run(&["--fleet", "execute", "--wait", "30"]);
    rerun
        .code(6)
        .stderr_has(&format!("[{}] warning: ", m[0]))
        .stderr_has("was interrupted")
        .stderr_has(&format!(
            "error: 1 of 3 databases failed: {} (failed)",
            m[0]
        ));
    for name in &m[1..] {
        assert_eq!(statuses(&t, name), applied(&ALL), "{name}");
    }
    assert_eq!(statuses(&t, &m[0])[1], ("0002_b".into(), "running".into()));
    // The decision, then the fleet is up to date.
    t.run(&["--database", &m[0], "execute", "0002_b"]).success();
    t.run(&["--fleet", "execute"]).success();
    t.run(&["--fleet", "check"]).success();
    for name in &m {
        assert_eq!(statuses(&t, name), applied(&ALL), "{name}");
    }
}

#[test]
fn a_full_disk_fails_every_members_dump_and_migrates_nothing() {
    let Some(disk) = crate::disk::Tmpfs::mount("64k") else {
        return;
    };
    let dumps = disk.path().join("dumps");
    let (t, m) = fleet(
        2,
        &format!(
            "[dump]\nenabled = true\ndirectory = \"{}\"\n",
            dumps.display()
        ),
    );
    let big: Vec<Document> = (0..2_000)
        .map(|i| doc! {"_id": i, "pad": "x".repeat(200)})
        .collect();
    for name in &m {
        database(&t, name)
            .collection::<Document>("big")
            .insert_many(big.clone())
            .run()
            .unwrap();
    }
    let run = t.run(&["--fleet", "execute", "--jobs", "1"]);
    run.code(11)
        .stderr_has("No space left on device")
        .stderr_has(&format!(
            "error: 2 of 2 databases failed: {} (failed), {} (failed)",
            m[0], m[1]
        ));
    for name in &m {
        assert!(statuses(&t, name).is_empty(), "{name} was migrated");
        let left: Vec<_> = std::fs::read_dir(dumps.join(name))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "a partial dump was left: {left:?}");
    }
}

#[test]
fn database_names_with_control_characters_are_escaped_everywhere() {
    let t = Test::new();
    let prefix = t.short_name();
    let hostile = [
        format!("{prefix}_m\u{1b}[31mred"),
        format!("{prefix}_m\nerror: fake"),
    ];
    for name in &hostile {
        t.seed_database(name);
    }
    let t = t
        .config(&format!("[fleet]\ndatabases = \"^{prefix}_m\"\n"))
        .migration("0001_a.json", &crate::insert("a"));
    let run = t.run(&["--fleet", "execute"]);
    run.success()
        .stdout_has(&format!("[{prefix}_m\\u{{1b}}[31mred] applied 0001_a"))
        .stdout_has(&format!("[{prefix}_m\\nerror: fake] applied 0001_a"));
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains('\u{1b}'),
            "a raw escape was printed: {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("error: fake")),
            "a database name started a line: {text:?}"
        );
    }
    // They are real members: each has its own registry.
    for name in &hostile {
        assert_eq!(statuses(&t, name), applied(&["0001_a"]));
    }
    // JSON keeps the names as they are, encoded.
    let json = t.run(&["--fleet", "list", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).unwrap();
    let names: Vec<&str> = doc["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["database"].as_str().unwrap())
        .collect();
    assert!(names.contains(&hostile[1].as_str()), "{names:?}");
}

#[test]
fn a_password_with_slash_and_at_reaches_every_member_and_never_shows() {
    if server::is_external() {
        return; // the users are created with SecantusDB's --auth restart
    }
    const PASSWORD: &str = "p@ss/w:rd%41";
    const ENCODED: &str = "p%40ss%2Fw%3Ard%2541";
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new();
    let prefix = t.short_name();
    let members: Vec<String> = (0..3).map(|i| format!("{prefix}_m{i}")).collect();
    let provisioning = Server::start(&[], Some(storage.path()));
    let mut roles: Vec<Document> = members
        .iter()
        .map(|db| doc! {"role": "readWrite", "db": db})
        .collect();
    let admin = provisioning.client().database("admin");
    // `tenants` may only use the members; `fleet` may also list the databases.
    admin
        .run_command(doc! {"createUser": "tenants", "pwd": PASSWORD, "roles": roles.clone()})
        .run()
        .unwrap();
    roles.push(doc! {"role": "clusterMonitor", "db": "admin"});
    admin
        .run_command(doc! {"createUser": "fleet", "pwd": PASSWORD, "roles": roles})
        .run()
        .unwrap();
    for name in &members {
        crate::test::seed(&provisioning.client().database(name));
    }
    provisioning.stop();
    let secured = Server::start(&["--auth"], Some(storage.path()));
    let config = |user: &str, databases: &str| {
        format!(
            "[mongo]\nhost = \"{}\"\nport = {}\ndatabase = \"app\"\nuser = \"{user}\"\n\
             password_env = \"PW\"\ntimeout_secs = 5\n[fleet]\ndatabases = {databases}\n",
            secured.host, secured.port
        )
    };
    let pattern = format!("\"^{prefix}_m\"");
    let t = t
        .raw_config(&config("fleet", &pattern))
        .env("PW", PASSWORD)
        .migration("0001_a.json", &crate::insert("a"));
    for args in [
        &["--fleet", "execute", "--json"][..],
        &["--fleet", "list"],
        &["--fleet", "history", "--json"],
        &["-vv", "--fleet", "check"],
    ] {
        t.run(args)
            .success()
            .never_shows(PASSWORD)
            .never_shows(ENCODED);
    }
    // A wrong password: every member fails alike, exit 5, still without the password.
    t.run_with(&["--fleet", "list"], &[("PW", "wr@ng/pw")])
        .code(5)
        .never_shows("wr@ng/pw")
        .never_shows("wr%40ng");
    // A user who may not list the databases: a pattern cannot find the fleet, a list can.
    let t = t.raw_config(&config("tenants", &pattern));
    t.run(&["--fleet", "list"])
        .code(3)
        .one_error_line()
        .stderr_has("user `tenants` may not list the databases on ")
        .stderr_has("or name the databases: `databases = [");
    let listed = format!(
        "[{}]",
        members
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let t = t.raw_config(&config("tenants", &listed));
    t.run(&["--fleet", "check"])
        .success()
        .stdout_has("up to date: 3 databases")
        .never_shows(PASSWORD);
    let uri = format!(
        "mongodb://fleet:{ENCODED}@{}:{}/?authSource=admin",
        secured.host, secured.port
    );
    let client = mongodb::sync::Client::with_uri_str(uri).unwrap();
    for name in &members {
        let items = client
            .database(name)
            .collection::<Document>("items")
            .count_documents(doc! {})
            .run()
            .unwrap();
        assert_eq!(items, 1, "{name}");
    }
    secured.stop();
}

#[test]
fn rollback_all_asks_once_for_the_whole_fleet() {
    let (t, m) = fleet(2, "");
    t.run(&["--fleet", "execute"]).success();
    t.run(&["--fleet", "rollback", "--all"])
        .code(6)
        .error_line()
        .stderr_has(&format!("changes 2 database(s): {}, {}", m[0], m[1]));
    for name in &m {
        assert_eq!(statuses(&t, name), applied(&ALL), "{name}");
    }
    t.run(&["--fleet", "rollback", "--all", "--yes"])
        .success()
        .stdout_has("2 databases: 2 ok; 6 migration(s) rolled back in ");
    assert!(m.iter().all(|name| statuses(&t, name).is_empty()));
}
