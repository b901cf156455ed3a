//! What pam_gatehouse does in each phase, as safe code over two traits.
//!
//! [`PamHandle`] is the PAM library (items, prompts, logging); [`Backend`] is the snapshot and
//! the daemon. The FFI shims in `lib.rs` only build the real ones and map the [`Outcome`] to a
//! return code, so every decision here is testable with a scripted fake and no real PAM.
//!
//! The rules (DESIGN "pam_gatehouse.so" and the checked facts):
//! - A user the snapshot does not know is not ours: `USER_UNKNOWN` at once, in every phase, with
//!   no prompt and no socket I/O, so root and local users are never slowed by the daemon.
//! - Except one case, for even timing: a password for a name that no name source of the host
//!   has at all (not ours, not a local or directory user) is still sent to the daemon, which
//!   spends one dummy verify on it, so a name that does not exist costs what a gatehouse name
//!   with a wrong password costs, and its attempts count against the source's throttle. The
//!   answer stays `USER_UNKNOWN`. A name some source has is answered at once: its own module
//!   (pam_unix, pam_sss) pays its own hash.
//! - Access decisions (active, expiry, IP, protocol, lockout) belong to the account phase,
//!   because sshd runs it after every method, public key included.
//! - The daemon down or hung is `AUTHINFO_UNAVAIL`, never a hang (the client has a deadline).
use gatehouse_policy::secret::Secret;

/// A PAM phase's result, mapped to a PAM return code by the shims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `PAM_SUCCESS`.
    Success,
    /// `PAM_USER_UNKNOWN`: not a gatehouse user (the stack's `user_unknown=ignore` moves on).
    UserUnknown,
    /// `PAM_AUTH_ERR`: wrong password.
    AuthErr,
    /// `PAM_PERM_DENIED`: the account may not log in here and now.
    PermDenied,
    /// `PAM_NEW_AUTHTOK_REQD`: the user must choose a new password first.
    NewAuthtokReqd,
    /// `PAM_AUTHTOK_ERR`: a new password was refused.
    AuthtokErr,
    /// `PAM_AUTHINFO_UNAVAIL`: the daemon could not be asked.
    AuthinfoUnavail,
    /// `PAM_CONV_ERR`: the application's conversation failed.
    ConvErr,
    /// `PAM_SERVICE_ERR`: a bug or a bad argument (never a panic across FFI).
    ServiceErr,
}

/// What the module needs from the PAM library.
pub trait PamHandle {
    /// The user name (`pam_get_user`); `None` if there is none.
    fn user(&mut self) -> Option<String>;
    /// `PAM_SERVICE`.
    fn service(&self) -> Option<String>;
    /// `PAM_RHOST`.
    fn rhost(&self) -> Option<String>;
    /// `PAM_TTY`.
    fn tty(&self) -> Option<String>;
    /// The password: the one an earlier module read (`try_first_pass`), else a prompt.
    fn authtok(&mut self) -> Result<Secret, Outcome>;
    /// The new password in `chauthtok` (prompted twice by PAM when not already set).
    fn new_authtok(&mut self) -> Result<Secret, Outcome>;
    /// The old password (`PAM_OLDAUTHTOK`) if an earlier phase kept it.
    fn old_authtok(&self) -> Option<Secret>;
    /// Asks the user one question through the application's conversation (`echo`: whether the
    /// answer is shown as typed), e.g. the TOTP code.
    fn prompt(&mut self, msg: &str, echo: bool) -> Result<Secret, Outcome>;
    /// Shows an error message to the user (unless the caller asked for silence).
    fn error(&mut self, msg: &str);
    /// One line to syslog (authpriv); never a secret.
    fn log(&self, level: Level, msg: &str);
}

/// syslog priority of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `LOG_NOTICE`: a decision.
    Notice,
    /// `LOG_ERR`: something is broken.
    Err,
    /// `LOG_DEBUG`: only with the `debug` argument.
    Debug,
}

