//! Backups: the native dump's layout read back by an independent reader (pymongo), restore,
//! the dump before `execute`, retention, and mongodump's password handling.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mongodb::bson::{
    doc, oid::ObjectId, spec::BinarySubtype, Binary, Bson, DateTime, Decimal128, Document, Regex,
    Timestamp,
};

use crate::auth::{server_with_user, PASSWORD};
use crate::insert;
use crate::test::Test;
use crate::tools::python;

/// One document holding every BSON type the server stores.
fn every_type(id: i32) -> Document {
    doc! {
        "_id": id,
        "double": 1.5,
        "string": "héllo",
        "document": {"nested": [1, {"deep": true}]},
        "array": [1, "two", 3.0],
        "binary": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 1, 2, 255] },
        "uuid": Binary { subtype: BinarySubtype::Uuid, bytes: vec![7; 16] },
        "object_id": ObjectId::parse_str("64b7f0c2a1b2c3d4e5f60718").unwrap(),
        "bool": false,
        "date": DateTime::from_millis(1_700_000_000_123),
        "null": Bson::Null,
        "regex": Regex { pattern: "^a.*z$".into(), options: "i".into() },
        "code": Bson::JavaScriptCode("function () { return 1; }".into()),
        "int32": 42_i32,
        "timestamp": Timestamp { time: 1_700_000_000, increment: 7 },
        "int64": 9_007_199_254_740_993_i64,
        "decimal": "3.14159265358979323846".parse::<Decimal128>().unwrap(),
        "min": Bson::MinKey,
        "max": Bson::MaxKey,
    }
}

/// `big` (20,000 documents, the first holding every type, 2 indexes), `small` and `tiny`.
fn three_collections(t: &Test) {
    let db = t.db();
    let big = db.collection::<Document>("big");
    let docs: Vec<Document> = (0..20_000)
        .map(|i| match i {
            0 => every_type(0),
            i => doc! {"_id": i, "name": format!("user {i}"), "score": f64::from(i) / 7.0, "at": DateTime::from_millis(i64::from(i))},
        })
        .collect();
    for chunk in docs.chunks(5_000) {
        big.insert_many(chunk).run().unwrap();
    }
    db.run_command(doc! {"createIndexes": "big", "indexes": [
        {"key": {"name": 1}, "name": "name_1", "unique": true},
        {"key": {"score": -1, "at": 1}, "name": "score_at"},
    ]})
    .run()
    .unwrap();
    db.collection::<Document>("small")
        .insert_many([doc! {"_id": "a", "v": 1}, doc! {"_id": "b", "v": 2}])
        .run()
        .unwrap();
    db.collection::<Document>("tiny")
        .insert_one(every_type(1))
        .run()
        .unwrap();
}

/// The one dump directory under `mongodumps/`.
pub(crate) fn only_dump(t: &Test) -> PathBuf {
    let dumps: Vec<PathBuf> = std::fs::read_dir(t.path("mongodumps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    dumps[0].clone()
}

/// pymongo's `bson.decode_all` over a `.bson` file (or `.bson.gz`): each document as canonical
/// Extended JSON, parsed back here.
pub(crate) fn decode_with_pymongo(file: &Path) -> Vec<Document> {
    let script = r#"import gzip, sys
from bson import decode_all, json_util
from bson.codec_options import CodecOptions
path = sys.argv[1]
data = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
for d in decode_all(data, CodecOptions(tz_aware=True, uuid_representation=0)):
    print(json_util.dumps(d, json_options=json_util.CANONICAL_JSON_OPTIONS))
"#;
    let output = Command::new(python())
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            match Bson::try_from(value).unwrap() {
                Bson::Document(d) => d,
                other => panic!("not a document: {other}"),
            }
        })
        .collect()
}

/// A collection's documents and index definitions.
fn contents(t: &Test, name: &str) -> (Vec<Document>, String) {
    let indexes: Vec<String> = t
        .db()
        .collection::<Document>(name)
        .list_indexes()
        .run()
        .unwrap()
        .map(|i| format!("{:?}", i.unwrap()))
        .collect();
    (t.docs(name), indexes.join("\n"))
}

fn indexes(t: &Test, name: &str) -> Vec<String> {
    t.db()
        .collection::<Document>(name)
        .list_index_names()
        .run()
        .unwrap()
}

fn by_id(mut docs: Vec<Document>) -> Vec<Document> {
    docs.sort_by_key(|d| d.get("_id").map(ToString::to_string));
    docs
}

