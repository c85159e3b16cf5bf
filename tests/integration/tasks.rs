//! User-defined tasks from `[tasks.<name>]`, and `help`.

use crate::push;
use crate::test::Test;

fn with_tasks() -> Test {
    Test::new().migration("0001_a.json", &push(1)).config(
        r#"[tasks.seed]
description = "Load the seed data"
run = 'printf "%s|%s|%s|%s" "$MIGO_DATABASE" "$1" "$MIGO_TASK_ARG" "$MIGO_URI" > seed.out'

[tasks.broken]
description = "Always fails"
run = "exit 3"
"#,
    )
}

#[test]
fn a_task_runs_with_the_connection_and_its_argument() {
    let t = with_tasks();
    t.run(&["seed", "users; touch pwned"]).success();
    let out = std::fs::read_to_string(t.path("seed.out")).unwrap();
    let expected = format!(
        "{db}|users; touch pwned|users; touch pwned|{}/{db}?",
        t.server.uri,
        db = t.db_name
    );
    assert!(out.starts_with(&expected), "{out}");
    assert!(
        !t.path("pwned").exists(),
        "the argument was run as shell code"
    );
    t.run(&["seed"]).success();
}

#[test]
fn a_failing_task_reports_its_status() {
    let t = with_tasks();
    t.run(&["broken"])
        .code(9)
        .stderr_has("error: task `broken` failed: exit status 3");
    t.run(&["seed", "a", "b"])
        .code(2)
        .stderr_has("task `seed` takes at most one argument, got 2");
}

#[test]
fn help_lists_builtins_and_tasks_with_descriptions() {
    let t = with_tasks();
    t.run(&["help"])
        .success()
        .stdout_has("  execute      Apply all pending migrations in order, or just NAME, or the next N, or up to NAME\n")
        .stdout_has("  rollback     Run `down` and unregister: NAME, or the last N applied, or back to NAME, or all\n")
        .stdout_has(
            "Tasks (from migo.toml):\n  broken       Always fails\n  seed         Load the seed data\n",
        );
    assert!(t.collections().is_empty());
}