/// The daemon's answer, reduced to what the module acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Allowed / verified / changed.
    Ok,
    /// Refused; the reason goes to the log only.
    Denied(String),
    /// The daemon does not know the user (the snapshot was stale).
    UnknownUser,
    /// The user must change their password first.
    NewPasswordRequired,
    /// The password is right; the TOTP code must follow ([`Backend::verify_totp`]).
    TotpRequired,
}

/// What the module needs from gatehouse: the snapshot and the daemon.
pub trait Backend {
    /// True if `name` is a gatehouse user, from the mapped snapshot (no I/O on a hit).
    /// `Err` when the snapshot cannot be read: then nobody is treated as ours.
    fn is_ours(&self, name: &str) -> Result<bool, String>;
    /// True if some name source of the host (`getpwnam`: files, LDAP, sss, …) has `name`.
    /// Asked only for a name that is not ours, to decide whether it costs a dummy verify.
    fn host_knows(&self, name: &str) -> bool;
    /// Verifies a password.
    fn authenticate(
        &self,
        user: &str,
        service: &str,
        rhost: Option<&str>,
        tty: Option<&str>,
        pw: &Secret,
    ) -> Result<Answer, String>;
    /// The second step of a TOTP login: the code the user typed.
    fn verify_totp(&self, user: &str, service: &str, rhost: Option<&str>, code: &Secret) -> Result<Answer, String>;
    /// Account checks (active, expiry, IP, protocol, lockout, forced password change).
    fn account(&self, user: &str, service: &str, rhost: Option<&str>, tty: Option<&str>) -> Result<Answer, String>;
    /// Sets a new password (the daemon applies the password policy).
    fn change_password(&self, user: &str, service: &str, old: Option<&Secret>, new: &Secret) -> Result<Answer, String>;
}

/// Module arguments from the PAM configuration line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `debug`: log every step at LOG_DEBUG.
    pub debug: bool,
    /// `socket=PATH`: the daemon socket (pam.d is root's, so this is trusted).
    pub socket: Option<String>,
    /// `protocol=NAME`: overrides the service → protocol mapping.
    pub protocol: Option<String>,
}

impl Args {
    /// Parses the arguments; unknown ones are logged and ignored, as PAM modules do
    /// (`try_first_pass` and `use_first_pass` are handled by `pam_get_authtok` itself).
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> (Args, Vec<String>) {
        let mut out = Args::default();
        let mut unknown = Vec::new();
        for a in args {
            match a {
                "debug" => out.debug = true,
                "try_first_pass" | "use_first_pass" | "use_authtok" => {}
                _ => {
                    if let Some(p) = a.strip_prefix("socket=") {
                        out.socket = Some(p.to_string());
                    } else if let Some(p) = a.strip_prefix("protocol=") {
                        out.protocol = Some(p.to_string());
                    } else {
                        unknown.push(a.to_string());
                    }
                }
            }
        }
        (out, unknown)
    }

    /// The service name sent to the daemon: `protocol=` wins, encoded so the daemon can tell.
    fn service(&self, h: &dyn PamHandle) -> String {
        match &self.protocol {
            Some(p) => format!("{}{p}", gatehouse_policy::wire::PROTOCOL_PREFIX),
            None => h.service().unwrap_or_default(),
        }
    }
}

/// The user name if it is a gatehouse user; otherwise the outcome to return at once.
fn our_user(h: &mut dyn PamHandle, b: &dyn Backend, args: &Args) -> Result<String, Outcome> {
    let Some(user) = h.user() else {
        return Err(Outcome::UserUnknown);
    };
    match b.is_ours(&user) {
        Ok(true) => Ok(user),
        Ok(false) => Err(Outcome::UserUnknown),
        Err(e) => {
            if args.debug {
                h.log(Level::Debug, &format!("snapshot unreadable ({e}); treating {user} as not ours"));
            }
            Err(Outcome::UserUnknown)
        }
    }
}

