//! `migo lint`: the corpus of known failures (tests/fixtures/lint-corpus/), each flagged by its
//! rule on its line; ordinary migrations (the repository's own among them) with nothing found;
//! the three outputs compared exactly (text, `--json`, GitHub annotations); exemptions with a
//! reason; `[lint]` severities; `--since`; `check` running lint; no server needed.

use std::path::Path;

use serde_json::Value;

use crate::test::Test;

/// Copies every file of `dir` (a directory of this repository) into the project's migrations.
fn with_files(mut t: Test, dir: &str) -> Test {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(root.join(&name)).unwrap();
        t = t.migration(&name, &text);
    }
    t
}

/// `(migration, rule, line)` of every finding of a `lint --json` document.
fn findings(stdout: &str) -> Vec<(String, String, Option<u64>)> {
    let doc: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["migration"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64(),
            )
        })
        .collect()
}

fn owned(expected: &[(&str, &str, Option<u64>)]) -> Vec<(String, String, Option<u64>)> {
    expected
        .iter()
        .map(|(m, r, l)| (m.to_string(), r.to_string(), *l))
        .collect()
}

#[test]
fn every_known_failure_of_the_corpus_is_flagged_by_its_rule_on_its_line() {
    let t = with_files(Test::new(), "tests/fixtures/lint-corpus");
    let run = t.run(&["lint", "--json"]);
    run.code(8);
    let expected = [
        (
            "0001_rocketchat_27064_unique_bio",
            "unique-index-existing",
            Some(5),
        ),
        (
            "0001_rocketchat_27064_unique_bio",
            "index-without-name",
            Some(5),
        ),
        (
            "0002_hyperdx_2397_unique_access_key",
            "unique-index-existing",
            Some(4),
        ),
        (
            "0003_strict_validator_before_backfill",
            "validator-before-backfill",
            Some(4),
        ),
        (
            "0004_dataset_viewer_3009_index_name_clash",
            "index-without-name",
            Some(7),
        ),
        (
            "0005_update_many_empty_filter",
            "update-empty-filter",
            Some(6),
        ),
        ("0006_rename_collection", "rename-collection", Some(4)),
        ("0007_unset_field_still_read", "unset-field", Some(4)),
        (
            "0008_migrate_mongo_360_transaction",
            "data-in-transaction",
            Some(5),
        ),
        ("0009_drop_collection", "drop-collection", Some(4)),
        ("0010_drop_database", "drop-database", Some(4)),
        ("0011_delete_empty_filter", "delete-empty-filter", Some(6)),
        ("0012_rename_field", "rename-field", Some(4)),
        ("0013_index_in_transaction", "index-in-transaction", Some(6)),
        (
            "0014_migrate_mongo_450_update_in_transaction",
            "data-in-transaction",
            Some(5),
        ),
        ("0015_drop_index_unhidden", "drop-index-unhidden", Some(4)),
        ("0016_missing_down", "missing-down", None),
    ];
    assert_eq!(findings(&run.stdout), owned(&expected));
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (doc["linted"].as_u64(), doc["errors"].as_u64()),
        (Some(16), Some(6))
    );
    // Nothing was asked of a server: the database does not exist.
    assert!(t.collections().is_empty());
}

