//! The remote hook against a real sshd: `migo --env staging execute` runs on the "staging host"
//! (a second project directory reached over SSH), with its own migo.toml and migrations.

use std::path::{Path, PathBuf};

use crate::insert;
use crate::sshd::{keygen, Sshd};
use crate::test::Test;

/// The remote side: its own directory, migo.toml (the same database, a `staging` environment
/// without a remote) and migrations.
fn remote_workdir(t: &Test, migrations: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{}\n[environments.staging]\n", t.mongo_section());
    std::fs::write(dir.path().join("migo.toml"), config).unwrap();
    std::fs::create_dir(dir.path().join("mongomigrations")).unwrap();
    for (name, body) in migrations {
        std::fs::write(dir.path().join("mongomigrations").join(name), body).unwrap();
    }
    dir
}

/// The local side of `t`: a migration of its own, and `staging` pointing at the sshd, with
/// `env_extra` lines in the environment and `remote_extra` fields in its remote.
fn staging(
    t: Test,
    workdir: &Path,
    port: u16,
    key: &Path,
    known_hosts: &Path,
    extra: (&str, &str),
) -> Test {
    let (env_extra, remote_extra) = extra;
    let remote = format!(
        "[environments.staging]\n{env_extra}remote = {{ host = \"127.0.0.1\", port = {port}, user = \"{}\", identity_file = \"{}\", known_hosts = \"{}\", workdir = \"{}\", command = \"{}\", timeout_secs = 3{remote_extra} }}\n",
        whoami(),
        key.display(),
        known_hosts.display(),
        workdir.display(),
        env!("CARGO_BIN_EXE_migo"),
    );
    t.migration("0001_local.json", &insert("local"))
        .config(&remote)
}

/// [`staging`] with the defaults: the sshd's port, the accepted key, `known_hosts`.
fn local(t: Test, sshd: &Sshd, workdir: &Path, known_hosts: &Path) -> Test {
    let key = sshd.path("client_key");
    staging(t, workdir, sshd.port, &key, known_hosts, ("", ""))
}

fn whoami() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn trusted(sshd: &Sshd) -> PathBuf {
    let path = sshd.path("known_hosts");
    std::fs::write(&path, sshd.known_hosts_line()).unwrap();
    path
}

fn ids(t: &Test) -> Vec<String> {
    t.docs("items")
        .iter()
        .map(|d| d.get_str("_id").unwrap().to_string())
        .collect()
}

#[test]
fn execute_runs_on_the_remote_with_its_files_and_exit_code() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(
        &t,
        &[
            ("0001_remote.json", insert("remote-1")),
            ("0002_remote.json", insert("remote-2")),
        ],
    );
    let t = local(t, &sshd, workdir.path(), &trusted(&sshd));
    let run = t.run(&["--env", "staging", "execute"]);
    run.success()
        .stdout_has("applied 0001_remote")
        .stdout_has("applied 0002_remote")
        .stdout_has("2 migration(s) applied");
    assert_eq!(
        ids(&t),
        ["remote-1", "remote-2"],
        "not the remote's migrations"
    );

    // The remote run recorded where it came from.
    let history = t.run(&["--env", "staging", "history", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&history.success().stdout).unwrap();
    assert!(entries[0]["command"].as_str().unwrap().contains("--local"));
    assert!(entries[0]["remote"]["claimed_from"]
        .as_str()
        .unwrap()
        .contains('@'));
    assert_eq!(entries[0]["environment"], "staging");

    // A failing remote migration: its exit code and its error come back.
    std::fs::write(
        workdir.path().join("mongomigrations/0003_dup.json"),
        insert("remote-1"),
    )
    .unwrap();
    t.run(&["--env", "staging", "execute"])
        .code(1)
        .stderr_has("error: migration `0003_dup` failed");

    // `--local` runs here, with the local files.
    t.run(&["--env", "staging", "--local", "list"])
        .success()
        .stdout_has("0001_local");
}

