//! The shipped Makefile.toml through the real cargo-make: `cargo make migrations …` forwards its
//! arguments unchanged to migo.

use std::process::Command;

use crate::test::{Run, Test};
use crate::{order, push};

/// `cargo make --makefile <repo>/Makefile.toml ARGS` in the test project, running this build's
/// migo; `None` when cargo-make is missing outside CI (in CI that is a failure).
fn cargo_make(t: &Test, args: &[&str]) -> Option<Run> {
    if !cargo_make_installed() {
        return None;
    }
    let makefile = concat!(env!("CARGO_MANIFEST_DIR"), "/Makefile.toml");
    let mut cargo = Command::new("cargo");
    cargo.args(["make", "--makefile", makefile]).args(args);
    t.inside(&mut cargo);
    cargo.env("MIGO_BIN", env!("CARGO_BIN_EXE_migo"));
    Some(Run::of(cargo))
}

/// Whether cargo-make is there; outside CI a missing one skips the test, in CI it fails it.
fn cargo_make_installed() -> bool {
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
    }
    available
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

/// Copies `examples/service` (a user's project wired by `migo init`) into a temp dir, points its
/// migo.toml at `t`'s database (staging at `<db>_staging`), and returns its path.
fn service(t: &Test) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/service");
    let status = Command::new("cp")
        .arg("-r")
        .arg(source.join("."))
        .arg(project.path())
        .status()
        .unwrap();
    assert!(status.success());
    let config = std::fs::read_to_string(project.path().join("migo.toml"))
        .unwrap()
        .replace("mongodb://localhost:27017", &t.server.uri)
        .replace("mongodb://staging-db.invalid:27017", &t.server.uri)
        .replace(
            "database = \"service_staging\"",
            &format!("database = \"{}\"", staging_db(t)),
        )
        .replace(
            "database = \"service\"",
            &format!("database = \"{}\"", t.db_name),
        );
    std::fs::write(project.path().join("migo.toml"), config).unwrap();
    project
}

/// The staging database of the example project in `t`.
fn staging_db(t: &Test) -> String {
    format!("{}_s", &t.db_name[..t.db_name.len().min(50)])
}

/// `cargo make ARGS` in `project`, with this build's migo (and mongosh) on PATH, as an installed
/// migo would be: cargo-make's `install_crate` finds it and installs nothing.
fn cargo_make_in(project: &std::path::Path, args: &[&str]) -> Option<Run> {
    if !cargo_make_installed() {
        return None;
    }
    let bin = project.join(".bin");
    std::fs::create_dir_all(&bin).unwrap();
    let migo = bin.join("migo");
    if !migo.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_migo"), &migo).unwrap();
    }
    let mongosh = crate::tools::mongosh();
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        mongosh.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cargo = Command::new("cargo");
    cargo
        .arg("make")
        .args(args)
        .current_dir(project)
        .env("PATH", path);
    for (key, _) in
        std::env::vars().filter(|(k, _)| k.starts_with("MIGO_") || k.starts_with("CARGO_MAKE"))
    {
        cargo.env_remove(key);
    }
    Some(Run::of(cargo))
}

#[test]
fn a_project_wired_by_migo_init_runs_its_migrations_with_cargo_make() {
    let t = Test::new();
    let project = service(&t);
    let dir = project.path();
    let Some(run) = cargo_make_in(dir, &["migrations"]) else {
        return;
    };
    run.success()
        .stdout_has("0001_create_users  pending")
        .stdout_has("0002_add_roles     pending");
    cargo_make_in(dir, &["migrations", "execute", "0001_create_users"])
        .unwrap()
        .success()
        .stdout_has("applied 0001_create_users");
    assert_eq!(
        t.statuses(),
        [("0001_create_users".into(), "applied".into())]
    );
    assert!(t.collections().contains(&"users".to_string()));
    cargo_make_in(dir, &["migrations", "seed"])
        .unwrap()
        .success();
    assert_eq!(t.docs("users").len(), 1);
    cargo_make_in(dir, &["migrations", "execute"])
        .unwrap()
        .success()
        .stdout_has("applied 0002_add_roles");
    assert_eq!(t.docs("users")[0].get_str("role").unwrap(), "member");
    cargo_make_in(dir, &["migrations", "rollback", "0002_add_roles"])
        .unwrap()
        .success()
        .stdout_has("rolled back 0002_add_roles");
    assert!(t.docs("users")[0].get_str("role").is_err());
    // The staging prefix task and the profile reach `[environments.staging]`.
    cargo_make_in(dir, &["staging", "migrations", "execute"])
        .unwrap()
        .success()
        .stdout_has("applied 0002_add_roles");
    let staging = t.server.client().database(&staging_db(&t));
    let records: Vec<mongodb::bson::Document> = staging
        .collection("migrations")
        .find(mongodb::bson::doc! {"_id": {"$ne": crate::test::LOCK_ID}})
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(records.len(), 2);
    cargo_make_in(dir, &["--profile", "staging", "migrations"])
        .unwrap()
        .success()
        .stdout_has("0002_add_roles     applied");
    let _ = staging.drop().run();
}

