//! Programs the tests use besides the server: mongosh (from npm) and the venv's python (with
//! pymongo, which SecantusDB brings), both installed by `scripts/setup` on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// mongosh: `MIGO_TEST_MONGOSH`, or the project's `.tools/node`, installed on first use.
pub fn mongosh() -> PathBuf {
    static MONGOSH: OnceLock<PathBuf> = OnceLock::new();
    MONGOSH
        .get_or_init(|| {
            if let Ok(path) = std::env::var("MIGO_TEST_MONGOSH") {
                return path.into();
            }
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let mongosh = root.join(".tools/node/node_modules/.bin/mongosh");
            if !mongosh.exists() {
                let status = Command::new("bash")
                    .arg(root.join("scripts/setup"))
                    .arg("mongosh")
                    .status();
                assert!(
                    status.is_ok_and(|s| s.success()),
                    "cannot install mongosh with `scripts/setup mongosh` (needs npm)"
                );
            }
            mongosh
        })
        .clone()
}

/// A python with pymongo: the test server's venv.
pub fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/python");
    if !python.exists() {
        // The venv comes with the test server.
        let _ = crate::server::shared();
        let status = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup"))
            .arg("server")
            .status();
        assert!(status.is_ok_and(|s| s.success()), "cannot install the venv");
    }
    python
}
