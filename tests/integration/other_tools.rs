//! Projects of other tools run as they are: migopy's Python modules, migrate-mongo's CommonJS
//! modules (timestamp names), golang-migrate's up/down pairs; their histories adopted; and
//! every interpreted kind in one interpreter per run.

use std::os::unix::fs::PermissionsExt;

use mongodb::bson::{doc, DateTime, Document};

use crate::test::{aligned, Test};
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
    let id = t
        .db()
        .collection::<Document>("migrations")
        .insert_one(doc! {"name": "0001_add_ann.py"})
        .run()
        .unwrap()
        .inserted_id;
    t.run(&["list"]).code(3).stdout_is("").stderr_is(&format!(
        "error: the registry `migrations` holds a document migo cannot read (_id {}): migopy's \
         record of `0001_add_ann.py`, not adopted yet; hint: it looks like migopy's history: \
         point `[migrations] collection` at a collection of migo's own, then take it over with \
         `migo adopt --from migopy`\n",
        id.into_relaxed_extjson()
    ));
    t.run(&["adopt", "--from", "migopy", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(
            "migopy history in `migrations`: 1 record(s)\n\
             \x20 0001_add_ann.py  →  0001_add_ann  (adopt)\n\
             dry run: 1 record(s) would be adopted, nothing was changed\n",
        );
    t.run(&["adopt", "--from", "migopy"])
        .success()
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_is(
            "migopy history in `migrations`: 1 record(s)\n\
             \x20 0001_add_ann.py  →  0001_add_ann  (adopt)\n\
             adopted 1 migration(s) from migopy; its `migrations` was left as it was\n",
        );
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
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "{}3 migrations: 1 applied, 2 pending ({})\n",
        aligned(&[
            crate::test::LIST_TITLES,
            &[
                "1",
                "0001_add_ann",
                "applied",
                "<time>",
                "<who>",
                "<dur>",
                "ok"
            ],
            &["2", "0002_add_bo", "pending"],
            &["3", "0003_add_cy", "pending"],
        ]),
        t.target()
    ));
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "{}\napplying 0002_add_bo…\napplying 0003_add_cy…\n",
            t.target()
        ))
        .stdout_masked_is(
            "applied 0002_add_bo (<dur>)\napplied 0003_add_cy (<dur>)\n\
             2 migration(s) applied in <dur>\n",
        );
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
        .stdout_is("")
        .stderr_is(&format!(
        "error: cannot run `0002_a.py`: `{python}` cannot import pymongo (ModuleNotFoundError: No \
         module named 'pymongo'); hint: install it for that interpreter (`{python} -m pip \
         install pymongo`), or point `[migrations] python` (or `[migrations.interpreters] py`) at \
         one that has it\n",
        python = python().display()
    ));
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
    t.run(&["execute"]).code(4).stdout_is("").stderr_is(
        "error: migration `0003_no_up.py` is invalid: it defines no `up` (python); hint: a Python \
         migration defines `def up(db):` (and `def down(db):`), given a pymongo Database\n",
    );
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
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_is(
            "migrate-mongo history in `changelog`: 1 record(s)\n\
             \x20 20160608155948-add_ann.js  →  20160608155948-add_ann  (adopt)\n\
             adopted 1 migration(s) from migrate-mongo; its `changelog` was left as it was\n",
        );
    let adopted = &t.records()[0];
    assert_eq!(*adopted.get_datetime("applied_at").unwrap(), applied);
    assert_eq!(t.docs("changelog").len(), 1);
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "{}\napplying 20160609101010-add_bo…\napplying 20160610101010-add_cy…\n",
            t.target()
        ))
        .stdout_masked_is(
            "applied 20160609101010-add_bo (<dur>)\napplied 20160610101010-add_cy (<dur>)\n\
             2 migration(s) applied in <dur>\n",
        );
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
        .stdout_is("")
        .stderr_is(
            "error: golang-migrate marks version 1 dirty: it failed half way; nothing was adopted; \
             hint: repair the database, then `migrate force 1` (or the version before) with \
             golang-migrate, and adopt again\n",
        );
    versions
        .update_one(doc! {}, doc! {"$set": {"dirty": false}})
        .run()
        .unwrap();
    t.run(&["adopt", "--from", "golang-migrate"])
        .success()
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_is(
            "golang-migrate history in `schema_migrations`: 1 record(s)\n\
             \x20 version 1 (≤ 1)  →  1_ann  (adopt)\n\
             adopted 1 migration(s) from golang-migrate; its `schema_migrations` was left as it \
             was\n",
        );
    let titles = crate::test::LIST_TITLES;
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "{}3 migrations: 1 applied, 2 pending ({})\n",
        aligned(&[
            titles,
            &["1", "1_ann", "applied", "<time>", "<who>", "<dur>", "ok"],
            &["2", "2_bo", "pending"],
            &["3", "3_cy", "pending"],
        ]),
        t.target()
    ));
    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\napplying 2_bo…\napplying 3_cy…\n", t.target()))
        .stdout_masked_is(
            "applied 2_bo (<dur>)\napplied 3_cy (<dur>)\n2 migration(s) applied in <dur>\n",
        );
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
    t.run(&["rollback", "--all", "--yes"]).success();
    assert!(t.docs("users").is_empty());
    t.run(&["execute"]).success();
    assert_eq!(names(&t, "users"), ["ann", "bo", "cy"]);
    // An edit to either half changes the checksum.
    std::fs::write(t.path("mongomigrations/2_bo.down.json"), down("BO")).unwrap();
    t.run(&["list"]).success().stdout_masked_is(&format!(
        "{}3 migrations: 3 applied, 1 modified ({})\n",
        aligned(&[
            titles,
            &["1", "1_ann", "applied", "<time>", "<who>", "<dur>", "ok"],
            &[
                "2",
                "2_bo",
                "applied (modified)",
                "<time>",
                "<who>",
                "<dur>",
                "changed"
            ],
            &["3", "3_cy", "applied", "<time>", "<who>", "<dur>", "ok"],
        ]),
        t.target()
    ));
    // A lone down file is an error.
    let lone = Test::new().migration("4_x.down.json", &down("x"));
    lone.run(&["list"]).code(4).stdout_is("").stderr_is(
        "error: migration `4_x.down.json` is invalid: it has no `4_x.up.json` beside it; hint: a \
         golang-migrate pair is `N_name.up.json` and `N_name.down.json`\n",
    );
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

