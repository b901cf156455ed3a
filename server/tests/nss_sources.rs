//! Other NSS sources of the host (issue 4): a gatehouse user whose name or uid another source
//! answers (here libnss-extrausers, a real NSS module, listed after `files` in a private
//! `/etc/nsswitch.conf`) is left out of the snapshot, with a log line naming the source; the
//! others stay. The real gatehoused runs in private mount and PID namespaces
//! (`tests/data/nss-sources.sh`); the host's files are never touched. Needs root and
//! libnss-extrausers (.ci/run installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use gatehouse_snapshot::Snapshot;
use std::path::Path;

#[path = "../../tests/lib/scenario.rs"]
mod scenario;

#[test]
fn users_another_source_answers_are_left_out_with_a_reason() {
    if !Path::new("/usr/lib/libnss_extrausers.so.2").exists()
        && !Path::new("/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2").exists()
    {
        panic!("libnss-extrausers is not installed (apt-get install libnss-extrausers; .ci/run does)");
    }
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let script = format!(". {}/tests/data/nss-sources.sh\n", env!("CARGO_MANIFEST_DIR"));
    let out = scenario::in_namespaces(120, &script)
        .env("T", t)
        .env("GATEHOUSE_TESTLIB", concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/lib"))
        .env("GATEHOUSED", env!("CARGO_BIN_EXE_gatehoused"))
        .env("GATEHOUSE_CLI", env!("CARGO_BIN_EXE_gatehouse"))
        .output()
        .unwrap();
    let run = scenario::from_output(&out, t, "NOLOG", "gatehoused", &[("gatehoused", "daemon.log")])
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(t.join("nss.db")).unwrap_or_else(|e| panic!("no snapshot: {e}\n{}", run.logs()));
    let snap = Snapshot::parse(&bytes).unwrap();
    let has = |name: &str| snap.user_by_name(name.as_bytes()).unwrap().is_some();
    assert!(has("alice"), "alice stays\n{}", run.logs());
    assert!(!has("dupname") && !has("dupid"), "both clashing users are left out\n{}", run.logs());
    let log = run.log("gatehoused");
    for (user, what) in [("dupname", "passwd \"dupname\""), ("dupid", "someone:x:")] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("user \"{user}\"")) && l.contains("extrausers") && l.contains(what)),
            "no line saying why {user} was left out:\n{log}"
        );
    }
}
