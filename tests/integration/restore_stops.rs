//! Restores under a stop: a signal while loading drops the loaded copies and touches nothing; a
//! signal during the swap lets it finish; `kill -9` anywhere leaves a journal that `migo list`
//! reports and the next command that takes the lock settles (finishing a swap, dropping a load),
//! even when that command is itself killed; a server refusing a rename undoes the swap; the
//! registry comes back last, holding the restore's own lock.

use std::path::PathBuf;
use std::process::Child;

use mongodb::bson::{doc, Bson, Document};
use mongodb::sync::Database;

use crate::backups::only_dump;
use crate::insert;
use crate::processes::{signal, wait_stopped};
use crate::server::Server;
use crate::test::{readable, who, Test, LOCK_ID};

/// The restore journal's `_id` in the registry collection.
const JOURNAL_ID: &str = "__migo_restore__";

/// The restore journal, if the registry holds one.
pub(crate) fn journal(t: &Test) -> Option<Document> {
    journal_in(&t.db())
}

fn journal_in(db: &Database) -> Option<Document> {
    db.collection::<Document>("migrations")
        .find_one(doc! {"_id": JOURNAL_ID})
        .run()
        .expect("journal")
}

/// The names of `db`'s collections, sorted.
fn collections(db: &Database) -> Vec<String> {
    let mut names = db.list_collection_names().run().unwrap();
    names.sort();
    names
}

