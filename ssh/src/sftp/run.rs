//! The session loop: read what the client sent, handle every whole packet in it, write all the
//! replies in one go, refresh the policy when it is due, and wait for more.
//!
//! Requests are pipelined by clients (OpenSSH's sftp keeps 64 reads or writes in flight), so
//! the loop handles as many packets as one read brought before it writes: one `write(2)` for
//! many replies. Replies go out in request order, one per id. Waiting uses `poll` with a
//! timeout of [`REFRESH`], so an idle session still learns that its user was deactivated.
use super::codec::{split_packet, MAX_PACKET};
use super::server::Server;
use crate::session::{Refresh, Session, REFRESH};
use crate::syslog::Syslog;
use gatehouse_policy::rules::Policy;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;

/// Replies are written out once this many bytes are waiting, even mid-batch: a pipe's worth
/// (Linux's default pipe holds 64 KiB). With 1 MiB, a batch of 64 pipelined 32 KiB reads held
/// its first reply back until 32 reads were done, and sshd sat idle meanwhile: 1 GiB downloads
/// with aes128-gcm ran at 0.84–0.90× sftp-server's median in four runs; with 64 KiB,
/// 1.13–1.45× (tests/bench/sftp.sh, 2026-11-23).
const FLUSH_AT: usize = 64 << 10;

/// The most read at once. Small reads keep replies flowing back while a client streams writes
/// (OpenSSH's sftp-server reads 16 KiB at a time), instead of holding many acknowledgements
/// back until a large batch is done.
const READ_CHUNK: usize = 64 * 1024;

/// The input buffer: room for two whole packets and their headers.
const IN_BUF: usize = 2 * (MAX_PACKET + 4);

/// How the session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The client closed the channel.
    ClientDone,
    /// The policy ended it (deactivated, expired, ...), with the reason.
    Policy(String),
    /// The client sent a packet that cannot be framed, or the channel failed.
    Broken(String),
}

fn write_all(out: &mut Vec<u8>) -> Result<(), End> {
    let mut done = 0;
    while done < out.len() {
        match rustix::io::write(rustix::stdio::stdout(), &out[done..]) {
            Ok(0) => return Err(End::Broken("stdout closed".into())),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(End::Broken(format!("write: {e}"))),
        }
    }
    out.clear();
    Ok(())
}

/// Where the running session's policy comes from: the daemon ([`Session`]) in production, a
/// file in the local test server (`examples/sftp_local.rs`).
pub trait PolicyFeed {
    /// True when it is time to ask again.
    fn refresh_due(&self) -> bool;
    /// Asks again.
    fn refresh(&mut self, log: &Syslog) -> Refresh;
    /// The policy in force and the upload size cap.
    fn current(&self) -> (Policy, Option<u64>);
}

impl PolicyFeed for Session {
    fn refresh_due(&self) -> bool {
        Session::refresh_due(self)
    }
    fn refresh(&mut self, log: &Syslog) -> Refresh {
        Session::refresh(self, log)
    }
    fn current(&self) -> (Policy, Option<u64>) {
        (self.policy.clone(), self.info.max_file_size)
    }
}

/// Serves the session on stdin/stdout until it ends.
pub fn serve(server: &mut Server, session: &mut impl PolicyFeed) -> End {
    match serve_inner(server, session) {
        Ok(()) => End::ClientDone,
        Err(e) => e,
    }
}

fn serve_inner(server: &mut Server, session: &mut impl PolicyFeed) -> Result<(), End> {
    // One fixed buffer: bytes [start, end) are received and not yet handled. After handling,
    // what is left is less than one packet, so moving it to the front always leaves room for a
    // whole packet; nothing is zeroed or reallocated per read.
    let mut inbuf = vec![0u8; IN_BUF];
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        loop {
            match split_packet(&inbuf[start..end]) {
                Ok(Some((body, used))) => {
                    server.handle(body);
                    start += used;
                    if server.out.len() >= FLUSH_AT {
                        write_all(&mut server.out)?;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    write_all(&mut server.out)?;
                    return Err(End::Broken(format!("bad packet: {e}")));
                }
            }
        }
        if start == end {
            (start, end) = (0, 0);
        } else if IN_BUF - end < MAX_PACKET + 4 {
            inbuf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
        write_all(&mut server.out)?;

        if session.refresh_due() {
            match session.refresh(server.log()) {
                Refresh::Same => {}
                Refresh::Changed => {
                    server.log().info("policy changed; the new rules apply from now on");
                    let (policy, max) = session.current();
                    server.set_policy(policy, max);
                }
                Refresh::End(why) => return Err(End::Policy(why)),
            }
        }

        let stdin = rustix::stdio::stdin();
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        let timeout = rustix::event::Timespec { tv_sec: REFRESH.as_secs() as i64, tv_nsec: 0 };
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(End::Broken(format!("poll: {e}"))),
        }
        let n = loop {
            match rustix::io::read(rustix::stdio::stdin(), &mut inbuf[end..(end + READ_CHUNK).min(IN_BUF)]) {
                Ok(n) => break n,
                Err(Errno::INTR) => {}
                Err(e) => return Err(End::Broken(format!("read: {e}"))),
            }
        };
        if n == 0 {
            return Ok(());
        }
        end += n;
    }
}
