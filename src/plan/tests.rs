//! The refusal rules and orders of `plan`, case by case, without a server.
use super::*;
use crate::ground::record::{Record, Status};
use std::path::PathBuf;

fn file(number: u64, name: &str) -> Source {
    Source {
        name: name.into(),
        file_name: format!("{name}.json"),
        number,
        path: PathBuf::from(format!("{name}.json")),
        checksum: format!("sum-{name}"),
        binary: None,
        problem: None,
        down_path: None,
        content: Default::default(),
        checkpoint: None,
    }
}

fn record(f: &Source, status: Status) -> Record {
    Record::new(f, status, "me@here")
}

/// `plan` under the default policies.
fn plan(request: Request<'_>, entries: &[Entry]) -> Result<Plan> {
    super::plan(request, entries, Policies::default(), &Default::default())
}

fn names(plan: &Plan) -> Vec<(&str, Action)> {
    plan.steps
        .iter()
        .map(|s| (s.file.name.as_str(), s.action))
        .collect()
}

#[test]
fn execute_all_runs_pending_in_number_order() {
    let files = [file(1, "0001_a"), file(2, "0002_b"), file(10, "0010_c")];
    let records = [record(&files[1], Status::Applied)];
    let plan = plan(
        Request::Execute(Forward::All),
        &entries(&files, &records, false),
    )
    .unwrap();
    assert_eq!(
        names(&plan),
        [("0001_a", Action::Up), ("0010_c", Action::Up)]
    );
}