/// migopy's own files, as its README and its tests write them (pymongo 2 calls), and a module
/// using the rest of the legacy calls its users' files make.
const MIGOPY_TEST_001: &str =
    "\ndef up(db):\n    db.test_collection.insert({'test_key': 'test_content'})\n\ndef down(db):\n    pass\n";
const MIGOPY_TEST_2: &str = "\ndef up(db):\n    pass\n\ndef down(db):\n    pass\n";
const MIGOPY_README: &str = "def up(db):\n    db.notes.insert({'content': 'test'})\n    pass\n\ndef down(db):\n    db.notes.remove({'content': 'test'})\n";
const MIGOPY_PEOPLE: &str = "PEOPLE = [{'name': 'ann', 'age': 31}, {'name': 'bo', 'age': 17}]\n";
const MIGOPY_LEGACY: &str = r#"import pymongo

from . import _people


def up(db):
    ids = db.people.insert(_people.PEOPLE)
    assert len(ids) == 2
    db.people.insert({'name': 'cy', 'age': 45})
    db.people.update({'name': 'bo'}, {'$set': {'minor': True}})
    db.people.update({}, {'$set': {'migrated': True}}, upsert=False, multi=True)
    db.people.update({'name': 'dee'}, {'$set': {'age': 52, 'migrated': True}}, upsert=True)
    db.people.save({'_id': 'eve', 'name': 'eve', 'age': 29, 'migrated': True})
    db.people.remove({'name': 'cy'}, multi=False)
    db.people.ensure_index('name', unique=True, drop_dups=True)
    db.people.create_index([('age', pymongo.DESCENDING)], background=True, cache_for=60)
    assert db.people.count() == 4
    assert db.people.find({'migrated': True}).count() == 4
    assert db.people.find().limit(2).count(True) == 2
    dee = db.people.find_and_modify({'name': 'dee'}, {'$inc': {'age': 1}}, new=True)
    assert dee['age'] == 53
    assert 'people' in db.collection_names()
    db.counters.insert({'_id': 'people', 'n': db.people.find().count()})


