//! What goes to stdout: one file per kind of report, each rendered as text or, with `--json`,
//! as one JSON document, by the same function, so the two cannot drift apart. Shared here: the
//! aligned table, the target, and how times and durations read.

mod backup;
mod fleet;
mod history;
mod run;
mod status;
mod trial;

use std::time::Duration;

use anstyle::Style;
use mongodb::bson::DateTime;
use serde_json::{json, Value};

use crate::config::Target;
use crate::ui::output::Output;

pub(crate) use backup::{dumped, restore_plan, restored};
pub(crate) use fleet::{fleet_run, fleet_status};
pub(crate) use history::history;
pub(crate) use run::{dry_run, run_summary, step_done};
pub(crate) use status::{check, list, summary, version};
pub(crate) use trial::{trial, trial_summary};

/// `{environment, hosts, database}`: where a command looked, for `--json`.
pub(crate) fn target_json(target: &Target) -> Value {
    json!({
        "environment": target.environment,
        "hosts": target.host_list(),
        "database": target.database,
    })
}

/// Prints `rows` under `header` in aligned columns, each row in its style.
pub(crate) fn table<const N: usize>(
    out: &Output,
    header: &[&str; N],
    rows: Vec<([String; N], Style)>,
) {
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .map(|(cells, _)| cells[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    out.print(&pad(&header.map(String::from), &widths));
    for (cells, style) in &rows {
        out.print(&out.paint(&pad(cells, &widths), *style));
    }
}

fn pad(cells: &[String], widths: &[usize]) -> String {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    line.join("  ").trim_end().to_string()
}

/// `2026-11-21 23:59:42Z`
pub(crate) fn timestamp(at: DateTime) -> String {
    let text = at.try_to_rfc3339_string().unwrap_or_default();
    format!("{}Z", text.get(..19).unwrap_or(&text).replace('T', " "))
}

pub(crate) fn ms_to_duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}

/// `12ms`, `3.4s`, `2m05s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{:.1}s", d.as_secs_f64()),
        _ => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(3400)), "3.4s");
        assert_eq!(duration(Duration::from_millis(125_000)), "2m05s");
    }

    #[test]
    fn timestamps_are_utc_to_the_second() {
        assert_eq!(
            timestamp(DateTime::from_millis(1_700_000_000_123)),
            "2023-11-14 22:13:20Z"
        );
    }
}
