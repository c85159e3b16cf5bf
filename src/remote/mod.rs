//! The remote hook: `migo --env staging execute` runs `cd <workdir> && <command> --env staging
//! --local execute` on the staging host over SSH (ssh2: agent or key file), streams its output
//! live, and exits with its exit code. Host keys are checked against known_hosts: an unknown key
//! is refused unless the environment opts in, a changed key always.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use ssh2::{CheckResult, HashType, KnownHostFileKind, Session};

use crate::config::RemoteSettings;
use crate::error::{Error, Result};

/// Runs `args` (migo's arguments, without `--env`) on the remote as environment `environment`
/// and returns the remote exit code.
pub(crate) fn run(remote: &RemoteSettings, environment: &str, args: &[String]) -> Result<u8> {
    let command = remote_command(remote, environment, args);
    tracing::info!(
        "running on {}@{}: {}",
        remote.user,
        remote.host,
        crate::secret::redact_text(&command)
    );
    let session = connect(remote)?;
    let fail = |message: String| failure(remote, message, None);
    let mut channel = session
        .channel_session()
        .map_err(|e| fail(format!("cannot open a session channel: {e}")))?;
    channel
        .exec(&command)
        .map_err(|e| fail(format!("cannot start the remote command: {e}")))?;
    let broke = |e: &dyn std::fmt::Display| {
        failure(
            remote,
            format!("the connection broke during the run: {e}"),
            Some(format!(
                "the remote run may still be going; check with `migo --env {environment} list` \
                 and `migo --env {environment} history`"
            )),
        )
    };
    stream(&session, &mut channel).map_err(|e| broke(&e))?;
    channel.wait_close().map_err(|e| broke(&e))?;
    // A remote migo killed by a signal has no exit status: report 128 + N, as a shell does.
    if let Some(name) = channel.exit_signal().ok().and_then(|s| s.exit_signal) {
        return Ok(128u8.saturating_add(signal_number(&name)));
    }
    let status = channel
        .exit_status()
        .map_err(|e| fail(format!("no exit status: {e}")))?;
    Ok(u8::try_from(status).unwrap_or(u8::MAX))
}

/// The number of a signal SSH names (`TERM`), as `kill -l` would give it.
fn signal_number(name: &str) -> u8 {
    match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        _ => 15,
    }
}

/// The arguments a remote run gets: all of the local ones but those that only make sense here.
/// `--env` is given by the hook itself, and `--config` is not passed on: the remote reads its
/// own `migo.toml` in `workdir` (the file given here does not exist there). `MIGO_*` variables
/// are not passed on either: the remote's environment is its own.
pub(crate) fn forwarded_arguments(words: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for word in words {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        match word.as_str() {
            "--env" | "--config" => skip_next = true,
            w if w.starts_with("--env=") || w.starts_with("--config=") => {}
            _ => kept.push(word.clone()),
        }
    }
    kept
}

/// `cd '<workdir>' && <command> --env '<env>' --local '<arg>'…`: every argument single-quoted,
/// so `; touch pwned` stays one literal argument. `command` is the user's own shell words.
pub(crate) fn remote_command(
    remote: &RemoteSettings,
    environment: &str,
    args: &[String],
) -> String {
    let quoted: Vec<String> = args.iter().map(|a| quote(a)).collect();
    format!(
        "cd {} && {} --env {} --local {}",
        quote(&remote.workdir),
        remote.command,
        quote(environment),
        quoted.join(" ")
    )
    .trim_end()
    .to_string()
}

/// POSIX single quotes: everything literal, a `'` written as `'\''`.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn failure(remote: &RemoteSettings, message: String, hint: Option<String>) -> Error {
    Error::Remote {
        target: format!("{}@{}:{}", remote.user, remote.host, remote.port),
        message,
        hint,
    }
}

