//! Bad input: each case gets one `error: …; hint: …` line, its exit code, and the database stays
//! untouched.

use crate::push;
use crate::test::Test;

/// Runs `args` in `t`, expects `code` and `message` (the whole `error: …; hint: …` line, the
/// only output), and checks nothing was written.
fn refused(t: &Test, args: &[&str], code: i32, message: &str) {
    t.run(args)
        .code(code)
        .stdout_is("")
        .stderr_is(&format!("{message}\n"));
    assert!(
        t.collections().is_empty(),
        "bad input wrote to the database: {:?}",
        t.collections()
    );
}

fn project() -> Test {
    Test::new().migration("0001_a.json", &push(1))
}

#[test]
fn unknown_config_key_names_file_line_and_column() {
    let t = project();
    let config = format!("{}datbase = \"x\"\n", t.mongo_section());
    let t = t.raw_config(&config);
    refused(
        &t,
        &["execute"],
        3,
        "error: migo.toml:5:1: unknown field `datbase`, expected one of `uri`, `host`, `port`, \
         `database`, `user`, `password`, `password_env`, `auth_source`, `timeout_secs`, `tls`, \
         `tls_ca_file`, `tls_allow_invalid_certificates`; hint: every key is documented in \
         migo.reference.toml",
    );
}

#[test]
fn wrong_type_names_the_key() {
    let t = project();
    let config = t
        .mongo_section()
        .replace("timeout_secs = 5", "timeout_secs = \"five\"");
    let t = t.raw_config(&config);
    refused(
        &t,
        &["execute"],
        3,
        "error: migo.toml:4:16: invalid type: string \"five\", expected u64; hint: every key is \
         documented in migo.reference.toml",
    );
}

#[test]
fn toml_syntax_error() {
    let t = project().config("[migrations\n");
    refused(
        &t,
        &["execute"],
        3,
        "error: migo.toml:6:12: unclosed table, expected `]`; hint: every key is documented in \
         migo.reference.toml",
    );
}

#[test]
fn invalid_pattern_regex() {
    let t = project().config("[migrations]\npattern = \"^(?P<number>[0-9+_.*$\"\n");
    refused(
        &t,
        &["execute"],
        3,
        "error: migo.toml:7:11: `[migrations] pattern` \"^(?P<number>[0-9+_.*$\" is not a valid \
         regex: unclosed character class; hint: the pattern is a Rust regex with a named group \
         `number`",
    );
}

#[test]
fn pattern_without_number_group() {
    let t = project().config("[migrations]\npattern = '^[0-9]+_\\w+\\.json$'\n");
    refused(
        &t,
        &["execute"],
        3,
        "error: migo.toml:7:11: `[migrations] pattern` \"^[0-9]+_\\\\w+\\\\.json$\" has no group \
         named `number`; hint: capture the migration number with `(?P<number>[0-9]+)`",
    );
}

#[test]
fn missing_database() {
    let t = project();
    let config = format!("[mongo]\nuri = \"{}\"\n", t.server.uri);
    let t = t.raw_config(&config);
    refused(
        &t,
        &["list"],
        3,
        "error: migo.toml: missing `[mongo] database`; hint: set `database` under `[mongo]`, or \
         `MIGO_DATABASE`, or `--database`",
    );
}

#[test]
fn password_env_not_set() {
    let t = project().config("").env("UNUSED", "1");
    let config = format!(
        "{}user = \"u\"\npassword_env = \"MIGO_TEST_NO_SUCH_VAR\"\n",
        t.mongo_section()
    );
    let t = t.raw_config(&config);
    refused(
        &t,
        &["list"],
        3,
        "error: migo.toml:6:16: `[mongo] password_env` names `MIGO_TEST_NO_SUCH_VAR`, which is \
         not set; hint: export MIGO_TEST_NO_SUCH_VAR=… before running migo",
    );
}

#[test]
fn task_shadowing_a_builtin() {
    let t = project().config("[tasks.execute]\nrun = \"true\"\n");
    refused(
        &t,
        &["list"],
        3,
        "error: migo.toml:6:1: task `execute` would shadow the built-in subcommand `execute`; \
         hint: rename the task",
    );
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let t = project().config("[environments.staging.mongo]\ndatabase = \"s\"\n");
    refused(
        &t,
        &["--env", "prod", "list"],
        3,
        "error: migo.toml: unknown environment `prod`; hint: known environments: `staging`",
    );
}

