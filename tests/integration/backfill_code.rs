//! The code form of a backfill: a `batch` function in a mongosh script, a CommonJS module, a
//! migopy module or a compiled Rust migration, handed one batch at a time while migo walks the
//! collection (bounds, checkpoints, resume, the filter's progress check). Each test runs the
//! real interpreters against the real server and reads the database, the registry record and
//! the exit code.

use std::path::PathBuf;
use std::process::Command;

use mongodb::bson::{doc, Bson, Document};

use crate::processes::{wait_stopped, wait_until};
use crate::test::{Run, Test};
use crate::tools::{mongosh, node_modules, python};

/// The interpreted kinds, each with the file name it is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mongosh,
    CommonJs,
    Python,
}

const KINDS: [Kind; 3] = [Kind::Mongosh, Kind::CommonJs, Kind::Python];

impl Kind {
    fn file(self, stem: &str) -> String {
        match self {
            Kind::Python => format!("{stem}.py"),
            Kind::Mongosh | Kind::CommonJs => format!("{stem}.js"),
        }
    }

    /// A project whose interpreter of this kind is the installed one.
    fn project(self) -> Test {
        match self {
            Kind::Mongosh => Test::new().env("MIGO_MONGOSH", mongosh().to_str().unwrap()),
            Kind::CommonJs => {
                let t = Test::new().env("NODE_PATH", "");
                std::os::unix::fs::symlink(node_modules(), t.path("node_modules")).unwrap();
                t
            }
            Kind::Python => {
                let t = Test::new();
                let config = format!(
                    "{}[migrations]\npython = \"{}\"\n",
                    t.mongo_section(),
                    python().display()
                );
                t.raw_config(&config)
            }
        }
    }

    /// A backfill giving every user without a score `score = n² + 1`, read and computed in
    /// code one user at a time, counting each user's scoring in `hits`; `down` unsets the
    /// scores. A user whose `_id` is in `control`'s `{_id: "fail"}` `at` fails its batch.
    fn scores(self, batch_size: u32) -> String {
        match self {
            Kind::Mongosh => format!(
                "// every user gets a score, computed in code\n\
                 const backfill = {{ collection: 'users', filter: {{ score: {{ $exists: false }} }}, batch_size: {batch_size} }};\n\n\
                 function batch(batch) {{\n\
                 \x20 const fail = db.control.findOne({{ _id: 'fail' }});\n\
                 \x20 db.users.find(batch.filter).forEach((u) => {{\n\
                 \x20   if (fail && fail.at === u._id) throw new Error('no score for ' + u._id);\n\
                 \x20   db.users.updateOne({{ _id: u._id }}, {{ $set: {{ score: u.n * u.n + 1 }}, $inc: {{ hits: 1 }} }});\n\
                 \x20 }});\n\
                 }}\n\n\
                 function down() {{\n  db.users.updateMany({{}}, {{ $unset: {{ score: '' }} }});\n}}\n"
            ),
            Kind::CommonJs => format!(
                "// every user gets a score, computed in code\n\
                 module.exports = {{\n\
                 \x20 backfill: {{ collection: 'users', filter: {{ score: {{ $exists: false }} }}, batch_size: {batch_size} }},\n\n\
                 \x20 async batch(db, batch) {{\n\
                 \x20   const fail = await db.collection('control').findOne({{ _id: 'fail' }});\n\
                 \x20   for (const u of await db.collection('users').find(batch.filter).toArray()) {{\n\
                 \x20     if (fail && fail.at === u._id) throw new Error('no score for ' + u._id);\n\
                 \x20     await db.collection('users').updateOne({{ _id: u._id }}, {{ $set: {{ score: u.n * u.n + 1 }}, $inc: {{ hits: 1 }} }});\n\
                 \x20   }}\n\
                 \x20 }},\n\n\
                 \x20 async down(db) {{\n\
                 \x20   await db.collection('users').updateMany({{}}, {{ $unset: {{ score: '' }} }});\n\
                 \x20 }},\n\
                 }};\n"
            ),
            Kind::Python => format!(
                "# every user gets a score, computed in code\n\
                 backfill = {{\"collection\": \"users\", \"filter\": {{\"score\": {{\"$exists\": False}}}}, \"batch_size\": {batch_size}}}\n\n\n\
                 def batch(db, batch):\n\
                 \x20   fail = db.control.find_one({{\"_id\": \"fail\"}})\n\
                 \x20   for u in list(db.users.find(batch[\"filter\"])):\n\
                 \x20       if fail and fail[\"at\"] == u[\"_id\"]:\n\
                 \x20           raise RuntimeError(\"no score for %d\" % u[\"_id\"])\n\
                 \x20       db.users.update_one({{\"_id\": u[\"_id\"]}}, {{\"$set\": {{\"score\": u[\"n\"] * u[\"n\"] + 1}}, \"$inc\": {{\"hits\": 1}}}})\n\n\n\
                 def down(db):\n\
                 \x20   db.users.update_many({{}}, {{\"$unset\": {{\"score\": \"\"}}}})\n"
            ),
        }
    }
}

