//! A way out of every state: `forget` for a record whose file is gone, and `test` leaving
//! nothing behind.

use mongodb::bson::{doc, Document};

use crate::test::Test;
use crate::{insert, push};

#[test]
fn a_missing_file_is_forgotten_deliberately_and_audited() {
    let t = Test::new()
        .migration("0001_a.json", &push(1))
        .migration("0002_gone.json", &push(2));
    t.run(&["execute"]).success();
    std::fs::remove_file(t.path("mongomigrations/0002_gone.json")).unwrap();
    t.run(&["list"]).success().stdout_has("0002_gone  missing");
    t.run(&["check"])
        .code(8)
        .stdout_has("0002_gone  missing")
        .stderr_has("`migo forget NAME` drops the record of a deleted file");
    for args in [
        &["rollback", "0002_gone"][..],
        &["ignore", "0002_gone"],
        &["remove", "0002_gone"],
    ] {
        t.run(args)
            .code(6)
            .one_error_line()
            .stderr_has("the file of migration `0002_gone` is missing")
            .stderr_has("or drop the record with `migo forget 0002_gone`");
    }
    t.run(&["forget", "0002_gone"])
        .code(6)
        .one_error_line()
        .stderr_has("`forget 0002_gone` removes its record")
        .stderr_has("pass `--yes`");
    t.run(&["forget", "0001_a", "--yes"])
        .code(6)
        .one_error_line()
        .stderr_has("cannot forget `0001_a`: its file is still there");
    assert_eq!(t.records().len(), 2);
    t.run(&["forget", "0002_gone", "--dry-run"])
        .success()
        .stdout_has("would forget the record of 0002_gone");
    t.run(&["forget", "0002_gone", "--yes"])
        .success()
        .stdout_has("forgot 0002_gone");
    assert_eq!(t.statuses(), [("0001_a".into(), "applied".into())]);
    t.run(&["check"]).success();
    let history = t.run(&["history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&history.success().stdout).unwrap();
    assert_eq!(entries[0]["action"], "forget");
    assert_eq!(entries[0]["migrations"][0], "0002_gone");
}

#[test]
fn test_drops_the_users_and_roles_a_migration_created_on_the_scratch_database() {
    let creates = r#"{"up": [{"createUser": "trial_user", "pwd": "x", "roles": []},
                            {"createRole": "trial_role", "privileges": [], "roles": []},
                            {"insert": "items", "documents": [{"_id": "t"}]}],
                     "down": [{"dropUser": "trial_user"}, {"dropRole": "trial_role"},
                              {"delete": "items", "deletes": [{"q": {"_id": "t"}, "limit": 1}]}]}"#;
    let t = Test::new()
        .migration("0001_a.json", &insert("a"))
        .migration("0002_users.json", creates);
    t.run(&["execute", "0001_a"]).success();
    t.run(&["test", "0002_users"])
        .success()
        .stdout_has("pass  0002_users");
    let client = t.server.client();
    let databases = client.list_database_names().run().unwrap();
    // Its own: other tests replay on scratch databases of theirs meanwhile.
    let mine = format!("{}_", t.short_name());
    let scratch: Vec<&String> = databases
        .iter()
        .filter(|d| d.contains("_migo_") && d.starts_with(&mine))
        .collect();
    assert!(scratch.is_empty(), "scratch databases left: {scratch:?}");
    // The second `up` left a user and a role on the scratch database; dropping a database does
    // not drop them, so `test` must have.
    let users = client
        .database("admin")
        .run_command(doc! {"usersInfo": {"forAllDBs": true}})
        .run()
        .unwrap();
    let left: Vec<&Document> = users
        .get_array("users")
        .unwrap()
        .iter()
        .filter_map(|u| u.as_document())
        .filter(|u| u.get_str("user") == Ok("trial_user"))
        .collect();
    assert!(left.is_empty(), "users left: {left:?}");
    assert_eq!(t.docs("items").len(), 1, "the real database changed");
}