fn unavailable(h: &mut dyn PamHandle, phase: &str, user: &str, e: &str) -> Outcome {
    h.log(Level::Err, &format!("{phase}: cannot reach gatehoused for user {user}: {e}"));
    Outcome::AuthinfoUnavail
}

/// `pam_sm_authenticate`.
pub fn authenticate(h: &mut dyn PamHandle, b: &dyn Backend, args: &Args) -> Outcome {
    let user = match our_user(h, b, args) {
        Ok(u) => u,
        Err(o) => return even_cost_for_a_name_nobody_has(h, b, args, o),
    };
    let pw = match h.authtok() {
        Ok(p) => p,
        Err(o) => return o,
    };
    let service = args.service(h);
    let (rhost, tty) = (h.rhost(), h.tty());
    match b.authenticate(&user, &service, rhost.as_deref(), tty.as_deref(), &pw) {
        Ok(Answer::Ok) => Outcome::Success,
        // The password was right; the account phase answers NEW_AUTHTOK_REQD, which is where
        // sshd and Linux-PAM expect it.
        Ok(Answer::NewPasswordRequired) => Outcome::Success,
        Ok(Answer::TotpRequired) => second_factor(h, b, &user, &service, rhost.as_deref()),
        Ok(Answer::UnknownUser) => Outcome::UserUnknown,
        Ok(Answer::Denied(reason)) => {
            h.log(Level::Notice, &format!("authentication failure for {user} (service {service}): {reason}"));
            Outcome::AuthErr
        }
        Err(e) => unavailable(h, "auth", &user, &e),
    }
}

/// A name that is not ours: answered at once if the host knows it (its own module pays its
/// hash); otherwise its password goes to the daemon, which spends a dummy verify on it and
/// counts it against the source, so that probing for gatehouse names by timing learns nothing.
/// The daemon's answer is not used: the name is not in the snapshot, so it is not ours here.
fn even_cost_for_a_name_nobody_has(h: &mut dyn PamHandle, b: &dyn Backend, args: &Args, not_ours: Outcome) -> Outcome {
    let Some(user) = h.user() else {
        return not_ours;
    };
    if b.host_knows(&user) {
        return not_ours;
    }
    let Ok(pw) = h.authtok() else {
        return not_ours;
    };
    let service = args.service(h);
    let (rhost, tty) = (h.rhost(), h.tty());
    let answer = b.authenticate(&user, &service, rhost.as_deref(), tty.as_deref(), &pw);
    if args.debug {
        let how = match answer {
            Ok(_) => "one dummy verify by the daemon",
            Err(_) => "the daemon could not be asked",
        };
        h.log(Level::Debug, &format!("{user} is known to no name source ({how}); not ours"));
    }
    not_ours
}

/// The prompt for the TOTP code (echoed: it is short-lived, and people read it off a phone).
pub const TOTP_PROMPT: &str = "Verification code: ";

/// Prompts for the TOTP code after a correct password and has the daemon check it.
fn second_factor(h: &mut dyn PamHandle, b: &dyn Backend, user: &str, service: &str, rhost: Option<&str>) -> Outcome {
    let code = match h.prompt(TOTP_PROMPT, true) {
        Ok(c) => c,
        Err(o) => return o,
    };
    match b.verify_totp(user, service, rhost, &code) {
        Ok(Answer::Ok | Answer::NewPasswordRequired) => Outcome::Success,
        Ok(Answer::UnknownUser) => Outcome::UserUnknown,
        Ok(Answer::Denied(reason)) => {
            h.log(Level::Notice, &format!("authentication failure for {user} (service {service}): {reason}"));
            Outcome::AuthErr
        }
        Ok(Answer::TotpRequired) => Outcome::AuthErr,
        Err(e) => unavailable(h, "auth", user, &e),
    }
}