/// `n` users `{_id: i, n: i, hits: 0}`.
fn users(t: &Test, n: i32) {
    let docs: Vec<Document> = (0..n).map(|i| doc! {"_id": i, "n": i, "hits": 0}).collect();
    t.db()
        .collection::<Document>("users")
        .insert_many(docs)
        .run()
        .unwrap();
}

/// How many users have each `hits` count, and whether every scored user's score is right.
fn tally(t: &Test) -> (Vec<(i32, i32)>, usize) {
    let mut by_hits = std::collections::BTreeMap::new();
    let mut scored = 0;
    for d in t.docs("users") {
        *by_hits.entry(d.get_i32("hits").unwrap()).or_insert(0) += 1;
        let n = i64::from(d.get_i32("n").unwrap());
        match d.get("score") {
            None => {}
            Some(score) => {
                let score = match score {
                    Bson::Int32(s) => i64::from(*s),
                    Bson::Int64(s) => *s,
                    Bson::Double(s) => *s as i64,
                    other => panic!("score {other:?}"),
                };
                assert_eq!(score, n * n + 1, "{d}");
                scored += 1;
            }
        }
    }
    (by_hits.into_iter().collect(), scored)
}

fn int(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        other => panic!("{key}: {other:?}"),
    }
}

/// The first record's checkpoint: `(done, batches, last_id)`.
fn checkpoint(t: &Test) -> (i64, i64, Option<Bson>) {
    let c = t.records()[0].get_document("backfill").unwrap().clone();
    (
        int(&c, "done"),
        int(&c, "batches"),
        c.get("last_id").cloned(),
    )
}

/// Durations blanked, so that output compares exactly.
fn masked(text: &str) -> String {
    let durations = regex::Regex::new(r"\d+(\.\d+)?(ms|s)\b").unwrap();
    durations.replace_all(text, "<t>").into_owned()
}

#[test]
fn each_kind_of_script_backfills_every_document_exactly_once_in_batches() {
    for kind in KINDS {
        let file = kind.file("0001_scores");
        let t = kind.project().migration(&file, &kind.scores(200));
        users(&t, 1500);
        let interpreter = match kind {
            Kind::Mongosh => "mongosh",
            Kind::CommonJs => "node",
            Kind::Python => "python",
        };
        let filter = r#"{"score":{"$exists":false}}"#;
        t.run(&["execute", "--dry-run"])
            .success()
            .stdout_is(&format!(
                "would apply 0001_scores ({file})\n    \
             {interpreter}: batch() of {}\n    \
             code backfill `users` in batches of 200 (each over an `_id` range), each handed to \
             the migration's `batch` function, filter: {filter}\n    \
             now: the filter matches at most 1,500 document(s): at most 8 batch(es) of 200 \
             (the collection's size: no index serves the filter, and counting would scan it)\n\
             dry run: 1 step(s), nothing was changed\n",
                std::fs::canonicalize(t.path("mongomigrations"))
                    .unwrap()
                    .join(&file)
                    .display()
            ));
        assert_eq!(
            tally(&t),
            (vec![(0, 1500)], 0),
            "{kind:?}: the dry run wrote"
        );
        let run = t.run(&["execute"]);
        run.success();
        assert_eq!(
            masked(&run.stdout),
            "applied 0001_scores (<t>)\n1 migration(s) applied in <t>\n",
            "{kind:?}"
        );
        assert_eq!(tally(&t), (vec![(1, 1500)], 1500), "{kind:?}");
        assert_eq!(
            checkpoint(&t),
            (1500, 8, Some(Bson::Int32(1499))),
            "{kind:?}"
        );
        assert_eq!(t.statuses(), [("0001_scores".into(), "applied".into())]);
        let list: serde_json::Value =
            serde_json::from_str(&t.run(&["list", "--json"]).success().stdout).unwrap();
        let progress = &list["migrations"][0]["backfill"];
        assert_eq!(
            (progress["done"].as_i64(), progress["batches"].as_i64()),
            (Some(1500), Some(8)),
            "{kind:?}"
        );
        // Its `down` is an ordinary step.
        t.run(&["rollback", "0001_scores"]).success();
        assert_eq!(tally(&t), (vec![(1, 1500)], 0), "{kind:?}");
        assert!(t.records().is_empty(), "{kind:?}");
    }
}

