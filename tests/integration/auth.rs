//! SCRAM authentication: the password comes from `password_env`, works when right, fails clearly
//! when wrong, and never shows in any output.

use mongodb::bson::doc;

use crate::server::{self, Server};
use crate::test::Test;
use crate::{order, push};

pub(crate) const PASSWORD: &str = "s3cr3t-Pa55word";

/// A server that enforces authentication, with user `migo` on `db`: a SecantusDB restarted with
/// `--auth` after the user was created (in `admin`, as is usual), or the `MIGO_TEST_URI` server.
pub(crate) fn server_with_user(
    db: &str,
    storage: &std::path::Path,
) -> (Option<Server>, String, u16) {
    server_with_password(db, storage, PASSWORD)
}

/// [`server_with_user`], the user's password being `password`.
pub(crate) fn server_with_password(
    db: &str,
    storage: &std::path::Path,
    password: &str,
) -> (Option<Server>, String, u16) {
    server_with_roles(storage, password, &[doc! {"role": "readWrite", "db": db}])
}

/// [`server_with_password`], the user having `roles` (say `root`, to make scratch databases).
pub(crate) fn server_with_roles(
    storage: &std::path::Path,
    password: &str,
    roles: &[mongodb::bson::Document],
) -> (Option<Server>, String, u16) {
    let create = |s: &Server| {
        s.client()
            .database("admin")
            .run_command(doc! {"createUser": "migo", "pwd": password, "roles": roles.to_vec()})
            .run()
            .expect("createUser");
    };
    if server::is_external() {
        let shared = server::shared();
        create(shared);
        return (None, shared.host.clone(), shared.port);
    }
    let provisioning = Server::start(&[], Some(storage));
    create(&provisioning);
    provisioning.stop();
    let secured = Server::start(&["--auth"], Some(storage));
    let (host, port) = (secured.host.clone(), secured.port);
    (Some(secured), host, port)
}

#[test]
fn password_from_env_works_wrong_password_fails_and_never_shows() {
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new().migration("0001_a.json", &push(1));
    let (secured, host, port) = server_with_user(&t.db_name, storage.path());
    let db_name = t.db_name.clone();
    let config = |password_var: &str| {
        format!(
            "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\nuser = \"migo\"\npassword_env = \"{password_var}\"\ntimeout_secs = 5\n",
            db_name
        )
    };
    let t = t
        .raw_config(&config("MONGO_PASSWORD"))
        .env("MONGO_PASSWORD", PASSWORD)
        .env("WRONG", "not-the-password");

    for args in [
        &["list"][..],
        &["-vv", "execute"],
        &["list", "--json"],
        &["whoami"],
    ] {
        t.run(args).never_shows(PASSWORD);
    }
    let run = t.run(&["list"]);
    let target = format!("default: database `{db_name}` on {host}:{port}");
    run.success().stdout_masked_is(&format!(
        "NUMBER  NAME    STATE    APPLIED AT  BY     DURATION  CHECKSUM\n\
         1       0001_a  applied  <time>      <who>  <dur>     ok\n\
         1 migration: 1 applied ({target})\n"
    ));

    let wrong = t.raw_config(&config("WRONG"));
    wrong
        .run(&["list"])
        .code(5)
        .stdout_is("")
        .stderr_is(&format!(
            "error: authentication failed for user `migo` on {target}: SCRAM failure: \
             authentication failed; hint: check `[mongo] user`, the password (`password_env`) \
             and `auth_source`\n"
        ))
        .never_shows("not-the-password")
        .never_shows(PASSWORD);

    if let Some(secured) = &secured {
        // What migo applied is really there, read as the authenticated user.
        let uri = format!("mongodb://migo:{PASSWORD}@{host}:{port}/?authSource=admin");
        let client = mongodb::sync::Client::with_uri_str(uri).unwrap();
        let log = client
            .database(&wrong.db_name)
            .collection::<mongodb::bson::Document>("log");
        let doc = log.find_one(doc! {}).run().unwrap().unwrap();
        assert_eq!(doc.get_array("order").unwrap().len(), 1);
        secured.stop();
        std::mem::forget(wrong); // its database lived on the stopped server
    } else {
        assert_eq!(order(&wrong), [1]);
    }
}

/// A server that wants a login, and no user in migo.toml: an authentication problem (exit 5)
/// whose hint names the settings, not an unexpected error (exit 10).
#[test]
fn a_server_that_requires_a_login_without_a_user_is_exit_5_naming_user() {
    if server::is_external() {
        // Whether an external server requires a login is not this suite's to know.
        return;
    }
    let storage = tempfile::tempdir().unwrap();
    let t = Test::new().migration("0001_a.json", &push(1));
    let (secured, host, port) = server_with_user(&t.db_name, storage.path());
    let config = format!(
        "[mongo]\nhost = \"{host}\"\nport = {port}\ndatabase = \"{}\"\ntimeout_secs = 5\n",
        t.db_name
    );
    let t = t.raw_config(&config);
    let hint = "hint: the server requires a login and no user is configured: set `user` under \
                `[mongo]` (or `--user` / `MIGO_USER`) and the variable holding the password in \
                `password_env`";
    for (args, what) in [
        (&["list"][..], "cannot read the migrations registry: Unauthorized (13): command aggregate requires authentication"),
        (&["execute"], "cannot read the migrations registry: Unauthorized (13): command aggregate requires authentication"),
        (&["history"], "cannot read the audit log: Unauthorized (13): command find requires authentication"),
    ] {
        t.run(args)
            .code(5)
            .stdout_is("")
            .stderr_is(&format!("error: {what}; {hint}\n"));
    }
    // Nothing was written: read as the user, the database has no collection.
    let uri = format!("mongodb://migo:{PASSWORD}@{host}:{port}/?authSource=admin");
    let client = mongodb::sync::Client::with_uri_str(uri).unwrap();
    let names = client
        .database(&t.db_name)
        .list_collection_names()
        .run()
        .unwrap();
    assert!(names.is_empty(), "{names:?}");
    if let Some(secured) = secured {
        secured.stop();
    }
}