def down(db):
    db.drop_collection('counters')
    db.people.remove({'migrated': True})
    db.drop_collection(db.people)
"#;

#[test]
fn migopy_files_written_for_pymongo_2_apply_and_roll_back() {
    let t = Test::new();
    let config = format!(
        "{}[migrations]\npython = \"{}\"\npattern = \"migopy\"\n",
        t.mongo_section(),
        python().display()
    );
    let t = t
        .raw_config(&config)
        .migration("__init__.py", "")
        .migration("_people.py", MIGOPY_PEOPLE)
        .migration("001_test.py", MIGOPY_TEST_001)
        .migration("2_test.py", MIGOPY_TEST_2)
        .migration("3_notes.py", MIGOPY_README)
        .migration("4_legacy_calls.py", MIGOPY_LEGACY);
    t.run(&["execute"])
        .success()
        .stdout_has("4 migration(s) applied")
        .stderr_has("  4_legacy_calls | migo: `drop_dups` is no longer supported by MongoDB (since 3.0): duplicates are not dropped, and a unique index fails if there are any\n");
    let test_collection = t.docs("test_collection");
    assert_eq!(test_collection.len(), 1);
    assert_eq!(
        test_collection[0].get_str("test_key").unwrap(),
        "test_content"
    );
    assert_eq!(t.docs("notes")[0].get_str("content").unwrap(), "test");
    let mut people: Vec<String> = t
        .docs("people")
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d.remove("_id");
            format!("{d}")
        })
        .collect();
    people.sort();
    assert_eq!(
        people,
        [
            r#"{ "name": "ann", "age": 31, "migrated": true }"#,
            r#"{ "name": "bo", "age": 17, "minor": true, "migrated": true }"#,
            r#"{ "name": "dee", "age": 53, "migrated": true }"#,
            r#"{ "name": "eve", "age": 29, "migrated": true }"#,
        ]
    );
    let mut indexes: Vec<String> = t
        .db()
        .collection::<Document>("people")
        .list_index_names()
        .run()
        .unwrap();
    indexes.sort();
    assert_eq!(indexes, ["_id_", "age_-1", "name_1"]);
    assert_eq!(
        t.docs("counters"),
        [doc! {"_id": "people", "n": 4_i32}],
        "find().count() of pymongo 2"
    );
    t.run(&["rollback", "--all", "--yes"])
        .success()
        .stdout_has("4 migration(s) rolled back");
    // 001_test's `down` is `pass`: its document stays, as it did under migopy.
    assert_eq!(
        t.collections(),
        ["migrations", "migrations_audit", "notes", "test_collection"]
    );
    assert!(t.docs("notes").is_empty());
    assert_eq!(t.docs("test_collection").len(), 1);
    assert!(t.records().is_empty());
}

#[test]
fn a_legacy_call_migo_does_not_map_fails_the_step_naming_it() {
    let t = Test::new();
    let config = format!(
        "{}[migrations]\npython = \"{}\"\n",
        t.mongo_section(),
        python().display()
    );
    let t = t.raw_config(&config).migration(
        "0001_group.py",
        "def up(db):\n    db.notes.group(['kind'], {}, {'n': 0}, 'function (doc, out) { out.n++ }')\n",
    );
    t.run(&["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 0001_group…\n  0001_group | LegacyCallError: collection.group() is a pymongo 2 call that migo does not map to modern pymongo: the server dropped the `group` command in 4.2; use aggregate() with a $group stage\nerror: migration `0001_group` failed: LegacyCallError: collection.group() is a pymongo 2 call that migo does not map to modern pymongo: the server dropped the `group` command in 4.2; use aggregate() with a $group stage (at 0001_group.py:2 in up: db.notes.group(['kind'], {{}}, {{'n': 0}}, 'function (doc, out) {{ out.n++ }}')); hint: fix it, then retry with `migo execute 0001_group`, or `migo ignore 0001_group` / `migo rollback 0001_group`\n",
        t.target()
    ));
    assert_eq!(t.statuses(), [("0001_group".into(), "failed".into())]);
}

