//! A full disk, for real: a tiny tmpfs mounted for one test and unmounted when it ends
//! (mounting needs root, which CI has; elsewhere the test is skipped).

use std::path::Path;
use std::process::Command;

/// A mounted tmpfs, unmounted on drop.
pub(crate) struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`64k`); `None` when not root outside CI (in CI it fails).
    pub(crate) fn mount(size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid(2) has no preconditions.
        #[allow(unsafe_code)]
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            assert!(
                std::env::var("CI").is_err(),
                "CI runs as root to mount a tmpfs"
            );
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(mounted.success(), "cannot mount a tmpfs");
        Some(Tmpfs { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
