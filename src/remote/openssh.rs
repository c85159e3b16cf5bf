//! The `openssh` transport: the system `ssh` in batch mode, so everything an operator configured
//! for ssh applies (`~/.ssh/config`, `ProxyJump` bastions, certificates, agents). Host keys are
//! checked by ssh itself against `known_hosts` (`StrictHostKeyChecking=yes`, or `accept-new` when
//! the environment accepts new keys), which also honours `@revoked`. Output streams through as
//! it comes; ssh's own failures (exit 255) become migo's exit 12.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::{dropped, failure};
use crate::config::RemoteSettings;
use crate::error::Result;

/// ssh's exit status for its own failures.
const SSH_FAILED: i32 = 255;

/// Runs `command` on the remote through `ssh` and returns its exit code.
pub(crate) fn run(remote: &RemoteSettings, environment: &str, command: &str) -> Result<u8> {
    let mut ssh = Command::new("ssh");
    ssh.args(arguments(remote)).arg(command);
    ssh.stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let mut child = ssh.spawn().map_err(|e| {
        failure(
            remote,
            format!("cannot start `ssh`: {e}"),
            Some("install the OpenSSH client, or set `remote.transport = \"ssh2\"`".into()),
        )
    })?;
    // ssh's own messages and the remote stderr share this stream: pass it through as it comes,
    // keeping the last line for the error if ssh itself fails.
    let stderr = child.stderr.take().expect("piped stderr");
    let mut last = String::new();
    for line in BufReader::new(stderr)
        .lines()
        .map_while(std::io::Result::ok)
    {
        crate::process::show(&mut std::io::stderr(), "", &line);
        if !line.trim().is_empty() {
            last = line;
        }
    }
    let status = child
        .wait()
        .map_err(|e| failure(remote, format!("cannot wait for `ssh`: {e}"), None))?;
    match status.code() {
        Some(SSH_FAILED)
            if last.contains("closed by remote host") || last.contains("broken pipe") =>
        {
            Err(dropped(remote, environment, last.trim()))
        }
        Some(SSH_FAILED) => Err(failure(
            remote,
            format!("ssh failed: {}", last.trim()),
            Some(
                "check `remote.host`, `port`, `user`, the keys ssh uses and known_hosts (`ssh -v` \
                 shows what it tried)"
                    .into(),
            ),
        )),
        Some(code) => Ok(u8::try_from(code).unwrap_or(u8::MAX)),
        None => Ok(128u8.saturating_add(
            u8::try_from(std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(15))
                .unwrap_or(15),
        )),
    }
}

/// ssh's options: batch mode (never a prompt), the host-key policy, the known_hosts file, the
/// connect timeout, and what the environment names explicitly.
fn arguments(remote: &RemoteSettings) -> Vec<String> {
    let strict = if remote.accept_new_host_key {
        "accept-new"
    } else {
        "yes"
    };
    let mut args = vec![
        "-T".to_string(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        format!("StrictHostKeyChecking={strict}"),
        "-o".into(),
        format!("UserKnownHostsFile={}", remote.known_hosts.display()),
        "-o".into(),
        format!("ConnectTimeout={}", remote.timeout.as_secs().max(1)),
        "-o".into(),
        "LogLevel=ERROR".into(),
    ];
    if let Some(config) = &remote.ssh_config {
        args.extend(["-F".into(), config.display().to_string()]);
    }
    if let Some(key) = &remote.identity_file {
        args.extend([
            "-i".into(),
            key.display().to_string(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
        ]);
    }
    if let Some(port) = remote.port_given {
        args.extend(["-p".into(), port.to_string()]);
    }
    if let Some(user) = &remote.user_given {
        args.extend(["-l".into(), user.clone()]);
    }
    args.extend(["--".into(), remote.host.clone()]);
    args
}