/// A collection's documents, by `_id`.
fn docs(db: &Database, name: &str) -> Vec<Document> {
    db.collection::<Document>(name)
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every collection but `skip`: its options, indexes and documents (canonical Extended JSON).
fn content(db: &Database, skip: &[&str]) -> String {
    let mut out = String::new();
    for name in collections(db) {
        if skip.contains(&name.as_str()) {
            continue;
        }
        let listed = db
            .run_command(doc! {"listCollections": 1, "filter": {"name": &name}})
            .run()
            .unwrap();
        let options = listed
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()[0]
            .as_document()
            .unwrap()
            .get_document("options")
            .cloned()
            .unwrap_or_default();
        out.push_str(&format!("collection {name} {options}\n"));
        for index in db
            .collection::<Document>(&name)
            .list_indexes()
            .run()
            .unwrap()
        {
            let index = index.unwrap();
            out.push_str(&format!(
                "  index {} {}\n",
                index.keys,
                index.options.and_then(|o| o.name).unwrap_or_default()
            ));
        }
        for document in docs(db, &name) {
            out.push_str(&format!(
                "  {}\n",
                Bson::Document(document).into_canonical_extjson()
            ));
        }
    }
    out
}

/// A migo.toml for `database` on `server`.
fn config(server: &Server, database: &str) -> String {
    format!(
        "[mongo]\nuri = \"{}\"\ndatabase = \"{database}\"\ntimeout_secs = 2\n",
        server.uri
    )
}

/// A database, a dump of it, and changes since.
struct Scenario {
    t: Test,
    /// The test's database, on whichever server it is.
    db: Database,
    dump: PathBuf,
    /// What the dump holds (migo's collections aside).
    dumped: String,
    /// The database now (migo's collections aside).
    before: String,
    gamma: Vec<Document>,
}

impl Scenario {
    /// Dumped: `alpha` (30 documents, an index), `beta` (20), `items` and the registry (after
    /// `0001_x`). Since: `alpha` grew, `beta` was dropped, `gamma` made, `0002_y` applied.
    fn new() -> Scenario {
        let t = Test::new();
        let db = t.db();
        Scenario::with(t, db)
    }

    /// [`Scenario::new`] on `server`.
    fn on(server: &Server) -> Scenario {
        let t = Test::new();
        let db = server.client().database(&t.db_name);
        let config = config(server, &t.db_name);
        Scenario::with(t.raw_config(&config), db)
    }

    fn with(t: Test, db: Database) -> Scenario {
        let t = t.migration("0001_x.json", &insert("x"));
        let alpha: Vec<Document> = (0..30).map(|i| doc! {"_id": i, "a": i * 2}).collect();
        db.collection::<Document>("alpha")
            .insert_many(alpha)
            .run()
            .unwrap();
        db.run_command(
            doc! {"createIndexes": "alpha", "indexes": [{"key": {"a": 1}, "name": "a_1"}]},
        )
        .run()
        .unwrap();
        let beta: Vec<Document> = (0..20).map(|i| doc! {"_id": i, "b": "beta"}).collect();
        db.collection::<Document>("beta")
            .insert_many(beta)
            .run()
            .unwrap();
        t.run(&["execute"]).success();
        t.run(&["dump"]).success();
        let dump = std::fs::canonicalize(only_dump(&t)).unwrap();
        let skip = ["migrations", "migrations_audit"];
        let dumped = content(&db, &skip);
        db.collection::<Document>("alpha")
            .insert_many((30..35).map(|i| doc! {"_id": i, "a": 0}))
            .run()
            .unwrap();
        db.collection::<Document>("beta").drop().run().unwrap();
        let gamma: Vec<Document> = (0..5).map(|i| doc! {"_id": i, "g": true}).collect();
        db.collection::<Document>("gamma")
            .insert_many(gamma.clone())
            .run()
            .unwrap();
        let t = t.migration("0002_y.json", &insert("y"));
        t.run(&["execute"]).success();
        let before = content(&db, &skip);
        Scenario {
            t,
            db,
            dump,
            dumped,
            before,
            gamma,
        }
    }

    fn dir(&self) -> &str {
        self.dump.to_str().unwrap()
    }

    /// `migo restore DUMP --yes`, frozen at `point`.
    fn frozen_restore(&self, point: &str) -> Child {
        let migo = self.t.spawn(
            &["restore", self.dir(), "--yes"],
            &[("MIGO_TEST_STOP_AT", point)],
        );
        wait_stopped(&migo);
        migo
    }

    /// The names of the applied migrations in the registry.
    fn applied(&self) -> Vec<String> {
        docs(&self.db, "migrations")
            .into_iter()
            .filter(|r| r.get_str("status") == Ok("applied"))
            .map(|r| r.get_str("name").unwrap().to_string())
            .collect()
    }

    /// The lock document, if the lock is held.
    fn lock(&self) -> Option<Document> {
        self.db
            .collection::<Document>("migrations")
            .find_one(doc! {"_id": LOCK_ID, "token": {"$type": "string"}})
            .run()
            .unwrap()
    }

    /// The database holds the dump (and `gamma`, which the dump does not know), nothing of the
    /// restore's own is left, and the lock is free.
    fn assert_restored(&self) {
        assert_eq!(
            content(&self.db, &["migrations", "migrations_audit", "gamma"]),
            self.dumped
        );
        assert_eq!(docs(&self.db, "gamma"), self.gamma);
        assert_eq!(self.applied(), ["0001_x"]);
        self.assert_clean();
    }

    /// The database is as it was before the restore.
    fn assert_untouched(&self) {
        assert_eq!(
            content(&self.db, &["migrations", "migrations_audit"]),
            self.before
        );
        assert_eq!(self.applied(), ["0001_x", "0002_y"]);
        self.assert_clean();
    }

    fn assert_clean(&self) {
        let ours: Vec<String> = collections(&self.db)
            .into_iter()
            .filter(|c| c.starts_with("migo_restore"))
            .collect();
        assert!(ours.is_empty(), "left behind: {ours:?}");
        assert!(journal_in(&self.db).is_none(), "the journal was left");
        assert!(self.lock().is_none(), "the lock was not released");
    }

    /// The newest audit entry.
    fn last_audit(&self) -> serde_json::Value {
        let run = self.t.run(&["history", "--json"]);
        let entries: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
        entries[0].clone()
    }

    /// `migo list`'s line about the interrupted restore, during its swap.
    fn swap_line(&self, swapped: usize) -> String {
        format!(
            "warning: a restore from `{}` was interrupted during its swap ({swapped} of 4 \
             collection(s) swapped): the next command that takes the lock finishes the swap \
             (`migo restore` alone does only that)\n",
            self.dir()
        )
    }

    /// What the command that finishes an interrupted swap says.
    fn finished_line(&self) -> String {
        format!(
            "warning: finished the restore from `{}` that was interrupted during its swap: 4 \
             collection(s) (alpha, beta, items, migrations) now hold the dump\n",
            self.dir()
        )
    }
}

/// The last line of `stderr`, with its newline.
fn last_line(stderr: &str) -> String {
    format!("{}\n", stderr.lines().last().unwrap_or_default())
}

fn kill(mut migo: Child) {
    migo.kill().unwrap();
    migo.wait().unwrap();
}

/// The error line a stopped restore ends with.
fn stopped_line(name: &str) -> String {
    format!(
        "error: restore stopped by {name} before the swap: nothing was replaced (the loaded \
         copies were dropped); hint: run the same `migo restore` again to restore the dump"
    )
}

#[test]
fn a_signal_while_loading_drops_the_loaded_copies_and_touches_nothing() {
    for (sig, code, name) in [
        (libc::SIGINT, 130, "SIGINT"),
        (libc::SIGTERM, 143, "SIGTERM"),
    ] {
        let s = Scenario::new();
        let migo = s.frozen_restore("restore-load:beta");
        assert!(collections(&s.db).contains(&"migo_restore.alpha".to_string()));
        signal(migo.id(), sig);
        signal(migo.id(), libc::SIGCONT);
        let out = migo.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert_eq!(stderr.lines().last(), Some(stopped_line(name).as_str()));
        s.assert_untouched();
        let audit = s.last_audit();
        assert_eq!(audit["action"], "restore");
        assert_eq!(audit["result"], "interrupted");
    }
}

#[test]
fn a_signal_during_the_swap_lets_it_finish() {
    let s = Scenario::new();
    let migo = s.frozen_restore("restore-aside:alpha");
    signal(migo.id(), libc::SIGTERM);
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "restored 4 collection(s) of `{}`: 52 document(s), 1 index(es)\n",
            s.t.db_name
        )
    );
    s.assert_restored();
    assert_eq!(s.last_audit()["result"], "ok");
}

