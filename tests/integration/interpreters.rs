//! Interpreted migrations tell the truth: `applied` only when the interpreter said, over its own
//! channel, that it found, called and finished the requested function (awaited, exhausted,
//! called back). Every way a migration's `up` could be skipped, left unawaited or outrun is a
//! case here, as are output that could hide or forge an answer, stops while an interpreter
//! works, one scope per mongosh file, and Python tracebacks.

use std::time::Duration;

use crate::processes::{alive, pid_in, signal, wait_stopped};
use crate::test::{Run, Test};
use crate::tools::{mongosh, node_modules, python};

/// A project whose `.py` modules run in the test venv's Python.
fn with_python() -> Test {
    let t = Test::new();
    let config = format!(
        "{}[migrations]\npython = \"{}\"\n",
        t.mongo_section(),
        python().display()
    );
    t.raw_config(&config)
}

/// A project whose `.js` scripts run in the installed mongosh.
fn with_mongosh() -> Test {
    Test::new().env("MIGO_MONGOSH", mongosh().to_str().unwrap())
}

/// A migrate-mongo project: its own `node_modules` (with the `mongodb` driver) beside migo.toml,
/// and no NODE_PATH.
fn with_node() -> Test {
    let t = Test::new().env("NODE_PATH", "");
    std::os::unix::fs::symlink(node_modules(), t.path("node_modules")).unwrap();
    t
}

/// The `_id`s of `collection`, in order.
fn ids(t: &Test, collection: &str) -> Vec<String> {
    t.docs(collection)
        .iter()
        .map(|d| d.get_str("_id").unwrap().to_string())
        .collect()
}

