//! Delegated administration end to end (issue 9): a local Unix account that holds a group-admin
//! role through its Unix group (`gatehouse admin grant %helpdesk --group acme`) runs the real
//! `gatehouse` CLI as its own uid (setpriv), which sends the command to the real gatehoused on
//! its fixed socket; the daemon finds the role by `SO_PEERCRED` and `getgrouplist`.
//!
//! The accounts live in an overlay of /etc inside a private mount and PID namespace
//! (`tests/data/admin-scenario.sh`), so the host is untouched and gatehoused ends with the
//! namespace. The gatehouse admin over ssh (the other kind) is in ssh/tests/sshd.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::OnceLock;

#[path = "../../tests/lib/scenario.rs"]
mod scenario;
use scenario::Run;

const PASSWORD: &str = "correct horse battery staple";

fn scenario() -> Result<Run, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let t = dir.path();
    // The admin's uid must reach the config-free CLI's socket only; the temp dir itself holds
    // the database (0600, root's) and is traversed by nobody else.
    std::fs::set_permissions(t, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let script = format!(". {}/admin-scenario.sh\n", data.display());
    let out = scenario::in_namespaces(120, &script)
        .env("T", t)
        .env("GATEHOUSE_TESTLIB", concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/lib"))
        .env("GATEHOUSED", env!("CARGO_BIN_EXE_gatehoused"))
        .env("GATEHOUSE_CLI", env!("CARGO_BIN_EXE_gatehouse"))
        .env("PW", PASSWORD)
        .output()
        .map_err(|e| e.to_string())?;
    scenario::from_output(&out, t, "NOLOG", "gatehoused", &[("gatehoused", "daemon.log")])
}

fn run() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    match RUN.get_or_init(scenario) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// The audit rows (`actor|action|target|detail`) of the run.
fn audit(r: &Run) -> Vec<&str> {
    r.block("AUDIT")
}

fn audited(r: &Run, actor: &str, action: &str, target_part: &str) {
    let rows = audit(r);
    let found = rows.iter().any(|l| {
        let f: Vec<&str> = l.splitn(4, '|').collect();
        f.len() == 4 && f[0] == actor && f[1] == action && (f[2].contains(target_part) || f[3].contains(target_part))
    });
    assert!(found, "no audit row {actor}|{action}|…{target_part}… in:\n{}", rows.join("\n"));
}

#[test]
fn group_admin_adds_and_changes_users_of_its_group() {
    let r = run();
    r.rc("add", 0).said("add", "added user bob");
    r.rc("set", 0).said("set", "updated user alice");
    r.rc("key-add", 0).said("key-add", "SHA256:");
    r.rc("rule-add", 0).said("rule-add", "/in");
    r.rc("passwd", 0).said("passwd", "password of bob changed");
    r.rc("show", 0).said("show", "bob").said("show", "Bob");
    r.rc("list", 0).said("list", "alice").said("list", "bob").not_said("list", "carol");
    r.rc("root-ok", 0);
    r.rc("del", 0).said("del", "deleted user bob");
    // Every change carries the Unix account that made it.
    for (action, target) in [
        ("user.add", "bob"),
        ("user.set", "alice"),
        ("key.add", "bob"),
        ("rule.add", "bob"),
        ("user.passwd", "bob"),
        ("user.del", "bob"),
    ] {
        audited(r, "hd1", action, target);
    }
}

#[test]
fn group_admin_is_refused_outside_its_group_and_above_its_rights() {
    let r = run();
    for (label, why) in [
        ("add-other", "group beta is not one of yours"),
        ("add-nogroup", "a new user needs --group"),
        ("set-other", "no user \"carol\" among the members of your groups"),
        ("show-other", "no user \"carol\" among the members of your groups"),
        ("list-all", "list with --group"),
        ("raise-admin", "only root gives or takes admin rights"),
        ("raise-group", "group admins change memberships with `gatehouse group members`"),
        ("admin-target", "no user \"boss\" among the members of your groups"),
        ("members-foreign", "no user \"carol\""),
        ("move-out", "would leave the last of your groups"),
        ("root-outside", "must lie under"),
        ("root-shared", "the root of a user you do not manage"),
        ("root-default", "the root of a user you do not manage"),
        ("root-existing", "already exists and is not the root of a user you manage"),
        ("group-set", "this command is for root only"),
        ("grant", "this command is for root only"),
        ("del-shared", "refusing --remove-files"),
    ] {
        r.rc(label, 2).said(label, why);
        let cmd: String = r.get(label).out.clone();
        assert!(!cmd.is_empty());
        audited(r, "hd1", "admin.refused", why);
    }
    // An account with no role gets nothing, and is only logged (not audited).
    r.rc("norole", 2).said("norole", "holds no gatehouse admin role");
    assert!(!audit(r).iter().any(|l| l.starts_with("nobody-adm|")), "{:?}", audit(r));
    // Nothing refused changed anything: carol keeps her mode, dave does not exist.
    assert!(!audit(r).iter().any(|l| l.contains("|user.add|dave") || l.contains("|user.set|carol")));
}

#[test]
fn roles_are_listed_and_revoked_by_root() {
    let r = run();
    let rows = r.block("ADMINS");
    let has = |holder: &str, manages: &str| {
        rows.iter().any(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(&[holder, "group", manages]))
    };
    assert!(has("%helpdesk", "acme") && has("gatehouse:boss", "acme"), "{rows:#?}");
    assert!(!rows.iter().any(|l| l.starts_with("nobody-adm")), "a revoked role is gone: {rows:#?}");
    audited(r, "root", "admin.grant", "%helpdesk");
    audited(r, "root", "admin.revoke", "nobody-adm");
    audited(r, "root", "user.admin", "boss");
}
