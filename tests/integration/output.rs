//! What users see: the exact `list` table, colour only on terminals and never with `NO_COLOR`,
//! the `--json` documents, progress lines, `-vv`, and shell completions.

use std::process::Command;

use mongodb::bson::{doc, DateTime, Document};

use crate::test::{Run, Test};
use crate::{insert, sha256};

/// A registry record as migo writes it, with fixed times so the table is exact.
fn record(t: &Test, name: &str, number: i64, checksum: Option<&str>) -> Document {
    let file = t.path(&format!("mongomigrations/{name}.json"));
    let checksum = checksum.map_or_else(|| sha256(&file), str::to_string);
    doc! {
        "_id": name, "name": name, "number": number, "checksum": checksum, "status": "applied",
        "started_at": DateTime::from_millis(1_795_000_000_000),
        "applied_at": DateTime::from_millis(1_795_000_001_234), "duration_ms": 1_234_i64,
        "who": "ann@build-7", "tool_version": "0.1.0",
    }
}

fn known_state() -> Test {
    let t = Test::new()
        .migration("0001_users.json", &insert("u"))
        .migration("0002_edited.json", &insert("e"))
        .migration("0003_next.json", &insert("n"));
    let records = [
        record(&t, "0001_users", 1, None),
        record(&t, "0002_edited", 2, Some("0ld")),
        record(&t, "0004_gone", 4, Some("g0ne")),
    ];
    t.db()
        .collection::<Document>("migrations")
        .insert_many(records)
        .run()
        .unwrap();
    t
}

#[test]
fn the_list_table_is_exact_and_uncoloured_off_a_terminal() {
    let t = known_state();
    let table = concat!(
        "NUMBER  NAME         STATE                   APPLIED AT            BY           DURATION  CHECKSUM\n",
        "1       0001_users   applied                 2026-11-18 11:06:41Z  ann@build-7  1.2s      ok\n",
        "2       0002_edited  applied (modified)      2026-11-18 11:06:41Z  ann@build-7  1.2s      changed\n",
        "3       0003_next    pending (out of order)\n",
        "4       0004_gone    missing                 2026-11-18 11:06:41Z  ann@build-7  1.2s      no file\n",
    );
    t.run(&["list"]).success().stdout_is(&format!(
        "{table}4 migrations: 2 applied, 1 pending, 1 missing, 1 modified ({})\n",
        t.target()
    ));
}

/// Runs `migo args` with a terminal as stdout and stderr (util-linux `script`).
fn on_a_terminal(t: &Test, args: &str, no_color: bool) -> String {
    let mut command = Command::new("script");
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_migo"));
    command.args(["-qec", &line, "/dev/null"]);
    t.inside(&mut command);
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let run = Run::of(command);
    run.success();
    run.stdout
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let t = known_state();
    let coloured = on_a_terminal(&t, "list", false);
    assert!(
        coloured.contains("\u{1b}["),
        "no colour on a terminal: {coloured:?}"
    );
    let plain = on_a_terminal(&t, "list", true);
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite NO_COLOR: {plain:?}"
    );
    assert!(plain.contains("0002_edited  applied (modified)"));
    let plain = on_a_terminal(&t, "-v list --color never", false);
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite --color never: {plain:?}"
    );
    // Logs on stderr follow NO_COLOR too.
    let logs = t.run_with(&["-vv", "list"], &[("NO_COLOR", "1")]);
    assert!(!logs.stderr.contains('\u{1b}'), "{}", logs.stderr);
}

fn keys(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).expect("stdout is one JSON document")
}

