//! Projects of other tools run as they are: migopy's Python modules, migrate-mongo's CommonJS
//! modules (timestamp names), golang-migrate's up/down pairs; their histories adopted; and
//! every interpreted kind in one interpreter per run.

use std::os::unix::fs::PermissionsExt;

use mongodb::bson::{doc, DateTime, Document};

use crate::test::Test;
use crate::tools::{mongosh, python};

/// The pids the migrations of one run recorded in `pids`.
fn pids(t: &Test) -> Vec<i64> {
    let mut pids: Vec<i64> = t
        .docs("pids")
        .iter()
        .map(|d| match d.get("pid") {
            Some(mongodb::bson::Bson::Int32(n)) => i64::from(*n),
            Some(mongodb::bson::Bson::Int64(n)) => *n,
            Some(mongodb::bson::Bson::Double(n)) => *n as i64,
            other => panic!("pid {other:?}"),
        })
        .collect();
    pids.dedup();
    pids
}

fn names(t: &Test, collection: &str) -> Vec<String> {
    t.docs(collection)
        .iter()
        .map(|d| d.get_str("_id").unwrap().to_string())
        .collect()
}

/// migopy's test-style migration: inserts `{_id: id}` into `users` and records the pid.
fn migopy(id: &str) -> String {
    format!(
        "import os\n\n\ndef up(db):\n    db.users.insert_one({{\"_id\": \"{id}\"}})\n    db.pids.insert_one({{\"_id\": \"{id}\", \"pid\": os.getpid()}})\n\n\ndef down(db):\n    db.users.delete_one({{\"_id\": \"{id}\"}})\n    db.pids.delete_one({{\"_id\": \"{id}\"}})\n"
    )
}

#[test]
fn a_migopy_project_runs_as_it_is_after_adopting_its_history() {
    let t = Test::new();
    let config = format!(
        "{}[migrations]\npython = \"{}\"\n",
        t.mongo_section(),
        python().display()
    );
    let t = t
        .raw_config(&config)
        .migration("__init__.py", "")
        .migration("0001_add_ann.py", &migopy("ann"))
        .migration("0002_add_bo.py", &migopy("bo"))
        .migration("0003_add_cy.py", &migopy("cy"));
    // migopy applied 0001 before: its data and its `{name}` record are there.
    t.db()
        .collection::<Document>("users")
        .insert_one(doc! {"_id": "ann"})
        .run()
        .unwrap();
    t.db()
        .collection::<Document>("migrations")
        .insert_one(doc! {"name": "0001_add_ann.py"})
        .run()
        .unwrap();
    t.run(&["list"])
        .code(3)
        .one_error_line()
        .stderr_has("migopy's record of `0001_add_ann.py`, not adopted yet")
        .stderr_has("`migo adopt --from migopy`");
    t.run(&["adopt", "--from", "migopy", "--dry-run"])
        .success()
        .stdout_has("0001_add_ann.py  →  0001_add_ann  (adopt)")
        .stdout_has("1 record(s) would be adopted");
    t.run(&["adopt", "--from", "migopy"])
        .success()
        .stdout_has("adopted 1 migration(s) from migopy");
    assert_eq!(
        t.records()
            .iter()
            .filter(|r| r.get_str("adopted_from") == Ok("migopy"))
            .count(),
        1
    );
    // migopy's own document is left as it was, beside migo's record.
    let migopy_docs = t
        .db()
        .collection::<Document>("migrations")
        .count_documents(doc! {"name": "0001_add_ann.py", "status": {"$exists": false}})
        .run()
        .unwrap();
    assert_eq!(migopy_docs, 1);
    t.run(&["list"])
        .success()
        .stdout_has("0001_add_ann  applied")
        .stdout_has("0002_add_bo   pending");
    t.run(&["execute"])
        .success()
        .stdout_has("applied 0003_add_cy");
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
    assert_eq!(pids(&t).len(), 1, "more than one Python for one run");
    t.run(&["rollback", "--last", "2"]).success();
    assert_eq!(names(&t, "users"), ["ann"]);
    t.run(&["execute"]).success();
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
}