/// migrate-mongo's README examples, its `create` template, and a module with a helper of its
/// own beside it, in migrate-mongo's layout: `migrate-mongo-config.js`, `migrations/` and
/// `node_modules/` (with the `mongodb` driver) in the project's root, no NODE_PATH.
fn migrate_mongo_layout() -> Test {
    const PROMISE: &str = "module.exports = {\n  up(db) {\n    return db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: true}});\n  },\n\n  down(db) {\n    return db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: false}});\n  }\n};\n";
    const ASYNC: &str = "module.exports = {\n  async up(db) {\n    await db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: true}});\n    await db.collection('albums').updateOne({artist: 'The Doors'}, {$set: {stars: 5}});\n  },\n\n  async down(db) {\n    await db.collection('albums').updateOne({artist: 'The Doors'}, {$set: {stars: 0}});\n    await db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: false}});\n  },\n};\n";
    const TEMPLATE: &str = "module.exports = {\n  /**\n   * @param db {import('mongodb').Db}\n   * @param client {import('mongodb').MongoClient}\n   * @returns {Promise<void>}\n   */\n  async up(db, client) {\n    // TODO write your migration here.\n    // See https://github.com/seppevs/migrate-mongo/#creating-a-new-migration-script\n    // Example:\n    // await db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: true}});\n  },\n\n  /**\n   * @param db {import('mongodb').Db}\n   * @param client {import('mongodb').MongoClient}\n   * @returns {Promise<void>}\n   */\n  async down(db, client) {\n    // TODO write the statements to rollback your migration (if possible)\n    // Example:\n    // await db.collection('albums').updateOne({artist: 'The Beatles'}, {$set: {blacklisted: false}});\n  }\n};\n";
    const HELPER: &str = "const path = require('path');\n\nmodule.exports = { label: () => 'tagged from ' + path.basename(__dirname) };\n";
    const WITH_HELPER: &str = "const { label } = require('./lib/labels');\nconst { ObjectId } = require('mongodb');\n\nmodule.exports = {\n  async up(db, client) {\n    const session = client.startSession();\n    try {\n      await db.collection('albums').updateMany({}, { $set: { tag: label(), checked: ObjectId.isValid('5f1d7f3e9b1e8a3f0c8b4567') } }, { session });\n    } finally {\n      await session.endSession();\n    }\n  },\n\n  async down(db) {\n    await db.collection('albums').updateMany({}, { $unset: { tag: '', checked: '' } });\n  },\n};\n";
    let t = Test::new().env("NODE_PATH", "");
    let config = format!(
        "{}[migrations]\ndirectory = \"migrations\"\npattern = \"migrate-mongo\"\n",
        t.mongo_section()
    );
    let t = t
        .raw_config(&config)
        .file(
            "migrate-mongo-config.js",
            "const config = {\n  mongodb: { url: 'mongodb://localhost:27017', databaseName: 'music' },\n  migrationsDir: 'migrations',\n  changelogCollectionName: 'changelog',\n  migrationFileExtension: '.js',\n  useFileHash: false,\n  moduleSystem: 'commonjs',\n};\n\nmodule.exports = config;\n",
        )
        .file("migrations/sample-migration.js", TEMPLATE)
        .file("migrations/lib/labels.js", HELPER)
        .file("migrations/20160608155948-blacklist_the_beatles.js", PROMISE)
        .file("migrations/20160609101010-rate_the_doors.js", ASYNC)
        .file("migrations/20160610101010-from_the_template.js", TEMPLATE)
        .file("migrations/20160611101010-tag_albums.js", WITH_HELPER)
        .file("src/app.js", "// the project's own code\n");
    t.db()
        .collection::<Document>("albums")
        .insert_many([
            doc! {"_id": 1, "artist": "The Beatles"},
            doc! {"_id": 2, "artist": "The Doors"},
        ])
        .run()
        .unwrap();
    t
}