#[test]
fn json_documents_have_the_documented_fields() {
    let t = known_state();
    let list = json(t.run(&["list", "--json"]).success());
    assert_eq!(keys(&list), ["target", "migrations"]);
    assert_eq!(keys(&list["target"]), ["environment", "hosts", "database"]);
    let list = &list["migrations"];
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(
        keys(&list[0]),
        [
            "number",
            "name",
            "file",
            "state",
            "modified",
            "out_of_order",
            "checksum",
            "applied_checksum",
            "applied_at",
            "who",
            "duration_ms",
            "error",
            "direction",
            "compiled",
            "problem",
            "backfill",
            "replaced_by",
            "checkpoint"
        ]
    );
    assert_eq!(list[1]["modified"], true);
    assert_eq!(list[2]["out_of_order"], true);
    assert_eq!(list[3]["state"], "missing");

    let check = t.run(&["check", "--json"]);
    check.code(8);
    let check = json(&check);
    assert_eq!(
        keys(&check),
        ["ok", "target", "summary", "problems", "lint"]
    );
    assert_eq!(check["problems"].as_array().unwrap().len(), 3);

    let execute = t.run(&["execute", "--json", "--on-modified", "warn"]);
    let report = json(execute.success());
    assert_eq!(keys(&report), ["command", "target", "steps"]);
    assert_eq!(keys(&report["steps"][0]), ["name", "action", "duration_ms"]);
    assert_eq!(report["steps"][0]["name"], "0003_next");
    assert_eq!(report["steps"][0]["action"], "up");

    let history = json(t.run(&["history", "--json"]).success());
    assert_eq!(history[0]["action"], "execute");
    let failure = json(&t.run(&["rollback", "0009_none", "--json"]));
    assert_eq!(keys(&failure), ["error"]);
    assert_eq!(
        keys(&failure["error"]),
        ["message", "hint", "reason", "exit_code"]
    );
    assert_eq!(failure["error"]["exit_code"], 6);
    assert_eq!(failure["error"]["reason"], "unknown_migration");
}

#[test]
fn each_step_shows_as_it_starts_and_ends_and_vv_shows_every_command() {
    let t = Test::new()
        .migration("0001_a.json", &insert("a"))
        .migration("0002_b.json", &insert("b"));
    let run = t.run(&["-vv", "execute"]);
    run.success();
    // Each step's start on stderr (progress), its end on stdout (a result).
    run.stdout_masked_is(
        "applied 0001_a (<dur>)\napplied 0002_b (<dur>)\n2 migration(s) applied in <dur>\n",
    );
    let started: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("applying "))
        .collect();
    assert_eq!(started, ["applying 0001_a…", "applying 0002_b…"]);
    let sent: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("migo::wire"))
        .collect();
    assert!(
        sent.iter()
            .any(|l| l.contains(".insert {\"insert\":\"items\"")),
        "{sent:#?}"
    );
    assert!(sent
        .iter()
        .any(|l| l.contains(".update {\"update\":\"migrations\"")));
}

#[test]
fn completions_for_each_shell() {
    let t = Test::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = t.run(&["completions", shell]);
        run.success();
        assert!(
            run.stdout.contains("rollback") && run.stdout.contains("dry-run"),
            "{shell}"
        );
    }
    t.run(&["completions", "tcsh"])
        .code(2)
        .one_error_line()
        .stderr_has("invalid value 'tcsh'");
}

#[test]
fn a_slow_step_shows_a_spinner_on_a_terminal_and_a_start_line_elsewhere() {
    let t = Test::new().script("0001_slow.sh", "#!/bin/sh\nsleep 3\n");
    let screen = on_a_terminal(&t, "execute", false);
    // The spinner (after 2 s) names the migration and counts the seconds; it is then cleared
    // and the closing line follows.
    assert!(
        screen.contains("applying 0001_slow 2s") || screen.contains("applying 0001_slow 3s"),
        "{screen:?}"
    );
    assert!(!screen.contains("applying 0001_slow…"), "{screen:?}");
    assert!(screen.contains("applied 0001_slow (3."), "{screen:?}");
    t.run(&["rollback", "0001_slow"]).success();
    let piped = t.run(&["execute"]);
    piped.success();
    piped
        .stdout_masked_is("applied 0001_slow (<dur>)\n1 migration(s) applied in <dur>\n")
        .stderr_is(&format!("{}\napplying 0001_slow…\n", t.target()));
    assert!(piped.stdout.starts_with("applied 0001_slow (3."));
}
