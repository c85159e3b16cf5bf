//! The shipped Makefile.toml through the real cargo-make: `cargo make migrations …` forwards its
//! arguments unchanged to migo.

use std::process::Command;

use crate::test::{Run, Test};
use crate::{order, push};

/// `cargo make --makefile <repo>/Makefile.toml ARGS` in the test project, running this build's
/// migo; `None` when cargo-make is missing outside CI (in CI that is a failure).
fn cargo_make(t: &Test, args: &[&str]) -> Option<Run> {
    let available = Command::new("cargo")
        .args(["make", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var("CI").is_err(),
            "cargo-make is not installed: run scripts/setup"
        );
        eprintln!("skipped: cargo-make is not installed (run scripts/setup)");
        return None;
    }
    let makefile = concat!(env!("CARGO_MANIFEST_DIR"), "/Makefile.toml");
    let mut cargo = Command::new("cargo");
    cargo.args(["make", "--makefile", makefile]).args(args);
    t.inside(&mut cargo);
    cargo.env("MIGO_BIN", env!("CARGO_BIN_EXE_migo"));
    Some(Run::of(cargo))
}

#[test]
fn cargo_make_migrations_execute_applies_exactly_the_named_one() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2));
    let Some(run) = cargo_make(&t, &["migrations", "execute", "0001_a"]) else {
        return;
    };
    run.success().stdout_has("applied 0001_a");
    assert_eq!(order(&t), [1]);
    assert_eq!(
        t.statuses(),
        [("0001_a".to_string(), "applied".to_string())]
    );

    let run = cargo_make(&t, &["migrations"]).unwrap();
    run.success()
        .stdout_has("0001_a  applied")
        .stdout_has("0002_b  pending");
}

/// A project whose `staging` environment keeps its registry in `staging_migrations`, so the
/// registry shows which environment a run used.
fn with_staging() -> Test {
    Test::new()
        .config("[environments.staging.migrations]\ncollection = \"staging_migrations\"\n")
        .migration("0001_a.json", &push(1))
        .migration("0002_b.json", &push(2))
}

fn staging_records(t: &Test) -> usize {
    t.docs("staging_migrations")
        .iter()
        .filter(|d| d.get_str("_id") != Ok(crate::test::LOCK_ID))
        .count()
}

#[test]
fn cargo_make_staging_prefix_and_profile_reach_the_staging_environment() {
    let t = with_staging();
    let Some(run) = cargo_make(&t, &["staging", "migrations", "execute", "0001_a"]) else {
        return;
    };
    run.success().stdout_has("applied 0001_a");
    assert_eq!(staging_records(&t), 1);
    assert!(t.records().is_empty(), "the default registry was used");

    let run = cargo_make(&t, &["--profile", "staging", "migrations"]).unwrap();
    run.success()
        .stdout_has("0001_a  applied")
        .stdout_has("0002_b  pending");
    cargo_make(&t, &["--profile", "staging", "migrations", "execute"])
        .unwrap()
        .success();
    assert_eq!(staging_records(&t), 2);
    // Without the prefix or profile, the default environment has nothing applied.
    cargo_make(&t, &["migrations"])
        .unwrap()
        .success()
        .stdout_has("2 migrations: 2 pending");
}