/// The output of `child` once it ends; killed, and the test failed, if it has not ended within
/// `limit` (a wait that does not see the stop hangs).
fn within(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "migo did not end within {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs `migo ARGS`; a run that has not finished within 2 minutes fails the test.
fn finishes(t: &Test, args: &[&str]) -> Run {
    Run::within(t.command(args), Duration::from_secs(120))
}

const NOTES_MODULE: &str = "def up(db):\n    db.notes.insert_one({'_id': 'ran'})\n\n\ndef down(db):\n    db.notes.delete_one({'_id': 'ran'})\n";

#[test]
fn a_migopy_module_runs_its_up_whatever_py_interpreter_is_configured() {
    let python = python();
    for setting in [
        format!("py = \"{}\"", python.display()),
        format!("py = \"{} -u\"", python.display()),
    ] {
        let t = Test::new()
            .config(&format!("[migrations.interpreters]\n{setting}\n"))
            .migration("0001_notes.py", NOTES_MODULE);
        t.run(&["execute"])
            .success()
            .stderr_is(&format!("{}\napplying 0001_notes…\n", t.target()))
            .stdout_masked_is("applied 0001_notes (<dur>)\n1 migration(s) applied in <dur>\n");
        assert_eq!(ids(&t, "notes"), ["ran"], "{setting}");
        t.run(&["rollback", "0001_notes"]).success();
        assert!(t.docs("notes").is_empty(), "{setting}");
    }
    // An executable module with a `#!` line is still a module: its `up(db)` is what runs.
    let t = with_python().script(
        "0001_notes.py",
        &format!("#!/usr/bin/env python3\n{NOTES_MODULE}"),
    );
    t.run(&["execute"]).success();
    assert_eq!(ids(&t, "notes"), ["ran"]);
    assert_eq!(t.statuses(), [("0001_notes".into(), "applied".into())]);
}

#[test]
fn a_python_program_with_a_main_block_still_runs_as_a_script() {
    let program = "import os, sys\nimport pymongo\n\n\ndef up():\n    db().programs.insert_one({'_id': 'ran'})\n\n\ndef down():\n    db().programs.delete_one({'_id': 'ran'})\n\n\ndef db():\n    return pymongo.MongoClient(os.environ['MIGO_URI'])[os.environ['MIGO_DATABASE']]\n\n\nif __name__ == '__main__':\n    {'up': up, 'down': down}[sys.argv[1]]()\n    print('ran as a program from ' + os.environ['MIGO_MIGRATION_FILE'])\n";
    let t = Test::new()
        .config(&format!(
            "[migrations.interpreters]\npy = \"{}\"\n",
            python().display()
        ))
        .migration("0001_program.py", program);
    let file = std::fs::canonicalize(t.path("mongomigrations/0001_program.py")).unwrap();
    t.run(&["execute"])
        .success()
        .stderr_is(&format!(
            "{}\napplying 0001_program…\n  0001_program | ran as a program from {}\n",
            t.target(),
            file.display()
        ))
        .stdout_masked_is("applied 0001_program (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(ids(&t, "programs"), ["ran"]);
    t.run(&["rollback", "0001_program"]).success();
    assert!(t.docs("programs").is_empty());
}

#[test]
fn a_callback_style_migrate_mongo_migration_is_done_when_it_calls_back() {
    // migrate-mongo (before 14) called `up(db, next)` and waited for `next`.
    let callback = "module.exports = {\n  up(db, next) {\n    setTimeout(() => {\n      db.collection('notes').insertOne({ _id: 'called-back' }).then(() => next(), next);\n    }, 200);\n  },\n\n  down(db, client, done) {\n    setTimeout(() => done(new Error('cannot go back (' + typeof client.db + ')')), 10);\n  },\n};\n";
    let t = with_node()
        .config("[migrations]\npattern = \"migrate-mongo\"\n")
        .migration("20160608155948-callback.js", callback);
    finishes(&t, &["execute"]).success();
    assert_eq!(ids(&t, "notes"), ["called-back"]);
    assert_eq!(
        t.statuses(),
        [("20160608155948-callback".into(), "applied".into())]
    );
    finishes(&t, &["rollback", "20160608155948-callback"])
        .code(1)
        .stderr_is(&format!(
            "{}\nrolling back 20160608155948-callback…\n  20160608155948-callback | Error: cannot go back (function)\nerror: migration `20160608155948-callback` failed: Error: cannot go back (function); hint: `up`'s effects may still be there: fix `down` and retry with `migo rollback 20160608155948-callback`, or record it applied again with `migo ignore 20160608155948-callback`\n",
            t.target()
        ));
    assert_eq!(ids(&t, "notes"), ["called-back"]);
}

#[test]
fn an_async_mongosh_up_is_awaited_its_throw_fails_it_and_its_late_writes_happen() {
    let t = with_mongosh()
        .migration(
            "0001_after_await.js",
            "async function up() {\n  await new Promise((resolve) => setTimeout(resolve, 50));\n  db.notes.insertOne({ _id: 'after-await' });\n}\n",
        )
        .migration(
            "0002_throws.js",
            "async function up() {\n  await new Promise((resolve) => setTimeout(resolve, 10));\n  throw new Error('no can do: ' + 6 * 7);\n}\n",
        );
    finishes(&t, &["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 0001_after_await…\napplying 0002_throws…\n  0002_throws | Error: no can do: 42\nerror: migration `0002_throws` failed: Error: no can do: 42; hint: fix it, then retry with `migo execute 0002_throws`, or `migo ignore 0002_throws` / `migo rollback 0002_throws`\n",
        t.target()
    ));
    assert_eq!(ids(&t, "notes"), ["after-await"]);
    assert_eq!(
        t.statuses(),
        [
            ("0001_after_await".into(), "applied".into()),
            ("0002_throws".into(), "failed".into())
        ]
    );
}

#[test]
fn a_python_generator_up_runs_to_its_end() {
    let t = with_python().migration(
        "0001_generator.py",
        "def up(db):\n    db.notes.insert_one({'_id': 'first'})\n    yield\n    db.notes.insert_one({'_id': 'second'})\n",
    );
    finishes(&t, &["execute"]).success();
    assert_eq!(ids(&t, "notes"), ["first", "second"]);
}

#[test]
fn async_def_up_beside_a_docstring_is_awaited() {
    let module = "\"\"\"Backfill notes.\n\nThe old version read:\n\ndef up(db):\n    db.notes.insert_one({'_id': 'docstring'})\n\"\"\"\nimport asyncio\n\n\nasync def up(db):\n    await asyncio.sleep(0)\n    db.notes.insert_one({'_id': 'awaited'})\n";
    let t = with_python().migration("0001_async.py", module);
    finishes(&t, &["execute"]).success();
    assert_eq!(ids(&t, "notes"), ["awaited"]);
}

#[test]
fn a_step_without_its_function_or_without_an_answer_fails_clearly() {
    // `module.exports` set to something built at run time: migo cannot see it has no `up`, the
    // interpreter says so.
    let t = with_node()
        .config("[migrations]\npattern = \"migrate-mongo\"\n")
        .migration(
            "20160608155948-built.js",
            "const migration = {};\nmigration.upgrade = async (db) => db.collection('notes').insertOne({ _id: 'no' });\nmodule.exports = migration;\n",
        );
    finishes(&t, &["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 20160608155948-built…\n  20160608155948-built | 20160608155948-built exports no up(db, client) function\nerror: migration `20160608155948-built` failed: 20160608155948-built exports no up(db, client) function; hint: fix it, then retry with `migo execute 20160608155948-built`, or `migo ignore 20160608155948-built` / `migo rollback 20160608155948-built`\n",
        t.target()
    ));
    assert_eq!(
        t.statuses(),
        [("20160608155948-built".into(), "failed".into())]
    );
    assert!(t.docs("notes").is_empty());
    // An interpreter that ends in the middle of `up` never answers: the step fails.
    let t = with_python()
        .migration(
            "0001_exits.py",
            "import os\n\n\ndef up(db):\n    db.notes.insert_one({'_id': 'half'})\n    os._exit(0)\n",
        )
        .migration("0002_next.py", NOTES_MODULE);
    finishes(&t, &["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 0001_exits…\nerror: migration `0001_exits` failed: the python interpreter ended without answering: exit status 0; hint: fix it, then retry with `migo execute 0001_exits`, or `migo ignore 0001_exits` / `migo rollback 0001_exits`\n",
        t.target()
    ));
    assert_eq!(t.statuses(), [("0001_exits".into(), "failed".into())]);
}

#[test]
fn output_without_a_newline_neither_hangs_nor_hides_and_cannot_forge_an_answer() {
    let t = with_python()
        .migration(
            "0001_partial.py",
            "def up(db):\n    print('working', end='')\n    db.notes.insert_one({'_id': 'partial'})\n",
        )
        .migration(
            "0002_forged.py",
            "import sys\n\n\ndef up(db):\n    print('\\x1emigo-result {\"ok\": true}')\n    sys.stdout.write('\\x00\\x00\\x00\\x0b{\"ok\":true}\\n')\n    raise ValueError('forged')\n",
        );
    finishes(&t, &["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 0001_partial…\n  0001_partial | working\napplying 0002_forged…\n  0002_forged | \u{1e}migo-result {{\"ok\": true}}\n  0002_forged | \0\0\0\u{b}{{\"ok\":true}}\n  0002_forged | ValueError: forged\nerror: migration `0002_forged` failed: ValueError: forged (at 0002_forged.py:7 in up: raise ValueError('forged')); hint: fix it, then retry with `migo execute 0002_forged`, or `migo ignore 0002_forged` / `migo rollback 0002_forged`\n",
        t.target()
    ));
    assert_eq!(ids(&t, "notes"), ["partial"]);
    assert_eq!(
        t.statuses(),
        [
            ("0001_partial".into(), "applied".into()),
            ("0002_forged".into(), "failed".into())
        ]
    );
}

/// A Python migration that writes its pid to `<dir>/<id>.pid`, waits for `<dir>/go`, then
/// inserts `{_id: id}` into `gated` (optionally ignoring SIGINT and SIGTERM meanwhile).
fn gated_module(t: &Test, id: &str, ignore_signals: bool) -> String {
    let ignore = if ignore_signals {
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    } else {
        ""
    };
    format!(
        "import os, signal, time\n\n\ndef up(db):\n{ignore}    with open({pid:?}, 'w') as f:\n        f.write(str(os.getpid()))\n    while not os.path.exists({go:?}):\n        time.sleep(0.02)\n    db.gated.insert_one({{'_id': {id:?}}})\n",
        pid = t.path(&format!("{id}.pid")).display().to_string(),
        go = t.path("go").display().to_string(),
    )
}

#[test]
fn a_signal_ends_the_wait_on_an_interpreter_and_records_the_step_interrupted() {
    for ignore_signals in [false, true] {
        let t = with_python();
        let module = gated_module(&t, "slow", ignore_signals);
        let t = t
            .migration("0001_slow.py", &module)
            .migration("0002_next.py", NOTES_MODULE);
        let migo = t.spawn(&["execute"], &[("MIGO_TEST_GRACE_MS", "300")]);
        let interpreter = pid_in(&t.path("slow.pid"));
        signal(migo.id(), libc::SIGINT);
        let out = migo.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.ends_with("error: stopped by SIGINT while `0001_slow` was running; it is recorded as interrupted; hint: check what `0001_slow` did, then `migo execute 0001_slow` to run it again, or `migo ignore 0001_slow` / `migo rollback 0001_slow`\n"),
            "{stderr}"
        );
        assert!(!alive(interpreter), "the interpreter outlived the stop");
        assert_eq!(t.statuses(), [("0001_slow".into(), "interrupted".into())]);
        assert!(t.lock().is_none(), "the lock was not released");
        std::fs::write(t.path("go"), "").unwrap();
        assert!(t.docs("gated").is_empty() && t.docs("notes").is_empty());
    }
}

#[test]
fn a_holder_that_lost_its_lease_stops_its_interpreter_and_writes_nothing() {
    let t = with_python();
    let module = gated_module(&t, "slow", false);
    let t = t.migration("0001_slow.py", &module);
    let holder = t.spawn(&["execute"], &[("MIGO_TEST_LEASE_MS", "300")]);
    let interpreter = pid_in(&t.path("slow.pid"));
    signal(holder.id(), libc::SIGSTOP);
    wait_stopped(&holder);
    // Another run takes the expired lease over and finds the step interrupted.
    let since = crate::test::readable(*t.lock().unwrap().get_datetime("started_at").unwrap());
    t.run(&["execute", "--wait", "30"])
        .code(6)
        .stdout_is("")
        .stderr_is(&format!(
            "warning: took over an expired lock held by {} (pid {}), running `migo execute` \
             since {since}\nerror: migration `0001_slow` was interrupted: its run stopped before \
             finishing, so it may be half applied; nothing was run; hint: fix it and retry with \
             `migo execute 0001_slow`, or `migo rollback 0001_slow`, or mark it done with `migo \
             ignore 0001_slow`\n",
            crate::test::who(),
            holder.id()
        ));
    signal(holder.id(), libc::SIGCONT);
    let woken = within(holder, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&woken.stderr);
    assert_eq!(woken.status.code(), Some(13), "{stderr}");
    assert!(stderr.contains("while `0001_slow` was running"), "{stderr}");
    assert!(
        !alive(interpreter),
        "the interpreter outlived the lost lease"
    );
    std::fs::write(t.path("go"), "").unwrap();
    assert!(t.docs("gated").is_empty());
    assert_eq!(t.statuses(), [("0001_slow".into(), "running".into())]);
}

#[test]
fn each_mongosh_file_has_a_scope_of_its_own() {
    let first = "// helpers of its own\nconst helper = 'from 0001';\nvar shared = 1;\nleaked = 'leak';\nfunction format(x) { return 'v1:' + x; }\nfunction up() { db.notes.insertOne({ _id: 'one', v: format(helper) }); }\n";
    let second = "function up() {\n  db.notes.insertOne({ _id: 'two', seen: [typeof helper, typeof shared, typeof leaked, typeof format].join(',') });\n}\n";
    let third = "function up() { db.notes.insertOne({ _id: format('three') }); }\n";
    let t = with_mongosh()
        .migration("0001_first.js", first)
        .migration("0002_second.js", second)
        .migration("0003_borrows.js", third);
    // Run together, 0003 fails as it would alone: `format` was 0001's.
    finishes(&t, &["execute"])
        .code(1)
        .stdout_masked_is("applied 0001_first (<dur>)\napplied 0002_second (<dur>)\n")
        .stderr_is(&format!(
            "{}\napplying 0001_first…\napplying 0002_second…\napplying 0003_borrows…\n\
             \x20 0003_borrows | ReferenceError: format is not defined\n\
             error: migration `0003_borrows` failed: ReferenceError: format is not defined; hint: \
             fix it, then retry with `migo execute 0003_borrows`, or `migo ignore 0003_borrows` / \
             `migo rollback 0003_borrows`\n",
            t.target()
        ));
    let docs = t.docs("notes");
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].get_str("v").unwrap(), "v1:from 0001");
    assert_eq!(
        docs[1].get_str("seen").unwrap(),
        "undefined,undefined,undefined,undefined"
    );
}