#[test]
fn missing_config_file_given_explicitly() {
    let t = project();
    refused(
        &t,
        &["--config", "nope.toml", "list"],
        3,
        "error: nope.toml: cannot read the configuration file: No such file or directory (os error \
         2); hint: check `--config` / `MIGO_CONFIG`",
    );
}

#[test]
fn file_not_matching_the_pattern() {
    let t = project()
        .migration("0002-dashes.json", &push(2))
        .migration("_draft.json", "x")
        .migration("notes.md", "x");
    refused(
        &t,
        &["execute"],
        4,
        "error: file `0002-dashes.json` in `mongomigrations` does not match the pattern \
         `^(?P<number>[0-9]+)_[A-Za-z0-9_-]+(\\.(up|down))?\\.(json|js|sh|py)$`; hint: rename it, \
         prefix it with `_` to keep it aside, or change `[migrations] pattern`",
    );
}

#[test]
fn duplicate_numbers() {
    let t = project().migration("0001_b.json", &push(2));
    refused(
        &t,
        &["execute"],
        4,
        "error: migrations `0001_a.json` and `0001_b.json` have the same number 1; hint: renumber \
         one of them",
    );
}

#[test]
fn missing_migrations_directory() {
    let t = project().config("[migrations]\ndirectory = \"nowhere\"\n");
    refused(
        &t,
        &["list"],
        4,
        "error: migrations directory `nowhere` does not exist; hint: create it, run `migo new \
         NAME`, or set `[migrations] directory` in migo.toml",
    );
}

