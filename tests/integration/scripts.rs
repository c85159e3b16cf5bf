//! Script migrations: mongosh `.js` files and executable scripts, with the same registry, lock
//! and reports as JSON ones, and the password never in a command line.

use std::process::Stdio;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document};

use crate::auth::{server_with_user, PASSWORD};
use crate::insert;
use crate::test::Test;
use crate::tools::{mongosh, python};

/// A project whose `.js` migrations run with the installed mongosh.
fn with_mongosh() -> Test {
    Test::new().env("MIGO_MONGOSH", mongosh().to_str().unwrap())
}

const BACKFILL: &str = r#"// backfill users.status
function up() {
  const result = db.users.updateMany({ status: { $exists: false } }, { $set: { status: "active" } });
  print("backfilled " + result.modifiedCount);
}

function down() {
  db.users.updateMany({}, { $unset: { status: "" } });
}
"#;

#[test]
fn a_js_migration_backfills_500_documents_and_rolls_back() {
    let t = with_mongosh().migration("0001_backfill.js", BACKFILL);
    let users = t.db().collection::<Document>("users");
    users
        .insert_many((0..500).map(|i| doc! {"_id": i}))
        .run()
        .unwrap();
    t.run(&["execute"])
        .success()
        .stdout_masked_is("applied 0001_backfill (<dur>)\n1 migration(s) applied in <dur>\n")
        .stderr_is(&format!(
            "{}\napplying 0001_backfill…\n  0001_backfill | backfilled 500\n",
            t.target()
        ));
    let active = users
        .count_documents(doc! {"status": "active"})
        .run()
        .unwrap();
    assert_eq!(active, 500);
    assert_eq!(t.statuses(), [("0001_backfill".into(), "applied".into())]);
    t.run(&["execute", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is("dry run: nothing to do\n");
    t.run(&["rollback", "0001_backfill", "--dry-run"])
        .success()
        .stderr_is("")
        .stdout_is(&format!(
            "would roll back 0001_backfill (0001_backfill.js)\n\
             \x20   mongosh: down() of {}\n\
             dry run: 1 step(s), nothing was changed\n",
            t.path("mongomigrations/0001_backfill.js").display()
        ));
    t.run(&["rollback", "0001_backfill"]).success();
    let with_status = users
        .count_documents(doc! {"status": {"$exists": true}})
        .run()
        .unwrap();
    assert_eq!(with_status, 0);
    assert!(t.records().is_empty());
}

#[test]
fn a_throwing_js_migration_is_recorded_failed_with_its_message() {
    let t = with_mongosh()
        .migration("0001_a.json", &insert("a"))
        .migration(
            "0002_throws.js",
            "function up() { throw new Error(\"no can do: \" + 6 * 7); }\n",
        )
        .migration("0003_c.json", &insert("c"));
    // The script's own output is streamed first, under its name; then migo's one error line.
    t.run(&["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 0001_a…\napplying 0002_throws…\n{}{}{}{}",
        t.target(),
        "  0002_throws | Error: no can do: 42\n",
        "error: migration `0002_throws` failed: Error: no can do: 42; ",
        "hint: fix it, then retry with `migo execute 0002_throws`, or `migo ignore 0002_throws` / ",
        "`migo rollback 0002_throws`\n"
    ));
    assert_eq!(
        t.statuses(),
        [
            ("0001_a".into(), "applied".into()),
            ("0002_throws".into(), "failed".into())
        ]
    );
    let record = &t.records()[1];
    assert!(record.get_str("error").unwrap().contains("no can do: 42"));
    // Without `down`, rollback refuses it as irreversible.
    t.run(&["rollback", "0002_throws"])
        .code(6)
        .stdout_is("")
        .stderr_is(
        "error: cannot roll back `0002_throws`: it has no `down`, so it is irreversible; hint: \
             add a `down` to `0002_throws.js` if the change can be undone\n",
    );
}

#[test]
fn missing_mongosh_stops_the_run_before_the_first_migration() {
    let t = Test::new()
        .env("MIGO_MONGOSH", "/nonexistent/mongosh")
        .migration("0001_a.json", &insert("a"))
        .migration("0002_b.js", BACKFILL);
    t.run(&["execute"])
        .code(4)
        .one_error_line()
        .stderr_is("error: cannot run `0002_b.js`: it needs mongosh, and `/nonexistent/mongosh` was not found; hint: install it (`npm install -g mongosh`), or point `[migrations] mongosh` / MIGO_MONGOSH at it\n");
    assert!(t.collections().is_empty(), "{:?}", t.collections());
}

/// A script that records its run in `scripts` with pymongo, using only the `MIGO_*` variables.
const PY_BODY: &str = r#"import os, sys
from pymongo import MongoClient
db = MongoClient(os.environ["MIGO_URI"])[os.environ["MIGO_DATABASE"]]
name, direction = os.environ["MIGO_MIGRATION"], sys.argv[1]
assert direction == os.environ["MIGO_DIRECTION"]
if direction == "up":
    db.scripts.insert_one({"_id": name})
else:
    db.scripts.delete_one({"_id": name})
print(name + " did " + direction)
"#;

fn sh_body() -> String {
    format!(
        "#!/bin/sh\nset -eu\nexec \"{}\" - \"$1\" <<'PY'\n{PY_BODY}PY\n",
        python().display()
    )
}

#[test]
fn sh_and_py_migrations_apply_and_roll_back() {
    let t = Test::new()
        .config(&format!(
            "[migrations.interpreters]\npy = \"{} -u\"\n",
            python().display()
        ))
        .script("0001_shell.sh", &sh_body())
        .migration("0002_python.py", PY_BODY);
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "{}\napplying 0001_shell…\n  0001_shell | 0001_shell did up\napplying 0002_python…\n\
             \x20 0002_python | 0002_python did up\n",
            t.target()
        ))
        .stdout_masked_is(
            "applied 0001_shell (<dur>)\napplied 0002_python (<dur>)\n\
             2 migration(s) applied in <dur>\n",
        );
    let ids: Vec<String> = t
        .docs("scripts")
        .iter()
        .map(|d| d.get_str("_id").unwrap().to_string())
        .collect();
    assert_eq!(ids, ["0001_shell", "0002_python"]);
    t.run(&["rollback", "--all", "--yes"]).success();
    assert!(t.docs("scripts").is_empty() && t.records().is_empty());
    // Quiet: the scripts' output is not echoed.
    let run = t.run(&["-q", "execute"]);
    run.success();
    assert_eq!(run.stderr, "");
}

