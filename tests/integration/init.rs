//! `migo init` in a user's project: what it writes, what it never touches, and that a second
//! run changes nothing.

use std::process::Command;

use crate::test::Run;

/// `migo ARGS` in `dir`, with no `MIGO_*` variable inherited.
fn migo(dir: &std::path::Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_migo"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("MIGO_")) {
        command.env_remove(key);
    }
    Run::of(command)
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"my-service\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn init_writes_config_directory_and_tasks_and_keeps_the_makefile_as_it_was() {
    let dir = project();
    let path = dir.path();
    let original = "# our build\n[tasks.build-docs]\ncommand = \"echo\"   # keep this comment\n\n[tasks.migrations]\ncommand = \"echo\"\nargs = [\"ours\"]\n";
    std::fs::write(path.join("Makefile.toml"), original).unwrap();
    migo(path, &["init", "--env", "staging", "--dry-run"])
        .success()
        .stdout_has("would create migo.toml:")
        .stdout_has("would add to Makefile.toml:")
        .stdout_has("[tasks.staging]")
        .stdout_has("dry run: nothing was written");
    assert!(!path.join("migo.toml").exists());
    assert_eq!(
        std::fs::read_to_string(path.join("Makefile.toml")).unwrap(),
        original
    );

    migo(path, &["init", "--env", "staging", "--database", "shop"])
        .success()
        .stdout_has("created migo.toml")
        .stdout_has("created mongomigrations/README.md")
        .stdout_has("added the migo tasks to Makefile.toml")
        .stderr_has("Makefile.toml already has a `migrations` task: not changed");
    let makefile = std::fs::read_to_string(path.join("Makefile.toml")).unwrap();
    assert!(makefile.starts_with(original), "{makefile}");
    assert!(makefile.contains("[tasks.staging]") && makefile.contains("[env.staging]"));
    assert_eq!(makefile.matches("[tasks.migrations]").count(), 1);
    let config = std::fs::read_to_string(path.join("migo.toml")).unwrap();
    assert!(
        config.contains("database = \"shop\"") && config.contains("[environments.staging.mongo]")
    );
    // migo reads what init wrote: no database is needed to create the first migration.
    migo(path, &["new", "create_users"])
        .success()
        .stdout_has("created mongomigrations/0001_create_users.json");

    // A second run changes nothing and says so.
    migo(path, &["init", "--env", "staging"])
        .success()
        .stdout_has("migo is set up here already: nothing to change")
        .stderr_has("migo.toml exists: not changed");
    assert_eq!(
        std::fs::read_to_string(path.join("Makefile.toml")).unwrap(),
        makefile
    );
    assert_eq!(
        std::fs::read_to_string(path.join("migo.toml")).unwrap(),
        config
    );
}

#[test]
fn init_creates_a_makefile_whose_tasks_install_migo_from_source() {
    let dir = project();
    migo(
        dir.path(),
        &["init", "--source", "--git https://example.invalid/migo.git"],
    )
    .success()
    .stdout_has("created Makefile.toml");
    let makefile = std::fs::read_to_string(dir.path().join("Makefile.toml")).unwrap();
    assert!(makefile.contains(
        "install_crate = { crate_name = \"migo\", binary = \"migo\", test_arg = \"--version\", force = false }"
    ));
    assert!(makefile.contains(
        "install_crate_args = [\"--locked\", \"--git\", \"https://example.invalid/migo.git\"]"
    ));
    assert!(makefile.contains("args = [\"${@}\"]"));
    let config = std::fs::read_to_string(dir.path().join("migo.toml")).unwrap();
    assert!(config.contains("database = \"my_service\""), "{config}");
}

#[test]
fn init_compiled_scaffolds_a_migrations_binary_one_file_per_migration() {
    let dir = project();
    migo(
        dir.path(),
        &["init", "--compiled", "--source", "--path /src/migo"],
    )
    .success()
    .stdout_has("created src/bin/migrations/main.rs")
    .stdout_has("created src/bin/migrations/m0001_create_users.rs")
    .stdout_has("added migo and mongodb to the dependencies of Cargo.toml");
    let cargo = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
    assert!(cargo.contains("serde = \"1\""));
    assert!(cargo.contains("migo = { path = \"/src/migo\" }") && cargo.contains("mongodb = \"3\""));
    let migration =
        std::fs::read_to_string(dir.path().join("src/bin/migrations/m0001_create_users.rs"))
            .unwrap();
    assert!(migration.contains("include_str!(\"m0001_create_users.rs\")"));
    let makefile = std::fs::read_to_string(dir.path().join("Makefile.toml")).unwrap();
    assert!(makefile
        .contains("args = [\"run\", \"--quiet\", \"--bin\", \"migrations\", \"--\", \"${@}\"]"));
}

#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let run = migo(dir.path(), &["--version"]);
    run.success();
    assert!(
        run.stdout
            .starts_with(&format!("migo {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{}",
        run.stdout
    );
}
