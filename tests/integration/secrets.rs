//! Secrets never leak: not into the lock, the audit log, `history`, messages, stored or printed
//! child output, or `--dry-run`; and the outputs that a person reads stay exact and typed.

use mongodb::bson::{doc, Document};

use crate::push;
use crate::test::Test;

const SECRET: &str = crate::auth::PASSWORD;

#[test]
fn a_password_in_a_flag_never_reaches_the_lock_the_audit_log_or_messages() {
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new().migration("0001_a.json", &push(1));
    let (_secured, host, port) = crate::auth::server_with_user(&t.db_name, storage.path());
    let uri = format!("mongodb://migo:{SECRET}@{host}:{port}/?authSource=admin");
    let config = format!("[mongo]\ndatabase = \"{}\"\n", t.db_name);
    let t = t.raw_config(&config);
    let db = mongodb::sync::Client::with_uri_str(&uri)
        .unwrap()
        .database(&t.db_name);
    let run = t.run(&["--uri", &uri, "execute"]);
    run.success().never_shows(SECRET);
    let audit: Vec<Document> = db
        .collection::<Document>("migrations_audit")
        .find(doc! {})
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let command = audit[0].get_str("command").unwrap().to_string();
    assert_eq!(
        command,
        format!("migo --uri {} execute", uri.replace(SECRET, "***"))
    );
    for args in [
        &["--uri", &uri, "history"][..],
        &["--uri", &uri, "history", "--json"],
    ] {
        t.run(args).success().never_shows(SECRET);
    }
    // Held by a run with that command line: the message shows it redacted.
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    db.collection::<Document>("migrations")
        .replace_one(
            doc! {"_id": crate::test::LOCK_ID},
            doc! {"token": "t", "host": "h", "pid": 1, "user": "u",
            "command": format!("migo --uri {uri} execute"),
            "started_at": mongodb::bson::DateTime::from_millis(now),
            "expires_at": mongodb::bson::DateTime::from_millis(now + 60_000)},
        )
        .upsert(true)
        .run()
        .unwrap();
    t.run(&["--uri", &uri, "rollback", "0001_a"])
        .code(7)
        .one_error_line()
        .stderr_has("running `migo --uri mongodb://migo:***@")
        .never_shows(SECRET);
}

#[test]
fn a_script_that_prints_its_connection_does_not_leak_it_into_the_database() {
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new();
    let (_secured, host, port) = crate::auth::server_with_user(&t.db_name, storage.path());
    let config = format!(
        "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\npassword_env = \"PW\"\n",
        t.db_name
    );
    let t = t.raw_config(&config).env("PW", SECRET).script(
        "0001_leak.sh",
        "#!/bin/sh\necho \"uri=$MIGO_URI\"\necho \"pw=$MIGO_PASSWORD uri=$MIGO_URI\" >&2\nexit 1\n",
    );
    let run = t.run(&["execute"]);
    run.code(1).never_shows(SECRET).stderr_has("pw=*** uri=***");
    let uri = format!("mongodb://migo:{SECRET}@{host}:{port}/?authSource=admin");
    let db = mongodb::sync::Client::with_uri_str(&uri)
        .unwrap()
        .database(&t.db_name);
    let everything: Vec<Document> = ["migrations", "migrations_audit"]
        .iter()
        .flat_map(|c| {
            db.collection::<Document>(c)
                .find(doc! {})
                .run()
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        })
        .collect();
    let stored = format!("{everything:?}");
    assert!(!stored.contains(SECRET), "{stored}");
    assert!(stored.contains("pw=*** uri=***"), "{stored}");
    t.run(&["list", "--json"]).never_shows(SECRET);
}

#[test]
fn dry_run_blanks_passwords_and_keeps_64_bit_integers_typed() {
    let t = Test::new().migration(
        "0001_users.json",
        r#"{"up": [{"createUser": "app", "pwd": "S3cret-pw", "roles": []},
                  {"insert": "n", "documents": [{"_id": 1, "long": {"$numberLong": "1"}, "int": 1}]}],
           "down": [{"dropUser": "app"}]}"#,
    );
    t.run(&["execute", "--dry-run"])
        .success()
        .never_shows(SECRET)
        .stdout_is(concat!(
            "would apply 0001_users (0001_users.json)\n",
            "    {\"createUser\":\"app\",\"pwd\":\"***\",\"roles\":[]}\n",
            "    {\"insert\":\"n\",\"documents\":[{\"_id\":1,\"long\":{\"$numberLong\":\"1\"},\"int\":1}]}\n",
            "dry run: 1 step(s), nothing was changed\n",
        ));
}

