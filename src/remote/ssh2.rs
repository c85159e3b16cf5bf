//! The `ssh2` transport: the libssh2 bindings, the key in `identity_file` or the SSH agent,
//! the host key checked here against known_hosts (unknown keys refused unless the environment
//! accepts new ones, changed and `@revoked` keys always refused).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use ssh2::{CheckResult, HashType, KnownHostFileKind, Session};

use super::known_hosts::{append_known_host, base64, is_revoked, known_hosts_name};
use super::{dropped, failure, signal_number};
use crate::config::RemoteSettings;
use crate::error::Result;

/// Runs `command` on the remote and returns its exit code.
pub(crate) fn run(remote: &RemoteSettings, environment: &str, command: &str) -> Result<u8> {
    let session = connect(remote)?;
    let fail = |message: String| failure(remote, message, None);
    let mut channel = session
        .channel_session()
        .map_err(|e| fail(format!("cannot open a session channel: {e}")))?;
    channel
        .exec(command)
        .map_err(|e| fail(format!("cannot start the remote command: {e}")))?;
    stream(&session, &mut channel).map_err(|e| dropped(remote, environment, &e.to_string()))?;
    channel
        .wait_close()
        .map_err(|e| dropped(remote, environment, &e.to_string()))?;
    // A remote migo killed by a signal has no exit status: report 128 + N, as a shell does.
    if let Some(name) = channel.exit_signal().ok().and_then(|s| s.exit_signal) {
        return Ok(128u8.saturating_add(signal_number(&name)));
    }
    let status = channel
        .exit_status()
        .map_err(|e| fail(format!("no exit status: {e}")))?;
    Ok(u8::try_from(status).unwrap_or(u8::MAX))
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