#[test]
fn a_migrate_mongo_project_runs_in_its_own_layout_from_its_root_or_a_subdirectory() {
    let t = migrate_mongo_layout();
    std::os::unix::fs::symlink(crate::tools::node_modules(), t.path("node_modules")).unwrap();
    // From a subdirectory: migo.toml is found in the parent, the driver in the project.
    let mut execute = t.command(&["execute"]);
    execute.current_dir(t.path("src"));
    crate::test::Run::of(execute)
        .success()
        .stdout_has("4 migration(s) applied");
    assert_eq!(
        t.docs("albums"),
        [
            doc! {"_id": 1, "artist": "The Beatles", "blacklisted": true, "tag": "tagged from lib", "checked": true},
            doc! {"_id": 2, "artist": "The Doors", "stars": 5, "tag": "tagged from lib", "checked": true},
        ]
    );
    let mut rollback = t.command(&["rollback", "--all", "--yes"]);
    rollback.current_dir(t.path("migrations"));
    crate::test::Run::of(rollback)
        .success()
        .stdout_has("4 migration(s) rolled back");
    assert_eq!(
        t.docs("albums"),
        [
            doc! {"_id": 1, "artist": "The Beatles", "blacklisted": false},
            doc! {"_id": 2, "artist": "The Doors", "stars": 0},
        ]
    );
    assert!(t.records().is_empty());
    t.run(&["execute"])
        .success()
        .stdout_has("4 migration(s) applied");
}

#[test]
fn a_missing_driver_or_interpreter_stops_the_run_before_its_first_step() {
    let t = migrate_mongo_layout();
    let before = t.snapshot();
    let root = std::fs::canonicalize(t.dir()).unwrap();
    t.run(&["execute"]).code(4).stderr_is(&format!(
        "error: cannot run `20160608155948-blacklist_the_beatles.js`: Node found no `mongodb` driver from `{root}/migrations`, `{root}`; hint: run `npm install mongodb` in `{root}` (or point NODE_PATH at a node_modules that has it)\n",
        root = root.display()
    ));
    assert_eq!(t.snapshot(), before, "something was written");
    let config = format!(
        "{}[migrations]\ndirectory = \"migrations\"\npattern = \"migrate-mongo\"\nnode = \"/nonexistent/node\"\n",
        t.mongo_section()
    );
    let t = t.raw_config(&config);
    t.run(&["execute"]).code(4).stderr_is(
        "error: cannot run `20160608155948-blacklist_the_beatles.js`: it needs node, and `/nonexistent/node` was not found; hint: install Node.js, or point `[migrations] node` at it\n",
    );
    assert_eq!(t.snapshot(), before, "something was written");
    // A mongosh that cannot start: the JSON migration before it does not run either.
    let bin = tempfile::tempdir().unwrap();
    let broken = bin.path().join("mongosh");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'mongosh: node is too old' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = Test::new()
        .env("MIGO_MONGOSH", broken.to_str().unwrap())
        .migration("0001_first.json", &crate::insert("first"))
        .migration("0002_script.js", "function up() { db.x.insertOne({}); }\n");
    t.run(&["execute"]).code(4).stderr_is(&format!(
        "  mongosh | mongosh: node is too old\nerror: cannot run `0002_script.js`: the mongosh interpreter ended before it was ready (exit status 1): mongosh: node is too old; hint: check that `{}` is mongosh and runs on this machine\n",
        broken.display()
    ));
    assert!(t.collections().is_empty(), "{:?}", t.collections());
}

