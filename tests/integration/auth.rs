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
    let create = |s: &Server| {
        s.client()
            .database("admin")
            .run_command(doc! {"createUser": "migo", "pwd": PASSWORD, "roles": [{"role": "readWrite", "db": db}]})
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
    run.success().stdout_has("0001_a  applied");

    let wrong = t.raw_config(&config("WRONG"));
    wrong
        .run(&["list"])
        .code(5)
        .one_error_line()
        .stderr_has("authentication failed for user `migo`")
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