#[test]
fn an_injected_argument_stays_one_literal_argument() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("r"))]);
    let t = local(t, &sshd, workdir.path(), &trusted(&sshd));
    t.run(&["--env", "staging", "execute", "0001_x; touch pwned"])
        .code(6)
        .stderr_has("no migration named `0001_x; touch pwned`");
    t.run(&["--env", "staging", "execute", "$(touch pwned2)"])
        .code(6);
    for dir in [
        workdir.path(),
        t.dir(),
        Path::new("/root"),
        Path::new("/tmp"),
    ] {
        assert!(
            !dir.join("pwned").exists() && !dir.join("pwned2").exists(),
            "{}",
            dir.display()
        );
    }
}

#[test]
fn host_keys_are_checked_and_failures_are_clear() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("r"))]);
    let key = sshd.path("client_key");
    let dir = workdir.path();

    // A changed key: known_hosts holds another key for this host and port.
    keygen(&sshd.path("other"));
    let other = std::fs::read_to_string(sshd.path("other.pub")).unwrap();
    let mut words = other.split_whitespace();
    let changed = sshd.path("changed_hosts");
    let line = format!(
        "[127.0.0.1]:{} {} {}\n",
        sshd.port,
        words.next().unwrap(),
        words.next().unwrap()
    );
    std::fs::write(&changed, line).unwrap();
    let t = local(t, &sshd, dir, &changed);
    t.run(&["--env", "staging", "list"])
        .code(12)
        .one_error_line()
        .stderr_has("the host key changed: the server now shows SHA256:")
        .stderr_has("ssh-keygen -R");

    // An unknown key: refused with its fingerprint, then accepted with the opt-in, then known.
    let fresh = sshd.path("fresh_hosts");
    let t = local(t, &sshd, dir, &fresh);
    t.run(&["--env", "staging", "list"])
        .code(12)
        .one_error_line()
        .stderr_has("unknown host key SHA256:")
        .stderr_has("accept_new_host_key = true");
    assert!(!fresh.exists());
    let opt_in = (", accept_new_host_key = true", "");
    let t = staging(t, dir, sshd.port, &key, &fresh, ("", opt_in.0));
    t.run(&["--env", "staging", "list"])
        .success()
        .stdout_has("0001_remote");
    let recorded = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        recorded.contains(&format!("[127.0.0.1]:{}", sshd.port)),
        "{recorded}"
    );
    let t = local(t, &sshd, dir, &fresh);
    t.run(&["--env", "staging", "list"]).success();

    // A key the server does not accept.
    keygen(&sshd.path("stranger"));
    let stranger = sshd.path("stranger");
    let t = staging(t, dir, sshd.port, &stranger, &fresh, ("", ""));
    t.run(&["--env", "staging", "list"])
        .code(12)
        .one_error_line()
        .stderr_has("authentication with the key")
        .stderr_has("failed");

    // Nothing listening: a clear error within the timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = staging(t, dir, closed, &key, &fresh, ("", ""));
    let started = std::time::Instant::now();
    t.run(&["--env", "staging", "list"])
        .code(12)
        .one_error_line()
        .stderr_has("cannot connect");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_confirm_environment_asks_and_yes_answers() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("r"))]);
    let key = sshd.path("client_key");
    let known = trusted(&sshd);
    let extra = ("confirm = true\n", "");
    let t = staging(t, workdir.path(), sshd.port, &key, &known, extra);
    t.run(&["--env", "staging", "execute"])
        .code(6)
        .one_error_line()
        .stderr_has("changes the `staging` environment, and needs confirmation");
    assert!(t.docs("items").is_empty());
    // Reads need no confirmation.
    t.run(&["--env", "staging", "list"]).success();
    t.run(&["--env", "staging", "execute", "--yes"])
        .success()
        .stdout_has("applied 0001_remote");
    assert_eq!(ids(&t), ["r"]);
}

