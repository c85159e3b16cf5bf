//! The database server the tests run against: `MIGO_TEST_URI` when set (any MongoDB), otherwise a
//! SecantusDB started on a free port, once per test process, and stopped by PID when the tests end.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use mongodb::sync::Client;

/// A running server and how to reach it.
pub struct Server {
    /// Connection string without a database, e.g. `mongodb://127.0.0.1:40123`.
    pub uri: String,
    pub host: String,
    pub port: u16,
    /// The watchdog shell, for a server these tests started.
    watchdog: Option<Mutex<Child>>,
}

/// The server shared by all tests of this process.
pub(crate) fn shared() -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(|| match std::env::var("MIGO_TEST_URI") {
        Ok(uri) if !uri.is_empty() => Server::external(&uri),
        _ => Server::start(&[], None),
    })
}

/// Whether the tests run against a server given by `MIGO_TEST_URI`.
pub(crate) fn is_external() -> bool {
    std::env::var("MIGO_TEST_URI").is_ok_and(|u| !u.is_empty())
}

impl Server {
    fn external(uri: &str) -> Server {
        let uri = uri.trim_end_matches('/').to_string();
        let authority = uri.split("://").nth(1).unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let authority = authority.split(['/', '?', ',']).next().unwrap_or_default();
        let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "27017"));
        Server {
            uri: uri.clone(),
            host: host.into(),
            port: port.parse().unwrap_or(27017),
            watchdog: None,
        }
    }

    /// Starts SecantusDB with `flags`, in memory or on `storage`; waits until it answers.
    pub fn start(flags: &[&str], storage: Option<&Path>) -> Server {
        Server::start_on(free_port(), flags, storage)
    }

    /// [`Server::start`] on `port` (a server that restarts where it was).
    pub fn start_on(port: u16, flags: &[&str], storage: Option<&Path>) -> Server {
        let storage = storage.map_or(":memory:".to_string(), |p| p.display().to_string());
        let binary = secantusd();
        // A watchdog shell owns the server: it stops it when this test process is gone, so no
        // server outlives the tests even when they panic or are killed.
        let script = r#"server="$1"; shift; test_pid="$1"; shift
"$server" "$@" </dev/null >/dev/null 2>&1 & s=$!
trap 'kill $s 2>/dev/null; wait $s; exit 0' TERM INT
while kill -0 "$test_pid" 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 0.5; done
kill $s 2>/dev/null; wait $s"#;
        let child = Command::new("sh")
            .args(["-c", script, "watchdog"])
            .arg(&binary)
            .arg(std::process::id().to_string())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
                &storage,
            ])
            .args(["--log-level", "WARNING"])
            .args(flags)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let server = Server {
            uri: format!("mongodb://127.0.0.1:{port}"),
            host: "127.0.0.1".into(),
            port,
            watchdog: Some(Mutex::new(child)),
        };
        server.wait_until_up();
        server
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let uri = format!(
                "{}/?serverSelectionTimeoutMS=500&connectTimeoutMS=500",
                self.uri
            );
            let ping = Client::with_uri_str(&uri)
                .and_then(|c| c.database("admin").run_command(doc! {"ping": 1}).run());
            if ping.is_ok() || self.watchdog.is_none() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "SecantusDB did not answer on {} within 60s",
                self.uri
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops a server these tests started (by its watchdog's PID) and waits for the port to close.
    pub fn stop(&self) {
        let Some(watchdog) = &self.watchdog else {
            return;
        };
        let mut watchdog = watchdog.lock().expect("watchdog");
        // SIGTERM, not SIGKILL: the watchdog's trap stops the server before it exits.
        let _ = Command::new("kill").arg(watchdog.id().to_string()).status();
        let _ = watchdog.wait();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A driver client for assertions.
    pub fn client(&self) -> Client {
        Client::with_uri_str(&self.uri).expect("test client")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The SecantusDB launcher: `MIGO_SECANTUSD`, or the project's venv (`scripts/setup server`).
fn secantusd() -> PathBuf {
    match std::env::var("MIGO_SECANTUSD") {
        Ok(path) => path.into(),
        Err(_) => crate::tools::installed(
            ".tools/venv/bin/secantusd-py",
            "server",
            "SecantusDB is not installed (or set MIGO_TEST_URI to use another server)",
        ),
    }
}
