//! Programs the tests use besides the server: mongosh (from npm) and the venv's python (with
//! pymongo, which SecantusDB brings), installed by `scripts/setup` on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `relative` (a path under the repository), installed with `scripts/setup <component>` when it
/// is missing; `why` says what failed.
pub(crate) fn installed(relative: &str, component: &str, why: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(relative);
    if !path.exists() {
        let status = Command::new("bash")
            .arg(root.join("scripts/setup"))
            .arg(component)
            .status();
        assert!(status.is_ok_and(|s| s.success()), "{why}");
    }
    path
}

/// mongosh: `MIGO_TEST_MONGOSH`, or the project's `.tools/node`.
pub(crate) fn mongosh() -> PathBuf {
    static MONGOSH: OnceLock<PathBuf> = OnceLock::new();
    MONGOSH
        .get_or_init(|| match std::env::var("MIGO_TEST_MONGOSH") {
            Ok(path) => path.into(),
            Err(_) => installed(
                ".tools/node/node_modules/.bin/mongosh",
                "mongosh",
                "cannot install mongosh with `scripts/setup mongosh` (needs npm)",
            ),
        })
        .clone()
}

/// A python with pymongo: the test server's venv.
pub(crate) fn python() -> PathBuf {
    installed(
        ".tools/venv/bin/python",
        "server",
        "cannot install the venv with `scripts/setup server`",
    )
}