/// The example binary with a compiled backfill, built once into the same target directory.
fn compiled_backfill() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let migo = PathBuf::from(env!("CARGO_BIN_EXE_migo"));
            let binary = migo.parent().unwrap().join("examples/compiled_backfill");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "--example", "compiled_backfill"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo build --example compiled_backfill");
            assert!(
                status.success() && binary.exists(),
                "cannot build the example"
            );
            binary
        })
        .clone()
}

fn run_compiled(t: &Test, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(compiled_backfill());
    command.args(args).envs(vars.iter().copied());
    t.inside(&mut command);
    Run::of(command)
}

#[test]
fn a_compiled_backfill_gets_each_batch_and_its_transaction() {
    for transaction in [false, true] {
        let vars: &[(&str, &str)] = match transaction {
            true => &[("SCORES_IN_TRANSACTIONS", "1")],
            false => &[],
        };
        let t = Test::new();
        users(&t, 1500);
        let dry = run_compiled(&t, &["execute", "--dry-run"], vars);
        dry.success().stdout_has(
            "would apply 0001_scores (0001_scores (compiled))\n    \
             compiled: 0001_scores::batch\n    \
             code backfill `users` in batches of 200 (each over an `_id` range), each handed to \
             the migration's `batch` function, filter: {\"score\":{\"$exists\":false}}\n",
        );
        run_compiled(&t, &["execute"], vars)
            .success()
            .stdout_has("applied 0001_scores");
        assert_eq!(
            tally(&t),
            (vec![(1, 1500)], 1500),
            "transaction {transaction}"
        );
        assert_eq!(checkpoint(&t), (1500, 8, Some(Bson::Int32(1499))));
        assert_eq!(t.statuses(), [("0001_scores".into(), "applied".into())]);
    }
}

/// Kills migo (SIGKILL) once it froze itself at `point`.
fn kill_at(t: &Test, point: &str) {
    let vars = [("MIGO_TEST_STOP_AT", point), ("MIGO_TEST_LEASE_MS", "300")];
    let mut migo = t.spawn(&["execute", "--wait", "30"], &vars);
    let mut ended = None;
    wait_until(&format!("migo stopped itself at {point}"), || {
        ended = migo.try_wait().unwrap();
        ended.is_some() || crate::processes::state(migo.id()) == Some('T')
    });
    assert!(ended.is_none(), "migo ended before {point}");
    migo.kill().unwrap();
    migo.wait().unwrap();
}

#[test]
fn kill_9_at_a_batch_then_rerun_resumes_and_scores_every_document_once() {
    for kind in [Kind::Mongosh, Kind::Python] {
        let t = kind
            .project()
            .migration(&kind.file("0001_scores"), &kind.scores(200));
        users(&t, 1500);
        // Before batch 4: three batches recorded.
        kill_at(&t, "backfill-batch:4");
        assert_eq!(tally(&t), (vec![(0, 900), (1, 600)], 600), "{kind:?}");
        assert_eq!(checkpoint(&t), (600, 3, Some(Bson::Int32(599))));
        // After batch 6's work, before its checkpoint: done but not recorded.
        kill_at(&t, "backfill-updated:6");
        assert_eq!(tally(&t), (vec![(0, 300), (1, 1200)], 1200), "{kind:?}");
        assert_eq!(checkpoint(&t).1, 5, "{kind:?}");
        let run = t.run_with(
            &["execute", "--wait", "30"],
            &[("MIGO_TEST_LEASE_MS", "300")],
        );
        run.success()
            .stderr_has("0001_scores: resuming after _id 999, 1,000 of about 1,500 done\n");
        assert_eq!(
            tally(&t),
            (vec![(1, 1500)], 1500),
            "{kind:?}: every user scored exactly once"
        );
        // Batch 6's documents no longer matched: skipped, and not counted.
        assert_eq!(
            checkpoint(&t),
            (1300, 7, Some(Bson::Int32(1499))),
            "{kind:?}"
        );
        assert_eq!(t.statuses(), [("0001_scores".into(), "applied".into())]);
    }
}

