//! Dumps that prove themselves: every dump carries a manifest (files, sizes, SHA-256, document
//! counts), written last, for mongodump's dumps too; `restore` checks every file against it before
//! it touches anything, and names what differs; a dump without one needs `--trust-dump`, which
//! the audit entry records; a dump of another database says so before it is restored.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mongodb::bson::{doc, Document};

use crate::backups::{decode_with_pymongo, no_manifest, only_dump, refused_restore, users_dump};
use crate::sha256;
use crate::test::Test;

/// The hint of a file that differs from the manifest.
const MISMATCH: &str = "hint: nothing was changed: the dump was cut off or altered after migo \
                        wrote it; restore another dump (`migo dump` takes a new one)\n";

fn mismatch(file: &Path, difference: &str) -> String {
    format!(
        "error: the dump file `{}` does not match the dump's manifest: {difference}; {MISMATCH}",
        file.display()
    )
}

fn manifest(dump: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dump.join("migo-dump.json")).unwrap()).unwrap()
}

fn write_manifest(dump: &Path, value: &serde_json::Value) {
    std::fs::write(
        dump.join("migo-dump.json"),
        serde_json::to_string_pretty(value).unwrap(),
    )
    .unwrap();
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap() {
                let inner = inner.unwrap().path();
                found.push(inner.strip_prefix(dir).unwrap().display().to_string());
            }
        } else {
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    found.sort();
    found
}

#[test]
fn a_dump_cut_at_a_document_boundary_is_refused_before_anything_is_touched() {
    // 50 documents of one size; half of the file is 25 whole documents, which decode cleanly.
    let (t, file) = users_dump(false);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len() % 50, 0);
    let half = bytes.len() / 2;
    std::fs::write(&file, &bytes[..half]).unwrap();
    let before = t.snapshot_without(&["migrations_audit"]);
    refused_restore(
        &t,
        &[],
        11,
        &mismatch(
            &file,
            &format!("expected {} bytes, found {half}", bytes.len()),
        ),
    );
    assert_eq!(t.snapshot_without(&["migrations_audit"]), before);
}

#[test]
fn every_dump_lists_its_files_with_their_size_sha256_and_documents() {
    for gzip in [false, true] {
        let (t, _) = users_dump(gzip);
        t.db()
            .collection::<Document>("empty")
            .insert_one(doc! {"_id": 1})
            .run()
            .unwrap();
        t.db()
            .collection::<Document>("empty")
            .delete_many(doc! {})
            .run()
            .unwrap();
        std::fs::remove_dir_all(t.path("mongodumps")).unwrap();
        t.run(&["dump"]).success();
        let dump = only_dump(&t);
        let manifest = manifest(&dump);
        let suffix = if gzip { ".gz" } else { "" };
        assert_eq!(manifest["manifest"], 2);
        assert_eq!(manifest["database"], t.db_name.as_str());
        assert_eq!(manifest["tool"], "native");
        assert_eq!(manifest["gzip"], gzip);
        assert_eq!(manifest["migo_version"], env!("CARGO_PKG_VERSION"));
        let finished = manifest["finished_at"].as_str().unwrap();
        assert!(
            finished.len() == 24 && finished.ends_with('Z'),
            "{finished}"
        );
        let collections = manifest["collections"].as_array().unwrap();
        let names: Vec<&str> = collections
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        // The audit log is dumped too (a restore never puts it back).
        assert_eq!(names, ["empty", "migrations_audit", "users"]);
        let mut listed = vec!["migo-dump.json".to_string()];
        for collection in collections {
            let name = collection["name"].as_str().unwrap();
            let data = format!("{}/{name}.bson{suffix}", t.db_name);
            let metadata = format!("{}/{name}.metadata.json{suffix}", t.db_name);
            for (entry, file) in [
                (&collection["data"], &data),
                (&collection["metadata"], &metadata),
            ] {
                let path = dump.join(file);
                assert_eq!(entry["file"], file.as_str());
                assert_eq!(entry["bytes"], std::fs::metadata(&path).unwrap().len());
                assert_eq!(entry["sha256"], sha256(&path).as_str());
                listed.push(file.clone());
            }
            let documents = decode_with_pymongo(&dump.join(&data)).len();
            assert_eq!(collection["documents"], documents, "{name}");
        }
        assert_eq!(collections[2]["documents"], 50);
        // Exactly the files listed, and nothing half-written left beside them.
        listed.sort();
        assert_eq!(files_under(&dump), listed);
    }
}

