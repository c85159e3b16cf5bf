//! The run loop against an in-memory registry ([`RecordStore`]): what is recorded, write by
//! write, when all goes well, when the lease is lost, when the fence refuses a write, and when
//! the connection drops on a registry write (the `running` marker that makes the step show as
//! interrupted). No server: the database handle points at a closed port.

use std::path::Path;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use mongodb::ClientSession;

use super::execute::{self, Bodies, Prepared, Runner};
use crate::config::{Settings, Sources};
use crate::error::{Error, Result};
use crate::ground::record::{Record, Status};
use crate::halt::Halt;
use crate::migration::{discover, Body};
use crate::plan::{self, Forward, Request};
use crate::process::ChildEnv;
use crate::store::lease::LeaseWatch;
use crate::store::record_store::RecordStore;
use crate::store::registry::Checkpointed;
/// The registry in memory: every write as it came, and a write that fails on purpose.
#[derive(Debug, Default)]
struct Memory {
    records: Mutex<Vec<Record>>,
    /// Each write's `(name, status)` pairs, in order.
    writes: Mutex<Vec<Vec<(String, Status)>>>,
    /// The write (1-based) that fails, and with what.
    fail: Option<(usize, fn() -> Error)>,
}

impl Memory {
    fn failing(at: usize, error: fn() -> Error) -> Memory {
        Memory {
            fail: Some((at, error)),
            ..Memory::default()
        }
    }

    fn statuses(&self) -> Vec<(String, Status)> {
        let records = self.records.lock().unwrap();
        records.iter().map(|r| (r.name.clone(), r.status)).collect()
    }

    fn writes(&self) -> Vec<Vec<(String, Status)>> {
        self.writes.lock().unwrap().clone()
    }
}

impl RecordStore for Memory {
    fn put<'a>(
        &'a self,
        records: &'a [Record],
        _session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut writes = self.writes.lock().unwrap();
            if let Some((at, error)) = self.fail {
                if writes.len() + 1 == at {
                    writes.push(Vec::new());
                    return Err(error());
                }
            }
            writes.push(records.iter().map(|r| (r.name.clone(), r.status)).collect());
            let mut stored = self.records.lock().unwrap();
            for record in records {
                stored.retain(|r| r.name != record.name);
                stored.push(record.clone());
            }
            stored.sort_by_key(|r| r.number);
            Ok(())
        })
    }

    fn checkpoint<'a>(
        &'a self,
        record: &'a Record,
        session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<Checkpointed>> {
        Box::pin(async move {
            self.put(std::slice::from_ref(record), session).await?;
            Ok(Checkpointed::Saved)
        })
    }

    fn set_checksum<'a>(&'a self, name: &'a str, checksum: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut stored = self.records.lock().unwrap();
            stored
                .iter_mut()
                .filter(|r| r.name == name)
                .for_each(|r| r.checksum = checksum.to_string());
            Ok(())
        })
    }

    fn remove<'a>(
        &'a self,
        name: &'a str,
        _session: Option<&'a mut ClientSession>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.records.lock().unwrap().retain(|r| r.name != name);
            Ok(())
        })
    }
}