#[test]
fn an_unexecutable_script_is_refused_before_anything_runs() {
    let t = Test::new()
        .migration("0001_a.json", &insert("a"))
        .migration("0002_noexec.sh", "#!/bin/sh\necho never\n");
    t.run(&["execute"]).code(4).stdout_is("").stderr_is(
        "error: migration `0002_noexec.sh` is invalid: it is not executable and no interpreter is \
         configured for `.sh`; hint: `chmod +x mongomigrations/0002_noexec.sh`, or set \
         `[migrations.interpreters] sh = \"…\"` in migo.toml\n",
    );
    assert!(t.collections().is_empty());
}

/// Every process's command line on this machine, as text.
fn command_lines() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .collect()
}

#[test]
fn no_command_line_holds_the_password_while_scripts_run() {
    let storage = tempfile::tempdir().unwrap();
    let t = with_mongosh();
    let (secured, host, port) = server_with_user(&t.db_name, storage.path());
    let slow_js = "function up() { sleep(1500); db.marks.insertOne({ _id: \"js\" }); }\n";
    let slow_sh = format!(
        "#!/bin/sh\nsleep 1\nexec \"{}\" - \"$1\" <<'PY'\n{PY_BODY}PY\n",
        python().display()
    );
    let config = format!(
        "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\npassword_env = \"DB_PASSWORD\"\n",
        t.db_name
    );
    let t = t
        .raw_config(&config)
        .env("DB_PASSWORD", PASSWORD)
        .migration("0001_slow.js", slow_js)
        .script("0002_slow.sh", &slow_sh);

    let mut child = t
        .command(&["execute"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut saw_mongosh, mut saw_script) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the migrations did not finish");
        for line in command_lines() {
            assert!(
                !line.contains(PASSWORD),
                "password in a command line: {line}"
            );
            saw_mongosh |= line.contains("--nodb") && line.contains("migoConnection");
            saw_script |= line.contains("0002_slow.sh up");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        saw_mongosh && saw_script,
        "the scripts were never seen running"
    );
    let uri = format!("mongodb://migo:{PASSWORD}@{host}:{port}/?authSource=admin");
    let db = mongodb::sync::Client::with_uri_str(&uri)
        .unwrap()
        .database(&t.db_name);
    let marks = db
        .collection::<Document>("marks")
        .count_documents(doc! {})
        .run()
        .unwrap();
    let scripts = db
        .collection::<Document>("scripts")
        .count_documents(doc! {})
        .run()
        .unwrap();
    assert_eq!((marks, scripts), (1, 1));
    drop(secured);
}

#[test]
fn a_script_runs_from_a_private_copy_and_knows_its_original() {
    let body = "#!/bin/sh\nset -e\necho \"mode $(stat -c %a \"$(dirname \"$0\")\")\"\necho \"original $MIGO_MIGRATION_FILE in $MIGO_MIGRATION_DIR\"\ncmp \"$0\" \"$MIGO_MIGRATION_FILE\" && echo same bytes\ntest \"$0\" != \"$MIGO_MIGRATION_FILE\" && echo not the original\n";
    let t = Test::new().script("0001_copy.sh", body);
    let file = std::fs::canonicalize(t.path("mongomigrations/0001_copy.sh")).unwrap();
    t.run(&["execute"]).success().stderr_is(&format!(
        "{}\napplying 0001_copy…\n  0001_copy | mode 700\n  0001_copy | original {} in {}\n  0001_copy | same bytes\n  0001_copy | not the original\n",
        t.target(),
        file.display(),
        file.parent().unwrap().display()
    ));
}