#[test]
fn empty_up() {
    let t = project().migration("0002_b.json", r#"{"up": []}"#);
    refused(
        &t,
        &["execute"],
        4,
        "error: migration `0002_b.json` is invalid: `up` is an empty array; it needs at least one \
         command; hint: a .json migration is {\"description\": …, \"up\": [command, …], \"down\": \
         [command, …]}",
    );
}

#[test]
fn invalid_extended_json() {
    let t = project().migration(
        "0002_b.json",
        r#"{"up": [{"insert": "x", "documents": [{"d": {"$date": "yesterday"}}]}]}"#,
    );
    refused(
        &t,
        &["execute"],
        4,
        "error: migration `0002_b.json` is invalid: `up[0]` is not valid Extended JSON: invalid \
         value: string \"yesterday\", expected rfc3339 formatted utc datetime; hint: a .json \
         migration is {\"description\": …, \"up\": [command, …], \"down\": [command, …]}",
    );
}

#[test]
fn unknown_field_in_a_migration() {
    let t = project().migration("0002_b.json", r#"{"up": [{"ping": 1}], "dwon": []}"#);
    refused(
        &t,
        &["execute"],
        4,
        "error: migration `0002_b.json` is invalid: unknown field `dwon`, expected one of \
         `description`, `up`, `backfill`, `down`, `transaction`, `phase`, `checkpoint`, `lint` at \
         line 1 column 28; hint: a .json migration is {\"description\": …, \"up\": [command, …], \
         \"down\": [command, …]}",
    );
}

#[test]
fn unknown_subcommand_close_to_one_gets_did_you_mean_else_the_list() {
    let t = project().config("[tasks.seed]\ndescription = \"Seed\"\nrun = \"true\"\n");
    for (word, meant) in [
        ("exectue", "execute"),
        ("rolback", "rollback"),
        ("sede", "seed"),
    ] {
        t.run(&[word]).code(2).stdout_is("").stderr_is(&format!(
            "error: unknown subcommand `{word}`; hint: did you mean `{meant}`?\n"
        ));
    }
    t.run(&["deploy"]).code(2).stdout_is("").stderr_is(
        "error: unknown subcommand `deploy`; hint: the subcommands are list, execute, pause, ignore, \
         rollback, accept, check, lint, preflight, history, version, remove, new, test, drift, snapshot, squash, dump, restore, adopt, \
         forget, unlock, init, help, completions, and the tasks seed; `migo help` says what each \
         does\n",
    );
    assert!(t.collections().is_empty(), "{:?}", t.collections());
}

/// Runs `migo ARGS` in `t`; a run that outlives `limit` (a read blocked on a FIFO, a file
/// growing without end) is killed and fails the test.
fn run_within(t: &Test, args: &[&str], limit: std::time::Duration) -> crate::test::Run {
    let mut child = t
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`migo {}` was still running after {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    crate::test::Run::from_output(&output)
}

#[test]
fn a_config_that_is_no_regular_file_or_too_big_is_refused_by_name() {
    let t = project();
    let fifo = t.path("fifo.toml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = t.path("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    let hint =
        "hint: migo.toml must be a regular file of at most 1 MiB; check `--config` / `MIGO_CONFIG`";
    let limit = std::time::Duration::from_secs(30);
    for (path, what) in [
        (fifo.display().to_string(), "not a regular file (a FIFO)"),
        (
            "/dev/zero".to_string(),
            "not a regular file (a character device)",
        ),
        (
            big.display().to_string(),
            "2097152 bytes, over the limit of 1048576 (1 MiB)",
        ),
    ] {
        run_within(&t, &["--config", &path, "list"], limit)
            .code(3)
            .stdout_is("")
            .stderr_is(&format!("error: {path}: {what}; {hint}\n"));
    }
    // `migo.toml` found by the search through the parent directories: a symlink to /dev/zero.
    std::fs::remove_file(t.path("migo.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", t.path("migo.toml")).unwrap();
    std::fs::create_dir(t.path("sub")).unwrap();
    let mut command = t.command(&["list"]);
    command.current_dir(t.path("sub"));
    crate::test::Run::of(command)
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "error: {}: not a regular file (a character device); {hint}\n",
            t.path("migo.toml").display()
        ));
    // And a FIFO there, in the working directory itself.
    std::fs::remove_file(t.path("migo.toml")).unwrap();
    std::fs::rename(&fifo, t.path("migo.toml")).unwrap();
    run_within(&t, &["list"], limit)
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "error: migo.toml: not a regular file (a FIFO); {hint}\n"
        ));
    assert!(t.collections().is_empty());
}

#[test]
fn bad_flag_value() {
    let t = project();
    // The hint says what `--port` takes.
    t.run(&["--port", "seventy", "list"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: invalid value 'seventy' for '--port <PORT>': invalid digit found in string; \
             hint: `--port` takes the server's port, a whole number up to 65535\n",
        );
    t.run(&["--jobs", "99", "list"])
        .code(2)
        .stdout_is("")
        .stderr_is(
        "error: invalid value '99' for '--jobs <N>': 99 is not in 1..=64; hint: `--jobs` takes \
         a whole number from 1 to 64\n",
    );
    t.run(&["list", "--dyr-run"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: unexpected argument '--dyr-run' found; hint: did you mean `--dry-run`?\n",
        );
    assert!(t.collections().is_empty());
}

#[test]
fn unknown_policy_value_lists_the_choices() {
    let t = project().config("[migrations]\non_modified = \"maybe\"\n");
    refused(
        &t,
        &["execute"],
        3,
        "error: migo.toml:7:15: unknown variant `maybe`, expected `error` or `warn`; hint: every key \
         is documented in migo.reference.toml",
    );
    refused(
        &project(),
        &["execute", "--out-of-order", "sometimes"],
        2,
        "error: invalid value 'sometimes' for '--out-of-order <POLICY>'; hint: choose one of \
         warn, allow, error",
    );
}

#[test]
fn check_and_history_take_no_dry_run() {
    refused(
        &project(),
        &["check", "--dry-run"],
        2,
        "error: `--dry-run` applies to `execute`, `ignore`, `rollback`, `accept`, `forget`, \
         `remove` and `restore` only; hint: `list`, `check`, `history` and `version` never change \
         anything",
    );
}

#[test]
fn bad_dump_settings_name_the_key() {
    refused(
        &project().config("[dump]\ntool = \"tape\"\n"),
        &["dump"],
        3,
        "error: migo.toml:7:8: unknown variant `tape`, expected `native` or `mongodump`; hint: every \
         key is documented in migo.reference.toml",
    );
    refused(
        &project().config("[dump]\nkeep = 0\n"),
        &["dump"],
        3,
        "error: migo.toml:7:8: `[dump] keep` = 0 would delete the dump just taken; hint: keep at \
         least 1, or leave `keep` out to keep every dump",
    );
    refused(
        &project(),
        &["restore", "/nonexistent/dump", "--yes"],
        6,
        "error: `/nonexistent/dump` cannot be read: No such file or directory (os error 2); hint: \
         give the directory of a complete dump, e.g. `mongodumps/default-20261122T101500.123Z`",
    );
}