#[test]
fn js_files_run_as_what_their_code_says() {
    let mongosh_script = "// Unlike migrate-mongo's `module.exports = { up(db) }`, this is a mongosh script.\nconst note = \"see module.exports in the docs\";\nfunction up() {\n  db.kinds.insertOne({ _id: 'mongosh', print: typeof print, note: note });\n}\n";
    let header: String = (1..=40)
        .map(|n| format!(" * line {n} of a long header\n"))
        .collect();
    let commonjs_at_the_end = format!(
        "/**\n * Adds the node kind.\n{header} */\n'use strict';\nconst path = require('path');\n\nasync function up(db) {{\n  await db.collection('kinds').insertOne({{ _id: 'node', driver: typeof require('mongodb').MongoClient, file: path.basename(__filename) }});\n}}\n\nasync function down(db) {{\n  await db.collection('kinds').deleteOne({{ _id: 'node' }});\n}}\n\nexports.up = up;\nexports.down = down;\n"
    );
    let t = Test::new()
        .env("MIGO_MONGOSH", mongosh().to_str().unwrap())
        .env("NODE_PATH", "")
        .migration("0001_mongosh.js", mongosh_script)
        .migration("0002_node.js", &commonjs_at_the_end);
    std::os::unix::fs::symlink(crate::tools::node_modules(), t.path("node_modules")).unwrap();
    t.run(&["execute"]).success();
    assert_eq!(
        t.docs("kinds"),
        [
            doc! {"_id": "mongosh", "print": "function", "note": "see module.exports in the docs"},
            doc! {"_id": "node", "driver": "function", "file": "0002_node.js"},
        ]
    );
    t.run(&["rollback", "0002_node"]).success();
    assert_eq!(names(&t, "kinds"), ["mongosh"]);
    // Both shapes at once: migo says so instead of guessing, and runs it once told.
    let dual = "function up() { return db.kinds.insertOne({ _id: 'dual' }); }\nif (typeof module !== 'undefined') { module.exports = { up }; }\n";
    let t = Test::new()
        .env("MIGO_MONGOSH", mongosh().to_str().unwrap())
        .migration("0001_dual.js", dual);
    t.run(&["execute"]).code(4).stderr_is(
        "error: migration `0001_dual.js` is invalid: it is both a CommonJS module (it assigns `module.exports`) and a mongosh script (`function up()` taking no `db`); hint: say which runs it: `[migrations] js = \"node\"` or `js = \"mongosh\"` in migo.toml\n",
    );
    assert!(t.collections().is_empty());
    let t = t.config("[migrations]\njs = \"mongosh\"\n");
    t.run(&["execute"]).success();
    assert_eq!(names(&t, "kinds"), ["dual"]);
    // migrate-mongo 14's ES module sample is refused by name.
    let esm = "/**\n * @param db {import('mongodb').Db}\n * @param client {import('mongodb').MongoClient}\n * @returns {Promise<void>}\n */\nexport const up = async (db, client) => {\n    // TODO write your migration here.\n};\n\nexport const down = async (db, client) => {\n};\n";
    let t = Test::new().migration("0001_esm.js", esm);
    t.run(&["execute"]).code(4).stderr_is(
        "error: migration `0001_esm.js` is invalid: it is an ES module (top-level `import`/`export`), which migo does not run; hint: write it as CommonJS: `module.exports = { async up(db, client) { … } }` and `require(…)`\n",
    );
}

