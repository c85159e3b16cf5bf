//! known_hosts for the `ssh2` transport: the name a host has there, `@revoked` keys, appending a
//! newly trusted key without touching the lines already there, and SSH's base64.

use std::io::Write;

use crate::config::RemoteSettings;

/// `[host]:port` as known_hosts writes a host on a port other than 22.
pub(crate) fn known_hosts_name(remote: &RemoteSettings) -> String {
    if remote.port == 22 {
        remote.host.clone()
    } else {
        format!("[{}]:{}", remote.host, remote.port)
    }
}

/// Whether a `@revoked` line of `path` lists `key` (for any host, as OpenSSH reads it).
pub(crate) fn is_revoked(path: &std::path::Path, key: &[u8]) -> bool {
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
pub(crate) fn append_known_host(
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

/// Standard base64 without padding, as ssh prints fingerprints.
pub(crate) fn base64(bytes: &[u8]) -> String {
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