#[test]
fn python_modules_are_checked_before_anything_runs() {
    // A Python without pymongo (the venv's, with its site-packages switched off): nothing runs,
    // not even the JSON migration before it, and nothing is recorded.
    let t = Test::new();
    let no_pymongo = format!("{} -S", python().display());
    let t = t
        .config(&format!(
            "[migrations.interpreters]\npy = \"{no_pymongo}\"\n"
        ))
        .migration("0001_first.json", &crate::insert("first"))
        .migration("0002_a.py", &migopy("a"));
    t.run(&["execute"])
        .code(4)
        .one_error_line()
        .stderr_has("error: cannot run `0002_a.py`: `")
        .stderr_has("` cannot import pymongo (ModuleNotFoundError: No module named 'pymongo'); hint: install it for that interpreter (`");
    assert!(t.collections().is_empty(), "{:?}", t.collections());
    // A program that is no Python at all.
    let bin = tempfile::tempdir().unwrap();
    let broken = bin.path().join("python-that-fails");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'cannot load libpython' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "{}[migrations]\npython = \"{}\"\n",
        t.mongo_section(),
        broken.display()
    );
    let t = t.raw_config(&config);
    t.run(&["execute"]).code(4).stderr_is(&format!(
        "  python | cannot load libpython\nerror: cannot run `0002_a.py`: the python interpreter ended before it was ready (exit status 1): cannot load libpython; hint: check that `{}` is python and runs on this machine\n",
        broken.display()
    ));
    assert!(t.collections().is_empty(), "{:?}", t.collections());
    let config = format!(
        "{}[migrations]\npython = \"{}\"\n",
        t.mongo_section(),
        python().display()
    );
    let t = t
        .raw_config(&config)
        .migration("0003_no_up.py", "def down(db):\n    pass\n");
    t.run(&["execute"])
        .code(4)
        .one_error_line()
        .stderr_has("migration `0003_no_up.py` is invalid: it defines no `up` (python)");
    assert!(t.collections().is_empty());
}

/// migrate-mongo's CommonJS migration: inserts `{_id: id}` and records the pid.
fn commonjs(id: &str) -> String {
    format!(
        "module.exports = {{\n  async up(db, client) {{\n    await db.collection('users').insertOne({{ _id: '{id}' }});\n    await db.collection('pids').insertOne({{ _id: '{id}', pid: process.pid }});\n  }},\n\n  async down(db, client) {{\n    await db.collection('users').deleteOne({{ _id: '{id}' }});\n    await db.collection('pids').deleteOne({{ _id: '{id}' }});\n  }},\n}};\n"
    )
}

#[test]
fn a_migrate_mongo_project_runs_as_it_is_after_adopting_its_changelog() {
    let t = Test::new();
    let config = format!(
        "{}[migrations]\ndirectory = \"migrations\"\npattern = \"migrate-mongo\"\n",
        t.mongo_section()
    );
    let node_modules = mongosh().parent().unwrap().parent().unwrap().to_path_buf();
    let t = t
        .raw_config(&config)
        .env("NODE_PATH", node_modules.to_str().unwrap())
        .file("migrations/20160608155948-add_ann.js", &commonjs("ann"))
        .file("migrations/20160609101010-add_bo.js", &commonjs("bo"))
        .file("migrations/20160610101010-add_cy.js", &commonjs("cy"));
    t.db()
        .collection::<Document>("users")
        .insert_one(doc! {"_id": "ann"})
        .run()
        .unwrap();
    let applied = DateTime::from_millis(1_465_000_000_000);
    t.db()
        .collection::<Document>("changelog")
        .insert_one(doc! {"fileName": "20160608155948-add_ann.js", "appliedAt": applied, "migrationBlock": 1})
        .run()
        .unwrap();
    t.run(&["adopt", "--from", "migrate-mongo"])
        .success()
        .stdout_has("20160608155948-add_ann.js  →  20160608155948-add_ann  (adopt)")
        .stdout_has(
            "adopted 1 migration(s) from migrate-mongo; its `changelog` was left as it was",
        );
    let adopted = &t.records()[0];
    assert_eq!(*adopted.get_datetime("applied_at").unwrap(), applied);
    assert_eq!(t.docs("changelog").len(), 1);
    t.run(&["execute"])
        .success()
        .stdout_has("applied 20160610101010-add_cy");
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
    assert_eq!(pids(&t).len(), 1, "more than one Node for one run");
    t.run(&["rollback", "20160610101010-add_cy"]).success();
    t.run(&["rollback", "20160609101010-add_bo"]).success();
    assert_eq!(names(&t, "users"), ["ann"]);
    t.run(&["execute"]).success();
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
}