/// Migrations of the shape two public migrate-mongo projects use (include-davis's
/// aggie-fiction-cms: collections created with a `$jsonSchema` validator, changed with
/// `collMod`, dropped on the way down, in `database/migrations`, files that start with a blank
/// line and an indented `module.exports`; mhm13dev's kw-blog-api: a unique index created only
/// when `NODE_ENV` is `production`, dropped by name). They are written here after those files,
/// not copied: the projects publish no licence. Both failed under migo only because Node could
/// not find the project's own driver (`node_modules` in the root, migo run from there).
fn schema(required: &str, extra: &str) -> String {
    format!(
        "{{\n        \"$jsonSchema\": {{\n          \"bsonType\": \"object\",\n          \"required\": [{required}],\n          \"properties\": {{\n            \"_id\": {{ \"bsonType\": \"objectId\" }},\n            \"_created_at\": {{\n              \"bsonType\": \"string\",\n              \"pattern\": \"^\\\\d{{4}}-\\\\d{{2}}-\\\\d{{2}}T\\\\d{{2}}:\\\\d{{2}}:\\\\d{{2}}.\\\\d{{3}}Z$\"\n            }},\n            \"width\": {{ \"bsonType\": [\"int\", \"null\"] }}{extra}\n          }}\n        }}\n      }}"
    )
}

#[test]
fn peer_migrate_mongo_projects_apply_and_roll_back_to_empty() {
    let create = |name: &str| {
        format!(
            "\n  module.exports = {{\n    async up(db, client) {{\n      // delete step \n\n      // create step \n      await db.createCollection(\"{name}\", {{\n        validator: {}\n      }});\n    }},\n    async down(db, client) {{\n      await db.collection(\"{name}\").drop();    \n    }}\n  }};\n  ",
            schema("\"_name\"", "")
        )
    };
    let modify = |name: &str| {
        format!(
            "\n  module.exports = {{\n    async up(db, client) {{\n      await db.command({{\n        collMod: \"{name}\",\n        validator: {}\n      }});\n    }},\n    async down(db, client) {{\n      await db.command({{\n        collMod: \"{name}\",\n        validator: {}\n      }});\n    }}\n  }};\n  ",
            schema("\"_name\", \"price\"", ",\n            \"price\": { \"bsonType\": \"double\" }"),
            schema("\"_name\"", "")
        )
    };
    let t = Test::new().env("NODE_PATH", "");
    let config = format!(
        "{}[migrations]\ndirectory = \"database/migrations\"\npattern = \"migrate-mongo\"\n",
        t.mongo_section()
    );
    let t = t
        .raw_config(&config)
        .file(
            "database/migrations/20240812002213-create-media-collection.js",
            "module.exports = {\n  async up(db, _) {\n    await db.createCollection('media', { validator: { $jsonSchema: { bsonType: 'object', required: ['name'] } } });\n  },\n\n  async down(db, _) {\n    await db.collection('media').drop();\n  },\n};\n",
        )
        .file(
            "database/migrations/20241028051652-update-content-types.js",
            &create("events"),
        )
        .file(
            "database/migrations/20250522230913-update-content-types.js",
            &create("store-products"),
        )
        .file(
            "database/migrations/20250716042753-update-content-types.js",
            &modify("store-products"),
        );
    std::os::unix::fs::symlink(crate::tools::node_modules(), t.path("node_modules")).unwrap();
    t.run(&["execute"])
        .success()
        .stdout_has("4 migration(s) applied");
    assert_eq!(
        t.collections(),
        [
            "events",
            "media",
            "migrations",
            "migrations_audit",
            "store-products"
        ]
    );
    let products = t.db().collection::<Document>("store-products");
    let refused = products
        .insert_one(doc! {"_name": "mug", "price": "cheap"})
        .run();
    assert!(refused.is_err(), "the collMod validator is not in force");
    t.run(&["rollback", "--all", "--yes"])
        .success()
        .stdout_has("4 migration(s) rolled back");
    assert_eq!(t.collections(), ["migrations", "migrations_audit"]);
    assert!(t.records().is_empty());

    // kw-blog-api's unique index, only in production.
    let unique = "/**\n * Create indexes for collections for production\n */\nmodule.exports = {\n  async up(db, client) {\n    // Only create indexes in production\n    if (process.env.NODE_ENV !== 'production') {\n      return;\n    }\n    await db.collection('users').createIndex({ email: 1 }, { unique: true });\n  },\n\n  async down(db, client) {\n    // Only drop indexes in production\n    if (process.env.NODE_ENV !== 'production') {\n      return;\n    }\n    await db.collection('users').dropIndex('email_1');\n  },\n};\n";
    let t = Test::new().env("NODE_PATH", "");
    let config = format!(
        "{}[migrations]\ndirectory = \"migrations\"\npattern = \"migrate-mongo\"\n",
        t.mongo_section()
    );
    let t = t
        .raw_config(&config)
        .file("migrations/20240513090956-create-indexes.js", unique);
    std::os::unix::fs::symlink(crate::tools::node_modules(), t.path("node_modules")).unwrap();
    let production = [("NODE_ENV", "production")];
    t.run_with(&["execute"], &production).success();
    let users = t.db().collection::<Document>("users");
    let mut indexes = users.list_index_names().run().unwrap();
    indexes.sort();
    assert_eq!(indexes, ["_id_", "email_1"]);
    users.insert_one(doc! {"email": "a@b.c"}).run().unwrap();
    assert!(users.insert_one(doc! {"email": "a@b.c"}).run().is_err());
    users.delete_many(doc! {}).run().unwrap();
    t.run_with(&["rollback", "--all", "--yes"], &production)
        .success();
    // `createIndex` made the collection; dropping the index leaves it, empty, as on MongoDB.
    assert_eq!(users.list_index_names().run().unwrap(), ["_id_"]);
    assert!(t.docs("users").is_empty() && t.records().is_empty());
    // Outside production the file does nothing, and says so by returning.
    t.run_with(&["execute"], &[("NODE_ENV", "development")])
        .success();
    assert_eq!(users.list_index_names().run().unwrap(), ["_id_"]);
}