#[test]
fn a_python_failure_shows_where_in_the_file_it_happened() {
    let module = "def ratio(total, count):\n    return total / count\n\n\ndef up(db):\n    db.notes.insert_one({'_id': 'before'})\n    ratio(1, 0)\n";
    let t = with_python().migration("0001_broken.py", module);
    finishes(&t, &["execute"]).code(1).stderr_is(&format!(
        "{}\napplying 0001_broken…\n  0001_broken | ZeroDivisionError: division by zero\nerror: migration `0001_broken` failed: ZeroDivisionError: division by zero (at 0001_broken.py:2 in ratio: return total / count); hint: fix it, then retry with `migo execute 0001_broken`, or `migo ignore 0001_broken` / `migo rollback 0001_broken`\n",
        t.target()
    ));
    // -v shows every frame in the file, outermost first.
    t.db()
        .collection::<mongodb::bson::Document>("notes")
        .drop()
        .run()
        .unwrap();
    finishes(&t, &["-v", "execute", "0001_broken"])
        .code(1)
        .stderr_has("0001_broken: at 0001_broken.py:7 in up: ratio(1, 0)\n")
        .stderr_has("0001_broken: at 0001_broken.py:2 in ratio: return total / count\n");
    let syntax =
        with_python().migration("0001_syntax.py", "def up(db):\n    return db.notes.find(\n");
    finishes(&syntax, &["execute"])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "{}\napplying 0001_syntax…\n  0001_syntax | SyntaxError: '(' was never closed \
             (0001_syntax.py, line 2)\nerror: migration `0001_syntax` failed: loading it: \
             SyntaxError: '(' was never closed (0001_syntax.py, line 2) (at 0001_syntax.py:2 in \
             <module>: return db.notes.find(); hint: fix it, then retry with `migo execute \
             0001_syntax`, or `migo ignore 0001_syntax` / `migo rollback 0001_syntax`\n",
            syntax.target()
        ));
}