/// Damages `users_dump`'s dump with `damage` (given the dump's directory and the data file) and
/// expects the restore to say exactly `expected` (given the same).
fn refused_after(
    gzip: bool,
    damage: impl FnOnce(&Path, &Path),
    expected: impl FnOnce(&Path, &Path) -> String,
) {
    let (t, file) = users_dump(gzip);
    let dump = only_dump(&t);
    damage(&dump, &file);
    refused_restore(&t, &[], 11, &expected(&dump, &file));
}

#[test]
fn every_difference_from_the_manifest_is_named_with_what_was_expected_and_found() {
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let metadata = |file: &Path| file.with_file_name("users.metadata.json");

    // One byte changed in the middle of a document: same size, another hash.
    let original = std::cell::RefCell::new(String::new());
    refused_after(
        false,
        |_, file| {
            *original.borrow_mut() = sha256(file);
            let mut bytes = std::fs::read(file).unwrap();
            let middle = bytes.len() / 2 + 10;
            bytes[middle] ^= 0x01;
            std::fs::write(file, bytes).unwrap();
        },
        |_, file| {
            mismatch(
                file,
                &format!(
                    "expected SHA-256 {}, found {}",
                    original.borrow(),
                    sha256(file)
                ),
            )
        },
    );

    // The manifest says one document more than the file holds.
    refused_after(
        false,
        |dump, _| {
            let mut value = manifest(dump);
            value["collections"][0]["documents"] = 51.into();
            write_manifest(dump, &value);
        },
        |_, file| mismatch(file, "expected 51 documents, found 50"),
    );

    // A file the manifest does not list.
    refused_after(
        false,
        |_, file| std::fs::write(file.with_file_name("evil.bson"), [0u8; 12]).unwrap(),
        |_, file| {
            mismatch(
                &file.with_file_name("evil.bson"),
                "the manifest does not list it (found a file of 12 bytes)",
            )
        },
    );

    // A listed file missing.
    let gone = std::cell::Cell::new(0);
    refused_after(
        false,
        |_, file| {
            gone.set(size(&metadata(file)));
            std::fs::remove_file(metadata(file)).unwrap();
        },
        |_, file| {
            mismatch(
                &metadata(file),
                &format!("expected a file of {} bytes, found none", gone.get()),
            )
        },
    );

    // A FIFO where the data file was (reading it would hang): refused from its type alone.
    let was = std::cell::Cell::new(0);
    refused_after(
        false,
        |_, file| {
            was.set(size(file));
            std::fs::remove_file(file).unwrap();
            let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo(3) on a path this test owns.
            #[allow(unsafe_code)]
            let made = unsafe { libc::mkfifo(path.as_ptr(), 0o600) };
            assert_eq!(made, 0);
        },
        |_, file| {
            mismatch(
                file,
                &format!("expected a file of {} bytes, found a FIFO", was.get()),
            )
        },
    );

    // A symbolic link to an identical copy: not the file that was written.
    let elsewhere = tempfile::tempdir().unwrap();
    refused_after(
        false,
        |_, file| {
            let copy = elsewhere.path().join("users.bson");
            std::fs::rename(file, &copy).unwrap();
            std::os::unix::fs::symlink(&copy, file).unwrap();
            was.set(size(&copy));
        },
        |_, file| {
            mismatch(
                file,
                &format!(
                    "expected a file of {} bytes, found a symbolic link",
                    was.get()
                ),
            )
        },
    );

    // A gzipped file cut in half.
    let whole = std::cell::Cell::new(0);
    refused_after(
        true,
        |_, file| {
            let bytes = std::fs::read(file).unwrap();
            whole.set(bytes.len());
            std::fs::write(file, &bytes[..bytes.len() / 2]).unwrap();
        },
        |_, file| {
            mismatch(
                file,
                &format!("expected {} bytes, found {}", whole.get(), whole.get() / 2),
            )
        },
    );

    // A manifest that points outside the dump.
    refused_after(
        false,
        |dump, _| {
            let mut value = manifest(dump);
            value["collections"][0]["metadata"]["file"] = "../../etc/passwd".into();
            write_manifest(dump, &value);
        },
        |dump, _| {
            format!(
                "error: the dump file `{}` is damaged: lists `../../etc/passwd`, a path outside \
                 the dump; hint: nothing was changed; restore another dump (`migo dump` takes a \
                 new one)\n",
                dump.join("migo-dump.json").display()
            )
        },
    );

    // A manifest cut off: not a manifest at all.
    let (t, _) = users_dump(false);
    let dump = only_dump(&t);
    let text = std::fs::read_to_string(dump.join("migo-dump.json")).unwrap();
    std::fs::write(dump.join("migo-dump.json"), &text[..text.len() / 2]).unwrap();
    t.run(&["restore", dump.to_str().unwrap(), "--yes", "--trust-dump"])
        .code(11)
        .one_error_line()
        .stderr_has(&format!(
            "error: the dump file `{}` is damaged: is not a manifest: EOF while parsing",
            dump.join("migo-dump.json").display()
        ));
    assert_eq!(t.docs("users").len(), 50);
}