/// TCP within the timeout, the SSH handshake, the host key check, then authentication.
fn connect(remote: &RemoteSettings) -> Result<Session> {
    let fail = |message: String, hint: &str| failure(remote, message, Some(hint.to_string()));
    let unreachable = "check `remote.host` and `remote.port`, and that sshd runs there";
    let addresses: Vec<_> = (remote.host.as_str(), remote.port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("cannot resolve the host: {e}"), unreachable))?
        .collect();
    let mut last_error = None;
    let tcp = addresses.iter().find_map(|address| {
        TcpStream::connect_timeout(address, remote.timeout)
            .map_err(|e| last_error = Some(e))
            .ok()
    });
    let tcp = tcp.ok_or_else(|| {
        let reason = last_error.map_or("no address".to_string(), |e| e.to_string());
        fail(format!("cannot connect: {reason}"), unreachable)
    })?;
    let mut session = Session::new().map_err(|e| fail(e.to_string(), unreachable))?;
    session.set_tcp_stream(tcp);
    session.set_timeout(u32::try_from(remote.timeout.as_millis()).unwrap_or(u32::MAX));
    session
        .handshake()
        .map_err(|e| fail(format!("the SSH handshake failed: {e}"), unreachable))?;
    check_host_key(remote, &session)?;
    authenticate(remote, &session)?;
    // Commands may run for long: the timeout guards connecting, not the migrations.
    session.set_timeout(0);
    Ok(session)
}

/// `[host]:port` as known_hosts writes a host on a port other than 22.
fn known_hosts_name(remote: &RemoteSettings) -> String {
    if remote.port == 22 {
        remote.host.clone()
    } else {
        format!("[{}]:{}", remote.host, remote.port)
    }
}

fn check_host_key(remote: &RemoteSettings, session: &Session) -> Result<()> {
    let (key, key_type) = session
        .host_key()
        .ok_or_else(|| failure(remote, "the server sent no host key".into(), None))?;
    let fingerprint = session
        .host_key_hash(HashType::Sha256)
        .map(|hash| format!("SHA256:{}", base64(hash)))
        .unwrap_or_default();
    let path = &remote.known_hosts;
    let mut known = session
        .known_hosts()
        .map_err(|e| failure(remote, format!("cannot read known hosts: {e}"), None))?;
    if path.exists() {
        known
            .read_file(path, KnownHostFileKind::OpenSSH)
            .map_err(|e| failure(remote, format!("cannot read {}: {e}", path.display()), None))?;
    }
    let name = known_hosts_name(remote);
    if is_revoked(path, key) {
        return Err(failure(
            remote,
            format!(
                "the host key {fingerprint} is marked @revoked in {}; refused",
                path.display()
            ),
            Some("a revoked key is never accepted: ask the host's owner for its new key".into()),
        ));
    }
    match known.check_port(&remote.host, remote.port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(failure(
            remote,
            format!(
                "the host key changed: the server now shows {fingerprint}, which does not match {} \
                 (this may be an attack); refused",
                path.display()
            ),
            Some(format!(
                "if the host was re-keyed on purpose, verify the new key, then remove the old one \
                 with `ssh-keygen -R '{name}' -f {}`",
                path.display()
            )),
        )),
        CheckResult::NotFound if remote.accept_new_host_key => {
            append_known_host(path, &name, key_type, key).map_err(|e| {
                failure(
                    remote,
                    format!("cannot record the host key in {}: {e}", path.display()),
                    None,
                )
            })?;
            tracing::warn!("trusted the new host key {fingerprint} of {name}");
            Ok(())
        }
        CheckResult::NotFound => Err(failure(
            remote,
            format!(
                "unknown host key {fingerprint}: it is not in {}; refused",
                path.display()
            ),
            Some(format!(
                "verify the fingerprint with the host's owner, then add it \
                 (`ssh-keyscan -p {} {} >> {}`), or set `accept_new_host_key = true` for this environment",
                remote.port,
                remote.host,
                path.display()
            )),
        )),
        CheckResult::Failure => Err(failure(remote, "the host key could not be checked".into(), None)),
    }
}

