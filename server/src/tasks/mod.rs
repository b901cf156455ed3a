//! The client side of gatehouse-tasks (the root helper, its own crate `gatehouse-tasks`):
//! [`call`] sends it one request, and [`hook`] keeps users' roots and the FTP servers' files in
//! step with the database after every export.
use gatehouse_tasks::proto::{decode_response, encode_request, Request, Response};
use gatehouse_wire::{read_frame, write_frame, WireError, MAX_FRAME};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

pub mod hook;

/// Sends one request to the helper at `socket` and waits at most `timeout` for each step.
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> Result<Response, WireError> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write_frame(&mut s, &encode_request(req)?, MAX_FRAME)?;
    decode_response(&read_frame(&mut s, MAX_FRAME)?)
}