#[test]
fn a_native_dump_has_mongodumps_layout_and_pymongo_reads_it_back_exactly() {
    let t = Test::new();
    three_collections(&t);
    t.run(&["dump"])
        .success()
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_masked_is(&format!(
            "dumped `{}/mongodumps/default-<stamp>` (3 collection(s), 20003 document(s), 1.2 MB) \
             in <dur>\n",
            t.dir().display()
        ));
    let dump = only_dump(&t);
    assert!(dump
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("default-20"));
    let db_dir = dump.join(&t.db_name);
    let mut files: Vec<String> = std::fs::read_dir(&db_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "big.bson",
            "big.metadata.json",
            "small.bson",
            "small.metadata.json",
            "tiny.bson",
            "tiny.metadata.json"
        ]
    );
    for name in ["big", "small", "tiny"] {
        let read = decode_with_pymongo(&db_dir.join(format!("{name}.bson")));
        assert_eq!(read.len(), t.docs(name).len(), "{name}");
        assert!(
            by_id(read) == by_id(t.docs(name)),
            "{name}: pymongo read other documents"
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(db_dir.join("big.metadata.json")).unwrap())
            .unwrap();
    let indexes: Vec<&str> = metadata["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(indexes.len(), 3, "{indexes:?}");
    assert!(indexes.contains(&"name_1") && indexes.contains(&"score_at"));
    assert_eq!(metadata["collectionName"], "big");
}

#[test]
fn a_gzipped_dump_restores_into_an_empty_database_exactly() {
    let source =
        Test::new().config("[dump]\ngzip = true\ncollections = [\"big\", \"small\", \"tiny\"]\n");
    three_collections(&source);
    source.run(&["dump"]).success();
    let dump = only_dump(&source);
    let big = dump.join(&source.db_name).join("big.bson.gz");
    assert_eq!(decode_with_pymongo(&big).len(), 20_000);
    assert!(!dump
        .join(&source.db_name)
        .join("migrations_audit.bson.gz")
        .exists());

    let target = Test::new();
    let dir = dump.to_str().unwrap();
    target
        .run(&["restore", dir])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "error: restore replaces 3 collection(s) of `{}` (big, small, tiny) with those of \
             `{dir}`, a dump of another database, `{}`, and needs confirmation; hint: pass `--yes` \
             to confirm without a terminal\n",
            target.db_name, source.db_name
        ));
    assert!(target.collections().is_empty());
    target
        .run(&["restore", dir, "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(&format!(
            "would replace `{db}.big`\nwould replace `{db}.small`\nwould replace `{db}.tiny`\n\
             dry run: 3 collection(s) from {dir}, nothing was changed\n",
            db = target.db_name
        ));
    target
        .run(&["restore", dir, "--yes"])
        .success()
        .stderr_is(&format!("{}\n", target.target()))
        .stdout_is(&format!(
            "restored 3 collection(s) of `{}`: 20003 document(s), 2 index(es)\n",
            target.db_name
        ));
    for name in ["big", "small", "tiny"] {
        assert!(
            contents(&target, name) == contents(&source, name),
            "{name} differs"
        );
    }
    assert_eq!(indexes(&target, "big"), ["_id_", "name_1", "score_at"]);
    // Restoring again replaces, it does not add.
    target.run(&["restore", dir, "--yes"]).success();
    assert_eq!(target.docs("small").len(), 2);
    assert_eq!(
        target
            .run(&["history", "--json"])
            .stdout
            .matches("\"action\":\"restore\"")
            .count(),
        2
    );
}

