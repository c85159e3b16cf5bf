//! `preflight` on a fleet: the migration files read once per cluster (their operations too), then
//! on each member (`--jobs` at a time) its registry and the checks that refuse (as `execute`
//! runs them: duplicates, failing documents, index clashes) over its own pending steps; one
//! table with a row per member that fails, and the fleet's exit (16 when members fail a check).

use std::collections::HashMap;

use anstyle::{AnsiColor, Style};

use super::members::Member;
use super::outcome::{failure_of, first_ten, Failure};
use super::{each_member, Fleet};
use crate::error::{exit, Error, Result};
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::ground::source::Source;
use crate::migration::operation::Operations;
use crate::migration::reading;
use crate::plan::{self, Forward, Request};
use crate::preflight::{self, Depth, Report, Step};
use crate::store::connection;
use crate::store::registry::Registry;
use crate::ui::report::{print_json, table, TargetView};

/// One member's preflight.
#[derive(Debug)]
pub(crate) struct MemberPreflight<'m> {
    pub(crate) member: &'m Member,
    /// Its pending migrations and what the checks found, or why it could not be checked.
    pub(crate) result: std::result::Result<(Vec<String>, Report), Failure>,
}

impl MemberPreflight<'_> {
    /// Whether a check failed, or the member could not be checked.
    pub(crate) fn failed(&self) -> bool {
        match &self.result {
            Ok((_, report)) => report.failures().next().is_some(),
            Err(_) => true,
        }
    }
}

/// Runs preflight on every member, prints the table, and fails naming the members that fail.
pub(super) async fn preflight(fleet: &Fleet<'_>) -> Result<()> {
    let sources = fleet.sources()?;
    // Each cluster's files, read once as operations: a malformed file stops the fleet here.
    let operations: Vec<HashMap<String, Operations>> = sources
        .iter()
        .map(|files| {
            files
                .iter()
                .map(|f| Ok((f.name.clone(), reading::of_file(f)?)))
                .collect::<Result<_>>()
        })
        .collect::<Result<_>>()?;
    let results = each_member(&fleet.members, fleet.jobs, |member| {
        let files = &sources[member.cluster];
        let ops = &operations[member.cluster];
        async move {
            MemberPreflight {
                member,
                result: check(member, files, ops)
                    .await
                    .map_err(|e| failure_of(member, &e)),
            }
        }
    })
    .await;
    show(fleet.out, &results);
    verdict(&results)
}

/// One member: its registry, its pending steps, the checks.
async fn check(
    member: &Member,
    files: &[Source],
    ops: &HashMap<String, Operations>,
) -> Result<(Vec<String>, Report)> {
    let settings = &member.settings;
    let db = connection::open(&settings.target).await?;
    let (records, lock) = Registry::new(&db, &settings.migrations.collection)
        .state()
        .await
        .map_err(|e| connection::classify(&settings.target, e))?;
    let entries = plan::entries(files, &records, lock.live_holder().is_some());
    let plan = plan::plan(
        Request::Execute(Forward::All),
        &entries,
        settings.migrations.policies,
        &Default::default(),
    )?;
    let steps: Vec<Step> = plan
        .steps
        .iter()
        .map(|s| Step {
            name: s.file.name.clone(),
            ops: ops
                .get(&s.file.name)
                .cloned()
                .unwrap_or_else(Operations::opaque),
        })
        .collect();
    let found = preflight::run(&db, &steps, Depth::Refusals).await?;
    Ok((steps.into_iter().map(|s| s.name).collect(), found))
}

/// 0 when every member passes; else the members that fail, with 16 when each failed a check
/// (the members' own code when they all agree on another, else 1).
fn verdict(results: &[MemberPreflight<'_>]) -> Result<()> {
    let failed: Vec<&MemberPreflight<'_>> = results.iter().filter(|r| r.failed()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    let codes: Vec<u8> = failed
        .iter()
        .map(|r| match &r.result {
            Ok(_) => exit::PREFLIGHT_FAILED,
            Err(f) => f.exit_code,
        })
        .collect();
    let code = if codes.iter().all(|c| *c == codes[0]) {
        codes[0]
    } else {
        exit::MIGRATION_FAILED
    };
    let names = first_ten(failed.iter().map(|r| r.member.name.clone()));
    Err(Error::Fleet {
        message: format!(
            "preflight: {} of {} databases would fail: {names}",
            failed.len(),
            results.len()
        ),
        hint: "the table names each database's migration and what fails it; `migo --database \
               NAME preflight` shows every check of one database"
            .into(),
        code,
    })
}

/// `--fleet preflight`: a row per database that fails (its first failing migration and check),
/// then the counts; or, with `--json`, every database's failures.
fn show(out: &Output, results: &[MemberPreflight<'_>]) {
    let failed = results.iter().filter(|r| r.failed()).count();
    if out.json {
        let databases: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                let (pending, failures, error) = match &r.result {
                    Ok((pending, report)) => (
                        serde_json::json!(pending),
                        serde_json::json!(report.failures().collect::<Vec<_>>()),
                        serde_json::Value::Null,
                    ),
                    Err(f) => (
                        serde_json::Value::Null,
                        serde_json::json!([]),
                        serde_json::json!(f),
                    ),
                };
                serde_json::json!({
                    "database": r.member.name,
                    "target": TargetView::of(&r.member.settings.target),
                    "ok": !r.failed(),
                    "pending": pending,
                    "failures": failures,
                    "error": error,
                })
            })
            .collect();
        let totals = serde_json::json!({
            "databases": results.len(),
            "ok": results.len() - failed,
            "failed": failed,
        });
        return print_json(
            out,
            &serde_json::json!({"databases": databases, "totals": totals}),
        );
    }
    let rows: Vec<([String; 3], Style)> = results
        .iter()
        .filter(|r| r.failed())
        .map(|r| {
            let cells = match &r.result {
                Ok((_, report)) => {
                    let mut failures = report.failures();
                    let first = failures.next().expect("a failed member has a failure");
                    let more = failures.count();
                    let more = if more > 0 {
                        format!(" (and {more} more)")
                    } else {
                        String::new()
                    };
                    [
                        escape(&r.member.name),
                        escape(&first.migration),
                        format!("{}{more}", first.detail),
                    ]
                }
                Err(f) => [escape(&r.member.name), String::new(), f.message.clone()],
            };
            (cells, Style::new().fg_color(Some(AnsiColor::Red.into())))
        })
        .collect();
    if !rows.is_empty() {
        table(out, &["DATABASE", "MIGRATION", "FAILS"], rows);
    }
    out.print(&format!(
        "preflight: {} databases: {} pass, {failed} fail",
        results.len(),
        results.len() - failed
    ));
}