#[test]
fn a_batch_that_throws_fails_the_step_keeps_the_checkpoint_and_a_rerun_resumes() {
    for kind in KINDS {
        let t = kind
            .project()
            .migration(&kind.file("0001_scores"), &kind.scores(200));
        users(&t, 1000);
        t.db()
            .collection::<Document>("control")
            .insert_one(doc! {"_id": "fail", "at": 450})
            .run()
            .unwrap();
        let (error, at) = match kind {
            Kind::Python => (
                "RuntimeError: no score for 450",
                " (at 0001_scores.py:9 in batch: raise RuntimeError(\"no score for %d\" % u[\"_id\"]))",
            ),
            _ => ("Error: no score for 450", ""),
        };
        t.run(&["execute"]).code(1).stderr_has(&format!(
            "\n  0001_scores | {error}\nerror: migration `0001_scores` failed: {error}{at}; hint: \
             fix it, then retry with `migo execute 0001_scores`, or `migo ignore 0001_scores` / \
             `migo rollback 0001_scores`\n"
        ));
        let record = &t.records()[0];
        assert_eq!(record.get_str("status").unwrap(), "failed", "{kind:?}");
        assert!(
            record.get_str("error").unwrap().contains(error),
            "{kind:?}: {record}"
        );
        assert_eq!(checkpoint(&t), (400, 2, Some(Bson::Int32(399))), "{kind:?}");
        // The users of batch 3 before the failing one were scored; none was scored twice.
        assert_eq!(tally(&t), (vec![(0, 550), (1, 450)], 450), "{kind:?}");
        t.db()
            .collection::<Document>("control")
            .delete_one(doc! {"_id": "fail"})
            .run()
            .unwrap();
        // A failed migration is retried by name.
        t.run(&["execute", "0001_scores"])
            .success()
            .stderr_has("0001_scores: resuming after _id 399, 400 of about 1,000 done\n");
        assert_eq!(tally(&t), (vec![(1, 1000)], 1000), "{kind:?}");
        assert_eq!(t.statuses(), [("0001_scores".into(), "applied".into())]);
    }
}

#[test]
fn a_batch_that_leaves_its_documents_matching_stops_after_one_batch() {
    let never_done = "const backfill = { collection: 'users', filter: { n: { $gte: 0 } }, batch_size: 100 };\n\
                      function batch(batch) {\n  db.users.updateMany(batch.filter, { $inc: { hits: 1 } });\n}\n";
    let t = Kind::Mongosh
        .project()
        .migration("0001_loop.js", never_done);
    users(&t, 500);
    t.run(&["execute"]).code(1).stderr_has(
        "error: migration `0001_loop` failed: after its update, 100 document(s) of the batch \
         before still match the backfill's filter on `users`: the backfill would never finish (or \
         update them again)",
    );
    let hits: Vec<i32> = t
        .docs("users")
        .iter()
        .map(|d| d.get_i32("hits").unwrap())
        .collect();
    assert_eq!(
        hits.iter().filter(|h| **h == 1).count(),
        100,
        "one batch ran"
    );
    assert_eq!(t.statuses(), [("0001_loop".into(), "failed".into())]);
}

