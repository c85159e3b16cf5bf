//! The remote hook: `migo --env staging execute` runs `cd <workdir> && <command> --env staging
//! --local execute` on the staging host over SSH, streams its output live, and exits with its
//! exit code. Two transports do it: the `ssh2` crate ([`ssh2`], the default: agent or key file,
//! host keys checked against known_hosts here) or the system `ssh` in batch mode ([`openssh`]:
//! `~/.ssh/config`, `ProxyJump` bastions, certificates and agents, host keys checked by ssh).

mod known_hosts;
mod openssh;
mod ssh2;

use crate::config::{RemoteSettings, Transport};
use crate::error::{Error, Result};

/// Runs `args` (migo's arguments, without `--env`) on the remote as environment `environment`
/// and returns the remote exit code (128 + N when a signal killed it).
pub(crate) fn run(remote: &RemoteSettings, environment: &str, args: &[String]) -> Result<u8> {
    let command = remote_command(remote, environment, args);
    tracing::info!(
        "running on {}@{}: {}",
        remote.user,
        remote.host,
        crate::ground::secret::redact_text(&command)
    );
    match remote.transport {
        Transport::Ssh2 => ssh2::run(remote, environment, &command),
        Transport::Openssh => openssh::run(remote, environment, &command),
    }
}

/// The number of a signal SSH names (`TERM`), as `kill -l` would give it.
pub(crate) fn signal_number(name: &str) -> u8 {
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

/// A remote failure (exit 12).
pub(crate) fn failure(remote: &RemoteSettings, message: String, hint: Option<String>) -> Error {
    Error::Remote {
        target: format!("{}@{}:{}", remote.user, remote.host, remote.port),
        message,
        hint,
    }
}

/// What to say when the connection dropped once the remote command was running.
pub(crate) fn dropped(remote: &RemoteSettings, environment: &str, cause: &str) -> Error {
    failure(
        remote,
        format!("the connection broke during the run: {cause}"),
        Some(format!(
            "the remote run may still be going; check with `migo --env {environment} list` \
             and `migo --env {environment} history`"
        )),
    )
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
            timeout: std::time::Duration::from_secs(1),
            transport: Transport::Ssh2,
            ssh_config: None,
            port_given: None,
            user_given: None,
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
        use super::known_hosts::base64;
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI");
        assert_eq!(base64(b"a"), "YQ");
    }
}
