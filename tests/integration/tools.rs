//! Programs the tests use besides the server: mongosh (from npm), the venv's python (with
//! pymongo, which SecantusDB brings) and the npm `mongodb` driver for migrate-mongo projects,
//! installed beforehand by `scripts/setup`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `relative` (a path under the repository), which `scripts/setup <component>` installs: the
/// tests never install anything themselves; a missing component fails with the command that
/// installs it (`bash scripts/test` runs `scripts/setup all` first).
pub(crate) fn installed(relative: &str, component: &str, why: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(relative);
    assert!(
        path.exists(),
        "{why}: {} is missing; install it with `bash scripts/setup {component}`",
        path.display()
    );
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
                "mongosh is not installed",
            ),
        })
        .clone()
}

/// A python with pymongo: the test server's venv.
pub(crate) fn python() -> PathBuf {
    installed(
        ".tools/venv/bin/python",
        "server",
        "the test venv is not installed",
    )
}

/// The npm `mongodb` driver (6.x) as `npm install mongodb` puts it in a project: the
/// `node_modules` directory `scripts/setup node-driver` installs.
pub(crate) fn node_modules() -> PathBuf {
    installed(
        ".tools/node-driver/node_modules/mongodb/package.json",
        "node-driver",
        "the npm mongodb driver is not installed",
    );
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node-driver/node_modules")
}