/// `pam_sm_acct_mgmt`.
pub fn account(h: &mut dyn PamHandle, b: &dyn Backend, args: &Args) -> Outcome {
    let user = match our_user(h, b, args) {
        Ok(u) => u,
        Err(o) => return o,
    };
    let service = args.service(h);
    let (rhost, tty) = (h.rhost(), h.tty());
    match b.account(&user, &service, rhost.as_deref(), tty.as_deref()) {
        Ok(Answer::Ok) => Outcome::Success,
        Ok(Answer::NewPasswordRequired) => {
            h.log(Level::Notice, &format!("{user} must change their password first (service {service})"));
            Outcome::NewAuthtokReqd
        }
        Ok(Answer::UnknownUser) => Outcome::UserUnknown,
        Ok(Answer::TotpRequired) => Outcome::PermDenied,
        Ok(Answer::Denied(reason)) => {
            h.log(Level::Notice, &format!("access denied for {user} (service {service}): {reason}"));
            Outcome::PermDenied
        }
        Err(e) => unavailable(h, "account", &user, &e),
    }
}

/// `pam_sm_chauthtok`. In the preliminary pass it only confirms the user is ours; in the update
/// pass it reads the new password (PAM prompts twice) and asks the daemon to set it.
pub fn chauthtok(h: &mut dyn PamHandle, b: &dyn Backend, args: &Args, prelim: bool) -> Outcome {
    let user = match our_user(h, b, args) {
        Ok(u) => u,
        Err(o) => return o,
    };
    if prelim {
        return Outcome::Success;
    }
    let new = match h.new_authtok() {
        Ok(p) => p,
        Err(o) => return o,
    };
    let old = h.old_authtok();
    let service = args.service(h);
    match b.change_password(&user, &service, old.as_ref(), &new) {
        Ok(Answer::Ok) => {
            h.log(Level::Notice, &format!("password changed for {user}"));
            Outcome::Success
        }
        Ok(Answer::Denied(reason)) => {
            h.error(&reason);
            h.log(Level::Notice, &format!("password change refused for {user}: {reason}"));
            Outcome::AuthtokErr
        }
        Ok(Answer::UnknownUser) => Outcome::UserUnknown,
        Ok(Answer::NewPasswordRequired | Answer::TotpRequired) => Outcome::AuthtokErr,
        Err(e) => unavailable(h, "password", &user, &e),
    }
}

