//! Round trips, counted with the driver's command monitoring (`MIGO_LOG=migo::wire=trace`
//! logs every command sent): `list` costs one command whatever the registry's size, `execute`
//! two registry writes per migration (`running` before, `applied` after) on top of the
//! migration's own commands.

use mongodb::bson::{doc, DateTime, Document};

use crate::test::{Run, Test};
use crate::{insert, sha256};

fn commands_sent(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.contains("migo::wire"))
        .collect()
}

#[test]
fn list_costs_one_command_for_a_thousand_applied_migrations() {
    let mut t = Test::new();
    for n in 1..=1000 {
        t = t.migration(&format!("{n:04}_m.json"), &insert(&format!("d{n}")));
    }
    let records: Vec<Document> = (1..=1000)
        .map(|n| {
            let name = format!("{n:04}_m");
            let checksum = sha256(&t.path(&format!("mongomigrations/{name}.json")));
            doc! {
                "_id": &name, "name": &name, "number": n as i64, "checksum": checksum,
                "status": "applied", "started_at": DateTime::now(), "applied_at": DateTime::now(),
                "duration_ms": 1_i64, "who": "me@here", "tool_version": "0.1.0",
            }
        })
        .collect();
    t.db()
        .collection::<Document>("migrations")
        .insert_many(records)
        .run()
        .unwrap();
    let t = t.env("MIGO_LOG", "migo::wire=trace");
    let run = t.run(&["list"]);
    run.success()
        .stdout_has(&format!("1000 migrations: 1000 applied ({})\n", t.target()));
    let sent = commands_sent(&run);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].contains(".aggregate "), "{}", sent[0]);
    // The same for check and version.
    assert_eq!(commands_sent(&t.run(&["check"])).len(), 1);
}

/// The commands `execute` sends to apply `n` one-insert migrations.
fn execute_commands(n: usize) -> usize {
    let mut t = Test::new();
    for i in 1..=n {
        t = t.migration(&format!("{i:04}_m.json"), &insert(&format!("d{i}")));
    }
    let t = t.env("MIGO_LOG", "migo::wire=trace");
    let run = t.run(&["execute"]);
    run.success();
    assert_eq!(t.docs("items").len(), n);
    assert!(t.statuses().iter().all(|(_, s)| s == "applied"));
    commands_sent(&run).len()
}

#[test]
fn execute_costs_two_registry_writes_per_migration() {
    let (five, fifteen) = (execute_commands(5), execute_commands(15));
    // Each migration: its own `insert`, one registry `update` that marks it running before,
    // and one that records it applied right after (so a kill between two migrations never
    // leaves a finished one looking interrupted).
    assert_eq!(
        fifteen - five,
        10 * 3,
        "5 → {five} commands, 15 → {fifteen}"
    );
}
