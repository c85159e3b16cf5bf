//! What `snapshot` prints: the canonical schema document, pretty-printed (two spaces, one field
//! per line), so that a file of it diffs line by line in a pull request.

use mongodb::bson::Bson;

use crate::ground::output::Output;
use crate::migration::json::typed_json;
use crate::schema::Snapshot;

/// The snapshot as the text `snapshot` prints or saves, ending with a newline.
pub(crate) fn snapshot_text(snapshot: &Snapshot) -> String {
    let value = typed_json(&Bson::Document(snapshot.document()));
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Prints the snapshot on stdout (text and `--json` alike: it is JSON).
pub(crate) fn snapshot(out: &Output, snapshot: &Snapshot) {
    out.print(snapshot_text(snapshot).trim_end());
}