/// `pam_sm_setcred`, `pam_sm_open_session`, `pam_sm_close_session`: nothing to do for our
/// users; not ours for the rest.
pub fn nothing_to_do(h: &mut dyn PamHandle, b: &dyn Backend, args: &Args) -> Outcome {
    match our_user(h, b, args) {
        Ok(_) => Outcome::Success,
        Err(o) => o,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::cell::RefCell;

    /// A scripted PAM handle; fails the test if a prompt it did not expect happens.
    #[derive(Default)]
    struct Fake {
        user: Option<String>,
        service: Option<String>,
        rhost: Option<String>,
        password: Option<String>,
        /// Answers to `prompt`, in order.
        answers: Vec<String>,
        prompts: usize,
        logs: RefCell<Vec<String>>,
        errors: Vec<String>,
    }

    impl PamHandle for Fake {
        fn user(&mut self) -> Option<String> {
            self.user.clone()
        }
        fn service(&self) -> Option<String> {
            self.service.clone()
        }
        fn rhost(&self) -> Option<String> {
            self.rhost.clone()
        }
        fn tty(&self) -> Option<String> {
            None
        }
        fn authtok(&mut self) -> Result<Secret, Outcome> {
            self.prompts += 1;
            self.password.clone().map(Secret::new).ok_or(Outcome::ConvErr)
        }
        fn new_authtok(&mut self) -> Result<Secret, Outcome> {
            self.prompts += 1;
            self.password.clone().map(Secret::new).ok_or(Outcome::ConvErr)
        }
        fn old_authtok(&self) -> Option<Secret> {
            None
        }
        fn prompt(&mut self, msg: &str, echo: bool) -> Result<Secret, Outcome> {
            assert_eq!((msg, echo), (TOTP_PROMPT, true));
            self.prompts += 1;
            if self.answers.is_empty() {
                return Err(Outcome::ConvErr);
            }
            Ok(Secret::new(self.answers.remove(0)))
        }
        fn error(&mut self, msg: &str) {
            self.errors.push(msg.to_string());
        }
        fn log(&self, _level: Level, msg: &str) {
            self.logs.borrow_mut().push(msg.to_string());
        }
    }

    /// A backend that knows `alice` and answers from a script; counts daemon calls.
    struct Script {
        answer: Result<Answer, String>,
        calls: RefCell<usize>,
    }

    impl Backend for Script {
        fn is_ours(&self, name: &str) -> Result<bool, String> {
            Ok(name == "alice")
        }
        fn host_knows(&self, name: &str) -> bool {
            name == "root"
        }
        fn authenticate(
            &self,
            _: &str,
            _: &str,
            _: Option<&str>,
            _: Option<&str>,
            pw: &Secret,
        ) -> Result<Answer, String> {
            *self.calls.borrow_mut() += 1;
            if pw.expose() == "right" {
                self.answer.clone()
            } else {
                Ok(Answer::Denied("wrong password".into()))
            }
        }
        fn verify_totp(&self, _: &str, _: &str, _: Option<&str>, code: &Secret) -> Result<Answer, String> {
            *self.calls.borrow_mut() += 1;
            Ok(if code.expose() == "123456" { Answer::Ok } else { Answer::Denied("wrong TOTP code".into()) })
        }
        fn account(&self, _: &str, _: &str, _: Option<&str>, _: Option<&str>) -> Result<Answer, String> {
            *self.calls.borrow_mut() += 1;
            self.answer.clone()
        }
        fn change_password(&self, _: &str, _: &str, _: Option<&Secret>, _: &Secret) -> Result<Answer, String> {
            *self.calls.borrow_mut() += 1;
            self.answer.clone()
        }
    }

    fn fake(user: &str, pw: &str) -> Fake {
        Fake { user: Some(user.into()), service: Some("sshd".into()), password: Some(pw.into()), ..Fake::default() }
    }

    fn script(a: Result<Answer, String>) -> Script {
        Script { answer: a, calls: RefCell::new(0) }
    }

    #[test]
    fn local_users_get_user_unknown_without_prompt_or_io() {
        let args = Args::default();
        for phase in 0..4 {
            let mut h = fake("root", "x");
            let b = script(Ok(Answer::Ok));
            let o = match phase {
                0 => authenticate(&mut h, &b, &args),
                1 => account(&mut h, &b, &args),
                2 => chauthtok(&mut h, &b, &args, false),
                _ => nothing_to_do(&mut h, &b, &args),
            };
            assert_eq!(o, Outcome::UserUnknown);
            assert_eq!(h.prompts, 0, "no prompt for a local user");
            assert_eq!(*b.calls.borrow(), 0, "no daemon call for a local user");
        }
    }

    #[test]
    fn a_name_no_source_has_costs_one_daemon_verify_and_stays_unknown() {
        let args = Args::default();
        // The daemon's answer is never used, not even a success from a database newer than
        // the snapshot; a daemon that cannot be asked changes nothing either.
        for answer in [Ok(Answer::UnknownUser), Ok(Answer::Ok), Err("connection refused".to_string())] {
            let mut h = fake("nosuchuser", "right");
            let b = script(answer);
            assert_eq!(authenticate(&mut h, &b, &args), Outcome::UserUnknown);
            assert_eq!((h.prompts, *b.calls.borrow()), (1, 1), "one password read, one daemon call");
        }
        // The other phases stay at once: only a password costs a verify.
        let mut h = fake("nosuchuser", "right");
        let b = script(Ok(Answer::Ok));
        assert_eq!(account(&mut h, &b, &args), Outcome::UserUnknown);
        assert_eq!(chauthtok(&mut h, &b, &args, false), Outcome::UserUnknown);
        assert_eq!((h.prompts, *b.calls.borrow()), (0, 0));
    }

    #[test]
    fn auth_outcomes() {
        let args = Args::default();
        let cases = [
            ("right", Ok(Answer::Ok), Outcome::Success),
            ("wrong", Ok(Answer::Ok), Outcome::AuthErr),
            ("right", Ok(Answer::NewPasswordRequired), Outcome::Success),
            ("right", Ok(Answer::UnknownUser), Outcome::UserUnknown),
            ("right", Err("connection refused".to_string()), Outcome::AuthinfoUnavail),
        ];
        for (pw, answer, want) in cases {
            let mut h = fake("alice", pw);
            assert_eq!(authenticate(&mut h, &script(answer), &args), want, "{pw}");
        }
        let mut h = fake("alice", "wrong");
        authenticate(&mut h, &script(Ok(Answer::Ok)), &args);
        let logs = h.logs.borrow().join("\n");
        assert!(logs.contains("authentication failure for alice") && !logs.contains("wrong\n"), "{logs}");
    }

    #[test]
    fn account_outcomes() {
        let args = Args::default();
        let cases = [
            (Ok(Answer::Ok), Outcome::Success),
            (Ok(Answer::Denied("account expired".into())), Outcome::PermDenied),
            (Ok(Answer::NewPasswordRequired), Outcome::NewAuthtokReqd),
            (Err("timed out".to_string()), Outcome::AuthinfoUnavail),
        ];
        for (answer, want) in cases {
            let mut h = fake("alice", "");
            assert_eq!(account(&mut h, &script(answer), &args), want);
            assert_eq!(h.prompts, 0, "the account phase never prompts");
        }
    }

    #[test]
    fn totp_prompt_after_the_password() {
        let args = Args::default();
        for (answers, want) in
            [(vec!["123456"], Outcome::Success), (vec!["654321"], Outcome::AuthErr), (vec![], Outcome::ConvErr)]
        {
            let mut h = fake("alice", "right");
            h.answers = answers.into_iter().map(String::from).collect();
            let b = script(Ok(Answer::TotpRequired));
            assert_eq!(authenticate(&mut h, &b, &args), want);
            assert_eq!(h.prompts, 2, "password, then the code");
        }
        // A wrong password never reaches the code prompt.
        let mut h = fake("alice", "wrong");
        assert_eq!(authenticate(&mut h, &script(Ok(Answer::TotpRequired)), &args), Outcome::AuthErr);
        assert_eq!(h.prompts, 1);
    }

    #[test]
    fn chauthtok_outcomes() {
        let args = Args::default();
        let mut h = fake("alice", "a new long password");
        assert_eq!(chauthtok(&mut h, &script(Ok(Answer::Ok)), &args, true), Outcome::Success);
        assert_eq!(h.prompts, 0, "the preliminary pass does not prompt");
        assert_eq!(chauthtok(&mut h, &script(Ok(Answer::Ok)), &args, false), Outcome::Success);
        let mut h = fake("alice", "short");
        let o = chauthtok(
            &mut h,
            &script(Ok(Answer::Denied("password is shorter than 14 characters".into()))),
            &args,
            false,
        );
        assert_eq!(o, Outcome::AuthtokErr);
        assert_eq!(h.errors, vec!["password is shorter than 14 characters"]);
    }

    #[test]
    fn args() {
        let (a, unknown) = Args::parse(["debug", "try_first_pass", "socket=/tmp/s", "protocol=web", "bogus"]);
        assert!(a.debug);
        assert_eq!(a.socket.as_deref(), Some("/tmp/s"));
        assert_eq!(a.protocol.as_deref(), Some("web"));
        assert_eq!(unknown, vec!["bogus"]);
        let h = fake("alice", "");
        assert_eq!(a.service(&h), "protocol:web");
        assert_eq!(Args::default().service(&h), "sshd");
    }
}