#[test]
fn ordinary_migrations_have_nothing_to_say() {
    let t = Test::new()
        .migration(
            "0001_events.json",
            r#"{"description": "index builds on a new collection",
  "up": [
    {"create": "events", "validator": {"$jsonSchema": {"required": ["at"]}}},
    {"createIndexes": "events", "indexes": [{"key": {"at": -1}, "name": "at_-1"}, {"key": {"key": 1}, "name": "key_1", "unique": true}]}
  ],
  "down": [{"drop": "events"}]}"#,
        )
        .migration(
            "0002_default_role.json",
            r#"{"description": "a field with a default, where it is missing",
  "up": [{"update": "users", "updates": [{"q": {"role": {"$exists": false}}, "u": {"$set": {"role": "member"}}, "multi": true}]}],
  "down": [{"update": "users", "updates": [{"q": {"role": "member"}, "u": {"$unset": {"role": ""}}, "multi": true}]}]}"#,
        )
        .migration(
            "0003_audit.js",
            "// a new collection with its indexes, in mongosh\nfunction up() {\n  db.createCollection('audit');\n  db.audit.createIndex({ at: 1 });\n  db.audit.createIndex({ user: 1, at: -1 }, { name: 'user_at' });\n}\nfunction down() {\n  db.audit.drop();\n}\n",
        )
        .migration(
            "0004_flags.js",
            "module.exports = {\n  async up(db) {\n    await db.collection('users').updateMany({ active: { $exists: false } }, { $set: { active: true } });\n  },\n  async down(db) {\n    await db.collection('users').updateMany({}, { $unset: { active: '' } });\n  },\n};\n",
        )
        .migration(
            "0005_seed.py",
            "def up(db):\n    db.create_collection(\"plans\")\n    db.plans.insert_many([{\"_id\": \"free\"}, {\"_id\": \"pro\"}])\n    db.plans.create_index(\"name\", unique=True, name=\"name_1\")\n\n\ndef down(db):\n    db.plans.drop()\n",
        );
    t.run(&["lint"])
        .success()
        .stdout_is("lint: no findings in 5 migrations\n")
        .stderr_is("");
    let t = with_files(Test::new(), "examples/service/mongomigrations");
    t.run(&["lint"])
        .success()
        .stdout_is("lint: no findings in 2 migrations\n")
        .stderr_is("");
}

#[test]
fn the_repository_examples_have_one_finding_which_docs_lint_md_explains() {
    let t = with_files(Test::new(), "mongomigrations");
    let run = t.run(&["lint"]);
    run.success().stderr_is("").stdout_is(
        "mongomigrations/0003_add_email_index.json:4: warning[unique-index-existing] unique index `email_1` on `users`, which this migration does not create: documents already there that share a key make the build fail part way through the deploy
  fix: run `migo preflight` on the target (execute runs it too and refuses over duplicates); remove or merge duplicates in an earlier migration
lint: 0 errors, 1 warning in 3 migrations
",
    );
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint.md"))
        .unwrap();
    assert!(docs.contains("mongomigrations/0003_add_email_index.json"));
}

/// A small project with one finding of each severity.
fn two_findings() -> Test {
    Test::new()
        .migration(
            "0001_sessions.json",
            "{\n  \"description\": \"sessions move\",\n  \"up\": [\n    {\"renameCollection\": \"app.sessions\", \"to\": \"app.logins\"}\n  ],\n  \"down\": [\n    {\"renameCollection\": \"app.logins\", \"to\": \"app.sessions\"}\n  ]\n}\n",
        )
        .migration(
            "0002_plan.js",
            "// every account on the free plan\nfunction up() {\n  db.accounts.updateMany({}, { $set: { plan: 'free' } });\n}\n",
        )
}