#[test]
fn bad_code_declarations_are_refused_before_anything_runs() {
    let mongosh_hint = "a mongosh backfill declares `const backfill = {collection: …, filter: …, batch_size: …}` and defines `function batch(batch) { … }`";
    let node_hint = "a CommonJS backfill is `module.exports = { backfill: {collection: …, filter: …, batch_size: …}, async batch(db, batch) { … } }`";
    let python_hint = "a Python backfill declares `backfill = {\"collection\": …, \"filter\": …, \"batch_size\": …}` and defines `def batch(db, batch):`";
    let cases = [
        (
            Kind::Mongosh,
            "const backfill = { filter: {} };\nfunction batch(batch) {}\n",
            "`backfill` needs `collection`: the collection to walk",
            mongosh_hint,
        ),
        (
            Kind::Python,
            "backfill = {'collection': 'users', 'filter': {}, 'batch_size': 0}\n\ndef batch(db, batch):\n    pass\n",
            "`backfill.batch_size` is 0, out of range: a whole number from 1 to 100000",
            python_hint,
        ),
        (
            Kind::CommonJs,
            "module.exports = {\n  backfill: { collection: 'users', filter: {} },\n  async down(db) {},\n};\n",
            "it declares `backfill` but defines no `batch` function",
            node_hint,
        ),
        (
            Kind::Python,
            "def batch(db, batch):\n    pass\n",
            "it defines `batch` but declares no `backfill`: the walk its batches come from (collection, filter, batch_size)",
            python_hint,
        ),
        (
            Kind::Mongosh,
            "const backfill = { collection: 'users', filter: {}, transaction: true };\nfunction batch(batch) {}\n",
            "`backfill.transaction` cannot hold a script's batches: its `batch` runs in its interpreter, outside migo's transaction (a compiled Rust backfill can)",
            mongosh_hint,
        ),
        (
            Kind::CommonJs,
            "module.exports = {\n  backfill: { collection: 'users', filter: { at: { $lt: new Date() } } },\n  async batch(db, batch) {},\n};\n",
            "`backfill.filter.at.$lt` is not a literal: migo reads the declaration before anything runs (write dates and ids as Extended JSON: `{$date: \"2024-01-01T00:00:00Z\"}`, `{$oid: \"…\"}`)",
            node_hint,
        ),
        (
            Kind::Mongosh,
            "const backfill = { collection: 'users', filter: {}, update: { $set: { a: 1 } } };\nfunction batch(batch) {}\n",
            "`backfill.update` is for a `.json` backfill: in code, the `batch` function makes the change",
            mongosh_hint,
        ),
    ];
    for (kind, body, problem, hint) in cases {
        let file = kind.file("0002_bad");
        let t = kind
            .project()
            .migration("0001_ok.json", &crate::insert("a"))
            .migration(&file, body);
        users(&t, 10);
        t.run(&["execute"]).code(4).stderr_is(&format!(
            "error: migration `{file}` is invalid: {problem}; hint: {hint}\n"
        ));
        assert!(t.records().is_empty(), "{body}");
        assert!(t.docs("items").is_empty(), "{body}");
        assert!(
            t.docs("users").iter().all(|d| d.get("score").is_none()),
            "{body}"
        );
    }
}

#[test]
fn an_async_batch_is_awaited_before_its_checkpoint() {
    let mongosh = "const backfill = { collection: 'users', filter: { score: { $exists: false } }, batch_size: 200 };\n\
                   async function batch(batch) {\n\
                   \x20 await new Promise((resolve) => setTimeout(resolve, 200));\n\
                   \x20 db.users.updateMany(batch.filter, [{ $set: { score: { $add: [{ $multiply: ['$n', '$n'] }, 1] } } }, { $set: { hits: 1 } }]);\n\
                   }\n";
    let node = "module.exports = {\n\
                \x20 backfill: { collection: 'users', filter: { score: { $exists: false } }, batch_size: 200 },\n\
                \x20 batch(db, batch) {\n\
                \x20   return new Promise((resolve) => setTimeout(resolve, 200)).then(() =>\n\
                \x20     db.collection('users').updateMany(batch.filter, [{ $set: { score: { $add: [{ $multiply: ['$n', '$n'] }, 1] } } }, { $set: { hits: 1 } }]));\n\
                \x20 },\n\
                };\n";
    let python = "import asyncio\n\n\
                  backfill = {'collection': 'users', 'filter': {'score': {'$exists': False}}, 'batch_size': 200}\n\n\n\
                  async def batch(db, batch):\n\
                  \x20   await asyncio.sleep(0.2)\n\
                  \x20   db.users.update_many(batch['filter'], [{'$set': {'score': {'$add': [{'$multiply': ['$n', '$n']}, 1]}}}, {'$set': {'hits': 1}}])\n";
    for (kind, body) in [
        (Kind::Mongosh, mongosh),
        (Kind::CommonJs, node),
        (Kind::Python, python),
    ] {
        let t = kind.project().migration(&kind.file("0001_async"), body);
        users(&t, 600);
        // Frozen before batch 3: the checkpoint of batch 2 is written, and so are its writes.
        let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "backfill-batch:3")]);
        wait_stopped(&migo);
        assert_eq!(checkpoint(&t).0, 400, "{kind:?}");
        assert_eq!(
            tally(&t).1,
            400,
            "{kind:?}: a batch's writes came after its checkpoint"
        );
        crate::processes::signal(migo.id(), libc::SIGCONT);
        let out = migo.wait_with_output().unwrap();
        Run::from_output(&out).success();
        assert_eq!(tally(&t), (vec![(1, 600)], 600), "{kind:?}");
        assert_eq!(checkpoint(&t), (600, 3, Some(Bson::Int32(599))), "{kind:?}");
    }
}

