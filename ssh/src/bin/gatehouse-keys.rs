//! `gatehouse-keys`: see `gatehouse_ssh::keys`.
use gatehouse_ssh::keys::{lookup, parse_args};
use std::io::Write;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gatehouse-keys: {e}");
            std::process::exit(2);
        }
    };
    match lookup(gatehouse_policy::config::SOCKET_PATH, &args) {
        Ok(lines) => {
            let mut out = std::io::stdout().lock();
            for l in lines {
                if writeln!(out, "{l}").is_err() {
                    std::process::exit(1);
                }
            }
        }
        Err(e) => {
            // sshd logs our stderr; no key is printed, so the key login fails closed.
            eprintln!("gatehouse-keys: no keys for {}: {e}", args.user);
            std::process::exit(1);
        }
    }
}
