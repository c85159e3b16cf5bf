//! What lint and preflight read of a migration without running it: its operations, from a
//! `.json` migration's commands, from what [`super::recognize`] finds in a script's text (with a
//! code backfill's walk first, [`super::declaration`]), or a compiled backfill's walk.

use super::json::JsonMigration;
use super::operation::{self, Operations};
use super::recognize::{self, Syntax};
use super::{declaration, Body};
use crate::error::Result;
use crate::ground::source::Source;

/// The operations of a loaded migration; a script's from the text discovery read.
pub(crate) fn of_body(body: &Body, source: &Source) -> Operations {
    match body {
        Body::Json(m) => operation::of_json(m),
        Body::Interpreted(_) | Body::Script(_) => of_script(source),
        Body::Compiled(m) => {
            let mut operations = Operations::opaque();
            let walk =
                m.1.as_deref()
                    .map(|b| operation::of_backfill(b, operation::Place::Backfill));
            operations.ops.extend(walk);
            operations
        }
    }
}

/// The operations of a migration's file, read without running anything: a `.json` migration's
/// commands (a malformed one is an error, as for `execute`), or what can be recognised in a
/// `.js` or `.py` script; anything else is opaque.
pub(crate) fn of_file(source: &Source) -> Result<Operations> {
    if source.is_compiled() {
        return Ok(Operations::opaque());
    }
    if source.extension() == "json" {
        return JsonMigration::load(source).map(|m| operation::of_json(&m));
    }
    Ok(of_script(source))
}

/// What can be recognised in a script's text.
fn of_script(source: &Source) -> Operations {
    // The bytes discovery read and hashed, never the file again.
    let text = source.text();
    let mut operations = match source.extension() {
        "js" => recognize::script(text, Syntax::JavaScript),
        "py" => recognize::script(text, Syntax::Python),
        _ => return Operations::opaque(),
    };
    // A code backfill reads as its walk first (one update over its filter, its change
    // unknown), then the calls of its `batch`.
    if let Some((backfill, line)) = declaration::declared(text, source.extension()) {
        let walk = operation::of_backfill(&backfill, operation::Place::Line(line));
        operations.ops.insert(0, walk);
    }
    operations
}
