//! A real OpenSSH server for the remote hook's tests: `/usr/sbin/sshd` on 127.0.0.1 and a free
//! port, with a throwaway host key, client key and authorized_keys in a temp dir, stopped by PID.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd that accepts `client_key` for the current user.
pub(crate) struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// `ssh-keygen` a new ed25519 key pair at `path` (and `path.pub`).
pub(crate) fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

impl Sshd {
    /// Starts one; `None` when sshd is not installed outside CI (in CI that is a failure).
    pub(crate) fn start() -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            assert!(
                std::env::var("CI").is_err(),
                "{SSHD} is missing: .ci/run installs openssh-server"
            );
            eprintln!("skipped: {SSHD} is not installed (apt-get install openssh-server)");
            return None;
        }
        // sshd insists on its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        keygen(&path("host_key"));
        keygen(&path("client_key"));
        std::fs::copy(path("client_key.pub"), path("authorized_keys")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
             UsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel ERROR\n",
            path("host_key").display(),
            path("authorized_keys").display(),
            path("sshd.pid").display(),
        );
        std::fs::write(path("sshd_config"), config).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Sshd { port, dir, child })
    }

    /// A file in the server's temp dir.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The known_hosts line that trusts this server's host key.
    pub(crate) fn known_hosts_line(&self) -> String {
        let key = std::fs::read_to_string(self.path("host_key.pub")).unwrap();
        let mut words = key.split_whitespace();
        let (kind, data) = (words.next().unwrap(), words.next().unwrap());
        format!("[127.0.0.1]:{} {kind} {data}\n", self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
