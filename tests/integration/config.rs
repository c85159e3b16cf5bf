//! Settings precedence, edge by edge: flag > MIGO_* variable > [environments.<name>] > file >
//! default. A task echoing its MIGO_* variables shows what migo resolved.

use crate::test::Test;

fn resolved(t: &Test, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("show");
    let run = t.run(&all);
    run.success();
    std::fs::read_to_string(t.path("show.out")).unwrap()
}

#[test]
fn each_layer_overrides_the_one_below() {
    let t = Test::new().raw_config(
        r#"[mongo]
database = "file_db"
port = 1111

[environments.ci.mongo]
database = "section_db"

[tasks.show]
run = 'printf "%s %s %s" "$MIGO_DATABASE" "$MIGO_PORT" "$MIGO_ENV" > show.out'
"#,
    );
    assert_eq!(resolved(&t, &[]), "file_db 1111 ");
    assert_eq!(resolved(&t, &["--env", "ci"]), "section_db 1111 ci");
    let t = t.env("MIGO_ENV", "ci");
    assert_eq!(resolved(&t, &[]), "section_db 1111 ci");
    let t = t.env("MIGO_DATABASE", "env_db").env("MIGO_PORT", "2222");
    assert_eq!(resolved(&t, &[]), "env_db 2222 ci");
    assert_eq!(
        resolved(&t, &["--database", "flag_db", "--port", "3333"]),
        "flag_db 3333 ci"
    );
}

#[test]
fn without_migo_toml_every_command_says_where_it_looked() {
    let t = Test::new().env("MIGO_DATABASE", "only_env");
    std::fs::remove_file(t.path("migo.toml")).unwrap();
    for args in [&["list"][..], &["execute"], &["history"], &["new", "x"]] {
        t.run(args).code(3).stdout_is("").stderr_is(&format!(
            "error: no migo.toml in {} or its parents; hint: run `migo init` to set migo up \
                 here, or point `--config` / `MIGO_CONFIG` at one\n",
            t.dir().canonicalize().unwrap().display()
        ));
    }
}

#[test]
fn commands_find_migo_toml_in_a_parent_directory() {
    let t = Test::new().migration("0001_a.json", &crate::push(1));
    std::fs::create_dir_all(t.path("src/deep")).unwrap();
    let mut command = t.command(&["execute"]);
    command.current_dir(t.path("src/deep"));
    crate::test::Run::of(command)
        .success()
        .stderr_is(&format!("{}\napplying 0001_a…\n", t.target()))
        .stdout_masked_is("applied 0001_a (<dur>)\n1 migration(s) applied in <dur>\n");
    assert_eq!(crate::order(&t), [1]);
}