/// A project with `files` in its migrations directory, aimed at a closed port.
fn project(dir: &Path, files: &[(&str, &str)]) -> Settings {
    let migrations = dir.join("mongomigrations");
    std::fs::create_dir(&migrations).unwrap();
    for (name, body) in files {
        let path = migrations.join(name);
        std::fs::write(&path, body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = dir.join("migo.toml");
    std::fs::write(
        &config,
        format!(
            "[mongo]\nuri = \"mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100\"\n\
             database = \"t\"\ntimeout_secs = 1\n[migrations]\ndirectory = \"{}\"\n",
            migrations.display()
        ),
    )
    .unwrap();
    let sources = Sources {
        config: Some(config),
        environment: None,
        overrides: Vec::new(),
        offline: false,
    };
    Settings::load(&sources, &[]).unwrap()
}

/// `execute` of everything pending, prepared as the command would.
fn pending_steps(settings: &Settings) -> Vec<Prepared> {
    let m = &settings.migrations;
    let files = discover::discover_all(&m.directory, &m.pattern, &settings.project_dir, Vec::new())
        .unwrap();
    let entries = plan::entries(&files, &[], false);
    let plan = plan::plan(
        Request::Execute(Forward::All),
        &entries,
        m.policies,
        &Default::default(),
    )
    .unwrap();
    let bodies: Bodies = files
        .iter()
        .map(|f| (f.name.clone(), Body::load(f, &m.runners, &[]).unwrap()))
        .collect();
    execute::prepare(&plan, &bodies, &[], &m.runners, &[]).unwrap()
}

/// Runs every pending migration of `files` against `store`, with the lease as `lease` says.
async fn run(
    files: &[(&str, &str)],
    store: &Memory,
    lease: Option<LeaseWatch>,
) -> Result<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let settings = project(dir.path(), files);
    let steps = pending_steps(&settings);
    let client = mongodb::Client::with_uri_str(settings.target.uri().expose())
        .await
        .unwrap();
    let db = client.database("t");
    let env = ChildEnv::new(&settings, false, Default::default());
    let halt = Halt::new(Default::default(), lease);
    let runner = Runner {
        db: &db,
        registry: store,
        who: "tester@here",
        env: &env,
        halt: &halt,
        target: "t on 127.0.0.1:1",
        backfills: &Default::default(),
    };
    let done = execute::run(&steps, runner, &mut |_| {}).await?;
    Ok(done.into_iter().map(|c| c.name).collect())
}

/// A script migration that does nothing, in either direction: no server needed.
const NOTHING: &str = "#!/bin/sh\nexit 0\n";
const TWO: [(&str, &str); 2] = [("0001_a.sh", NOTHING), ("0002_b.sh", NOTHING)];

fn pair(name: &str, status: Status) -> (String, Status) {
    (name.to_string(), status)
}

#[tokio::test(flavor = "current_thread")]
async fn each_step_is_recorded_running_then_applied_at_once() {
    let store = Memory::default();
    let done = run(&TWO, &store, None).await.unwrap();
    assert_eq!(done, ["0001_a", "0002_b"]);
    assert_eq!(
        store.writes(),
        [
            vec![pair("0001_a", Status::Running)],
            vec![pair("0001_a", Status::Applied)],
            vec![pair("0002_b", Status::Running)],
            vec![pair("0002_b", Status::Applied)],
        ]
    );
    assert_eq!(
        store.statuses(),
        [
            pair("0001_a", Status::Applied),
            pair("0002_b", Status::Applied)
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_lost_lease_stops_the_run_before_any_write() {
    let store = Memory::default();
    let error = run(&TWO, &store, Some(LeaseWatch::taken_over()))
        .await
        .unwrap_err();
    match error {
        Error::LostLock { step, done, .. } => {
            assert_eq!(step, None);
            assert!(done.is_empty());
        }
        other => panic!("expected LostLock, got {other:?}"),
    }
    assert!(store.writes().is_empty());
}

fn refused() -> Error {
    Error::LostLock {
        reason: "taken over".into(),
        step: None,
        done: Vec::new(),
    }
}

fn dropped() -> Error {
    Error::Database {
        context: "cannot record 0001_a".into(),
        source: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset").into(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_applied_write_leaves_the_step_running_and_names_it() {
    let store = Memory::failing(2, refused);
    match run(&TWO, &store, None).await.unwrap_err() {
        Error::LostLock { step, done, .. } => {
            // 0001_a ran, but its `applied` record was refused: it stays `running`.
            assert_eq!(step.as_deref(), Some("0001_a"));
            assert!(done.is_empty());
        }
        other => panic!("expected LostLock, got {other:?}"),
    }
    assert_eq!(store.statuses(), [pair("0001_a", Status::Running)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_running_write_stops_before_the_step_and_names_none() {
    let store = Memory::failing(3, refused);
    match run(&TWO, &store, None).await.unwrap_err() {
        Error::LostLock { step, done, .. } => {
            assert_eq!(step, None, "0002_b never started");
            assert_eq!(done, ["0001_a"]);
        }
        other => panic!("expected LostLock, got {other:?}"),
    }
    assert_eq!(store.statuses(), [pair("0001_a", Status::Applied)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_lost_before_a_step_says_it_did_not_run() {
    let store = Memory::failing(3, dropped);
    match run(&TWO, &store, None).await.unwrap_err() {
        Error::ConnectionLost { name, started, .. } => {
            assert_eq!(name, "0002_b");
            assert!(!started, "0002_b never started");
        }
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
    // What the server holds is what the next run sees: 0001_a applied, 0002_b pending.
    assert_eq!(store.statuses(), [pair("0001_a", Status::Applied)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_lost_after_a_step_keeps_its_running_marker() {
    let store = Memory::failing(2, dropped);
    match run(&TWO, &store, None).await.unwrap_err() {
        Error::ConnectionLost { name, started, .. } => {
            assert_eq!(name, "0001_a");
            assert!(started);
        }
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
    assert_eq!(store.statuses(), [pair("0001_a", Status::Running)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_step_that_cannot_reach_the_server_is_recorded_and_named() {
    let files = [
        ("0001_a.sh", NOTHING),
        (
            "0002_b.json",
            r#"{"up": [{"insert": "items", "documents": [{"_id": 1}]}], "down": []}"#,
        ),
    ];
    let store = Memory::default();
    match run(&files, &store, None).await.unwrap_err() {
        Error::ConnectionLost { name, .. } => assert_eq!(name, "0002_b"),
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
    let statuses = store.statuses();
    assert_eq!(statuses[0], pair("0001_a", Status::Applied));
    assert_eq!(statuses[1].0, "0002_b");
    assert_ne!(statuses[1].1, Status::Applied);
}