#[test]
fn migo_test_runs_a_code_backfill_and_its_down_on_a_scratch_copy() {
    let exact = "const backfill = { collection: 'users', filter: { score: { $exists: false } }, batch_size: 100 };\n\
                 function batch(batch) {\n\
                 \x20 db.users.find(batch.filter).forEach((u) => db.users.updateOne({ _id: u._id }, { $set: { score: u.n * u.n + 1 } }));\n\
                 }\n\
                 function down() {\n  db.users.updateMany({}, { $unset: { score: '' } });\n}\n";
    let t = Kind::Mongosh.project().migration("0001_exact.js", exact);
    users(&t, 300);
    t.run(&["test", "0001_exact"]).success();
    assert_eq!(
        tally(&t),
        (vec![(0, 300)], 0),
        "the real collection was touched"
    );
}

#[test]
fn lint_and_preflight_read_a_code_backfill_as_its_walk() {
    let t = Kind::Mongosh
        .project()
        .migration("0001_scores.js", &Kind::Mongosh.scores(200));
    users(&t, 1500);
    // The walk is one update over the declared filter; the calls of `batch` follow.
    t.run(&["preflight"]).success().stdout_is(&format!(
        "0001_scores\n  \
         line 2  info: update of `users` where {{\"score\":{{\"$exists\":false}}}}: 1500 documents \
         (exact: no index serves the filter, 1500 documents scanned)\n  \
         line 8  unchecked: update of `users`: its filter is not written out as values\n\
         preflight: 1 unchecked in 1 pending migration ({})\n",
        t.target()
    ));
    t.run(&["lint"])
        .success()
        .stdout_is("lint: no findings in 1 migration\n");
}

#[test]
fn a_signal_or_a_pause_stops_a_code_backfill_after_its_batch_and_execute_resumes() {
    let t = Kind::Python
        .project()
        .migration("0001_scores.py", &Kind::Python.scores(200));
    users(&t, 1000);
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "backfill-batch:3")]);
    wait_stopped(&migo);
    crate::processes::signal(migo.id(), libc::SIGTERM);
    crate::processes::signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    Run::from_output(&out).code(143).stderr_has(
        "\nerror: stopped by SIGTERM during `0001_scores`, after 600 of about 1,000; its \
         progress is recorded; hint: `migo execute` resumes it after its last recorded batch \
         (`migo list` shows how far it got)\n",
    );
    // The batch the signal came before runs and is recorded (the signal, forwarded, ended the
    // idle interpreter: a new one runs it); no batch starts after it.
    assert_eq!(t.statuses(), [("0001_scores".into(), "interrupted".into())]);
    assert_eq!(checkpoint(&t), (600, 3, Some(Bson::Int32(599))));
    let migo = t.spawn(&["execute"], &[("MIGO_TEST_STOP_AT", "backfill-batch:4")]);
    wait_stopped(&migo);
    t.run(&["pause", "0001_scores"]).success();
    crate::processes::signal(migo.id(), libc::SIGCONT);
    let out = migo.wait_with_output().unwrap();
    Run::from_output(&out)
        .code(15)
        .stderr_has("0001_scores: resuming after _id 599, 600 of about 1,000 done\n")
        .stderr_has("error: `0001_scores` paused as asked, after 800 of about 1,000");
    assert_eq!(t.statuses(), [("0001_scores".into(), "paused".into())]);
    t.run(&["list"])
        .success()
        .stdout_has("0001_scores  paused (backfill 800 of about 1,000)");
    t.run(&["execute"])
        .success()
        .stderr_has("0001_scores: resuming after _id 799, 800 of about 1,000 done\n");
    assert_eq!(tally(&t), (vec![(1, 1000)], 1000));
    assert_eq!(checkpoint(&t), (1000, 5, Some(Bson::Int32(999))));
}