#[test]
fn a_js_program_runs_as_a_script_and_a_cjs_file_as_a_module() {
    // No `up` anywhere: a program, given `up`/`down` in its argv like any script.
    let program = "const { MongoClient } = require('mongodb');\n\n(async () => {\n  const client = new MongoClient(process.env.MIGO_URI);\n  const kinds = client.db(process.env.MIGO_DATABASE).collection('kinds');\n  if (process.argv[2] === 'up') await kinds.insertOne({ _id: 'program' });\n  else await kinds.deleteOne({ _id: 'program' });\n  await client.close();\n})().catch((e) => { console.error(e); process.exit(1); });\n";
    let module = "module.exports = {\n  async up(db) { await db.collection('kinds').insertOne({ _id: 'cjs' }); },\n  async down(db) { await db.collection('kinds').deleteOne({ _id: 'cjs' }); },\n};\n";
    let t = Test::new().env("NODE_PATH", crate::tools::node_modules().to_str().unwrap());
    let config = format!(
        "{}[migrations]\npattern = '^(?P<number>[0-9]+)_[a-z]+\\.(js|cjs)$'\n[migrations.interpreters]\njs = \"node\"\n",
        t.mongo_section()
    );
    let t = t
        .raw_config(&config)
        .migration("0001_program.js", program)
        .migration("0002_module.cjs", module);
    t.run(&["execute", "--dry-run"])
        .success()
        .stdout_has("run: ")
        .stdout_has("0001_program.js up")
        .stdout_has("node: up() of ");
    t.run(&["execute"]).success();
    assert_eq!(names(&t, "kinds"), ["cjs", "program"]);
    t.run(&["rollback", "--all", "--yes"]).success();
    assert!(t.docs("kinds").is_empty());
    let t = t.migration("0003_esm.mjs", "export async function up(db) {}\n");
    let config = format!(
        "{}[migrations]\npattern = '^(?P<number>[0-9]+)_[a-z]+\\.(js|cjs|mjs)$'\n[migrations.interpreters]\njs = \"node\"\n",
        t.mongo_section()
    );
    t.raw_config(&config).run(&["execute"]).code(4).stderr_is(
        "error: migration `0003_esm.mjs` is invalid: it is an ES module (top-level `import`/`export`), which migo does not run; hint: write it as CommonJS: `module.exports = { async up(db, client) { … } }` and `require(…)`\n",
    );
}