#[test]
fn cargo_make_migrations_fleet_runs_every_tenant_and_staging_has_its_own() {
    let t = Test::new();
    let prefix = t.short_name();
    for name in ["a", "b", "c"] {
        t.seed_database(&format!("{prefix}_{name}"));
    }
    let t = t
        .config(&format!(
            "[fleet]\ndatabases = \"^{prefix}_[a-z]$\"\n\
             [environments.staging.migrations]\ncollection = \"staging_migrations\"\n"
        ))
        .migration("0001_a.json", &push(1));
    let Some(run) = cargo_make(&t, &["migrations", "--fleet", "execute"]) else {
        return;
    };
    run.success()
        .stdout_has(&format!("[{prefix}_c] applied 0001_a"))
        .stdout_has("3 databases: 3 ok; 3 migration(s) applied in ");
    cargo_make(&t, &["staging", "migrations", "--fleet", "list"])
        .unwrap()
        .success()
        .stdout_has("3 databases: 3 behind; migrations: 0 applied, 3 pending");
}

/// The first program of that name on PATH.
fn on_path(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// A teammate who never installed migo clones a project set up by `migo init --path <migo>` and
/// runs `cargo make migrations`: cargo-make's `install_crate` finds no `migo`, runs
/// `cargo install --locked --path <migo> migo`, and the task lists the migrations.
///
/// Only this test adds `--debug` to the install arguments and keeps the install's build in
/// `target/teammate-install` (`CARGO_TARGET_DIR`), so that later runs reuse it: the first run
/// builds migo and its dependencies (about 3 minutes on 2 busy cores), later ones only what
/// changed (a second when nothing did). It cannot share `target/debug`: the tests' build
/// enables the driver's `sync` feature (a dev-dependency) that an install does not, so each
/// would rebuild the driver and migo over the other's, replacing the `migo` binary that the
/// other tests are running.
#[test]
fn a_teammate_without_migo_gets_it_installed_by_the_first_cargo_make_migrations() {
    if !cargo_make_installed() {
        return;
    }
    let t = Test::new();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"teammate\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let repo = env!("CARGO_MANIFEST_DIR");
    let mut init = Command::new(env!("CARGO_BIN_EXE_migo"));
    init.args(["init", "--path", repo, "--uri", &t.server.uri])
        .args(["--database", &t.db_name])
        .current_dir(dir);
    Run::of(init).success();
    std::fs::write(dir.join("mongomigrations/0001_a.json"), push(1)).unwrap();
    let makefile = std::fs::read_to_string(dir.join("Makefile.toml")).unwrap();
    let written = format!("install_crate_args = [\"--locked\", \"--path\", \"{repo}\"]");
    assert!(makefile.contains(&written), "{makefile}");
    let reuse = format!("install_crate_args = [\"--locked\", \"--debug\", \"--path\", \"{repo}\"]");
    std::fs::write(
        dir.join("Makefile.toml"),
        makefile.replace(&written, &reuse),
    )
    .unwrap();

    // PATH: where the install goes (empty so far), cargo and cargo-make, the system; no migo.
    let root = tempfile::tempdir().unwrap();
    let tools = tempfile::tempdir().unwrap();
    for program in ["cargo", "cargo-make"] {
        let found = on_path(program).expect("on PATH");
        std::os::unix::fs::symlink(found, tools.path().join(program)).unwrap();
    }
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        root.path().join("bin").display(),
        tools.path().display()
    );
    for dir in std::env::split_paths(&path) {
        assert!(!dir.join("migo").exists(), "migo is already in {dir:?}");
    }
    let target_dir = std::path::Path::new(env!("CARGO_BIN_EXE_migo"))
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join("teammate-install");
    let cargo_make = |args: &[&str]| {
        let mut cargo = Command::new(tools.path().join("cargo"));
        cargo
            .arg("make")
            .args(args)
            .current_dir(dir)
            .env("PATH", &path)
            .env("CARGO_INSTALL_ROOT", root.path())
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("CARGO_NET_OFFLINE", "true");
        for (key, _) in
            std::env::vars().filter(|(k, _)| k.starts_with("MIGO_") || k.starts_with("CARGO_MAKE"))
        {
            cargo.env_remove(key);
        }
        Run::of(cargo)
    };
    let started = std::time::Instant::now();
    let run = cargo_make(&["migrations"]);
    let took = started.elapsed();
    run.success()
        .stdout_has(&format!(
            "[cargo-make] INFO - Execute Command: \"cargo\" \"install\" \"--locked\" \"--debug\" \"--path\" \"{repo}\" \"migo\""
        ))
        .stderr_has(&format!("Installed package `migo v{}", env!("CARGO_PKG_VERSION")))
        .stdout_has("0001_a  pending");
    assert!(root.path().join("bin/migo").is_file());
    eprintln!("the install and the first listing took {took:.1?}");
    // Installed once: the next task runs it at once, and it migrates.
    cargo_make(&["migrations", "execute"])
        .success()
        .stdout_has("applied 0001_a");
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    assert_eq!(order(&t), [1]);
}