#[test]
fn a_dump_without_a_manifest_needs_trust_dump_and_the_audit_entry_says_which() {
    let details = |t: &Test| {
        let history: serde_json::Value =
            serde_json::from_str(&t.run(&["history", "--json"]).stdout).unwrap();
        history[0]["details"].clone()
    };
    // With its manifest: proved, and `--trust-dump` changes nothing (a damaged one stays refused).
    let (t, file) = users_dump(false);
    let dump = only_dump(&t);
    let dir = dump.to_str().unwrap();
    t.run(&["restore", dir, "--yes"]).success();
    let recorded = details(&t);
    assert_eq!(recorded["trust_dump"], false);
    assert_eq!(recorded["database"], t.db_name.as_str());
    assert_eq!(
        recorded["manifest_sha256"],
        sha256(&dump.join("migo-dump.json")).as_str()
    );
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    t.run(&["restore", dir, "--yes", "--trust-dump"])
        .code(11)
        .stderr_is(&mismatch(
            &file,
            &format!("expected {} bytes, found {}", bytes.len(), bytes.len() / 2),
        ));

    // An older migo's completion marker lists no files: it proves nothing either.
    let (t, _) = users_dump(false);
    let dump = only_dump(&t);
    let marker = serde_json::json!({
        "database": t.db_name, "tool": "native", "gzip": false,
        "collections": [["users", 50]], "finished_at": "2026-11-22T10:15:00Z",
        "migo_version": "0.1.0",
    });
    write_manifest(&dump, &marker);
    t.run(&["restore", dump.to_str().unwrap(), "--yes"])
        .code(6)
        .stderr_is(&no_manifest(
            &dump,
            "an older migo wrote only a completion marker",
        ));
    let json = t.run(&["restore", dump.to_str().unwrap(), "--yes", "--json"]);
    let error: serde_json::Value = serde_json::from_str(&json.code(6).stdout).unwrap();
    assert_eq!(error["error"]["reason"], "no_manifest");
    t.run(&["restore", dump.to_str().unwrap(), "--yes", "--trust-dump"])
        .success();
    let recorded = details(&t);
    assert_eq!(recorded["trust_dump"], true);
    assert_eq!(recorded["manifest_sha256"], serde_json::Value::Null);
    assert_eq!(recorded["database"], serde_json::Value::Null);

    // mongodump's own layout, given as its database directory.
    let (t, _) = users_dump(false);
    let dump = only_dump(&t);
    std::fs::remove_file(dump.join("migo-dump.json")).unwrap();
    let db_dir = dump.join(&t.db_name);
    t.run(&["restore", db_dir.to_str().unwrap(), "--yes"])
        .code(6)
        .stderr_is(&no_manifest(
            &db_dir,
            "mongodump writes none, and a migo dump that was cut off has none",
        ));
    assert!(!t
        .run(&["history", "--json"])
        .stdout
        .contains("\"action\":\"restore\""));
}

