#![allow(clippy::unwrap_used, clippy::panic)]
use super::*;
use crate::rules::{Level, Mode, Rule};
use crate::testutil::{group, user};

/// The conformance table's rule tree (ssh/tests/data/conformance.py `RULES_TREE`) without
/// its `/clients/*/in` key, which ProFTPD cannot express.
fn tree() -> Vec<Rule> {
    [
        ("/", Level::List),
        ("/in", Level::Upload),
        ("/pub", Level::Read),
        ("/secret", Level::None),
        ("/work", Level::Write),
        ("/clients/*", Level::Read),
    ]
    .into_iter()
    .map(|(p, l)| Rule::new(p, l).unwrap())
    .collect()
}

fn allowed(u: &ProftpdUser, place: &str) -> (Vec<Cmd>, bool) {
    let p = u.places.iter().find(|p| p.path == place).unwrap_or_else(|| panic!("no place {place} in {u:#?}"));
    (p.allow.iter().copied().collect(), p.overwrite)
}

use Cmd::*;

#[test]
fn every_place_of_the_tree_gets_the_rule_tables_answers() {
    let u = proftpd_entry(&user(Mode::Rw, true, None, tree()), &[]).unwrap();
    let paths: Vec<&str> = u.places.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/",
            "/*",
            "/clients",
            "/clients/*",
            "/clients/*/?*",
            "/in",
            "/in/*",
            "/pub",
            "/pub/*",
            "/secret",
            "/secret/*",
            "/work",
            "/work/*"
        ]
    );
    // The root lists; its entries (rule "/" = list) may be listed and stat'ed, nothing else.
    assert_eq!(allowed(&u, "/"), (vec![List, Stat], false));
    assert_eq!(allowed(&u, "/*"), (vec![List, Stat], false));
    // The drop box: list it; inside, new files only (no overwrite, download, delete or mkdir).
    assert_eq!(allowed(&u, "/in"), (vec![List, Stat], false));
    assert_eq!(allowed(&u, "/in/*"), (vec![List, Stat, Stor], false));
    assert_eq!(allowed(&u, "/pub/*"), (vec![List, Stat, Retr], false));
    // none: nothing at all, on the folder or inside it.
    assert_eq!(allowed(&u, "/secret"), (vec![], false));
    assert_eq!(allowed(&u, "/secret/*"), (vec![], false));
    // write: everything inside; the folder itself cannot be removed or renamed (the root only
    // lists, and moving it would take its rule along).
    assert_eq!(allowed(&u, "/work"), (vec![List, Stat], false));
    assert_eq!(allowed(&u, "/work/*"), (Cmd::ALL.to_vec(), true));
    assert_eq!(allowed(&u, "/clients/*"), (vec![List, Stat], false));
    assert_eq!(allowed(&u, "/clients/*/?*"), (vec![List, Stat, Retr], false));
}

#[test]
fn caps_apply_everywhere() {
    // Mode r: read and list only, even under write.
    let u = proftpd_entry(&user(Mode::R, true, None, tree()), &[]).unwrap();
    assert_eq!(allowed(&u, "/work/*"), (vec![List, Stat, Retr], false));
    assert_eq!(allowed(&u, "/in/*"), (vec![List, Stat], false));
    // No-delete: new files and folders, renames that replace nothing; no overwrite, append or delete.
    let u = proftpd_entry(&user(Mode::Rw, false, None, vec![]), &[]).unwrap();
    assert_eq!(allowed(&u, "/*"), (vec![List, Stat, Retr, Stor, Mkd, Rnfr, Rnto], false));
    // No rules: the mode everywhere, in two blocks.
    let u = proftpd_entry(&user(Mode::Rw, true, Some(8), vec![]), &[]).unwrap();
    assert_eq!(u.places.len(), 2);
    assert_eq!(allowed(&u, "/*"), (Cmd::ALL.to_vec(), true));
    assert_eq!(u.max_file_size, Some(8));
}

#[test]
fn group_rules_count() {
    let g = group("acme", vec![Rule::new("/shared", Level::Read).unwrap()], &["ftp"]);
    let u = proftpd_entry(&user(Mode::Rw, true, None, vec![]), &[g]).unwrap();
    assert_eq!(allowed(&u, "/shared/*"), (vec![List, Stat, Retr], false));
    assert_eq!(allowed(&u, "/*"), (Cmd::ALL.to_vec(), true));
}

#[test]
fn what_proftpd_cannot_express_is_refused_with_the_reason() {
    let mut rules = tree();
    rules.push(Rule::new("/clients/*/in", Level::Upload).unwrap());
    rules.push(Rule::new("/a?c", Level::Read).unwrap());
    let e = proftpd_limits(&user(Mode::Rw, true, None, rules), &[]).unwrap_err();
    assert_eq!(
        e,
        "ProFTPD cannot enforce the rule keys /a?c, /clients/*/in (ProFTPD's * also matches /: only exact \
         paths and a whole last * are expressed); use SFTP"
    );
    let mut u = user(Mode::Rw, true, None, vec![]);
    u.root = "/srv/gatehouse/a b".into();
    assert!(proftpd_limits(&u, &[]).unwrap_err().contains("the root \"/srv/gatehouse/a b\""));
    u.root = "/srv/gatehouse/%u".into();
    assert!(proftpd_limits(&u, &[]).is_err());
    u.protocols = vec!["ssh".into()];
    assert_eq!(proftpd_user(&u, &[]), None);
}
