//! The client side of delegated administration: one `Request::Admin` to gatehoused, the answer
//! printed as the CLI would print it.
//!
//! The command line travels as words; the daemon parses them with the CLI's own definitions and
//! decides by the caller's uid (`SO_PEERCRED`) what it may do, so nothing here is trusted.
//! Standard input is read (bounded) only when a word asks for it, see
//! [`crate::admin_reads_stdin`]. The socket exchange is `gatehouse-modcore`'s client.
use crate::secret::Secret;
use crate::{
    admin_reads_stdin, decode_response, encode_request, ClientResponse as Response, Request, MAX_ADMIN_INPUT, MAX_FRAME,
};
use gatehouse_modcore::client::{exchange_within, Unreachable};
use std::io::Read;
use std::time::Duration;

/// How long an admin command may take in all (connect, run, answer).
pub const ADMIN_DEADLINE: Duration = Duration::from_secs(60);

/// Reads at most [`MAX_ADMIN_INPUT`] bytes of `input`; more is an error, not a silent cut.
pub fn read_input(input: &mut impl Read) -> Result<Secret, String> {
    let mut buf = Vec::new();
    input
        .take(MAX_ADMIN_INPUT as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if buf.len() > MAX_ADMIN_INPUT {
        return Err(format!("standard input is longer than {MAX_ADMIN_INPUT} bytes"));
    }
    String::from_utf8(buf).map(Secret::new).map_err(|_| "standard input is not UTF-8".to_string())
}

/// Sends `argv` (the words after `gatehouse`) to the daemon at `socket`, with standard input if
/// a word asks for it, prints the answer (stdout, or one error line on stderr) and returns the
/// exit status: the command's, 2 for a refusal or an unreachable daemon.
pub fn run(socket: &str, argv: Vec<String>) -> i32 {
    match call(socket, argv) {
        Ok(Response::Output { stdout, status }) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(stdout.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => status,
                // A closed pipe (`… | head`) ends quietly, as SIGPIPE would.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 141,
                Err(e) => {
                    eprintln!("gatehouse: error: cannot write output: {e}");
                    2
                }
            }
        }
        Ok(Response::Denied { reason } | Response::BadRequest { reason } | Response::Unavailable { reason }) => {
            eprintln!("gatehouse: error: {reason}");
            2
        }
        Ok(other) => {
            eprintln!("gatehouse: error: unexpected answer from gatehoused: {other:?}");
            2
        }
        Err(e) => {
            eprintln!("gatehouse: error: {e}");
            2
        }
    }
}

fn call(socket: &str, argv: Vec<String>) -> Result<Response, String> {
    let stdin = if admin_reads_stdin(&argv) { Some(read_input(&mut std::io::stdin().lock())?) } else { None };
    let body = encode_request(&Request::Admin { argv, stdin }).map_err(|e| e.to_string())?;
    let answer = exchange_within(socket, &body, MAX_FRAME, ADMIN_DEADLINE)
        .map_err(|Unreachable(e)| format!("gatehoused is not reachable (delegated admins go through it): {e}"))?;
    decode_response(&answer).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn input_is_bounded_and_utf8() {
        let full = vec![b'a'; MAX_ADMIN_INPUT];
        assert_eq!(read_input(&mut full.as_slice()).unwrap().expose().len(), MAX_ADMIN_INPUT);
        let over = vec![b'a'; MAX_ADMIN_INPUT + 1];
        assert!(read_input(&mut over.as_slice()).unwrap_err().contains("longer than"));
        assert!(read_input(&mut &b"\xff\xfe"[..]).unwrap_err().contains("UTF-8"));
    }
}