#[test]
fn a_batch_gets_its_bounds_as_the_drivers_types_and_may_write_elsewhere() {
    let mongosh = "const backfill = { collection: 'users', filter: { seen: { $exists: false } }, batch_size: 200 };\n\
                   function batch(batch) {\n\
                   \x20 db.batches.insertOne({ _id: batch.up_to, after: batch.after, size: batch.size });\n\
                   \x20 db.users.updateMany(batch.filter, { $set: { seen: true } });\n\
                   }\n";
    let node = "module.exports = {\n\
                \x20 backfill: { collection: 'users', filter: { seen: { $exists: false } }, batch_size: 200 },\n\
                \x20 async batch(db, batch) {\n\
                \x20   await db.collection('batches').insertOne({ _id: batch.up_to, after: batch.after, size: batch.size });\n\
                \x20   await db.collection('users').updateMany(batch.filter, { $set: { seen: true } });\n\
                \x20 },\n\
                };\n";
    let python = "backfill = {'collection': 'users', 'filter': {'seen': {'$exists': False}}, 'batch_size': 200}\n\n\n\
                  def batch(db, batch):\n\
                  \x20   db.batches.insert_one({'_id': batch['up_to'], 'after': batch['after'], 'size': batch['size']})\n\
                  \x20   db.users.update_many(batch['filter'], {'$set': {'seen': True}})\n";
    for (kind, body) in [
        (Kind::Mongosh, mongosh),
        (Kind::CommonJs, node),
        (Kind::Python, python),
    ] {
        let t = kind.project().migration(&kind.file("0001_seen"), body);
        let mut ids: Vec<mongodb::bson::oid::ObjectId> = (0..500)
            .map(|_| mongodb::bson::oid::ObjectId::new())
            .collect();
        ids.sort();
        let docs: Vec<Document> = ids.iter().map(|id| doc! {"_id": id}).collect();
        t.db()
            .collection::<Document>("users")
            .insert_many(docs)
            .run()
            .unwrap();
        t.run(&["execute"]).success();
        let batches: Vec<(Bson, Bson, i64)> = t
            .docs("batches")
            .iter()
            .map(|b| {
                (
                    b.get("_id").cloned().unwrap(),
                    b.get("after").cloned().unwrap(),
                    int(b, "size"),
                )
            })
            .collect();
        assert_eq!(
            batches,
            [
                (Bson::ObjectId(ids[199]), Bson::Null, 200),
                (Bson::ObjectId(ids[399]), Bson::ObjectId(ids[199]), 200),
                (Bson::ObjectId(ids[499]), Bson::ObjectId(ids[399]), 100),
            ],
            "{kind:?}"
        );
        assert!(t
            .docs("users")
            .iter()
            .all(|u| u.get_bool("seen") == Ok(true)));
        assert_eq!(
            checkpoint(&t),
            (500, 3, Some(Bson::ObjectId(ids[499]))),
            "{kind:?}"
        );
    }
}

#[test]
fn migo_new_writes_a_backfill_of_each_format_that_runs() {
    for (kind, format) in [
        (Kind::Mongosh, "js"),
        (Kind::CommonJs, "node"),
        (Kind::Python, "py"),
        (Kind::Mongosh, "json"),
    ] {
        let t = kind.project();
        let file = match format {
            "json" => "0001_statuses.json".to_string(),
            _ => kind.file("0001_statuses"),
        };
        t.run(&["new", "statuses", "--format", format, "--backfill"])
            .success()
            .stdout_has(&file);
        users(&t, 50);
        t.run(&["execute"]).success();
        assert!(
            t.docs("users")
                .iter()
                .all(|u| u.get_str("status") == Ok("active")),
            "{format}"
        );
        assert_eq!(checkpoint(&t).0, 50, "{format}");
        t.run(&["rollback", "0001_statuses"]).success();
        assert!(t.docs("users").iter().all(|u| u.get("status").is_none()));
    }
    Test::new()
        .run(&["new", "x", "--format", "sh", "--backfill"])
        .code(2)
        .stderr_is(
            "error: a shell script cannot be a backfill: migo hands batches to a function; \
             hint: use `--format json`, `js`, `node` or `py` with `--backfill`\n",
        );
}