/// Whether a `@revoked` line of `path` lists `key` (for any host, as OpenSSH reads it).
fn is_revoked(path: &std::path::Path, key: &[u8]) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let encoded = base64(key);
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("@revoked"))
        .filter_map(|rest| rest.split_whitespace().nth(2))
        .any(|blob| blob.trim_end_matches('=') == encoded)
}

/// Appends `name`'s key to known_hosts, leaving every line already there as it was.
fn append_known_host(
    path: &std::path::Path,
    name: &str,
    key_type: ssh2::HostKeyType,
    key: &[u8],
) -> std::io::Result<()> {
    let kind = match key_type {
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Dss => "ssh-dss",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        _ => return Err(std::io::Error::other("unknown host key type")),
    };
    let mut padded = base64(key);
    while !padded.len().is_multiple_of(4) {
        padded.push('=');
    }
    let ends_cleanly = std::fs::read(path).map_or(true, |b| b.is_empty() || b.ends_with(b"\n"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let lead = if ends_cleanly { "" } else { "\n" };
    file.write_all(format!("{lead}{name} {kind} {padded}\n").as_bytes())
}

fn authenticate(remote: &RemoteSettings, session: &Session) -> Result<()> {
    let (result, how) = match &remote.identity_file {
        Some(key) => (
            session.userauth_pubkey_file(&remote.user, None, key, None),
            format!("the key {}", key.display()),
        ),
        None => (
            session.userauth_agent(&remote.user),
            "the SSH agent".to_string(),
        ),
    };
    if result.is_ok() && session.authenticated() {
        return Ok(());
    }
    let reason = result
        .err()
        .map_or("refused".to_string(), |e| e.to_string());
    Err(failure(
        remote,
        format!("authentication with {how} failed: {reason}"),
        Some("check `remote.user` and `remote.identity_file` (or the keys in your ssh-agent), and the remote's authorized_keys".into()),
    ))
}

/// Copies the remote stdout and stderr to ours as they come, until the command ends.
fn stream(session: &Session, channel: &mut ssh2::Channel) -> std::io::Result<()> {
    session.set_blocking(false);
    let mut buffer = [0u8; 16 * 1024];
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    loop {
        let mut moved = false;
        moved |= pump(channel, &mut buffer, &mut stdout)?;
        moved |= pump(&mut channel.stderr(), &mut buffer, &mut stderr)?;
        if channel.eof() && !moved {
            break;
        }
        if !moved {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    session.set_blocking(true);
    Ok(())
}

/// Moves what is readable now; whether anything was.
fn pump(from: &mut impl Read, buffer: &mut [u8], to: &mut impl Write) -> std::io::Result<bool> {
    match from.read(buffer) {
        Ok(0) => Ok(false),
        Ok(n) => {
            to.write_all(&buffer[..n])?;
            to.flush()?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
    }
}

/// Standard base64 without padding, as ssh prints fingerprints.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote() -> RemoteSettings {
        RemoteSettings {
            host: "h".into(),
            port: 22,
            user: "u".into(),
            identity_file: None,
            known_hosts: "kh".into(),
            workdir: "/srv/my app".into(),
            command: "migo".into(),
            accept_new_host_key: false,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn every_argument_is_one_literal_word() {
        let args = [
            "execute".to_string(),
            "0001_x; touch pwned".into(),
            "it's".into(),
        ];
        assert_eq!(
            remote_command(&remote(), "staging", &args),
            r"cd '/srv/my app' && migo --env 'staging' --local 'execute' '0001_x; touch pwned' 'it'\''s'"
        );
    }

    #[test]
    fn base64_matches_ssh_fingerprints() {
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI");
        assert_eq!(base64(b"a"), "YQ");
    }
}
