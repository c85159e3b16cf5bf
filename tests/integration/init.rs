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
        .stdout_is("migo is set up here already: nothing to change\n")
        .stderr_is(
            "migo.toml already has `[environments.staging]`: not changed\n\
             Makefile.toml already has a `migrations` task: not changed\n",
        );
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
fn init_compiled_scaffolds_a_migrations_binary_one_file_per_migration() {
    let dir = project();
    let repo = env!("CARGO_MANIFEST_DIR");
    migo(dir.path(), &["init", "--compiled", "--path", repo])
        .success()
        .stdout_has("created src/bin/migrations/main.rs")
        .stdout_has("created src/bin/migrations/m0001_create_users.rs")
        .stdout_has("added migo and mongodb to the dependencies of Cargo.toml");
    let cargo = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
    assert!(cargo.contains("serde = \"1\""));
    assert!(
        cargo.contains(&format!("migo = {{ path = \"{repo}\" }}"))
            && cargo.contains("mongodb = \"3\"")
    );
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

#[test]
fn init_install_from_a_git_url_writes_tasks_that_install_that_url() {
    let dir = project();
    let url = "https://git.example.com/tools/migo.git";
    migo(dir.path(), &["init", "--install-from", url, "--env", "staging"])
        .success()
        .stdout_is(&format!(
            "created migo.toml\n\
             created mongomigrations/README.md\n\
             created Makefile.toml\n\
             the tasks install migo on first use: cargo install --locked --git {url} migo\n\
             next: `migo new create_users` writes the first migration; `cargo make migrations` lists them\n"
        ));
    // cargo-make appends the crate name to `install_crate_args`, except after `--git`: the
    // arguments name it themselves, so `cargo install` knows which crate of the repository.
    let install = format!(
        "install_crate = {{ crate_name = \"migo\", binary = \"migo\", test_arg = \"--version\", force = false }}\n\
         install_crate_args = [\"--locked\", \"--git\", \"{url}\", \"migo\"]\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Makefile.toml")).unwrap(),
        format!(
            "# --- migo: MongoDB migrations (added by `migo init`) ---\n\
             # `cargo make migrations [ARGS…]` runs `migo [ARGS…]`. cargo-make prints its own log\n\
             # lines and reports any failure as exit 105: call `migo` directly for its exact exit code.\n\
             # migo is installed on first use (cargo-make's `install_crate`): cargo install --locked --git {url} migo\n\
             \n\
             [tasks.migrations]\n\
             description = \"MongoDB migrations: cargo make migrations [list|execute|rollback NAME|help|…]\"\n\
             {install}\
             command = \"migo\"\n\
             args = [\"${{@}}\"]\n\
             \n\
             [tasks.staging]\n\
             description = \"MongoDB migrations on staging: cargo make staging migrations [ARGS…]\"\n\
             env = {{ MIGO_ENV = \"staging\" }}\n\
             {install}\
             command = \"bash\"\n\
             args = [\"-c\", 'if [ \"$1\" = migrations ]; then shift; fi; exec migo \"$@\"', \"migo\", \"${{@}}\"]\n\
             \n\
             [env.staging]\n\
             MIGO_ENV = \"staging\"\n"
        )
    );
}

#[test]
fn init_without_an_install_source_writes_no_install_step_and_says_how_to_install() {
    let dir = project();
    migo(dir.path(), &["init"])
        .success()
        .stdout_is(
            "created migo.toml\n\
             created mongomigrations/README.md\n\
             created Makefile.toml\n\
             the tasks do not install migo: whoever runs them installs it first (`cargo install --locked --git <migo's repository URL> migo`); `migo init --install-from URL` or `--path DIR` writes tasks that install it\n\
             next: `migo new create_users` writes the first migration; `cargo make migrations` lists them\n",
        )
        .stderr_is("");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Makefile.toml")).unwrap(),
        "# --- migo: MongoDB migrations (added by `migo init`) ---\n\
         # `cargo make migrations [ARGS…]` runs `migo [ARGS…]`. cargo-make prints its own log\n\
         # lines and reports any failure as exit 105: call `migo` directly for its exact exit code.\n\
         # These tasks do not install migo: install it first, e.g. `cargo install --locked --git <migo's repository URL> migo`\n\
         \n\
         [tasks.migrations]\n\
         description = \"MongoDB migrations: cargo make migrations [list|execute|rollback NAME|help|…]\"\n\
         command = \"migo\"\n\
         args = [\"${@}\"]\n"
    );
}

#[test]
fn init_refuses_an_install_source_or_connection_it_could_not_write_truly() {
    let dir = project();
    let repo = env!("CARGO_MANIFEST_DIR");
    for (args, error) in [
        (
            &["init", "--install-from", repo][..],
            format!("error: `--install-from` \"{repo}\" is not a git URL; hint: give a URL cargo can fetch (https://…, ssh://…, git@host:path); for a local directory use `--path DIR`\n"),
        ),
        (
            &["init", "--path", "/nonexistent/migo"],
            "error: `--path` \"/nonexistent/migo\" holds no migo crate (no Cargo.toml with `name = \"migo\"`); hint: give the directory of a clone of migo's repository, or `--install-from URL`\n".into(),
        ),
        (
            &["init", "--uri", "mongodb://deploy:p%2Fss%40word@db.internal:27017"],
            "error: `--uri` \"mongodb://deploy:***@db.internal:27017\" holds a password, which `migo init` would write into migo.toml; hint: give the connection string without the password and set it in the variable `password_env` names (MONGO_PASSWORD in the file init writes)\n".into(),
        ),
        (
            &["init", "--uri", "mongodb://db.internal", "--port", "27018"],
            "error: `--uri` and `--port` both name the server; hint: give `--uri`, or `--host` and `--port`\n".into(),
        ),
        (
            &["init", "--host", "a,b"],
            "error: `--host` \"a,b\" is not a host name; hint: give a host name or address; several hosts go in `--uri`\n".into(),
        ),
        (
            &["init", "--database", "my.db"],
            "error: `--database` \"my.db\" is not a valid database name; hint: use letters, digits, `_` and `-` (at most 63 characters)\n".into(),
        ),
    ] {
        migo(dir.path(), args)
            .code(2)
            .stdout_is("")
            .stderr_is(&error)
            .never_shows("p%2Fss%40word");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["Cargo.toml"], "a refused init wrote files");
}