#[test]
fn text_output_names_file_line_severity_rule_reason_and_fix() {
    let t = two_findings();
    t.run(&["lint"]).code(8).stdout_is(
        "mongomigrations/0001_sessions.json:4: error[rename-collection] `renameCollection` of `sessions` to `logins`: the code still deployed reads the old name, and its writes there recreate an empty collection
  fix: expand/contract: copy (or write to both), switch the code to the new name, drop the old collection in a later release
mongomigrations/0002_plan.js: warning[missing-down] no `down`: `migo rollback` refuses a migration without `down`
  fix: add a `down` that undoes `up` (`migo test NAME` checks it), or allow the rule with the reason it cannot be undone
mongomigrations/0002_plan.js:3: warning[update-empty-filter] update of every document of `accounts` (empty filter): every document is rewritten, values already there (new code's too) are overwritten, and a rerun does it all again
  fix: filter on the documents that need it, e.g. `{\"field\": {\"$exists\": false}}`
lint: 1 error, 2 warnings in 2 migrations
",
    ).stderr_is(
        "error: lint found 1 error(s) in `0001_sessions`; hint: each finding says how to fix it; a migration that must do it anyway is exempted with the reason: `\"lint\": {\"allow\": {\"RULE\": \"why\"}}` (.json) or `// migo:allow RULE why` (scripts)\n",
    );
}

#[test]
fn github_annotations_land_on_the_offending_lines() {
    let t = two_findings();
    let workspace = t.dir().to_string_lossy().into_owned();
    let run = t.run_with(
        &["lint", "--format", "github"],
        &[("GITHUB_WORKSPACE", &workspace)],
    );
    run.code(8).stdout_is(
        "::error file=mongomigrations/0001_sessions.json,line=4,title=migo lint rename-collection::`renameCollection` of `sessions` to `logins`: the code still deployed reads the old name, and its writes there recreate an empty collection (fix: expand/contract: copy (or write to both), switch the code to the new name, drop the old collection in a later release)
::warning file=mongomigrations/0002_plan.js,line=1,title=migo lint missing-down::no `down`: `migo rollback` refuses a migration without `down` (fix: add a `down` that undoes `up` (`migo test NAME` checks it), or allow the rule with the reason it cannot be undone)
::warning file=mongomigrations/0002_plan.js,line=3,title=migo lint update-empty-filter::update of every document of `accounts` (empty filter): every document is rewritten, values already there (new code's too) are overwritten, and a rerun does it all again (fix: filter on the documents that need it, e.g. `{\"field\": {\"$exists\": false}}`)
lint: 1 error, 2 warnings in 2 migrations
",
    );
    // Run from a subdirectory of the repository: paths stay relative to the repository.
    let sub = t.path("mongomigrations");
    let mut command = t.command(&["lint", "--format", "github", "0001_sessions"]);
    command
        .current_dir(&sub)
        .env("GITHUB_WORKSPACE", &workspace);
    let run = crate::test::Run::of(command);
    assert!(
        run.stdout
            .starts_with("::error file=mongomigrations/0001_sessions.json,line=4,"),
        "{}",
        run.stdout
    );
    // `--json` and `--format github` are one choice.
    t.run(&["lint", "--format", "github", "--json"])
        .code(2)
        .stderr_is(
            "error: `--json` and `--format github` exclude each other; hint: give one of them\n",
        );
}

#[test]
fn json_document_has_every_finding_and_exemption() {
    let t = two_findings().migration(
        "0003_cleanup.json",
        r#"{"up": [{"drop": "tmp_import"}], "down": [{"create": "tmp_import"}],
  "lint": {"allow": {"drop-collection": "tmp_import is the scratch copy of last week's import"}}}"#,
    );
    let run = t.run(&["lint", "--json"]);
    let doc: Value = serde_json::from_str(&run.code(8).stdout).unwrap();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["ok", "linted", "errors", "warnings", "findings", "allowed"]
    );
    assert_eq!(
        doc["findings"][0],
        serde_json::json!({
            "rule": "rename-collection",
            "severity": "error",
            "migration": "0001_sessions",
            "file": "mongomigrations/0001_sessions.json",
            "line": 4,
            "message": "`renameCollection` of `sessions` to `logins`: the code still deployed reads the old name, and its writes there recreate an empty collection",
            "fix": "expand/contract: copy (or write to both), switch the code to the new name, drop the old collection in a later release",
        })
    );
    assert_eq!(
        doc["allowed"],
        serde_json::json!([{
            "rule": "drop-collection",
            "migration": "0003_cleanup",
            "line": 1,
            "reason": "tmp_import is the scratch copy of last week's import",
        }])
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn exemptions_need_a_known_rule_and_a_reason() {
    let t = Test::new()
        .migration(
            "0001_purge.js",
            "// migo:allow delete-empty-filter the staging copy is rebuilt nightly\n// migo:allow missing-down\n// migo:allow emty-filter typo\nfunction up() {\n  db.staging_copy.deleteMany({});\n}\n",
        )
        .migration(
            "0002_purge.py",
            "# migo:allow delete-empty-filter the cache is rebuilt on demand\ndef up(db):\n    db.cache.delete_many({})\n\n\ndef down(db):\n    pass\n",
        );
    let run = t.run(&["lint"]);
    run.code(8).stdout_is(
        "mongomigrations/0001_purge.js: warning[missing-down] no `down`: `migo rollback` refuses a migration without `down`
  fix: add a `down` that undoes `up` (`migo test NAME` checks it), or allow the rule with the reason it cannot be undone
mongomigrations/0001_purge.js:2: error[lint-allow] the exemption from `missing-down` gives no reason: an exemption must name a rule and say why
  fix: write `\"lint\": {\"allow\": {\"RULE\": \"why\"}}` (.json) or `migo:allow RULE why` in a comment (scripts), with a rule id of `migo lint --rules`
mongomigrations/0001_purge.js:3: error[lint-allow] the exemption names `emty-filter`, which is no rule: an exemption must name a rule and say why
  fix: write `\"lint\": {\"allow\": {\"RULE\": \"why\"}}` (.json) or `migo:allow RULE why` in a comment (scripts), with a rule id of `migo lint --rules`
allowed: 0001_purge delete-empty-filter (the staging copy is rebuilt nightly)
allowed: 0002_purge delete-empty-filter (the cache is rebuilt on demand)
lint: 2 errors, 1 warning (2 allowed) in 2 migrations
",
    );
    // A `.json` migration's `lint` key is checked like the rest of the file.
    let t = Test::new().migration(
        "0001_a.json",
        r#"{"up": [{"ping": 1}], "down": [], "lint": {"allow": {"missing-down": 5}}}"#,
    );
    let run = t.run(&["lint"]);
    run.code(4);
    assert!(
        run.stderr.starts_with("error: migration `0001_a.json` is invalid: invalid type: integer `5`, expected a string"),
        "{}",
        run.stderr
    );
}

#[test]
fn severities_come_from_lint_in_migo_toml() {
    let t = two_findings();
    let t = t.config("[lint]\nrename-collection = \"warning\"\nupdate-empty-filter = \"error\"\nmissing-down = \"off\"\n");
    let run = t.run(&["lint", "--json"]);
    let doc: Value = serde_json::from_str(&run.code(8).stdout).unwrap();
    let severities: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        severities,
        [
            ("rename-collection", "warning"),
            ("update-empty-filter", "error")
        ]
    );
    // `--rules` shows the severities in force.
    let rules = t.run(&["lint", "--rules"]);
    rules.success();
    assert!(rules.stdout.starts_with("RULE "), "{}", rules.stdout);
    assert!(rules
        .stdout
        .lines()
        .any(|l| l.starts_with("update-empty-filter ") && l.contains(" error ")));
    assert!(rules
        .stdout
        .lines()
        .any(|l| l.starts_with("missing-down ") && l.contains(" off ")));
    assert_eq!(rules.stdout.lines().count(), 16);
    // An unknown rule is an error naming where it is written, for every command.
    let t = two_findings().config("[lint]\nrename-colection = \"off\"\n");
    for args in [&["lint"][..], &["list"]] {
        t.run(args).code(3).stderr_is(
            "error: migo.toml:7:20: `[lint]` names `rename-colection`, which is no lint rule; hint: did you mean `rename-collection`? `migo lint --rules` lists the rules (docs/lint.md explains each)\n",
        );
    }
    let t = two_findings().config("[lint]\nrename-collection = \"fatal\"\n");
    let run = t.run(&["lint"]);
    run.code(3);
    assert!(
        run.stderr
            .starts_with("error: migo.toml:7:21: unknown variant `fatal`"),
        "{}",
        run.stderr
    );
}

#[test]
fn since_lints_the_release_under_review_and_names_pick_migrations() {
    let t = Test::new()
        .migration(
            "0001_orders.json",
            r#"{"up": [{"update": "orders", "updates": [{"q": {"currency": {"$exists": false}}, "u": {"$set": {"currency": "EUR"}}, "multi": true}]}], "down": []}"#,
        )
        .migration(
            "0002_strict.json",
            r#"{"up": [{"collMod": "orders", "validator": {"$jsonSchema": {"required": ["currency"]}}}], "down": [{"collMod": "orders", "validator": {}}]}"#,
        )
        .migration(
            "0003_drop.json",
            r#"{"up": [{"drop": "legacy"}], "down": []}"#,
        );
    // The backfill ran a release before the validator: nothing to say about 0002.
    let all = t.run(&["lint", "--json"]);
    assert_eq!(
        findings(&all.code(8).stdout),
        owned(&[("0003_drop", "drop-collection", Some(1))])
    );
    // Reviewing 0001 and 0002 as one release: the validator comes with its backfill.
    let release = t.run(&["lint", "--json", "--since", "0000_none"]);
    release.code(6).stderr_is(
        "error: no migration named `0000_none`; hint: `migo list` shows every migration's name\n",
    );
    let t = t.migration("0000_base.json", r#"{"up": [{"ping": 1}], "down": []}"#);
    let release = t.run(&[
        "lint",
        "--json",
        "--since",
        "0000_base",
        "0001_orders",
        "0002_strict",
    ]);
    assert_eq!(
        findings(&release.code(8).stdout),
        owned(&[("0002_strict", "validator-before-backfill", Some(1))])
    );
    let doc: Value = serde_json::from_str(&release.stdout).unwrap();
    assert_eq!(
        doc["findings"][0]["message"],
        "the validator on `orders` requires `currency` at strict/error level, and `0001_orders` backfills it in the same release: until the backfill has run, every write to a document without the field is rejected, the running application's included"
    );
    // A backfill after the validator is flagged whatever is reviewed.
    let t = Test::new()
        .migration(
            "0001_strict.json",
            r#"{"up": [{"collMod": "orders", "validator": {"currency": {"$type": "string"}}}], "down": [{"collMod": "orders", "validator": {}}]}"#,
        )
        .migration(
            "0002_orders.json",
            r#"{"up": [{"update": "orders", "updates": [{"q": {}, "u": [{"$set": {"currency": "EUR"}}], "multi": true}]}], "down": []}"#,
        );
    let run = t.run(&["lint", "--json", "0001_strict.json"]);
    let doc: Value = serde_json::from_str(&run.code(8).stdout).unwrap();
    assert_eq!(doc["linted"], 1);
    assert_eq!(
        doc["findings"][0]["message"],
        "the validator on `orders` requires `currency` at strict/error level, and `0002_orders` backfills it after: until the backfill has run, every write to a document without the field is rejected, the running application's included"
    );
}

#[test]
fn lint_needs_no_server_and_no_database() {
    let t = two_findings().raw_config("[mongo]\nhost = \"127.0.0.1\"\nport = 1\n");
    let run = t.run(&["lint", "0002_plan"]);
    run.success();
    assert!(
        run.stdout
            .ends_with("lint: 0 errors, 2 warnings in 1 migration\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_lints_the_migrations_still_to_run() {
    let t = Test::new()
        .migration("0001_a.json", &crate::insert("a"))
        .migration(
            "0002_wipe.json",
            "{\"up\": [\n  {\"delete\": \"items\", \"deletes\": [{\"q\": {}, \"limit\": 0}]}\n], \"down\": []}\n",
        );
    t.run(&["execute", "0001_a"]).success();
    let run = t.run(&["check"]);
    run.code(8).stdout_is(
        "0002_wipe  pending
mongomigrations/0002_wipe.json:2: error[delete-empty-filter] delete of every document of `items` (empty filter): every document of the collection is deleted
  fix: name the documents in the filter; to empty the collection on purpose, allow the rule with the reason
lint: 1 error, 0 warnings in 1 migration
",
    );
    let doc: Value = serde_json::from_str(&t.run(&["check", "--json"]).code(8).stdout).unwrap();
    assert_eq!(doc["lint"]["errors"], 1);
    assert_eq!(doc["lint"]["findings"][0]["rule"], "delete-empty-filter");
    // Applied migrations are history: once 0002 ran, check says nothing of it.
    t.run(&["ignore", "0002_wipe"]).success();
    t.run(&["check"]).success().stdout_is(&format!(
        "up to date: 2 migrations: 1 applied, 1 ignored ({})\n",
        t.target()
    ));
}

#[test]
fn fleet_lint_reads_the_shared_files_once() {
    let t = two_findings();
    let t = t.config("[fleet]\ndatabases = [\"a\", \"b\"]\n");
    let run = t.run(&["--fleet", "lint", "--json"]);
    assert_eq!(
        findings(&run.code(8).stdout),
        owned(&[
            ("0001_sessions", "rename-collection", Some(4)),
            ("0002_plan", "missing-down", None),
            ("0002_plan", "update-empty-filter", Some(3)),
        ])
    );
}

#[test]
fn hostile_scripts_do_not_trip_the_reader() {
    let t = Test::new()
        .migration(
            "0001_weird.js",
            "// ünïcødé ✓ `unterminated\nfunction up() {\n  const s = \"db.users.drop()\"; /* db.x.drop() */\n  db.getCollection(`events`).updateMany({ $or: [ { a: 1 }, ], }, { $set: { 'b.c': \"}\" } }\n  db[\"ünï\"].deleteMany({ \"x\": { $in: [1, 2, [3, {]} } } );\n  db.users.createIndex(\n",
        )
        .migration("0002_weird.py", "def up(db):\n    db.x.update_many({'a': (1, 2,\n\ndef down(db)\n    '''\n");
    let run = t.run(&["lint", "--json"]);
    run.success();
    let found = findings(&run.stdout);
    assert!(
        found
            .iter()
            .all(|(_, rule, _)| rule == "missing-down" || rule == "index-without-name"),
        "{found:?}"
    );
}