#[test]
fn a_crlf_checkout_of_an_applied_file_is_not_modified() {
    let t = Test::new().migration("0001_a.json", &push(1));
    t.run(&["execute"]).success();
    let path = t.path("mongomigrations/0001_a.json");
    let crlf = std::fs::read_to_string(&path)
        .unwrap()
        .replace('\n', "\r\n");
    std::fs::write(&path, crlf).unwrap();
    t.run(&["check"]).success();
    t.run(&["list"]).success().stdout_has("0001_a  applied ");
}

#[test]
fn a_command_the_server_rejects_is_one_readable_line_everywhere() {
    let t = Test::new().migration(
        "0001_bad.json",
        r#"{"up": [{"nosuchcommand": 1}], "down": []}"#,
    );
    let run = t.run(&["execute"]);
    run.code(1).error_line();
    let line = run.stderr.lines().last().unwrap();
    assert!(
        line.starts_with("error: migration `0001_bad` failed: command 1 of 1 (`nosuchcommand`): CommandNotFound (59): "),
        "{line}"
    );
    assert!(
        !line.contains("RawDocumentBuf") && !line.contains("labels"),
        "{line}"
    );
    let error = t.records()[0].get_str("error").unwrap().to_string();
    assert!(
        error.starts_with("command 1 of 1 (`nosuchcommand`): CommandNotFound (59): "),
        "{error}"
    );
    let audit: Vec<Document> = t.docs("migrations_audit");
    let audited = audit[0].get_str("error").unwrap();
    assert!(!audited.contains("RawDocumentBuf"), "{audited}");
}

#[test]
fn list_and_check_flag_a_file_that_is_not_text() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_bom.json", &format!("\u{feff}{}", push(2)));
    t.run(&["list"]).success().stdout_has("0002_bom  invalid");
    t.run(&["check"]).code(8).stdout_has("0002_bom  invalid");
}

/// A password with `/` and `@`, printed by a script the ways URL encoders write it (upper- and
/// lower-case hex, `/` left as it is, inside a connection string without its scheme): every
/// form is scrubbed from what migo shows and stores.
#[test]
fn a_script_printing_the_password_url_encoded_does_not_show_it() {
    const PASSWORD: &str = "p/ss@word";
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new();
    let (_secured, host, port) =
        crate::auth::server_with_password(&t.db_name, storage.path(), PASSWORD);
    let config = format!(
        "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\npassword_env = \"PW\"\n",
        t.db_name,
    );
    let script = r#"import os, sys
from urllib.parse import quote, quote_plus
pw = os.environ["MIGO_PASSWORD"]
print("upper " + quote(pw, safe=""))
print("lower " + quote(pw, safe="").lower())
print("slash " + quote(pw))
print("plus " + quote_plus(pw))
print("dsn migo:" + quote(pw, safe="") + "@" + os.environ["MIGO_HOST"], flush=True)
sys.stderr.write("failed for migo:" + quote(pw, safe="").lower() + "\n")
sys.exit(1)
"#;
    let t = t.raw_config(&config).env("PW", PASSWORD).script(
        "0001_leak.sh",
        &format!("#!{}\n{script}", crate::tools::python().display()),
    );
    let run = t.run(&["execute"]);
    run.code(1);
    for form in [PASSWORD, "p%2Fss%40word", "p%2fss%40word", "p/ss%40word"] {
        run.never_shows(form);
    }
    // The script's stdout and stderr are read side by side: their lines may interleave.
    let mut shown: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("  0001_leak"))
        .collect();
    shown.sort_unstable();
    let mut expected = [
        "  0001_leak | upper ***",
        "  0001_leak | lower ***",
        "  0001_leak | slash ***",
        "  0001_leak | plus ***",
        &format!("  0001_leak | dsn migo:***@{host}"),
        "  0001_leak | failed for migo:***",
    ];
    expected.sort_unstable();
    assert_eq!(shown, expected, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "error: migration `0001_leak` failed: failed for migo:*** (exit status 1); hint: fix it, \
         then retry with `migo execute 0001_leak`, or `migo ignore 0001_leak` / `migo rollback \
         0001_leak`"
    );
    let uri = format!("mongodb://migo:p%2Fss%40word@{host}:{port}/?authSource=admin");
    let db = mongodb::sync::Client::with_uri_str(&uri)
        .unwrap()
        .database(&t.db_name);
    let stored = format!(
        "{:?} {:?}",
        db.collection::<Document>("migrations")
            .find(doc! {})
            .run()
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
        db.collection::<Document>("migrations_audit")
            .find(doc! {})
            .run()
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    );
    assert!(stored.contains("failed for migo:***"), "{stored}");
    for form in [PASSWORD, "p%2Fss%40word", "p%2fss%40word"] {
        assert!(!stored.contains(form), "{form} stored: {stored}");
    }
}
