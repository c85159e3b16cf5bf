//! A migration's registry record: what the registry says happened to it (its status, checksum,
//! who and when, a rollback in progress, a backfill's progress), as every stage reads it.

use std::time::Duration;

use mongodb::bson::{Bson, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::direction::Direction;
use crate::ground::source::Source;

/// A migration's recorded status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Started and not finished: running now, or its run died (then it reads as interrupted).
    Running,
    Applied,
    /// Registered as applied without running.
    Ignored,
    Failed,
    /// Its run was stopped (a signal) while it ran: it may be half done.
    Interrupted,
    /// A backfill stopped on purpose (`migo pause`) after a batch: `execute` resumes it.
    Paused,
    /// Rolled back: as good as no record (removed right after).
    RolledBack,
}

impl Status {
    /// The word used in the registry and in output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Applied => "applied",
            Status::Ignored => "ignored",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Paused => "paused",
            Status::RolledBack => "rolled_back",
        }
    }
}

/// A rollback that started on an applied migration and did not finish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rollback {
    pub(crate) started_at: DateTime,
    /// `user@host` of the process that ran it.
    pub(crate) who: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// A backfill's progress, kept in its record after every batch (through the fenced write), so
/// that a run that stops, however it stops, resumes after the last batch that was recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// The `_id` of the last document of the last batch recorded; none before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_id: Option<Bson>,
    /// The first `_id` of the last batch recorded: a resumed run checks that batch's documents
    /// no longer match the filter, as a running one checks each batch before the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) batch_from: Option<Bson>,
    /// Documents the recorded batches matched (and so changed).
    pub(crate) done: i64,
    /// Batches recorded.
    pub(crate) batches: i64,
    /// Documents to change in all, counted when the run started (`done` + what still matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<i64>,
    /// `total` is an estimate: counting exactly would have scanned an unindexed filter.
    #[serde(default)]
    pub(crate) estimated: bool,
    /// The batch size now (it adapts under `target_batch_ms`).
    pub(crate) batch_size: i64,
    /// Documents per second over the recent batches.
    #[serde(default)]
    pub(crate) rate: f64,
    /// Time spent in batches, over every run of it.
    #[serde(default)]
    pub(crate) elapsed_ms: i64,
    /// For transactional batches: the server session they run in, so that a run taking over
    /// after a kill can end the transaction the killed run left open (`killSessions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<Document>,
}

impl Checkpoint {
    /// `3,000 of about 20,000`: how far the backfill has come, in words.
    pub(crate) fn done_of_total(&self) -> String {
        crate::ground::words::done_of(self.done, self.total, self.estimated)
    }
}

/// A request, from another shell, that a running backfill stop after its current batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PauseRequest {
    pub(crate) at: DateTime,
    /// `user@host` of who asked.
    pub(crate) by: String,
}

/// One registry document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The migration's name, also its `_id`.
    #[serde(rename = "_id")]
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) number: i64,
    /// SHA-256 of the source when it was run.
    pub(crate) checksum: String,
    pub(crate) status: Status,
    /// Which way the last run went: `down` while (or after) a rollback failed or was interrupted.
    #[serde(default)]
    pub(crate) direction: Direction,
    pub(crate) started_at: DateTime,
    /// When it was applied (or failed); kept through a failed rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) applied_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<i64>,
    /// `user@host` of the process that applied it.
    pub(crate) who: String,
    pub(crate) tool_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// A rollback in progress, failed or interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rollback: Option<Rollback>,
    /// For a compiled migration: the binary that has it (only that binary can run it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) binary: Option<String>,
    /// For a record taken over from another tool's history: that tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) adopted_from: Option<String>,
    /// For a backfill: how far it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) backfill: Option<Checkpoint>,
    /// For a running backfill: a pause asked for by `migo pause`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pause: Option<PauseRequest>,
}

impl Record {
    /// A fresh record for `source` in `status`, stamped now.
    pub(crate) fn new(source: &Source, status: Status, who: &str) -> Record {
        Record {
            id: source.name.clone(),
            name: source.name.clone(),
            number: i64::try_from(source.number).unwrap_or(i64::MAX),
            checksum: source.checksum.clone(),
            status,
            direction: Direction::Up,
            started_at: DateTime::now(),
            applied_at: None,
            duration_ms: None,
            who: who.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            error: None,
            rollback: None,
            binary: source.binary.clone(),
            adopted_from: None,
            backfill: None,
            pause: None,
        }
    }

    /// A record of `name` that no registry holds: for work on a scratch database.
    pub(crate) fn unrecorded(name: &str) -> Record {
        Record {
            id: name.to_string(),
            name: name.to_string(),
            number: 0,
            checksum: String::new(),
            status: Status::Running,
            direction: Direction::Up,
            started_at: DateTime::now(),
            applied_at: None,
            duration_ms: None,
            who: String::new(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            error: None,
            rollback: None,
            binary: None,
            adopted_from: None,
            backfill: None,
            pause: None,
        }
    }

    /// Marks it finished with `status` after `elapsed`, in memory.
    pub(crate) fn finish(&mut self, status: Status, elapsed: Duration, error: Option<String>) {
        self.status = status;
        self.applied_at = Some(DateTime::now());
        self.duration_ms = Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        self.error = error;
    }

    /// Whether it counts as a record at all (a rolled-back one does not).
    pub(crate) fn is_live(&self) -> bool {
        self.status != Status::RolledBack
    }
}