#[test]
fn golang_migrate_pairs_are_one_migration_and_its_version_is_adopted() {
    let up = |id: &str| format!(r#"[{{"insert": "users", "documents": [{{"_id": "{id}"}}]}}]"#);
    let down = |id: &str| {
        format!(r#"[{{"delete": "users", "deletes": [{{"q": {{"_id": "{id}"}}, "limit": 1}}]}}]"#)
    };
    let t = Test::new()
        .migration("1_ann.up.json", &up("ann"))
        .migration("1_ann.down.json", &down("ann"))
        .migration("2_bo.up.json", &up("bo"))
        .migration("2_bo.down.json", &down("bo"))
        .migration("3_cy.up.json", &up("cy"))
        .migration("3_cy.down.json", &down("cy"));
    t.db()
        .collection::<Document>("users")
        .insert_one(doc! {"_id": "ann"})
        .run()
        .unwrap();
    let versions = t.db().collection::<Document>("schema_migrations");
    versions
        .insert_one(doc! {"version": 1_i64, "dirty": true})
        .run()
        .unwrap();
    t.run(&["adopt", "--from", "golang-migrate"])
        .code(6)
        .one_error_line()
        .stderr_has("golang-migrate marks version 1 dirty")
        .stderr_has("`migrate force 1`");
    versions
        .update_one(doc! {}, doc! {"$set": {"dirty": false}})
        .run()
        .unwrap();
    t.run(&["adopt", "--from", "golang-migrate"])
        .success()
        .stdout_has("adopted 1 migration(s) from golang-migrate");
    t.run(&["list"])
        .success()
        .stdout_has("1       1_ann  applied")
        .stdout_has("2       2_bo   pending");
    t.run(&["execute"]).success().stdout_has("applied 3_cy");
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
    t.run(&["rollback", "--all", "--yes"]).success();
    assert!(t.docs("users").is_empty());
    t.run(&["execute"]).success();
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
    // An edit to either half changes the checksum.
    std::fs::write(t.path("mongomigrations/2_bo.down.json"), down("BO")).unwrap();
    t.run(&["list"])
        .success()
        .stdout_has("2_bo   applied (modified)");
    // A lone down file is an error.
    let lone = Test::new().migration("4_x.down.json", &down("x"));
    lone.run(&["list"])
        .code(4)
        .one_error_line()
        .stderr_has("migration `4_x.down.json` is invalid: it has no `4_x.up.json` beside it");
}

#[test]
fn mongosh_scripts_of_one_run_share_one_mongosh() {
    let t = Test::new().env("MIGO_MONGOSH", mongosh().to_str().unwrap());
    let script = |id: &str| {
        format!("function up() {{ db.pids.insertOne({{ _id: '{id}', pid: process.pid }}); }}\nfunction down() {{ db.pids.deleteOne({{ _id: '{id}' }}); }}\n")
    };
    let t = (1..=5).fold(t, |t, n| {
        t.migration(&format!("000{n}_s{n}.js"), &script(&format!("s{n}")))
    });
    t.run(&["execute"])
        .success()
        .stdout_has("5 migration(s) applied");
    assert_eq!(t.docs("pids").len(), 5);
    assert_eq!(pids(&t).len(), 1, "more than one mongosh for one run");
}