#[test]
fn a_revoked_key_is_refused_and_accepting_a_new_one_keeps_the_file() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("r"))]);
    let key = sshd.path("client_key");
    let dir = workdir.path();
    // Another line trusts the key; a @revoked line revokes it: revoked wins.
    let trust = sshd.known_hosts_line();
    let revoked = format!("@revoked * {}", trust.split_once(' ').unwrap().1);
    let known = sshd.path("revoked_hosts");
    std::fs::write(&known, format!("{trust}{revoked}")).unwrap();
    let t = local(t, &sshd, dir, &known);
    t.run(&["--env", "staging", "list"])
        .code(12)
        .one_error_line()
        .stderr_has("is marked @revoked in");
    // Accepting new keys does not accept a revoked one either, and leaves the file alone.
    let only_revoked = sshd.path("only_revoked");
    let text = format!("# team hosts, keep this comment\n{revoked}");
    std::fs::write(&only_revoked, &text).unwrap();
    let t = staging(
        t,
        dir,
        sshd.port,
        &key,
        &only_revoked,
        ("", ", accept_new_host_key = true"),
    );
    t.run(&["--env", "staging", "list"]).code(12);
    assert_eq!(std::fs::read_to_string(&only_revoked).unwrap(), text);
    // A new key is appended: every line already there stays, comments included.
    let commented = sshd.path("commented_hosts");
    let before = "# team hosts, keep this comment\nexample.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake\n";
    std::fs::write(&commented, before).unwrap();
    let t = staging(
        t,
        dir,
        sshd.port,
        &key,
        &commented,
        ("", ", accept_new_host_key = true"),
    );
    t.run(&["--env", "staging", "list"]).success();
    let after = std::fs::read_to_string(&commented).unwrap();
    assert!(after.starts_with(before), "{after}");
    assert_eq!(after.lines().count(), 3, "{after}");
    let t = local(t, &sshd, dir, &commented);
    t.run(&["--env", "staging", "list"]).success();
}

#[test]
fn a_remote_killed_by_a_signal_is_128_plus_n_and_a_dropped_connection_says_so() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("r"))]);
    let key = sshd.path("client_key");
    let known = trusted(&sshd);
    // The "remote migo" kills itself with SIGTERM.
    let remote = format!(
        "[environments.staging]\nremote = {{ host = \"127.0.0.1\", port = {}, user = \"{}\", identity_file = \"{}\", known_hosts = \"{}\", workdir = \"{}\", command = \"kill -TERM $$; migo\", timeout_secs = 3 }}\n",
        sshd.port,
        whoami(),
        key.display(),
        known.display(),
        workdir.path().display(),
    );
    let t = t.config(&remote);
    t.run(&["--env", "staging", "list"]).code(143);

    // The connection drops mid-run (the remote's sshd session process is killed).
    let session = sshd.path("session.pid");
    let remote = format!(
        "[environments.staging]\nremote = {{ host = \"127.0.0.1\", port = {}, user = \"{}\", identity_file = \"{}\", known_hosts = \"{}\", workdir = \"{}\", command = \"echo $PPID > {}; sleep 30; migo\", timeout_secs = 3 }}\n",
        sshd.port,
        whoami(),
        key.display(),
        known.display(),
        workdir.path().display(),
        session.display(),
    );
    let t = t.config(&remote);
    let child = t
        .command(&["--env", "staging", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = crate::processes::pid_in(&session);
    crate::processes::signal(pid, libc::SIGKILL);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(12), "{stderr}");
    assert!(
        stderr.contains("the remote run may still be going; check with `migo --env staging list` and `migo --env staging history`"),
        "{stderr}"
    );
}

#[test]
fn config_is_not_forwarded_the_remote_reads_its_own() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("r"))]);
    let known = trusted(&sshd);
    let t = local(t, &sshd, workdir.path(), &known);
    // The local file lives under another name; the remote has only its own migo.toml.
    std::fs::rename(t.path("migo.toml"), t.path("local.toml")).unwrap();
    t.run(&["--config", "local.toml", "--env", "staging", "execute"])
        .success()
        .stdout_has("applied 0001_remote");
    let history = t.run(&[
        "--config=local.toml",
        "--env",
        "staging",
        "history",
        "--json",
    ]);
    let entries: serde_json::Value = serde_json::from_str(&history.success().stdout).unwrap();
    let command = entries[0]["command"].as_str().unwrap();
    assert!(!command.contains("--config"), "{command}");
}

/// `staging` through the system `ssh` (`transport = "openssh"`), with `extra` fields.
fn openssh(t: Test, workdir: &Path, remote: &str) -> Test {
    let config = format!(
        "[environments.staging]\nremote = {{ transport = \"openssh\", workdir = \"{}\", command = \"{}\", timeout_secs = 5, {remote} }}\n",
        workdir.display(),
        env!("CARGO_BIN_EXE_migo"),
    );
    t.migration("0001_local.json", &insert("local"))
        .config(&config)
}