#[test]
fn a_failed_or_running_migration_blocks_execute_all() {
    let files = [file(1, "0001_a"), file(2, "0002_b")];
    for status in [Status::Failed, Status::Running] {
        let records = [record(&files[0], status)];
        let err = plan(
            Request::Execute(Forward::All),
            &entries(&files, &records, false),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`0001_a`"), "{err}");
        assert!(err.hint().unwrap().contains("migo execute 0001_a"));
    }
}

#[test]
fn named_execute_accepts_pending_and_failed_only() {
    let files = [file(1, "0001_a"), file(2, "0002_b"), file(3, "0003_c")];
    let records = [
        record(&files[0], Status::Applied),
        record(&files[1], Status::Failed),
    ];
    let e = entries(&files, &records, false);
    assert!(plan(Request::Execute(Forward::Name("0001_a")), &e)
        .unwrap_err()
        .to_string()
        .contains("already applied"));
    assert_eq!(
        names(&plan(Request::Execute(Forward::Name("0002_b")), &e).unwrap()),
        [("0002_b", Action::Up)]
    );
    assert_eq!(
        names(&plan(Request::Ignore(Some("0003_c.json")), &e).unwrap()),
        [("0003_c", Action::Ignore)]
    );
    let unknown = plan(Request::Execute(Forward::Name("../0003_c")), &e).unwrap_err();
    assert_eq!(unknown.to_string(), "no migration named `../0003_c`");
}

#[test]
fn rollback_needs_an_applied_migration_with_its_file() {
    let files = [file(1, "0001_a"), file(2, "0002_b")];
    let gone = file(3, "0003_gone");
    let records = [
        record(&files[0], Status::Applied),
        record(&gone, Status::Applied),
    ];
    let e = entries(&files, &records, false);
    assert_eq!(
        names(&plan(Request::Rollback(Backward::Name("0001_a")), &e).unwrap()),
        [("0001_a", Action::Down)]
    );
    assert!(plan(Request::Rollback(Backward::Name("0002_b")), &e)
        .unwrap_err()
        .to_string()
        .contains("not applied"));
    assert!(plan(Request::Rollback(Backward::Name("0003_gone")), &e)
        .unwrap_err()
        .to_string()
        .contains("missing"));
}

#[test]
fn entries_flag_modified_and_missing() {
    let files = [file(1, "0001_a")];
    let mut changed = record(&files[0], Status::Applied);
    changed.checksum = "old".into();
    let gone = record(&file(2, "0002_gone"), Status::Applied);
    let e = entries(&files, &[changed, gone], false);
    assert!(e[0].modified && e[0].state == State::Applied);
    assert_eq!(
        (e[1].name.as_str(), e[1].state),
        ("0002_gone", State::Missing)
    );
}

#[test]
fn a_modified_applied_file_blocks_execute_unless_the_policy_warns() {
    let files = [file(1, "0001_a"), file(2, "0002_b")];
    let mut changed = record(&files[0], Status::Applied);
    changed.checksum = "old".into();
    let e = entries(&files, &[changed], false);
    let err = plan(Request::Execute(Forward::All), &e).unwrap_err();
    assert!(err.to_string().contains("`0001_a` was modified"), "{err}");
    assert!(err.hint().unwrap().contains("migo accept 0001_a"));
    let warn = Policies {
        on_modified: OnModified::Warn,
        ..Policies::default()
    };
    let planned = super::plan(
        Request::Execute(Forward::All),
        &e,
        warn,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(names(&planned), [("0002_b", Action::Up)]);
    assert_eq!(planned.warnings.len(), 1);
    assert_eq!(
        names(&plan(Request::Accept("0001_a"), &e).unwrap()),
        [("0001_a", Action::Accept)]
    );
    assert!(plan(Request::Accept("0002_b"), &e).is_err());
}

#[test]
fn out_of_order_pending_files_follow_the_policy() {
    let files = [file(1, "0001_a"), file(2, "0002_b"), file(3, "0003_c")];
    let records = [
        record(&files[0], Status::Applied),
        record(&files[2], Status::Applied),
    ];
    let e = entries(&files, &records, false);
    assert!(e[1].out_of_order && !e[0].out_of_order);
    let with = |out_of_order| Policies {
        out_of_order,
        ..Policies::default()
    };
    let warned = super::plan(
        Request::Execute(Forward::All),
        &e,
        with(OutOfOrder::Warn),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(names(&warned), [("0002_b", Action::Up)]);
    assert!(warned.warnings[0].contains("`0003_c`, numbered after it"));
    let allowed = super::plan(
        Request::Execute(Forward::All),
        &e,
        with(OutOfOrder::Allow),
        &Default::default(),
    )
    .unwrap();
    assert!(allowed.warnings.is_empty() && allowed.steps.len() == 1);
    let refused = super::plan(
        Request::Execute(Forward::All),
        &e,
        with(OutOfOrder::Error),
        &Default::default(),
    );
    assert!(refused.unwrap_err().to_string().contains("out of order"));
    // Ignoring is the deliberate way out, whatever the policy.
    assert!(super::plan(
        Request::Ignore(None),
        &e,
        with(OutOfOrder::Error),
        &Default::default()
    )
    .is_ok());
}

/// A record applied at `ms` (milliseconds since the epoch).
fn applied_at(f: &Source, ms: i64) -> Record {
    let mut r = record(f, Status::Applied);
    r.applied_at = Some(mongodb::bson::DateTime::from_millis(ms));
    r
}

#[test]
fn ranges_forward_follow_number_order() {
    let files: Vec<_> = (1..=6).map(|n| file(n, &format!("000{n}_x{n}"))).collect();
    let records = [applied_at(&files[0], 1)];
    let e = entries(&files, &records, false);
    let two = plan(Request::Execute(Forward::Steps(2)), &e).unwrap();
    assert_eq!(
        names(&two),
        [("0002_x2", Action::Up), ("0003_x3", Action::Up)]
    );
    let to = plan(Request::Execute(Forward::To("0004_x4")), &e).unwrap();
    assert_eq!(to.steps.len(), 3);
    assert!(plan(Request::Execute(Forward::To("0001_x1")), &e).is_err());
}

#[test]
fn ranges_backward_follow_applied_order() {
    let files: Vec<_> = (1..=4).map(|n| file(n, &format!("000{n}_x{n}"))).collect();
    // 3 was applied before 2; 4 in the same millisecond as 2 (one run, number order).
    let records = [
        applied_at(&files[0], 10),
        applied_at(&files[2], 20),
        applied_at(&files[1], 30),
        applied_at(&files[3], 30),
    ];
    let e = entries(&files, &records, false);
    let last = plan(Request::Rollback(Backward::Last(2)), &e).unwrap();
    assert_eq!(
        names(&last),
        [("0004_x4", Action::Down), ("0002_x2", Action::Down)]
    );
    let to = plan(Request::Rollback(Backward::To("0003_x3")), &e).unwrap();
    assert_eq!(names(&to), names(&last));
    let all = plan(Request::Rollback(Backward::All), &e).unwrap();
    let order: Vec<_> = names(&all).into_iter().map(|(n, _)| n).collect();
    assert_eq!(order, ["0004_x4", "0002_x2", "0003_x3", "0001_x1"]);
    let pending = entries(&files, &records[..1], false);
    assert!(plan(Request::Rollback(Backward::To("0002_x2")), &pending).is_err());
}

/// Every `migo VERB NAME` that `hint` names is a request `plan` accepts for `entries`, and it
/// names at least one.
fn assert_ways_out_work(hint: &str, name: &str, entries: &[Entry]) {
    let mut named = 0;
    for verb in ["execute", "ignore", "rollback", "accept", "forget"] {
        if !hint.contains(&format!("`migo {verb} {name}`")) {
            continue;
        }
        named += 1;
        let request = match verb {
            "execute" => Request::Execute(Forward::Name(name)),
            "ignore" => Request::Ignore(Some(name)),
            "rollback" => Request::Rollback(Backward::Name(name)),
            "accept" => Request::Accept(name),
            _ => Request::Forget(name),
        };
        if let Err(e) = plan(request, entries) {
            panic!("the hint {hint:?} names `migo {verb} {name}`, which plan refuses: {e}");
        }
    }
    assert!(named > 0, "the hint {hint:?} names no way out");
}

#[test]
fn every_way_out_a_hint_names_is_one_plan_takes() {
    use crate::ground::Direction;
    use crate::migration::failure::StepError;
    let files = [file(1, "0001_a"), file(2, "0002_b")];
    for direction in [Direction::Up, Direction::Down] {
        for status in [Status::Failed, Status::Interrupted] {
            let mut r = record(&files[0], status);
            r.direction = direction;
            let e = entries(&files, &[r], false);
            let rollback = direction == Direction::Down;
            // What `execute` says when this migration blocks it.
            let blocked = plan(Request::Execute(Forward::All), &e).unwrap_err();
            assert_ways_out_work(&blocked.hint().unwrap(), "0001_a", &e);
            // What the run said when it left the migration in this state.
            let ended = match status {
                Status::Failed => vec![Error::MigrationFailed {
                    name: "0001_a".into(),
                    error: Box::new(StepError::Compiled("boom".into())),
                    done: Vec::new(),
                    direction,
                    rolled_back: false,
                }],
                _ => vec![
                    Error::Interrupted {
                        signal: libc::SIGTERM,
                        step: Some("0001_a".into()),
                        done: Vec::new(),
                        rollback,
                    },
                    Error::ConnectionLost {
                        target: "t".into(),
                        name: "0001_a".into(),
                        message: "gone".into(),
                        started: true,
                        rollback,
                    },
                ],
            };
            for error in ended {
                assert_ways_out_work(&error.hint().unwrap(), "0001_a", &e);
            }
            // `execute NAME` refused for an unfinished rollback names ways out that work.
            if let Err(refused) = plan(Request::Execute(Forward::Name("0001_a")), &e) {
                assert!(rollback, "{refused}");
                assert_ways_out_work(&refused.hint().unwrap(), "0001_a", &e);
            }
        }
    }
}

#[test]
fn a_rolled_back_transaction_names_only_ways_out_that_work() {
    use crate::ground::Direction;
    use crate::migration::failure::StepError;
    let files = [file(1, "0001_a"), file(2, "0002_b")];
    // The transaction left the record as it was: none before `up`, applied before `down`.
    for (direction, records) in [
        (Direction::Up, vec![]),
        (Direction::Down, vec![record(&files[0], Status::Applied)]),
    ] {
        let e = entries(&files, &records, false);
        let error = Error::MigrationFailed {
            name: "0001_a".into(),
            error: Box::new(StepError::RolledBack(Box::new(StepError::Compiled(
                "boom".into(),
            )))),
            done: Vec::new(),
            direction,
            rolled_back: true,
        };
        assert_ways_out_work(&error.hint().unwrap(), "0001_a", &e);
    }
}

/// A history `0001_a` … `0003_c`, a data step `0002_b` kept beside the checkpoint `0004_cp`
/// (which replaces `0001_a` and `0003_c`), and a later `0005_d`.
fn squashed() -> Vec<Source> {
    let mut checkpoint = file(4, "0004_cp");
    checkpoint.checkpoint = Some(vec!["0001_a".into(), "0003_c".into()]);
    vec![
        file(1, "0001_a"),
        file(2, "0002_b"),
        file(3, "0003_c"),
        checkpoint,
        file(5, "0005_d"),
    ]
}

fn states(e: &[Entry]) -> Vec<(&str, &str)> {
    e.iter()
        .map(|e| (e.name.as_str(), e.state.as_str()))
        .collect()
}

#[test]
fn a_fresh_database_runs_the_checkpoint_first_instead_of_its_history() {
    let files = squashed();
    let e = entries(&files, &[], false);
    assert_eq!(
        states(&e),
        [
            ("0001_a", "replaced"),
            ("0002_b", "pending"),
            ("0003_c", "replaced"),
            ("0004_cp", "pending"),
            ("0005_d", "pending"),
        ]
    );
    assert_eq!(e[0].replaced_by.as_deref(), Some("0004_cp"));
    let all = plan(Request::Execute(Forward::All), &e).unwrap();
    assert_eq!(
        names(&all),
        [
            ("0004_cp", Action::Up),
            ("0002_b", Action::Up),
            ("0005_d", Action::Up)
        ]
    );
    // `--to` follows the order the migrations run in.
    let to = plan(Request::Execute(Forward::To("0002_b")), &e).unwrap();
    assert_eq!(
        names(&to),
        [("0004_cp", Action::Up), ("0002_b", Action::Up)]
    );
    let one = plan(Request::Execute(Forward::Steps(1)), &e).unwrap();
    assert_eq!(names(&one), [("0004_cp", Action::Up)]);
    // A replaced migration never runs there, by name or as a target.
    for request in [
        Request::Execute(Forward::Name("0001_a")),
        Request::Execute(Forward::To("0003_c")),
        Request::Ignore(Some("0001_a")),
    ] {
        let err = plan(request, &e).unwrap_err();
        assert!(
            matches!(err, Error::Refused(Refusal::Replaced { .. })),
            "{err}"
        );
    }
    assert!(plan(Request::Rollback(Backward::Name("0001_a")), &e).is_err());
    // Nothing replaced is a problem for `check`.
    assert!(!e[0].is_problem());
}

#[test]
fn after_the_checkpoint_its_history_stays_replaced_and_the_kept_steps_are_not_late() {
    let files = squashed();
    let records = [applied_at(&files[3], 10)];
    let e = entries(&files, &records, false);
    assert_eq!(
        states(&e),
        [
            ("0001_a", "replaced"),
            ("0002_b", "pending"),
            ("0003_c", "replaced"),
            ("0004_cp", "applied"),
            ("0005_d", "pending"),
        ]
    );
    assert!(!e[1].out_of_order, "a kept step runs after its checkpoint");
    let all = plan(Request::Execute(Forward::All), &e).unwrap();
    assert_eq!(
        names(&all),
        [("0002_b", Action::Up), ("0005_d", Action::Up)]
    );
    // A migration applied after the checkpoint makes a pending one below it late again.
    let records = [applied_at(&files[3], 10), applied_at(&files[4], 20)];
    let e = entries(&files, &records, false);
    assert!(e[1].out_of_order);
}

#[test]
fn a_database_with_the_history_records_the_checkpoint_without_running_it() {
    let files = squashed();
    let history = [
        applied_at(&files[0], 1),
        applied_at(&files[1], 2),
        applied_at(&files[2], 3),
    ];
    let e = entries(&files, &history, false);
    assert_eq!(e[3].state, State::Pending);
    let all = plan(Request::Execute(Forward::All), &e).unwrap();
    assert_eq!(
        names(&all),
        [("0004_cp", Action::Ignore), ("0005_d", Action::Up)]
    );
    let named = plan(Request::Execute(Forward::Name("0004_cp")), &e).unwrap();
    assert_eq!(names(&named), [("0004_cp", Action::Ignore)]);
    // Part of the history: the rest runs first, then the record; by name it is refused.
    let part = entries(&files, &history[..1], false);
    let all = plan(Request::Execute(Forward::All), &part).unwrap();
    assert_eq!(
        names(&all),
        [
            ("0002_b", Action::Up),
            ("0003_c", Action::Up),
            ("0004_cp", Action::Ignore),
            ("0005_d", Action::Up)
        ]
    );
    let err = plan(Request::Execute(Forward::Name("0004_cp")), &part).unwrap_err();
    assert!(
        matches!(&err, Error::Refused(Refusal::HistoryUnfinished { first, .. }) if first == "0003_c"),
        "{err}"
    );
    // Once recorded, the history stays as it is recorded.
    let mut all_done = history.to_vec();
    let mut cp = record(&files[3], Status::Ignored);
    cp.applied_at = Some(mongodb::bson::DateTime::from_millis(4));
    all_done.push(cp);
    let e = entries(&files, &all_done, false);
    assert_eq!(
        states(&e)[..4],
        [
            ("0001_a", "applied"),
            ("0002_b", "applied"),
            ("0003_c", "applied"),
            ("0004_cp", "ignored"),
        ]
    );
}

#[test]
fn a_newer_checkpoint_stands_for_an_older_one() {
    let mut files = squashed();
    let mut newer = file(6, "0006_cp2");
    newer.checkpoint = Some(
        ["0001_a", "0002_b", "0003_c", "0004_cp", "0005_d"]
            .map(String::from)
            .to_vec(),
    );
    files.push(newer);
    let e = entries(&files, &[], false);
    assert!(e[..5].iter().all(|e| e.state == State::Replaced));
    assert!(e[..5]
        .iter()
        .all(|e| e.replaced_by.as_deref() == Some("0006_cp2")));
    let all = plan(Request::Execute(Forward::All), &e).unwrap();
    assert_eq!(names(&all), [("0006_cp2", Action::Up)]);
    // A database made from the first checkpoint records the second over its history.
    let records = [
        applied_at(&files[3], 1),
        applied_at(&files[1], 2),
        applied_at(&files[4], 3),
    ];
    let e = entries(&files, &records, false);
    assert_eq!(e[0].replaced_by.as_deref(), Some("0004_cp"));
    let all = plan(Request::Execute(Forward::All), &e).unwrap();
    assert_eq!(names(&all), [("0006_cp2", Action::Ignore)]);
}

#[test]
fn a_replay_follows_what_the_database_ran() {
    let files = squashed();
    // Fresh, then the checkpoint: the checkpoint and what ran after it, in applied order.
    let fresh = [
        applied_at(&files[3], 1),
        applied_at(&files[1], 2),
        applied_at(&files[4], 3),
    ];
    let e = entries(&files, &fresh, false);
    let order: Vec<&str> = checkpoint::replay(&e)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(order, ["0004_cp", "0002_b", "0005_d"]);
    // The whole history, then the checkpoint recorded over it: the history, not the checkpoint.
    let mut history = vec![
        applied_at(&files[0], 1),
        applied_at(&files[2], 2),
        applied_at(&files[1], 3),
    ];
    let mut cp = record(&files[3], Status::Ignored);
    cp.applied_at = Some(mongodb::bson::DateTime::from_millis(4));
    history.push(cp);
    let e = entries(&files, &history, false);
    let order: Vec<&str> = checkpoint::replay(&e)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(order, ["0001_a", "0003_c", "0002_b"]);
}

#[test]
fn the_history_may_lose_its_files_once_its_checkpoint_is_recorded() {
    let files = squashed();
    let mut records = vec![
        applied_at(&files[0], 1),
        applied_at(&files[1], 2),
        applied_at(&files[2], 3),
    ];
    let mut cp = record(&files[3], Status::Ignored);
    cp.applied_at = Some(mongodb::bson::DateTime::from_millis(4));
    records.push(cp);
    records.push(applied_at(&files[4], 5));
    // The replaced files are deleted; the kept one stays.
    let kept: Vec<Source> = files
        .iter()
        .filter(|f| !["0001_a", "0003_c"].contains(&f.name.as_str()))
        .cloned()
        .collect();
    let e = entries(&kept, &records, false);
    assert_eq!(
        states(&e),
        [
            ("0001_a", "applied"),
            ("0002_b", "applied"),
            ("0003_c", "applied"),
            ("0004_cp", "ignored"),
            ("0005_d", "applied"),
        ]
    );
    assert!(e.iter().all(|e| !e.is_problem()));
    assert_eq!(e[0].replaced_by.as_deref(), Some("0004_cp"));
    // By name it is applied, not replaced.
    let err = plan(Request::Execute(Forward::Name("0001_a")), &e).unwrap_err();
    assert!(
        matches!(err, Error::Refused(Refusal::AlreadyDone { .. })),
        "{err}"
    );
    // The replay runs the checkpoint where its history began, in place of it.
    let order: Vec<&str> = checkpoint::replay(&e)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(order, ["0004_cp", "0002_b", "0005_d"]);
    // Without the checkpoint recorded, a file gone is missing.
    let e = entries(&kept, &records[..3], false);
    assert_eq!(e[0].state, State::Missing);
}

#[test]
fn rolling_back_past_a_recorded_checkpoint_drops_its_record_only() {
    let files = squashed();
    let mut records = vec![
        applied_at(&files[0], 1),
        applied_at(&files[1], 2),
        applied_at(&files[2], 3),
    ];
    let mut cp = record(&files[3], Status::Ignored);
    cp.applied_at = Some(mongodb::bson::DateTime::from_millis(4));
    records.push(cp);
    let e = entries(&files, &records, false);
    let last = plan(Request::Rollback(Backward::Last(2)), &e).unwrap();
    assert_eq!(
        names(&last),
        [("0004_cp", Action::Forget), ("0003_c", Action::Down)]
    );
    // Where it ran (a fresh database), it made everything: it cannot be undone.
    let ran = [applied_at(&files[3], 1)];
    let e = entries(&files, &ran, false);
    let step = plan(Request::Rollback(Backward::Name("0004_cp")), &e).unwrap();
    assert_eq!(names(&step), [("0004_cp", Action::Down)]);
}