#[test]
fn a_dump_of_another_database_says_so_and_asks() {
    let (source, _) = users_dump(false);
    let dump = only_dump(&source);
    let target = Test::new();
    target
        .db()
        .collection::<Document>("users")
        .insert_one(doc! {"_id": "mine"})
        .run()
        .unwrap();
    let dir = dump.to_str().unwrap();
    target.run(&["restore", dir]).code(6).stderr_is(&format!(
        "error: restore replaces 1 collection(s) of `{}` (users) with those of `{dir}`, a dump of \
         another database, `{}`, and needs confirmation; hint: pass `--yes` to confirm without a \
         terminal\n",
        target.db_name, source.db_name
    ));
    assert_eq!(target.docs("users"), [doc! {"_id": "mine"}]);
    target.run(&["restore", dir, "--yes"]).success();
    assert_eq!(target.docs("users").len(), 50);
    // Its own database's dump is not a question of which database.
    source.run(&["restore", dir]).code(6).stderr_is(&format!(
        "error: restore replaces 1 collection(s) of `{}` (users) with those of `{dir}`, and \
             needs confirmation; hint: pass `--yes` to confirm without a terminal\n",
        source.db_name
    ));
}

/// A stand-in for mongodump that writes what mongodump writes (`<out>/<db>/<c>.bson` and
/// `.metadata.json`, gzipped with `--gzip`, and a `prelude.json`), through pymongo.
fn stand_in_mongodump(bin: &Path) -> PathBuf {
    let script = format!(
        r#"#!{python}
import gzip, os, sys
from pymongo import MongoClient
from bson import json_util
from bson.raw_bson import RawBSONDocument
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
names = [args["collection"]] if "collection" in args else None
zipped = "--gzip" in sys.argv
db = MongoClient(args["host"], int(args["port"]), document_class=RawBSONDocument)[args["db"]]
out = os.path.join(args["out"], args["db"])
os.makedirs(out, exist_ok=True)
sfx = ".gz" if zipped else ""
opener = gzip.open if zipped else open
for name in names or db.list_collection_names():
    with opener(os.path.join(out, name + ".bson" + sfx), "wb") as f:
        for d in db[name].find():
            f.write(d.raw)
    meta = {{"options": {{}}, "indexes": [dict(i) for i in db[name].list_indexes()],
            "collectionName": name, "type": "collection"}}
    with opener(os.path.join(out, name + ".metadata.json" + sfx), "wb") as f:
        f.write(json_util.dumps(meta).encode())
with open(os.path.join(args["out"], "prelude.json"), "w") as f:
    f.write('{{"ServerVersion": "stand-in"}}')
"#,
        python = crate::tools::python().display()
    );
    let program = bin.join("mongodump");
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    program
}

