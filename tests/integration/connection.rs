//! Reaching the server: when every seed host refuses the connection, migo says so at once
//! instead of waiting out the server-selection timeout; a host that does not answer still gets
//! the whole timeout.

use std::time::{Duration, Instant};

use crate::push;
use crate::test::Test;

/// A port on 127.0.0.1 where nothing listens (bound, then let go).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn project(uri: &str) -> Test {
    let t = Test::new().migration("0001_a.json", &push(1));
    let config = format!(
        "[mongo]\nuri = \"{uri}\"\ndatabase = \"{}\"\ntimeout_secs = 30\n",
        t.db_name
    );
    t.raw_config(&config)
}

#[test]
fn a_refused_connection_is_said_at_once_not_after_the_timeout() {
    let (one, two) = (closed_port(), closed_port());
    for (uri, hosts) in [
        (
            format!("mongodb://127.0.0.1:{one}"),
            format!("127.0.0.1:{one}"),
        ),
        (
            format!("mongodb://127.0.0.1:{one},localhost:{two}/?appName=x"),
            format!("127.0.0.1:{one},localhost:{two}"),
        ),
    ] {
        let t = project(&uri);
        for command in ["list", "execute"] {
            let started = Instant::now();
            let run = t.run(&[command]);
            let took = started.elapsed();
            // The target and the hint write the hosts the same way.
            run.code(5).stdout_is("").stderr_is(&format!(
                "error: cannot connect to default: database `{}` on {hosts}: connection refused; \
                 hint: is the server running on {hosts}? Start it, or fix `host`/`port`/`uri` \
                 under `[mongo]` (or `--host`/`--port`/`--uri`)\n",
                t.db_name,
            ));
            // The configured timeout is 30 s: the answer came long before it.
            assert!(took < Duration::from_secs(5), "{command} took {took:?}");
        }
    }
}

#[test]
fn a_host_that_does_not_answer_still_gets_the_timeout() {
    // The kernel completes the handshake with a listener nobody accepts from: connected, silent.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let quiet = silent.local_addr().unwrap().port();
    let refused = closed_port();
    let t = Test::new().migration("0001_a.json", &push(1));
    let config = format!(
        "[mongo]\nuri = \"mongodb://127.0.0.1:{quiet},127.0.0.1:{refused}\"\ndatabase = \"{}\"\ntimeout_secs = 1\n",
        t.db_name
    );
    let t = t.raw_config(&config);
    let started = Instant::now();
    let run = t.run(&["list"]);
    let took = started.elapsed();
    run.code(5).stdout_is("").stderr_is(&format!(
        "error: cannot connect to default: database `{}` on 127.0.0.1:{quiet},127.0.0.1:{refused}: \
         no server answered within 1s (connection refused); hint: check `[mongo]` host/port/uri \
         and that the server runs; raise `[mongo] timeout_secs` for a slow network\n",
        t.db_name
    ));
    assert!(took >= Duration::from_secs(1), "it gave up after {took:?}");
    drop(silent);
}
