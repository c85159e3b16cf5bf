//! A channel of migo's own to an interpreter, apart from its stdout and stderr: two pipes that
//! the child finds as fd 3 (requests, migo → child) and fd 4 (answers, child → migo), carrying
//! frames (a 4-byte big-endian length, then a JSON document). What a migration prints can
//! neither hide nor forge an answer. Also the non-blocking reads and `poll(2)` that let one
//! thread wait on the answers and the output at once, with a timeout (to notice a stop).

#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// The fd on which the child reads requests.
pub(crate) const REQUESTS_FD: RawFd = 3;
/// The fd on which the child writes answers.
pub(crate) const ANSWERS_FD: RawFd = 4;
/// The largest frame migo accepts from a child (a migration's code is at most 16 MiB, and an
/// answer is far smaller).
const MAX_FRAME: usize = 64 << 20;

/// Both pipes: migo's ends, and the child's until it is spawned.
#[derive(Debug)]
pub(crate) struct Channel {
    /// Where migo writes requests (non-blocking); closed to tell the child to end.
    pub(crate) requests: Option<File>,
    /// Where migo reads answers (non-blocking).
    pub(crate) answers: File,
    child_ends: Option<(OwnedFd, OwnedFd)>,
}

impl Channel {
    /// Two new pipes, every end close-on-exec.
    pub(crate) fn new() -> io::Result<Channel> {
        let (child_reads, requests) = io::pipe()?;
        let (answers, child_writes) = io::pipe()?;
        // Above the standard streams, so that setting up the child's stdin/stdout/stderr can
        // never overwrite them (migo may run with a closed stdin).
        let child_reads = high(OwnedFd::from(child_reads))?;
        let child_writes = high(OwnedFd::from(child_writes))?;
        let requests = File::from(OwnedFd::from(requests));
        let answers = File::from(OwnedFd::from(answers));
        set_nonblocking(requests.as_raw_fd())?;
        set_nonblocking(answers.as_raw_fd())?;
        Ok(Channel {
            requests: Some(requests),
            answers,
            child_ends: Some((child_reads, child_writes)),
        })
    }

    /// Makes `command`'s child find the channel as fd 3 and fd 4.
    pub(crate) fn attach(&self, command: &mut Command) {
        let Some((reads, writes)) = &self.child_ends else {
            return;
        };
        let (reads, writes) = (reads.as_raw_fd(), writes.as_raw_fd());
        // SAFETY: between fork and exec only dup2(2) is called, which is async-signal-safe and
        // allocates nothing; both sources are at fd 10 or above, so neither is overwritten
        // before it is duplicated, and dup2 clears close-on-exec on the copies.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(reads, REQUESTS_FD) < 0 || libc::dup2(writes, ANSWERS_FD) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Closes migo's copies of the child's ends, once the child has its own: the answers pipe
    /// then ends when the child does.
    pub(crate) fn spawned(&mut self) {
        self.child_ends = None;
    }
}

/// `fd` moved to a number of 10 or more, close-on-exec.
fn high(fd: OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a valid fd returns a new fd that we then own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh fd owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Makes reads and writes on `fd` return `WouldBlock` instead of waiting.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(F_GETFL/F_SETFL) on a valid fd only changes its status flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What `poll` found on one fd.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ready {
    /// Data (or the end of the stream) can be read.
    pub(crate) readable: bool,
    /// A write would not block (or would fail: the reader is gone).
    pub(crate) writable: bool,
}

/// Waits up to `timeout` until one of `fds` (each with whether to watch for reading or for
/// writing) is ready; an interrupted wait returns nothing ready.
pub(crate) fn poll(fds: &[(RawFd, bool)], timeout: Duration) -> io::Result<Vec<Ready>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, write)| libc::pollfd {
            fd,
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        })
        .collect();
    let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    let count = libc::nfds_t::try_from(polled.len()).unwrap_or(0);
    // SAFETY: `polled` is a valid array of `count` pollfd structures for the call's duration.
    let result = unsafe { libc::poll(polled.as_mut_ptr(), count, millis) };
    if result < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![Ready::default(); fds.len()]);
        }
        return Err(error);
    }
    let gone = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
    Ok(polled
        .iter()
        .map(|p| Ready {
            readable: p.revents & (libc::POLLIN | gone) != 0,
            writable: p.revents & (libc::POLLOUT | gone) != 0,
        })
        .collect())
}

/// Reads what `file` (non-blocking) has now into `into`; `Ok(false)` at the end of the stream.
pub(crate) fn read_available(file: &mut File, into: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 65536];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => into.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes as much of `pending` as `file` (non-blocking) takes now, removing it from `pending`.
pub(crate) fn write_available(file: &mut File, pending: &mut Vec<u8>) -> io::Result<()> {
    while !pending.is_empty() {
        match file.write(pending) {
            Ok(n) => {
                pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `body` as a frame.
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// The first complete frame in `buffer`, removed from it; an error for a frame over the limit.
pub(crate) fn next_frame(buffer: &mut Vec<u8>) -> Result<Option<Vec<u8>>, String> {
    let Some(head) = buffer.get(..4) else {
        return Ok(None);
    };
    let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if length > MAX_FRAME {
        return Err(format!(
            "a frame of {length} bytes, over the limit of {MAX_FRAME}"
        ));
    }
    if buffer.len() < 4 + length {
        return Ok(None);
    }
    let body = buffer[4..4 + length].to_vec();
    buffer.drain(..4 + length);
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_whole_and_in_order() {
        let mut buffer = frame(b"{\"a\":1}");
        buffer.extend(frame(b"[]"));
        let partial = buffer.split_off(buffer.len() - 3);
        assert_eq!(next_frame(&mut buffer).unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(next_frame(&mut buffer).unwrap(), None);
        buffer.extend(partial);
        assert_eq!(next_frame(&mut buffer).unwrap().unwrap(), b"[]");
        assert!(buffer.is_empty());
        let mut huge = (u32::MAX).to_be_bytes().to_vec();
        assert!(next_frame(&mut huge).is_err());
    }
}
