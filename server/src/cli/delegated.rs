//! Delegated administration, the CLI's side: an account other than root sends its words to
//! gatehoused ([`run_remote`]). The rules, and the reasons for them, are in
//! [`crate::command::authorize`].
use super::args::Command;

pub use crate::command::manages;

/// True for the words of a command a delegated admin may send (see
/// [`crate::command::is_delegable`]); words whose values do not parse are not.
pub fn is_delegable(cmd: &Command) -> bool {
    super::convert::convert(cmd.clone()).is_ok_and(|p| crate::command::is_delegable(&p.cmd))
}

/// The `gatehouse` CLI run by an account other than root: sends the words to gatehoused.
pub fn run_remote(argv: Vec<String>) -> i32 {
    gatehouse_wire::admin::run(gatehouse_policy::config::SOCKET_PATH, argv)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    fn cmd(words: &str) -> Command {
        super::super::Cli::try_parse_from(std::iter::once("gatehouse").chain(words.split(' '))).unwrap().command
    }

    #[test]
    fn subset() {
        for ok in
            ["user list", "user add bob", "passwd bob --stdin", "key list bob", "rule del bob /x", "group members acme"]
        {
            assert!(is_delegable(&cmd(ok)), "{ok}");
        }
        for no in [
            "group add x",
            "group set acme --protocols ssh",
            "totp enable bob",
            "invite bob",
            "export --json",
            "admin list",
            "apppass list bob",
            "import csv x",
            "db migrate",
            "unlock bob",
            "check bob",
            "status",
            "group rule add acme / read",
            "group del acme",
        ] {
            assert!(!is_delegable(&cmd(no)), "{no}");
        }
    }

    #[test]
    fn managed_users() {
        let groups = ["acme".to_string(), "beta".to_string()];
        let mine = ["acme".to_string()];
        assert!(manages(&mine, false, &groups));
        assert!(!manages(&["gamma".to_string()], false, &groups));
        assert!(!manages(&mine, false, &[]));
        assert!(!manages(&mine, true, &groups), "an admin is never managed by a group admin");
    }
}