#[test]
fn the_openssh_transport_checks_keys_quotes_streams_and_passes_exit_codes() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("remote-1"))]);
    let key = sshd.path("client_key");
    let fields = |known: &Path, extra: &str| {
        format!(
            "host = \"127.0.0.1\", port = {}, user = \"{}\", identity_file = \"{}\", known_hosts = \"{}\"{extra}",
            sshd.port,
            whoami(),
            key.display(),
            known.display()
        )
    };
    let known = trusted(&sshd);
    let t = openssh(t, workdir.path(), &fields(&known, ""));
    t.run(&["--env", "staging", "execute"])
        .success()
        .stdout_has("applied 0001_remote");
    assert_eq!(ids(&t), ["remote-1"]);
    // Quoting: the injected words stay one literal (unknown) migration name.
    t.run(&["--env", "staging", "execute", "0001_x; touch pwned"])
        .code(6)
        .stderr_has("no migration named `0001_x; touch pwned`");
    assert!(!workdir.path().join("pwned").exists());
    // Unknown host key: refused by ssh; accepted with the opt-in, then known.
    let fresh = sshd.path("openssh_fresh");
    let t = openssh(t, workdir.path(), &fields(&fresh, ""));
    t.run(&["--env", "staging", "list"])
        .code(12)
        .error_line()
        .stderr_has("ssh failed: Host key verification failed.");
    let t = openssh(
        t,
        workdir.path(),
        &fields(&fresh, ", accept_new_host_key = true"),
    );
    t.run(&["--env", "staging", "list"]).success();
    let t = openssh(t, workdir.path(), &fields(&fresh, ""));
    t.run(&["--env", "staging", "list"]).success();
}

#[test]
fn the_openssh_transport_goes_through_a_proxyjump_bastion() {
    let (Some(bastion), Some(target)) = (Sshd::start(), Sshd::start()) else {
        return;
    };
    let t = Test::new();
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("via-bastion"))]);
    let known = target.path("known_hosts_all");
    std::fs::write(
        &known,
        format!(
            "{}{}",
            bastion.known_hosts_line(),
            target.known_hosts_line()
        ),
    )
    .unwrap();
    let config = target.path("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User {user}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {kh}\n  StrictHostKeyChecking yes\n  BatchMode yes\n\nHost target\n  HostName 127.0.0.1\n  Port {}\n  User {user}\n  IdentityFile {}\n  ProxyJump bastion\n",
            bastion.port,
            bastion.path("client_key").display(),
            target.port,
            target.path("client_key").display(),
            user = whoami(),
            kh = known.display(),
        ),
    )
    .unwrap();
    let t = openssh(
        t,
        workdir.path(),
        &format!(
            "host = \"target\", ssh_config = \"{}\", known_hosts = \"{}\"",
            config.display(),
            known.display()
        ),
    );
    t.run(&["--env", "staging", "execute"])
        .success()
        .stdout_has("applied 0001_remote");
    assert_eq!(ids(&t), ["via-bastion"]);
}

#[test]
fn a_fleet_runs_on_the_remote_host_which_lists_its_own_databases() {
    let Some(sshd) = Sshd::start() else { return };
    let t = Test::new();
    let prefix = format!("{}_f", t.short_name());
    for i in 0..3 {
        t.seed_database(&format!("{prefix}{i}"));
    }
    let workdir = remote_workdir(&t, &[("0001_remote.json", insert("remote-1"))]);
    let config = std::fs::read_to_string(workdir.path().join("migo.toml")).unwrap();
    std::fs::write(
        workdir.path().join("migo.toml"),
        format!("{config}\n[fleet]\ndatabases = \"^{prefix}[0-9]$\"\n"),
    )
    .unwrap();
    let t = local(t, &sshd, workdir.path(), &trusted(&sshd));
    let run = t.run(&["--env", "staging", "--fleet", "execute"]);
    run.success()
        .stdout_has(&format!("[{prefix}2] applied 0001_remote"))
        .stdout_has("3 databases: 3 ok; 3 migration(s) applied in ");
    t.run(&["--env", "staging", "--fleet", "check"])
        .success()
        .stdout_has("up to date: 3 databases");
}