#[test]
fn init_writes_the_connection_flags_and_migo_then_reaches_that_server() {
    let t = crate::test::Test::new();
    let dir = project();
    let port = t.server.port.to_string();
    migo(
        dir.path(),
        &[
            "init",
            "--host",
            &t.server.host,
            "--port",
            &port,
            "--database",
            &t.db_name,
            "--timeout",
            "7",
        ],
    )
    .success();
    let config = std::fs::read_to_string(dir.path().join("migo.toml")).unwrap();
    let mongo = config.split("[migrations]").next().unwrap();
    assert_eq!(
        mongo.split("[mongo]\n").nth(1).unwrap(),
        format!(
            "# The server: a connection string, or `host` and `port`. Keep passwords out of this file:\n\
             # `password_env` names the variable that holds the password.\n\
             host = \"{}\"\n\
             port = {port}\n\
             database = \"{}\"\n\
             # user = \"deploy\"\n\
             # password_env = \"MONGO_PASSWORD\"\n\
             timeout_secs = 7\n\n",
            t.server.host, t.db_name
        )
    );
    std::fs::write(
        dir.path().join("mongomigrations/0001_a.json"),
        crate::insert("a"),
    )
    .unwrap();
    migo(dir.path(), &["execute"])
        .success()
        .stderr_has(&format!("{}\n", t.target()));
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    assert_eq!(t.docs("items").len(), 1);

    // Credentials: the user, the variable of its password, the auth source.
    let other = project();
    migo(
        other.path(),
        &[
            "init",
            "--uri",
            "mongodb://db.internal:27018/?tls=true",
            "--user",
            "deploy",
            "--auth-source",
            "admin",
        ],
    )
    .success();
    let config = std::fs::read_to_string(other.path().join("migo.toml")).unwrap();
    assert!(
        config.contains(
            "uri = \"mongodb://db.internal:27018/?tls=true\"\ndatabase = \"my_service\"\nuser = \"deploy\"\npassword_env = \"MONGO_PASSWORD\"\nauth_source = \"admin\"\n\n[migrations]"
        ),
        "{config}"
    );
}

#[test]
fn a_second_init_adds_the_missing_environment_then_says_it_is_there() {
    let t = crate::test::Test::new();
    let dir = project();
    let path = dir.path();
    migo(
        path,
        &["init", "--uri", &t.server.uri, "--database", &t.db_name],
    )
    .success();
    let first = std::fs::read_to_string(path.join("migo.toml")).unwrap();
    // The second init adds staging, its server from the flags, beside what the first wrote.
    let port = t.server.port.to_string();
    let staging_db = format!("{}_staging", t.short_name());
    migo(
        path,
        &[
            "init", "--env", "staging", "--host", &t.server.host, "--port", &port, "--database",
            &staging_db,
        ],
    )
        .success()
        .stdout_is(
            "added `[environments.staging]` to migo.toml\n\
             added the migo tasks to Makefile.toml\n\
             the tasks do not install migo: whoever runs them installs it first (`cargo install --locked --git <migo's repository URL> migo`); `migo init --install-from URL` or `--path DIR` writes tasks that install it\n\
             next: `migo new create_users` writes the first migration; `cargo make migrations` lists them\n",
        )
        .stderr_is("");
    let second = std::fs::read_to_string(path.join("migo.toml")).unwrap();
    assert_eq!(
        second,
        format!(
            "{first}\n\
             # `cargo make staging migrations …`, `cargo make --profile staging migrations …`, `migo --env staging …`\n\
             [environments.staging]\n\
             # confirm = true        # ask before changing anything (`--yes` answers for scripts)\n\
             # To run migo on the staging host over SSH instead:\n\
             # remote = {{ host = \"staging.example.com\", user = \"deploy\", workdir = \"/srv/my_service\" }}\n\
             \n\
             [environments.staging.mongo]\n\
             host = \"{}\"\n\
             port = {port}\n\
             database = \"{staging_db}\"\n",
            t.server.host
        )
    );
    migo(path, &["--env", "staging", "list"])
        .success()
        .stdout_is(&format!(
            "no migrations yet: create one with `migo new NAME` (staging: database `{staging_db}` on {}:{port})\n",
            t.server.host
        ));
    // A third asks for nothing new: nothing changes, and it says staging is there.
    migo(path, &["init", "--env", "staging"])
        .success()
        .stdout_is("migo is set up here already: nothing to change\n")
        .stderr_is("migo.toml already has `[environments.staging]`: not changed\n");
    assert_eq!(
        std::fs::read_to_string(path.join("migo.toml")).unwrap(),
        second
    );
    // Connection flags with nowhere to go are said to be left out, not dropped silently.
    migo(path, &["init", "--port", "27018"])
        .success()
        .stdout_is("migo is set up here already: nothing to change\n")
        .stderr_is(
            "migo.toml exists and keeps its server: --port was not written into it (edit it, or \
             add one environment at a time with `--env NAME` to give that one these settings)\n",
        );
    assert_eq!(
        std::fs::read_to_string(path.join("migo.toml")).unwrap(),
        second
    );
}