#[test]
fn kill_9_anywhere_in_the_swap_is_finished_by_the_next_command() {
    for (point, swapped) in [
        ("restore-swap:alpha", 0),
        ("restore-aside:alpha", 0),
        ("restore-swap:beta", 1),
        ("restore-aside:beta", 1),
        ("restore-swap:items", 2),
        ("restore-aside:items", 2),
        ("restore-swap:migrations", 3),
        ("restore-finish", 4),
    ] {
        let s = Scenario::new();
        kill(s.frozen_restore(point));
        // The lock of a killed migo is released by hand (or its lease runs out).
        s.t.run(&["unlock", "--yes"]).success();
        s.t.run(&["list"])
            .success()
            .stderr_is(&s.swap_line(swapped));
        if point == "restore-swap:items" {
            // `restore` with any arguments settles it first, then restores what it was asked.
            s.t.run(&["restore", s.dir(), "--yes"])
                .success()
                .stderr_is(&format!("{}{}\n", s.finished_line(), s.t.target()))
                .stdout_is(&format!(
                    "restored 4 collection(s) of `{}`: 52 document(s), 1 index(es)\n",
                    s.t.db_name
                ));
        } else {
            s.t.run(&["restore"])
                .success()
                .stdout_is("")
                .stderr_is(&s.finished_line());
        }
        s.assert_restored();
        let history = s.t.run(&["history", "--json"]);
        let entries: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
        let audit = entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["details"]["settled"].is_string())
            .expect("the settling is audited");
        assert_eq!(audit["action"], "restore", "{point}");
        assert_eq!(audit["details"]["settled"], "finished", "{point}");
        assert_eq!(
            audit["details"]["from"],
            s.dir(),
            "{point}: the audit entry names the dump"
        );
        s.t.run(&["list"]).success().stderr_is("");
    }
}

#[test]
fn kill_9_while_loading_is_undone_by_the_next_mutating_command() {
    let s = Scenario::new();
    let migo = s.t.spawn(
        &["restore", s.dir(), "--yes"],
        &[
            ("MIGO_TEST_STOP_AT", "restore-load:items"),
            ("MIGO_TEST_LEASE_MS", "3000"),
        ],
    );
    wait_stopped(&migo);
    let (pid, since) = (
        migo.id(),
        readable(*s.t.lock().unwrap().get_datetime("started_at").unwrap()),
    );
    kill(migo);
    assert!(collections(&s.db).contains(&"migo_restore.beta".to_string()));
    // No `unlock`: the next command waits for the dead restore's lease to run out on the
    // server's clock, and `list` says what it will do once it has.
    s.t.run(&["execute", "--wait", "60"])
        .success()
        .stdout_is("nothing to execute: 2 migrations: 2 applied\n")
        .stderr_is(&format!(
            "warning: took over an expired lock held by {} (pid {pid}), running `migo restore \
             {dir} --yes` since {since}\nwarning: undid the restore from `{dir}` that was \
             interrupted while loading: its loaded copies were dropped, the database is as it \
             was\n{}\n",
            who(),
            s.t.target(),
            dir = s.dir()
        ));
    s.assert_untouched();
    assert_eq!(s.last_audit()["details"]["settled"], "undone");

    let s = Scenario::new();
    kill(s.frozen_restore("restore-load:items"));
    s.t.run(&["unlock", "--yes"]).success();
    s.t.run(&["list"]).success().stderr_is(&format!(
        "warning: a restore from `{}` was interrupted while loading, before it replaced \
         anything: the next command that takes the lock drops its loaded copies, leaving the \
         database as it was (`migo restore` alone does only that)\n",
        s.dir()
    ));
    s.t.run(&["restore"]).success();
    s.assert_untouched();
}