#[test]
fn execute_dumps_before_the_first_migration_and_not_when_nothing_is_pending() {
    let t = Test::new()
        .config("[dump]\nenabled = true\nkeep = 2\n")
        .migration("0001_a.json", &insert("a"))
        .migration("0002_b.json", &insert("b"));
    t.db()
        .collection::<Document>("items")
        .insert_one(doc! {"_id": "seed"})
        .run()
        .unwrap();
    t.run(&["execute", "--dry-run"]).success();
    assert!(!t.path("mongodumps").exists(), "a dry run took a dump");

    let run = t.run(&["execute"]);
    run.success();
    let dumped_at = run.stdout.find("dumped `").expect("a dump line");
    assert!(
        dumped_at < run.stdout.find("applied 0001_a").unwrap(),
        "{}",
        run.stdout
    );
    let dump = only_dump(&t);
    let items = decode_with_pymongo(&dump.join(&t.db_name).join("items.bson"));
    assert_eq!(
        items,
        [doc! {"_id": "seed"}],
        "the dump holds a migration's effect"
    );
    let history = t.run(&["history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(entries[0]["dump"], dump.display().to_string());

    t.run(&["execute"])
        .success()
        .stderr_is(&format!("{}\n", t.target()))
        .stdout_is("nothing to execute: 2 migrations: 2 applied\n");
    assert_eq!(std::fs::read_dir(t.path("mongodumps")).unwrap().count(), 1);

    // Retention (`keep = 2`): three more runs with something to do leave the two newest dumps.
    for n in 3..=5 {
        let body = insert(&format!("m{n}"));
        std::fs::write(t.path(&format!("mongomigrations/000{n}_m.json")), body).unwrap();
        t.run(&["execute"]).success();
    }
    let mut left: Vec<PathBuf> = std::fs::read_dir(t.path("mongodumps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&dump), "the oldest dump was kept");
}

#[test]
fn a_failed_dump_aborts_the_run_with_nothing_migrated() {
    let t = Test::new()
        .config("[dump]\nenabled = true\ndirectory = \"blocker/dumps\"\n")
        .file("blocker", "a file where a directory should be")
        .migration("0001_a.json", &insert("a"));
    t.run(&["execute"])
        .code(11)
        .stdout_is("")
        .stderr_masked_is(&format!(
            "{}\nerror: dump into `blocker/dumps/default-<stamp>` failed: cannot create the \
             directory: Not a directory (os error 20); hint: nothing was migrated; fix the cause \
             (disk space, permissions, `[dump] directory`) and run again\n",
            t.target()
        ));
    assert!(t.records().is_empty() && t.docs("items").is_empty());
    let history = t.run(&["history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(entries[0]["result"], "failed");
    assert_eq!(entries[0]["completed"], serde_json::json!([]));
}

#[test]
fn mongodump_gets_the_password_only_in_a_0600_config_file_it_never_keeps() {
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new();
    let (secured, host, port) = server_with_user(&t.db_name, storage.path());
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("record");
    std::fs::create_dir(&record).unwrap();
    // A stand-in mongodump: records its argv, its environment, and its config file and mode.
    let stand_in = format!(
        r#"#!/bin/sh
printf '%s\n' "$@" > {r}/argv
env > {r}/env
for arg in "$@"; do
  case "$arg" in --config=*) f="${{arg#--config=}}"; cp "$f" {r}/config; stat -c %a "$f" > {r}/mode; echo "$f" > {r}/path;; esac
done
"#,
        r = record.display()
    );
    let program = bin.path().join("mongodump");
    std::fs::write(&program, stand_in).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\npassword_env = \"DB_PASSWORD\"\n\n[dump]\ntool = \"mongodump\"\ngzip = true\n",
        t.db_name
    );
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let t = t
        .raw_config(&config)
        .env("DB_PASSWORD", PASSWORD)
        .env("PATH", &path);
    t.run(&["dump"])
        .success()
        .stderr_is(&format!(
            "default: database `{}` on {host}:{port}\n",
            t.db_name
        ))
        .stdout_masked_is(&format!(
            "dumped `{}/mongodumps/default-<stamp>` (0 collection(s), 0 document(s), with \
             mongodump) in <dur>\n",
            t.dir().display()
        ))
        .never_shows(PASSWORD);

    let read = |name: &str| std::fs::read_to_string(record.join(name)).unwrap();
    let argv = read("argv");
    assert!(!argv.contains(PASSWORD), "{argv}");
    for flag in [
        format!("--host={host}"),
        format!("--port={port}"),
        "--username=migo".into(),
        "--authenticationDatabase=admin".into(),
        "--gzip".into(),
        format!("--db={}", t.db_name),
    ] {
        assert!(
            argv.lines().any(|l| l == flag),
            "{flag} missing from {argv}"
        );
    }
    assert!(
        !read("env").contains(PASSWORD),
        "the password leaked into mongodump's environment"
    );
    assert_eq!(read("config"), format!("password: \"{PASSWORD}\"\n"));
    assert_eq!(read("mode").trim(), "600");
    assert!(
        !Path::new(read("path").trim()).exists(),
        "the config file was left behind"
    );

    // Not installed: a clear error that suggests the native dump.
    let t = t.env("PATH", "/usr/bin:/bin");
    t.run(&["dump"]).code(11).stdout_is("").stderr_is(
        "error: dump into `mongodumps` failed: `mongodump` was not found; hint: install the \
         MongoDB Database Tools, or set `[dump] tool = \"native\"`, which needs nothing \
         installed\n",
    );
    drop(secured);
}

/// A dump of `users` (50 documents of the same size), plain or gzipped; returns the test and the
/// dump's file.
pub(crate) fn users_dump(gzip: bool) -> (Test, PathBuf) {
    let t = Test::new().config(&format!("[dump]\ngzip = {gzip}\n"));
    let users: Vec<Document> = (0..50)
        .map(|i| doc! {"_id": i, "name": format!("user {i:02}")})
        .collect();
    t.db()
        .collection::<Document>("users")
        .insert_many(users)
        .run()
        .unwrap();
    t.run(&["dump"]).success();
    let suffix = if gzip { ".gz" } else { "" };
    let file = only_dump(&t)
        .join(&t.db_name)
        .join(format!("users.bson{suffix}"));
    (t, file)
}

/// Restores `t`'s one dump (with `extra` arguments) and expects `code` with exactly the error
/// line `stderr`; `users` keeps its 50 documents, no restore collection is left, no journal, and
/// no restore was recorded.
pub(crate) fn refused_restore(t: &Test, extra: &[&str], code: i32, stderr: &str) {
    let dir = only_dump(t);
    let mut args = vec!["restore", dir.to_str().unwrap(), "--yes"];
    args.extend(extra);
    t.run(&args).code(code).one_error_line().stderr_is(stderr);
    assert_eq!(t.docs("users").len(), 50, "the restore destroyed data");
    assert!(
        t.collections()
            .iter()
            .all(|c| !c.starts_with("migo_restore")),
        "{:?}",
        t.collections()
    );
    assert!(crate::restore_stops::journal(t).is_none());
    // Not even the lock was taken: the registry holds no lock document at all.
    let lock = t
        .db()
        .collection::<Document>("migrations")
        .find_one(doc! {"_id": crate::test::LOCK_ID})
        .run()
        .unwrap();
    assert!(lock.is_none(), "the lock was taken: {lock:?}");
    assert!(!t
        .run(&["history", "--json"])
        .stdout
        .contains("\"action\":\"restore\""));
}

/// The hint of an error about a damaged dump file.
const DAMAGED: &str =
    "hint: nothing was changed; restore another dump (`migo dump` takes a new one)\n";

#[test]
fn a_dump_without_a_manifest_is_still_read_to_its_end_before_anything_is_touched() {
    // As mongodump leaves it: no manifest, so only `--trust-dump` goes on, and then every file is
    // still decoded. The file a full disk leaves: cut in the middle of a document.
    let trusting = ["--trust-dump"];
    let unproven = |gzip| {
        let (t, file) = users_dump(gzip);
        std::fs::remove_file(only_dump(&t).join("migo-dump.json")).unwrap();
        (t, file)
    };
    let (t, file) = unproven(false);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let at = bytes.len() / 50 * 49;
    refused_restore(
        &t,
        &trusting,
        11,
        &format!(
            "error: the dump file `{}` is damaged: truncated document at byte {at}; {DAMAGED}",
            file.display()
        ),
    );

    // Random bytes.
    let (t, file) = unproven(false);
    std::fs::write(&file, b"\x07\x13not bson at all, just bytes\x00").unwrap();
    refused_restore(
        &t,
        &trusting,
        11,
        &format!(
            "error: the dump file `{}` is damaged: a document at byte 0 claims 1869484807 bytes: \
             not a BSON dump; {DAMAGED}",
            file.display()
        ),
    );

    // A length prefix that lies (the second document claims to be huge).
    let (t, file) = unproven(false);
    let mut bytes = std::fs::read(&file).unwrap();
    let first = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    bytes[first..first + 4].copy_from_slice(&0x7fff_0000_u32.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    refused_restore(
        &t,
        &trusting,
        11,
        &format!(
            "error: the dump file `{}` is damaged: a document at byte {first} claims 2147418112 \
             bytes: not a BSON dump; {DAMAGED}",
            file.display()
        ),
    );

    // A truncated gzip file.
    let (t, file) = unproven(true);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let dir = only_dump(&t);
    t.run(&["restore", dir.to_str().unwrap(), "--yes", "--trust-dump"])
        .code(11)
        .stdout_is("")
        .stderr_is(&format!(
            "error: the dump file `{}` is damaged: truncated document at byte 544; {DAMAGED}",
            file.display()
        ));
    assert_eq!(t.docs("users").len(), 50);

    // A FIFO where a data file was: refused from its type, never opened (it would block).
    let (t, file) = unproven(false);
    std::fs::remove_file(&file).unwrap();
    let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a path this test owns.
    #[allow(unsafe_code)]
    let made = unsafe { libc::mkfifo(path.as_ptr(), 0o600) };
    assert_eq!(made, 0);
    refused_restore(
        &t,
        &trusting,
        11,
        &format!(
            "error: the dump file `{}` is damaged: is a FIFO, not a file; {DAMAGED}",
            file.display()
        ),
    );

    // A whole one restores, on the user's word.
    let (t, _) = unproven(false);
    let dir = only_dump(&t);
    t.run(&["restore", dir.to_str().unwrap(), "--yes", "--trust-dump"])
        .success()
        .stdout_is(&format!(
            "restored 1 collection(s) of `{}`: 50 document(s), 0 index(es)\n",
            t.db_name
        ));
}

#[test]
fn retention_prunes_only_the_environments_own_dumps() {
    let t = Test::new().config("[dump]\nkeep = 1\n[environments.eu]\n[environments.eu-1]\n");
    t.run(&["--env", "eu-1", "dump"]).success();
    t.run(&["--env", "eu-1", "dump"]).success();
    t.run(&["--env", "eu", "dump"]).success();
    t.run(&["--env", "eu", "dump"]).success();
    let mut names: Vec<String> = std::fs::read_dir(t.path("mongodumps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("eu-1-2") && names[1].starts_with("eu-2"),
        "{names:?}"
    );
}

#[test]
fn a_dump_into_a_full_disk_leaves_nothing_that_looks_complete() {
    // A 64 KiB tmpfs stands for the full disk.
    let Some(disk) = crate::disk::Tmpfs::mount("64k") else {
        return;
    };
    let dumps = disk.path().join("dumps");
    let t = Test::new()
        .config(&format!(
            "[dump]\nenabled = true\ndirectory = \"{}\"\n",
            dumps.display()
        ))
        .migration("0001_a.json", &insert("a"));
    let big: Vec<Document> = (0..2_000)
        .map(|i| doc! {"_id": i, "pad": "x".repeat(200)})
        .collect();
    t.db()
        .collection::<Document>("big")
        .insert_many(big)
        .run()
        .unwrap();
    t.run(&["execute"])
        .code(11)
        .stdout_is("")
        .stderr_masked_is(&format!(
            "{}\nerror: dump into `{}/default-<stamp>` failed: cannot dump `big`: No space left on \
             device (os error 28); hint: nothing was migrated; fix the cause (disk space, \
             permissions, `[dump] directory`) and run again\n",
            t.target(),
            dumps.display()
        ));
    assert!(t.records().is_empty() && t.docs("items").is_empty());
    let left: Vec<_> = std::fs::read_dir(&dumps)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a partial dump was left: {left:?}");
}

/// The refusal of a dump without a manifest.
pub(crate) fn no_manifest(dir: &Path, why: &str) -> String {
    format!(
        "error: `{}` has no manifest (`migo-dump.json` listing its files), so nothing proves it \
         complete: {why}; hint: if you know it is complete, pass `--trust-dump`: every file is \
         still read to its end and decoded first, and the audit entry records that it was \
         trusted\n",
        dir.display()
    )
}

#[test]
fn a_dump_cut_off_by_a_full_disk_never_gets_a_manifest() {
    let Some(disk) = crate::disk::Tmpfs::mount("64k") else {
        return;
    };
    let dumps = disk.path().join("dumps");
    let t = Test::new().config(&format!("[dump]\ndirectory = \"{}\"\n", dumps.display()));
    let big: Vec<Document> = (0..2_000)
        .map(|i| doc! {"_id": i, "pad": "x".repeat(200)})
        .collect();
    t.db()
        .collection::<Document>("big")
        .insert_many(big)
        .run()
        .unwrap();
    // Frozen where the failed dump would be removed, then killed so that it stays.
    let mut migo = t.spawn(&["dump"], &[("MIGO_TEST_STOP_AT", "dump-failed")]);
    crate::processes::wait_stopped(&migo);
    let left: Vec<PathBuf> = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    let dump = &left[0];
    let files: Vec<String> = std::fs::read_dir(dump)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        std::slice::from_ref(&t.db_name),
        "a manifest of a cut dump"
    );
    migo.kill().unwrap();
    migo.wait().unwrap();
    t.run(&["restore", dump.to_str().unwrap(), "--yes"])
        .code(6)
        .stderr_is(&no_manifest(
            dump,
            "mongodump writes none, and a migo dump that was cut off has none",
        ));
    assert_eq!(t.docs("big").len(), 2_000);
}
