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
fn defaults_apply_without_a_config_file() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let t = Test::new()
        .env("MIGO_DATABASE", "only_env")
        .env("MIGO_PORT", &closed);
    std::fs::remove_file(t.path("migo.toml")).unwrap();
    t.run(&["--timeout", "1", "list"])
        .code(5)
        .stderr_has(&format!(
            "cannot connect to `localhost:{closed}` (database `only_env`)"
        ));
}
