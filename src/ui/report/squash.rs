//! What `squash` reports: the checkpoint it wrote (what it replaces, what it keeps and drops,
//! how many commands make the schema), or how the checkpoint differs from its history when the
//! check failed; as text or as one JSON document.

use serde::Serialize;

use super::drift::{differences, DifferenceView};
use super::print_json;
use crate::ground::escape::escape;
use crate::ground::output::Output;
use crate::schema::Difference;

/// What `squash` did, for its report.
#[derive(Debug, Default)]
pub(crate) struct Squashed {
    pub(crate) to: String,
    /// The checkpoint's file, once written.
    pub(crate) file: Option<String>,
    pub(crate) replaces: Vec<String>,
    pub(crate) kept: Vec<String>,
    pub(crate) dropped: Vec<String>,
    pub(crate) collections: usize,
    pub(crate) indexes: usize,
    pub(crate) commands: usize,
    /// How the checkpoint differs from the history, when the check failed, and at which stage.
    pub(crate) differences: Vec<Difference>,
    pub(crate) stage: Option<&'static str>,
}

/// `squash --json`.
#[derive(Debug, Serialize)]
struct SquashReport<'a> {
    ok: bool,
    file: Option<&'a str>,
    to: &'a str,
    replaces: &'a [String],
    kept: &'a [String],
    dropped: &'a [String],
    collections: usize,
    indexes: usize,
    commands: usize,
    differences: Vec<DifferenceView<'a>>,
}

/// The checkpoint written, or the check's differences.
pub(crate) fn squashed(out: &Output, s: &Squashed) {
    if out.json {
        let report = SquashReport {
            ok: s.differences.is_empty(),
            file: s.file.as_deref(),
            to: &s.to,
            replaces: &s.replaces,
            kept: &s.kept,
            dropped: &s.dropped,
            collections: s.collections,
            indexes: s.indexes,
            commands: s.commands,
            differences: s.differences.iter().map(DifferenceView::of).collect(),
        };
        return print_json(out, &report);
    }
    if !s.differences.is_empty() {
        out.print(&format!(
            "{}, applied to an empty database, would not make what the migrations up to `{}` \
             make (migrations → checkpoint):",
            s.stage.unwrap_or("the checkpoint"),
            escape(&s.to)
        ));
        differences(out, &s.differences, false);
        return;
    }
    let Some(file) = &s.file else { return };
    out.print(&format!(
        "wrote {}: {} collection(s) and {} index(es) in {} command(s), in place of {} \
         migration(s) up to `{}`",
        escape(file),
        s.collections,
        s.indexes,
        s.commands,
        s.replaces.len(),
        escape(&s.to)
    ));
    if !s.kept.is_empty() {
        out.print(&format!(
            "kept, run after it on a fresh database: {}",
            s.kept.join(", ")
        ));
    }
    if !s.dropped.is_empty() {
        out.print(&format!(
            "dropped, never run on a fresh database: {}",
            s.dropped.join(", ")
        ));
    }
    out.print(
        "checked: applied to an empty scratch database, it makes exactly what those migrations \
         make; databases that have them record it without running it",
    );
}