#[test]
fn migo_writes_the_manifest_of_a_mongodump_dump_after_mongodump_finishes() {
    let bin = tempfile::tempdir().unwrap();
    stand_in_mongodump(bin.path());
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let (t, _) = users_dump(false);
    std::fs::remove_dir_all(t.path("mongodumps")).unwrap();
    let t = t
        .config("[dump]\ntool = \"mongodump\"\ngzip = true\ncollections = [\"users\"]\n")
        .env("PATH", &path);
    let run = t.run(&["dump"]);
    run.success()
        .stdout_has("(1 collection(s), 50 document(s), with mongodump)");
    let dump = only_dump(&t);
    let manifest = manifest(&dump);
    assert_eq!(manifest["tool"], "mongodump");
    assert_eq!(manifest["gzip"], true);
    let users = &manifest["collections"][0];
    assert_eq!(users["name"], "users");
    assert_eq!(users["documents"], 50);
    let data = dump.join(format!("{}/users.bson.gz", t.db_name));
    assert_eq!(users["data"]["sha256"], sha256(&data).as_str());
    assert_eq!(
        users["metadata"]["file"],
        format!("{}/users.metadata.json.gz", t.db_name).as_str()
    );
    let prelude = &manifest["other_files"][0];
    assert_eq!(prelude["file"], "prelude.json");
    assert_eq!(
        prelude["sha256"],
        sha256(&dump.join("prelude.json")).as_str()
    );

    // It restores, proved like any other; cut, it is refused.
    t.db()
        .collection::<Document>("users")
        .delete_many(doc! {"_id": {"$gte": 10}})
        .run()
        .unwrap();
    let dir = dump.to_str().unwrap();
    t.run(&["restore", dir, "--yes"]).success();
    assert_eq!(t.docs("users").len(), 50);
    std::fs::write(dump.join("prelude.json"), "{}").unwrap();
    t.run(&["restore", dir, "--yes"])
        .code(11)
        .stderr_is(&mismatch(
            &dump.join("prelude.json"),
            &format!(
                "expected {} bytes, found 2",
                prelude["bytes"].as_u64().unwrap()
            ),
        ));
}

#[test]
fn a_file_changed_after_it_was_checked_stops_the_restore_before_the_swap() {
    let (t, file) = users_dump(false);
    let dump = only_dump(&t);
    let migo = t.spawn(
        &["restore", dump.to_str().unwrap(), "--yes"],
        &[("MIGO_TEST_STOP_AT", "restore-load:users")],
    );
    crate::processes::wait_stopped(&migo);
    // The same documents, the first two swapped: still a whole dump, but not the one checked.
    let bytes = std::fs::read(&file).unwrap();
    let size = bytes.len() / 50;
    let mut swapped = bytes[size..2 * size].to_vec();
    swapped.extend_from_slice(&bytes[..size]);
    swapped.extend_from_slice(&bytes[2 * size..]);
    std::fs::write(&file, &swapped).unwrap();
    crate::processes::signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!(
            "error: restore of collection `users` failed: the dump file `{}` changed after it \
             was checked (now {} bytes, 50 documents); hint: nothing was replaced: every \
             collection is as it was; fix the cause and run `migo restore` again",
            file.display(),
            bytes.len()
        )
    );
    let users = t.docs("users");
    assert_eq!(users.len(), 50);
    assert!(t
        .collections()
        .iter()
        .all(|c| !c.starts_with("migo_restore")));
    assert!(crate::restore_stops::journal(&t).is_none());
    assert!(t.lock().is_none());
}

#[test]
fn hostile_collection_names_are_listed_checked_and_restored() {
    let name = "we ird\"ü.x\tß";
    let t = Test::new();
    let hostile = t.db().collection::<Document>(name);
    hostile
        .insert_many((0..3).map(|i| doc! {"_id": i}))
        .run()
        .unwrap();
    t.run(&["dump"]).success();
    let dump = only_dump(&t);
    let manifest = manifest(&dump);
    assert_eq!(manifest["collections"][0]["name"], name);
    let data = dump.join(&t.db_name).join(format!("{name}.bson"));
    assert_eq!(
        manifest["collections"][0]["data"]["sha256"],
        sha256(&data).as_str()
    );
    hostile.delete_many(doc! {}).run().unwrap();
    let dir = dump.to_str().unwrap();
    t.run(&["restore", dir, "--yes"]).success();
    assert_eq!(t.docs(name).len(), 3);
    // Cut: the error names the file, its control character escaped, on one line.
    let size = std::fs::metadata(&data).unwrap().len();
    std::fs::write(&data, b"").unwrap();
    let expected = mismatch(&data, &format!("expected {size} bytes, found 0"));
    t.run(&["restore", dir, "--yes"])
        .code(11)
        .stderr_is(&expected.replace('\t', "\\t"));
}