#[test]
fn the_next_execute_finishes_the_swap_then_runs_what_the_restored_registry_says_is_pending() {
    let s = Scenario::new();
    kill(s.frozen_restore("restore-aside:beta"));
    s.t.run(&["unlock", "--yes"]).success();
    // The registry is not swapped yet (it comes last): before the lock `0002_y` reads as applied;
    // under the lock, once the restore is finished, it is pending again, and runs.
    s.t.run(&["execute", "0002_y"])
        .success()
        .stderr_is(&format!(
            "{}{}\napplying 0002_y…\n",
            s.finished_line(),
            s.t.target()
        ))
        .stdout_masked_is("applied 0002_y (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(s.applied(), ["0001_x", "0002_y"]);
    assert_eq!(docs(&s.db, "items"), [doc! {"_id": "x"}, doc! {"_id": "y"}]);
    assert_eq!(docs(&s.db, "beta").len(), 20);
    s.assert_clean();
}

#[test]
fn settling_can_itself_be_killed_and_settled_again() {
    let s = Scenario::new();
    kill(s.frozen_restore("restore-aside:alpha"));
    s.t.run(&["unlock", "--yes"]).success();
    // The command that settles it goes through the same points.
    let settling = s.t.spawn(
        &["restore"],
        &[("MIGO_TEST_STOP_AT", "restore-aside:items")],
    );
    wait_stopped(&settling);
    kill(settling);
    s.t.run(&["unlock", "--yes"]).success();
    s.t.run(&["list"]).success().stderr_is(&s.swap_line(2));
    s.t.run(&["restore"])
        .success()
        .stderr_is(&s.finished_line());
    s.assert_restored();
    // Nothing left to settle: `restore` alone wants a dump.
    s.t.run(&["restore"]).code(2).stderr_is(
        "error: `migo restore` needs the dump's directory: no interrupted restore to finish; \
         hint: e.g. `migo restore mongodumps/default-20261122T101500.123Z`\n",
    );
}

#[test]
fn the_registry_comes_back_last_holding_the_restores_own_lock() {
    let s = Scenario::new();
    let migo = s.frozen_restore("restore-finish");
    let lock = s
        .lock()
        .expect("the restore's lock, carried into the restored registry");
    assert_eq!(lock.get_i64("pid").unwrap(), i64::from(migo.id()));
    assert!(lock.get_str("command").unwrap().contains("restore"));
    assert_eq!(s.applied(), ["0001_x"], "the registry is the dump's");
    assert_eq!(
        journal(&s.t).unwrap().get_str("phase").unwrap(),
        "finishing"
    );
    // A dump taken now (dumps take no lock) leaves out the restore's collections and journal,
    // and the lock.
    let before: Vec<PathBuf> = dumps(&s);
    s.t.run(&["dump"]).success();
    let new = dumps(&s).into_iter().find(|d| !before.contains(d)).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("migo-dump.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = manifest["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "alpha",
            "beta",
            "gamma",
            "items",
            "migrations",
            "migrations_audit"
        ]
    );
    let registry =
        crate::backups::decode_with_pymongo(&new.join(&s.t.db_name).join("migrations.bson"));
    let ids: Vec<&str> = registry.iter().map(|d| d.get_str("_id").unwrap()).collect();
    assert_eq!(ids, ["0001_x"]);
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    s.assert_restored();
}