#[test]
fn a_batch_that_is_no_function_never_records_progress() {
    let cases = [
        (
            Kind::Mongosh,
            "const backfill = { collection: 'users', filter: { s: { $exists: false } } };\nconst batch = 5;\n",
            "0001_none defines no batch() function",
        ),
        (
            Kind::CommonJs,
            "module.exports = { backfill: { collection: 'users', filter: { s: { $exists: false } } }, batch: 5 };\n",
            "0001_none exports no batch(db, batch) function",
        ),
    ];
    for (kind, body, error) in cases {
        let t = kind.project().migration(&kind.file("0001_none"), body);
        users(&t, 10);
        t.run(&["execute"]).code(1).stderr_has(&format!(
            "error: migration `0001_none` failed: {error}; hint:"
        ));
        assert_eq!(t.statuses(), [("0001_none".into(), "failed".into())]);
        assert_eq!(checkpoint(&t), (0, 0, None), "{kind:?}");
    }
}

#[test]
fn a_code_backfill_may_run_after_the_deploy() {
    for kind in KINDS {
        let file = kind.file("0001_scores");
        let after = match kind {
            Kind::Python => r#""batch_size": 200, "phase": "after_deploy""#,
            Kind::Mongosh | Kind::CommonJs => "batch_size: 200, phase: 'after_deploy'",
        };
        let body = kind.scores(200).replacen(
            match kind {
                Kind::Python => r#""batch_size": 200"#,
                Kind::Mongosh | Kind::CommonJs => "batch_size: 200",
            },
            after,
            1,
        );
        let t = kind
            .project()
            .migration(&file, &body)
            .migration("0002_index.json", &crate::insert("index"));
        users(&t, 300);
        t.run(&["execute", "--phase", "before_deploy"]).success();
        assert_eq!(
            t.statuses(),
            [("0002_index".into(), "applied".into())],
            "{kind:?}: the backfill waits for the deploy"
        );
        assert_eq!(tally(&t).1, 0);
        t.run(&["execute", "--phase", "after_deploy"]).success();
        assert_eq!(tally(&t), (vec![(1, 300)], 300), "{kind:?}");
    }
    // A phase that is neither is refused, naming the key; `.json` says it beside `backfill`.
    let t = Kind::Python.project().migration(
        "0001_scores.py",
        &Kind::Python
            .scores(200)
            .replacen(r#""batch_size": 200"#, r#""phase": "later""#, 1),
    );
    t.run(&["execute"])
        .code(4)
        .error_line()
        .stderr_has("`backfill.phase` is \"later\": \"before_deploy\" or \"after_deploy\"");
    assert!(t.records().is_empty());
}

#[test]
fn a_callback_style_node_batch_is_done_when_it_calls_back() {
    // The write comes after the function returned; the checkpoint waits for `done`.
    let body = "module.exports = {\n\
                \x20 backfill: { collection: 'users', filter: { score: { $exists: false } }, batch_size: 100 },\n\
                \x20 batch(db, batch, done) {\n\
                \x20   setTimeout(() => {\n\
                \x20     db.collection('users').find(batch.filter).toArray()\n\
                \x20       .then((us) => Promise.all(us.map((u) => db.collection('users').updateOne(\n\
                \x20         { _id: u._id }, { $set: { score: u.n * u.n + 1 }, $inc: { hits: 1 } }))))\n\
                \x20       .then(() => done(), done);\n\
                \x20   }, 20);\n\
                \x20 },\n\
                };\n";
    let t = Kind::CommonJs.project().migration("0001_scores.js", body);
    users(&t, 300);
    t.run(&["execute"]).success();
    assert_eq!(tally(&t), (vec![(1, 300)], 300));
    assert_eq!(checkpoint(&t).0, 300);
    // A third parameter that is no callback is refused: migo could not tell when it ends.
    let t = Kind::CommonJs.project().migration(
        "0001_scores.js",
        &body.replace("batch(db, batch, done)", "batch(db, batch, options)"),
    );
    users(&t, 300);
    t.run(&["execute"])
        .code(1)
        .stderr_has("batch takes (db, batch), or (db, batch, done) with a callback; it declares (db, batch, options)");
    assert_eq!(tally(&t), (vec![(0, 300)], 0));
}