/// The dump directories under `mongodumps/`.
fn dumps(s: &Scenario) -> Vec<PathBuf> {
    std::fs::read_dir(s.t.path("mongodumps"))
        .unwrap()
        .map(|e| std::fs::canonicalize(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn a_rename_the_server_refuses_undoes_the_swap() {
    let refused = |s: &Scenario, name: &str, message: &str| {
        format!(
            "error: restore of collection `{name}` failed: {message}; hint: nothing was \
             replaced: every collection is as it was; fix the cause and run `migo restore` \
             again\n",
        )
        .replace("{db}", &s.t.db_name)
    };
    // Something else made a collection under the name the swap sets `items` aside under, after
    // `alpha` and `beta` were swapped: the swap is undone.
    let s = Scenario::new();
    let migo = s.frozen_restore("restore-swap:items");
    let foreign = s.db.collection::<Document>("migo_restore_prev.items");
    foreign.insert_one(doc! {"_id": "foreign"}).run().unwrap();
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(11));
    assert_eq!(
        last_line(&String::from_utf8_lossy(&out.stderr)),
        refused(
            &s,
            "items",
            "swapping it in failed: NamespaceExists (48): target namespace exists: \
             {db}.migo_restore_prev.items; the swap was undone, every collection is as it was"
        )
    );
    assert_eq!(
        content(
            &s.db,
            &["migrations", "migrations_audit", "migo_restore_prev.items"]
        ),
        s.before
    );
    assert_eq!(
        docs(&s.db, "migo_restore_prev.items"),
        [doc! {"_id": "foreign"}]
    );
    foreign.drop().run().unwrap();
    s.assert_untouched();
    assert_eq!(s.last_audit()["result"], "failed");

    // Made before the restore: it stops before the swap.
    let s = Scenario::new();
    let foreign = s.db.collection::<Document>("migo_restore_prev.alpha");
    foreign.insert_one(doc! {"_id": "foreign"}).run().unwrap();
    let run = s.t.run(&["restore", s.dir(), "--yes"]);
    run.code(11).error_line();
    assert_eq!(
        last_line(&run.stderr),
        refused(
            &s,
            "alpha",
            "a collection `migo_restore_prev.alpha` already exists, under the name the swap \
             sets the original aside under; rename or drop it, then restore again",
        )
    );
    foreign.drop().run().unwrap();
    s.assert_untouched();
}

#[test]
fn a_connection_lost_during_the_swap_is_finished_once_the_server_is_back() {
    let storage = tempfile::tempdir().unwrap();
    let server = Server::start(&[], Some(storage.path()));
    let mut s = Scenario::on(&server);
    let migo = s.frozen_restore("restore-aside:beta");
    server.stop();
    signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    let error = last_line(&stderr);
    assert!(
        error.starts_with(
            "error: restore of collection `beta` failed during the swap: the connection was \
             lost: "
        ) && error.ends_with(
            "; hint: the next migo command that takes the lock finishes the restore or undoes \
             it, whichever is safe (`migo restore` alone does only that); `migo list` shows \
             where it stands\n"
        ),
        "{stderr}"
    );
    // The server comes back (on another port) with what it had.
    let server = Server::start(&[], Some(storage.path()));
    let name = s.t.db_name.clone();
    s.t = s.t.raw_config(&config(&server, &name));
    s.db = server.client().database(&name);
    s.t.run(&["unlock", "--yes"]).success();
    s.t.run(&["list"]).success().stderr_is(&s.swap_line(1));
    s.t.run(&["restore"])
        .success()
        .stderr_is(&s.finished_line());
    s.assert_restored();
    server.stop();
}

#[test]
fn a_restore_that_lost_its_lease_writes_nothing_more() {
    let s = Scenario::new();
    let first = s.t.spawn(
        &["restore", s.dir(), "--yes"],
        &[
            ("MIGO_TEST_STOP_AT", "restore-load:items"),
            ("MIGO_TEST_LEASE_MS", "3000"),
        ],
    );
    wait_stopped(&first);
    let since = readable(*s.t.lock().unwrap().get_datetime("started_at").unwrap());
    // Another migo waits for the frozen one's lease to run out, takes the lock over and settles
    // the restore it finds (dropping its load).
    s.t.run(&["restore", "--wait", "60"])
        .success()
        .stdout_is("")
        .stderr_is(&format!(
            "warning: took over an expired lock held by {} (pid {}), running `migo restore \
             {dir} --yes` since {since}\nwarning: undid the restore from `{dir}` that was \
             interrupted while loading: its loaded copies were dropped, the database is as it \
             was\n",
            who(),
            first.id(),
            dir = s.dir()
        ));
    signal(first.id(), libc::SIGCONT);
    let out = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(13), "{stderr}");
    assert!(
        last_line(&stderr).starts_with(
            "error: stopped: the migrations lock was lost (another migo took the lock over after \
             its lease ran out); hint: "
        ),
        "{stderr}"
    );
    s.assert_untouched();
    let results: Vec<String> = {
        let run = s.t.run(&["history", "--json"]);
        let entries: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        entries
            .as_array()
            .unwrap()
            .iter()
            .take(2)
            .map(|e| format!("{} {}", e["action"], e["result"]))
            .collect()
    };
    // Newest first by start: the settling, then the restore that lost its lease.
    assert_eq!(results, ["\"restore\" \"ok\"", "\"restore\" \"lost_lock\""]);
}
