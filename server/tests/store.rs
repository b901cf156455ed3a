//! The store suite: every scenario runs unchanged against SQLite and against a real PostgreSQL
//! that this test starts itself (initdb + pg_ctl on a temp dir, loopback port) and stops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fresh_store, Db, FakeLocal, PgServer};
use gatehouse_policy::keys::PublicKey;
use gatehouse_policy::rules::{Level, Mode, Rule};
use gatehouse_server::store::{NewGroup, NewUser, RuleOwner, Store, StoreError, UserChanges};
use sqlx::Row;

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

fn local() -> FakeLocal {
    FakeLocal { names: vec!["root", "localbob"], ids: vec![5000004], subid: Some((5000006, 5000009)) }
}

fn nu(name: &str) -> NewUser {
    NewUser { name: name.into(), ..NewUser::default() }
}

async fn audit_count(store: &Store) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM audit_log").fetch_one(store.pool()).await.unwrap().try_get(0).unwrap()
}

/// Users: add, get by name and id, defaults, update, delete; ids allocated in order, skipping
/// local ids and subordinate ranges, never reused.
async fn users_and_ids(db: &Db<'_>) {
    let (s, dir) = fresh_store(db, local()).await;
    let a = s.add_user("root", nu("alice")).await.unwrap();
    assert_eq!(a.uid, 5000002, "first allocatable id is first+2");
    assert_eq!(a.gid, a.uid);
    assert_eq!(a.root, format!("{}/home/alice", dir.path().display()));
    assert_eq!(a.mode, Mode::Rw);
    assert!(a.delete_allowed && a.active);
    assert_eq!(a.protocols, vec!["ftp", "ssh"]);
    assert_eq!(s.get_user(&a.id).await.unwrap().name, "alice");
    let b = s.add_user("root", nu("bob")).await.unwrap();
    assert_eq!(b.uid, 5000003);
    let c = s.add_user("root", nu("carol")).await.unwrap();
    assert_eq!(c.uid, 5000005, "5000004 is taken locally");
    let d = s.add_user("root", nu("dave")).await.unwrap();
    assert_eq!(d.uid, 5000010, "5000006..=5000009 is a subordinate-id range");
    s.delete_user("root", "dave").await.unwrap();
    let e = s.add_user("root", nu("erin")).await.unwrap();
    assert_eq!(e.uid, 5000011, "a deleted uid is never reused");
    assert!(matches!(s.get_user("dave").await, Err(StoreError::NotFound { .. })));

    let changed = s
        .update_user(
            "root",
            "alice",
            UserChanges {
                mode: Some(Mode::R),
                delete_allowed: Some(false),
                allowed_ips: Some(vec!["10.0.0.0/8".parse().unwrap()]),
                expires_at: Some(Some(1_900_000_000)),
                max_file_size: Some(Some(1 << 20)),
                email: Some("alice@example.com".into()),
                ..UserChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.mode, Mode::R);
    assert!(!changed.delete_allowed);
    assert_eq!(changed.allowed_ips.len(), 1);
    assert_eq!(changed.expires_at, Some(1_900_000_000));
    assert_eq!(changed.max_file_size, Some(1 << 20));
    let cleared =
        s.update_user("root", "alice", UserChanges { expires_at: Some(None), ..Default::default() }).await.unwrap();
    assert_eq!(cleared.expires_at, None);

    let page1 = s.list_users(None, Some(2)).await.unwrap();
    assert_eq!(page1.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["alice", "bob"]);
    let page2 = s.list_users(Some("bob"), Some(2)).await.unwrap();
    assert_eq!(page2.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["carol", "erin"]);
    assert!(audit_count(&s).await >= 8);
}

/// Explicit uids: refused when outside the range, taken locally, in a subordinate range, or
/// already in the database; accepted otherwise, and the allocator moves past them.
async fn explicit_uids(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    let with = |id| NewUser { uid: Some(id), ..nu("x") };
    assert!(matches!(s.add_user("root", with(42)).await, Err(StoreError::Refused(_))));
    assert!(matches!(s.add_user("root", with(5000004)).await, Err(StoreError::TakenLocally(_))));
    assert!(matches!(s.add_user("root", with(5000007)).await, Err(StoreError::TakenLocally(_))));
    let u = s.add_user("root", with(5000500)).await.unwrap();
    assert_eq!(u.uid, 5000500);
    assert!(matches!(
        s.add_user("root", NewUser { uid: Some(5000500), ..nu("y") }).await,
        Err(StoreError::Exists { .. })
    ));
    assert_eq!(s.add_user("root", nu("z")).await.unwrap().uid, 5000501);
}

/// Names: syntax, duplicates across users and groups, reserved and local names.
async fn names(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    s.add_user("root", nu("alice")).await.unwrap();
    assert!(matches!(s.add_user("root", nu("alice")).await, Err(StoreError::Exists { kind: "user", .. })));
    assert!(matches!(s.add_user("root", nu("Alice")).await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.add_user("root", nu("root")).await, Err(StoreError::TakenLocally(_))));
    assert!(matches!(s.add_user("root", nu("gatehouse-users")).await, Err(StoreError::Refused(_))));
    let g = NewGroup { name: "alice".into(), ..NewGroup::default() };
    assert!(
        matches!(s.add_group("root", g).await, Err(StoreError::Exists { kind: "user", .. })),
        "a user's private group has the user's name"
    );
    s.add_group("root", NewGroup { name: "acme".into(), ..NewGroup::default() }).await.unwrap();
    assert!(matches!(s.add_user("root", nu("acme")).await, Err(StoreError::Exists { kind: "group", .. })));
}

/// Roots must lie under home_base or a root prefix.
async fn roots(db: &Db<'_>) {
    let (s, dir) = fresh_store(db, local()).await;
    let home = dir.path().join("home");
    let ok = NewUser { root: Some(format!("{}/x/alice", home.display())), ..nu("alice") };
    s.add_user("root", ok).await.unwrap();
    s.add_user("root", NewUser { root: Some("/data/shared/b".into()), ..nu("bob") }).await.unwrap();
    for bad in ["/etc", "/data/sharedx/c", "/data/shared", "relative/path", "/data/shared/../../etc"] {
        let r = s.add_user("root", NewUser { root: Some(bad.into()), ..nu("carol") }).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{bad}: {r:?}");
    }
    let r =
        s.update_user("root", "alice", UserChanges { root: Some("/srv/elsewhere".into()), ..Default::default() }).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))));
    let alice = s.get_user("alice").await.unwrap();
    assert_eq!(s.users_sharing_root("/data/shared/b", &alice.id).await.unwrap(), vec!["bob"]);
    assert_eq!(s.users_sharing_root("/data/shared", &alice.id).await.unwrap(), vec!["bob"], "a root containing bob's");
    assert_eq!(
        s.users_sharing_root("/data/shared/b/sub", &alice.id).await.unwrap(),
        vec!["bob"],
        "a root inside bob's"
    );
    assert!(s.users_sharing_root("/data/shared/bx", &alice.id).await.unwrap().is_empty());
}

/// Keys and rules: add, duplicate, replace, delete; deleting a user removes them.
async fn keys_and_rules(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    s.add_user("root", nu("alice")).await.unwrap();
    let k = PublicKey::parse(ED25519).unwrap();
    s.add_keys("root", "alice", std::slice::from_ref(&k)).await.unwrap();
    assert!(matches!(
        s.add_keys("root", "alice", std::slice::from_ref(&k)).await,
        Err(StoreError::Exists { kind: "key", .. })
    ));
    let u = s.get_user("alice").await.unwrap();
    assert_eq!(u.keys, vec![k.clone()]);
    s.add_rule("root", RuleOwner::User, "alice", &Rule::new("/uploads", Level::Write).unwrap()).await.unwrap();
    s.add_rule("root", RuleOwner::User, "alice", &Rule::new("/", Level::Read).unwrap()).await.unwrap();
    s.add_rule("root", RuleOwner::User, "alice", &Rule::new("/uploads", Level::Upload).unwrap()).await.unwrap();
    let u = s.get_user("alice").await.unwrap();
    assert_eq!(u.rules, vec![Rule::new("/", Level::Read).unwrap(), Rule::new("/uploads", Level::Upload).unwrap()]);
    assert!(
        matches!(s.del_rule("root", RuleOwner::User, "alice", "/nope").await, Err(StoreError::Missing(ref m)) if m.contains("no rule for \"/nope\""))
    );
    s.del_rule("root", RuleOwner::User, "alice", "/").await.unwrap();
    assert_eq!(s.del_key("root", "alice", "alice@laptop").await.unwrap(), 1);
    assert!(matches!(s.del_key("root", "alice", &k.fingerprint).await, Err(StoreError::Missing(_))));
    let other =
        PublicKey::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6gu+bllag9eq82b+8m3PAzJoAZ9oF7nFk52vbszccP other")
            .unwrap();
    let r = s.add_keys("root", "alice", &[other.clone(), other.clone()]).await;
    assert!(matches!(r, Err(StoreError::Refused(ref m)) if m.contains("given twice")), "{r:?}");
    s.add_keys("root", "alice", std::slice::from_ref(&k)).await.unwrap();
    let r = s.add_keys("root", "alice", &[other, k.clone()]).await;
    assert!(matches!(r, Err(StoreError::Exists { kind: "key", .. })), "{r:?}");
    assert_eq!(s.get_user("alice").await.unwrap().keys, vec![k.clone()], "a refused batch adds nothing");
    s.del_key("root", "alice", &k.fingerprint).await.unwrap();
    s.add_keys("root", "alice", std::slice::from_ref(&k)).await.unwrap();
    s.delete_user("root", "alice").await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM user_keys").fetch_one(s.pool()).await.unwrap().try_get(0).unwrap();
    assert_eq!(n, 0, "keys go with the user");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM user_rules").fetch_one(s.pool()).await.unwrap().try_get(0).unwrap();
    assert_eq!(n, 0, "rules go with the user");
}

/// Groups, memberships and group rules.
async fn groups(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    let g = s
        .add_group(
            "root",
            NewGroup {
                name: "acme".into(),
                protocols: vec!["web".into()],
                allowed_ips: vec!["192.0.2.0/24".parse().unwrap()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(g.gid, 5000002);
    s.add_user("root", NewUser { groups: vec!["acme".into()], ..nu("alice") }).await.unwrap();
    s.add_user("root", nu("bob")).await.unwrap();
    assert!(matches!(
        s.add_user("root", NewUser { groups: vec!["nope".into()], ..nu("carol") }).await,
        Err(StoreError::NotFound { kind: "group", .. })
    ));
    assert!(
        matches!(s.get_user("carol").await, Err(StoreError::NotFound { .. })),
        "a failed add leaves nothing behind"
    );
    s.add_members("root", "acme", &["bob".into()]).await.unwrap();
    s.add_rule("root", RuleOwner::Group, "acme", &Rule::new("/clients/*/in", Level::Upload).unwrap()).await.unwrap();
    let g = s.get_group("acme").await.unwrap();
    assert_eq!(g.members, vec!["alice", "bob"]);
    assert_eq!(g.rules.len(), 1);
    let alice = s.get_user("alice").await.unwrap();
    assert_eq!(alice.groups, vec!["acme"]);
    assert_eq!(s.groups_of(&alice).await.unwrap()[0].allowed_ips.len(), 1);
    s.remove_members("root", "acme", &["bob".into()]).await.unwrap();
    assert!(matches!(s.remove_members("root", "acme", &["bob".into()]).await, Err(StoreError::Missing(_))));
    s.del_rule("root", RuleOwner::Group, "acme", "/clients/*/in").await.unwrap();
    s.delete_group("root", "acme").await.unwrap();
    assert!(s.get_user("alice").await.unwrap().groups.is_empty());
}

/// An import is all or nothing.
async fn import_atomic(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    let batch = vec![nu("u1"), nu("u2"), nu("root"), nu("u4")];
    let r = s.import_users("root", "test", &batch, s.import_checker().as_ref(), false).await;
    assert!(
        matches!(r, Err(StoreError::Refused(ref m)) if m.contains("root") && m.contains("nothing was imported")),
        "{r:?}"
    );
    assert!(s.list_users(None, None).await.unwrap().is_empty());
    let n = s.import_users("root", "test", &[nu("u1"), nu("u2")], s.import_checker().as_ref(), true).await.unwrap();
    assert_eq!(n, 2);
    assert!(s.list_users(None, None).await.unwrap().is_empty(), "a dry run changes nothing");
    let n = s.import_users("root", "test", &[nu("u1"), nu("u2")], s.import_checker().as_ref(), false).await.unwrap();
    assert_eq!(n, 2);
}

/// Plain-SQL edits are read back, and a malformed value is reported, not silently defaulted.
async fn plain_sql(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    s.add_user("root", nu("alice")).await.unwrap();
    sqlx::query("UPDATE users SET active = 0, expires_at = '2030-01-01', allowed_ips = '10.1.0.0/16, 2001:db8::/32' WHERE name = 'alice'")
        .execute(s.pool())
        .await
        .unwrap();
    let u = s.get_user("alice").await.unwrap();
    assert!(!u.active);
    assert_eq!(u.expires_at, Some(1_893_456_000));
    assert_eq!(u.allowed_ips.len(), 2);
    sqlx::query("UPDATE users SET allowed_ips = '10.1.0.0/33' WHERE name = 'alice'").execute(s.pool()).await.unwrap();
    let e = s.get_user("alice").await.unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(ref m) if m.contains("alice") && m.contains("allowed_ips")), "{e}");
    let e = sqlx::query("UPDATE users SET mode = 'rwx' WHERE name = 'alice'").execute(s.pool()).await;
    assert!(e.is_err(), "the schema's CHECK constraints refuse bad levels and modes");
}

/// Concurrent writers queue on the write lock instead of failing or sharing an id.
async fn concurrent_writers(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.add_user("root", nu(&format!("user{i}"))).await.map(|u| u.uid) }));
    }
    let mut uids = Vec::new();
    for t in tasks {
        uids.push(t.await.unwrap().unwrap());
    }
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 16);
}

/// Migrations: a fresh database is not current; migrate twice is harmless.
async fn migrations(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    assert!(s.status().await.unwrap().pending.is_empty());
    assert!(s.migrate().await.unwrap().is_empty());
    s.ensure_current().await.unwrap();
}

/// TOTP: enable (refused twice unless replaced), the flag on the record and the export, the
/// replay guard; invitations: single use, expiry, replacement, must_change_password.
async fn totp_and_invitations(db: &Db<'_>) {
    use gatehouse_policy::secret::Secret;
    let (s, _dir) = fresh_store(db, local()).await;
    let a = s.add_user("root", nu("alice")).await.unwrap();
    assert!(!a.totp_enabled);
    assert_eq!(s.totp_secret_of(&a.id).await.unwrap(), None);
    let (u, secret) = s.totp_enable("root", "alice", false).await.unwrap();
    assert!(u.totp_enabled);
    assert!(matches!(s.totp_enable("root", "alice", false).await, Err(StoreError::Refused(_))));
    let json = serde_json::to_string(&s.get_user("alice").await.unwrap()).unwrap();
    assert!(json.contains("\"totp_enabled\":true") && !json.contains(secret.expose()), "{json}");
    let (stored, last) = s.totp_secret_of(&a.id).await.unwrap().unwrap();
    assert_eq!((stored.expose(), last), (secret.expose(), None));
    assert!(s.totp_accept_step(&a.id, 100).await.unwrap());
    assert!(!s.totp_accept_step(&a.id, 100).await.unwrap(), "same step twice");
    assert!(!s.totp_accept_step(&a.id, 99).await.unwrap(), "an older step after a newer one");
    assert!(s.totp_accept_step(&a.id, 101).await.unwrap());
    let (_, again) = s.totp_enable("root", "alice", true).await.unwrap();
    assert_ne!(again.expose(), secret.expose());
    assert_eq!(s.totp_secret_of(&a.id).await.unwrap().unwrap().1, None, "a new secret restarts the counter");
    s.totp_disable("root", "alice").await.unwrap();
    assert!(!s.get_user("alice").await.unwrap().totp_enabled);
    assert!(!s.totp_accept_step(&a.id, 200).await.unwrap(), "no secret, nothing accepted");
    assert!(matches!(s.totp_disable("root", "alice").await, Err(StoreError::Missing(_))));

    let now = gatehouse_server::store::now();
    let first = s.invite("root", "alice", 3600).await.unwrap();
    assert!(s.get_user("alice").await.unwrap().must_change_password);
    let second = s.invite("root", "alice", 3600).await.unwrap();
    assert!(!s.redeem_invitation(&a.id, &first.code, now).await.unwrap(), "replaced by the second");
    assert!(!s.redeem_invitation(&a.id, &Secret::new("not a code".into()), now).await.unwrap());
    assert!(!s.redeem_invitation(&a.id, &second.code, now + 7200).await.unwrap(), "expired");
    let typed = Secret::new(second.code.expose().to_lowercase().replace('-', ""));
    assert!(s.redeem_invitation(&a.id, &typed, now).await.unwrap());
    assert!(!s.redeem_invitation(&a.id, &second.code, now).await.unwrap(), "used once");
}

/// Stable ids (issue 9): a rename keeps the id, uid, keys, rules, groups, TOTP and root, is
/// audited, and refuses names in use; ids are accepted wherever names are, in either case; a
/// plain-SQL INSERT without an id gets one; imports keep given ids and refuse taken ones.
async fn renames_and_ids(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    s.add_group("root", NewGroup { name: "acme".into(), ..NewGroup::default() }).await.unwrap();
    let a = s
        .add_user(
            "root",
            NewUser {
                keys: vec![PublicKey::parse(ED25519).unwrap()],
                rules: vec![Rule::new("/in", Level::Upload).unwrap()],
                groups: vec!["acme".into()],
                ..nu("alice")
            },
        )
        .await
        .unwrap();
    s.add_user("root", nu("bob")).await.unwrap();
    s.totp_enable("root", "alice", false).await.unwrap();
    let rename = |to: &str| UserChanges { name: Some(to.into()), ..UserChanges::default() };
    let r = s.update_user("root", &a.id.to_uppercase(), rename("alice.smith")).await.unwrap();
    assert_eq!((r.id.as_str(), r.uid, r.gid, r.root.as_str()), (a.id.as_str(), a.uid, a.gid, a.root.as_str()));
    assert_eq!((r.keys.len(), r.rules.len(), r.groups.clone(), r.totp_enabled), (1, 1, vec!["acme".to_string()], true));
    assert!(matches!(s.get_user("alice").await, Err(StoreError::NotFound { .. })));
    assert_eq!(s.get_user("alice.smith").await.unwrap().id, a.id);
    assert_eq!(s.get_group("acme").await.unwrap().members, ["alice.smith"]);
    for taken in ["bob", "acme", "localbob"] {
        assert!(s.update_user("root", &a.id, rename(taken)).await.is_err(), "{taken} is taken");
    }
    assert!(matches!(s.update_user("root", &a.id, rename("Bad Name")).await, Err(StoreError::Invalid(_))));
    let row = sqlx::query("SELECT actor, detail FROM audit_log WHERE action = 'user.rename' AND target = 'alice'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    let detail: String = row.try_get("detail").unwrap();
    assert!(detail.contains("alice.smith") && detail.contains(&a.id) && detail.contains("not moved"), "{detail}");
    // The next NSS snapshot serves the new name (its name index is rebuilt) with the same uid.
    let bytes = gatehouse_server::export::build_checked(&s, 2, &Default::default()).await.unwrap().0;
    let snap = gatehouse_snapshot::Snapshot::parse(&bytes).unwrap();
    assert_eq!(snap.user_by_name(b"alice.smith").unwrap().unwrap().uid, a.uid);
    assert!(snap.user_by_name(b"alice").unwrap().is_none());
    assert_eq!(snap.user_by_uid(a.uid).unwrap().unwrap().name, b"alice.smith");

    let g = s.get_group("acme").await.unwrap();
    let changes = gatehouse_server::store::GroupChanges { name: Some("acme-corp".into()), ..Default::default() };
    let g2 = s.update_group("root", &g.id, changes).await.unwrap();
    assert_eq!((g2.id, g2.gid, g2.members), (g.id.clone(), g.gid, vec!["alice.smith".to_string()]));
    assert_eq!(s.get_user(&a.id).await.unwrap().groups, ["acme-corp"]);

    // Profile fields: the time zone must name a zone of the system tz database.
    let tz =
        |v: &str| UserChanges { time_zone: Some(v.into()), locale: Some("de_DE.UTF-8".into()), ..Default::default() };
    let u = s.update_user("root", "bob", tz("Europe/Berlin")).await.unwrap();
    assert_eq!((u.time_zone.as_str(), u.locale.as_str()), ("Europe/Berlin", "de_DE.UTF-8"));
    for bad in ["Mars/Olympus", "../../etc/passwd", "Europe"] {
        assert!(matches!(s.update_user("root", "bob", tz(bad)).await, Err(StoreError::Invalid(_))), "{bad}");
    }

    // Plain SQL that leaves the id out still gets a UUID (a trigger on SQLite, a default on
    // PostgreSQL).
    sqlx::query("INSERT INTO users (name, uid, gid, root, created_at, updated_at) VALUES ('sqlu', 5000100, 5000100, '/srv/x', '2026-01-01', '2026-01-01')")
        .execute(s.pool())
        .await
        .unwrap();
    let id = s.get_user("sqlu").await.unwrap().id;
    assert!(gatehouse_policy::model::is_id(&id) && id.as_bytes()[14] == b'4', "{id}");
    assert_eq!(s.get_user(&id).await.unwrap().name, "sqlu");

    // Imports keep a given id and refuse one in use.
    let keep = "0b5e2a4c-1d3f-4e5a-8b6c-7d8e9f0a1b2c".to_string();
    let local_ids = s.import_checker();
    let mine = NewUser { id: Some(keep.clone()), ..nu("carol") };
    s.import_users("root", "test", &[mine], local_ids.as_ref(), false).await.unwrap();
    assert_eq!(s.get_user(&keep).await.unwrap().name, "carol");
    let dup = NewUser { id: Some(keep), ..nu("dave") };
    let e = s.import_users("root", "test", &[dup], local_ids.as_ref(), false).await.unwrap_err();
    assert!(e.to_string().contains("dave") && e.to_string().contains("id"), "{e}");
}

/// `user list` filters (issue 9) on both backends: field=value (exact and `*` patterns, with
/// LIKE's own wildcards taken literally), protocol, inactive, expired, locked, group, paging.
async fn list_filters(db: &Db<'_>) {
    use gatehouse_server::store::UserQuery;
    let (s, _dir) = fresh_store(db, local()).await;
    s.add_group("root", NewGroup { name: "acme".into(), ..NewGroup::default() }).await.unwrap();
    let mk = |name: &str, email: &str| NewUser { email: email.into(), ..nu(name) };
    s.add_user("root", NewUser { groups: vec!["acme".into()], ..mk("alice", "alice@Acme.example") }).await.unwrap();
    s.add_user("root", NewUser { active: Some(false), ..mk("bob", "bob@acme.example") }).await.unwrap();
    s.add_user(
        "root",
        NewUser {
            expires_at: Some(1_000_000),
            protocols: Some(vec!["ssh".into()]),
            ..mk("carol", "c_x@other.example")
        },
    )
    .await
    .unwrap();
    let d = s.add_user("root", NewUser { time_zone: "UTC".into(), ..mk("dave", "cax@other.example") }).await.unwrap();
    sqlx::query(
        "INSERT INTO login_state (user_id, failed_logins, locked_until) VALUES ($1, 5, '2999-01-01T00:00:00Z')",
    )
    .bind(&d.id)
    .execute(s.pool())
    .await
    .unwrap();
    let names = |q: UserQuery| {
        let s = s.clone();
        async move { s.find_users(&q).await.unwrap().into_iter().map(|u| u.name).collect::<Vec<_>>() }
    };
    let with = |specs: &[&str]| {
        let mut q = UserQuery::default();
        q.now = gatehouse_server::store::now();
        for f in specs {
            q.filter(f).unwrap();
        }
        q
    };
    assert_eq!(names(with(&["email=*@acme.example"])).await, ["alice", "bob"], "patterns ignore case");
    assert_eq!(names(with(&["email=bob@acme.example"])).await, ["bob"]);
    assert_eq!(names(with(&["email=c_x*"])).await, ["carol"], "'_' is literal");
    assert_eq!(names(with(&["time_zone=UTC"])).await, ["dave"]);
    assert_eq!(names(with(&["protocol=ftp", "email=*example"])).await, ["alice", "bob", "dave"]);
    let set = |specs: &[&str], f: &dyn Fn(&mut UserQuery)| {
        let mut q = with(specs);
        f(&mut q);
        q
    };
    assert_eq!(names(set(&[], &|q| q.inactive = true)).await, ["bob"]);
    assert_eq!(names(set(&[], &|q| q.expired = true)).await, ["carol"]);
    assert_eq!(names(set(&[], &|q| q.locked = true)).await, ["dave"]);
    let acme_id = s.get_group("acme").await.unwrap().id;
    assert_eq!(names(set(&[], &|q| q.group = Some(acme_id.clone()))).await, ["alice"]);
    let page = set(&["email=*example"], &|q| (q.after, q.limit) = (Some("alice".into()), Some(2)));
    assert_eq!(names(page).await, ["bob", "carol"]);
    assert!(names(set(&[], &|q| q.group = Some("nope".into()))).await.is_empty());
}

/// App passwords (issue 9) on both backends: only the hash is stored, labels are unique per
/// user, past expiries are refused, the lookup is by public id and owner, revoke by label,
/// deleting the user removes them.
async fn app_passwords(db: &Db<'_>) {
    let (s, _dir) = fresh_store(db, local()).await;
    let a = s.add_user("root", nu("alice")).await.unwrap();
    let (ap, token) =
        s.add_app_password("root", &a.id, "ftp client", vec!["ftp".into()], Some(4_000_000_000)).await.unwrap();
    let (id, secret) = gatehouse_policy::apppass::parse(&token).unwrap();
    assert_eq!(id, ap.id);
    let stored = s.app_password_for(&a.id, "alice", &id).await.unwrap().unwrap();
    assert_eq!(stored.info, ap);
    assert!(!stored.secret_hash.contains(secret.expose()) && stored.secret_hash.starts_with("$argon2id$"));
    assert!(gatehouse_policy::password::verify_password(&secret, &stored.secret_hash).unwrap().ok);
    let dump: Vec<String> = sqlx::query("SELECT * FROM app_passwords")
        .fetch_all(s.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{:?}", r.try_get::<String, _>("secret_hash")))
        .collect();
    assert!(!dump.concat().contains(secret.expose()), "the secret is never stored");
    let b = s.add_user("root", nu("bob")).await.unwrap();
    assert!(s.app_password_for(&b.id, "bob", &id).await.unwrap().is_none(), "another user's id");
    assert!(matches!(
        s.add_app_password("root", "alice", "ftp client", Vec::new(), None).await,
        Err(StoreError::Exists { .. })
    ));
    assert!(matches!(
        s.add_app_password("root", "alice", "old", Vec::new(), Some(1)).await,
        Err(StoreError::Refused(_))
    ));
    assert!(s.add_app_password("root", "alice", "x", vec!["FTP".into()], None).await.is_err());
    s.add_app_password("root", "bob", "ftp client", Vec::new(), None).await.unwrap();
    s.revoke_app_password("root", "alice", "ftp client").await.unwrap();
    assert!(s.app_password_for(&a.id, "alice", &id).await.unwrap().is_none());
    assert!(matches!(s.revoke_app_password("root", "alice", "ftp client").await, Err(StoreError::Missing(_))));
    assert_eq!(s.list_app_passwords("bob").await.unwrap().len(), 1);
    s.delete_user("root", "bob").await.unwrap();
    let n: i64 =
        sqlx::query("SELECT COUNT(*) FROM app_passwords").fetch_one(s.pool()).await.unwrap().try_get(0).unwrap();
    assert_eq!(n, 0, "deleting a user deletes their app passwords");
}

/// The offline cache: a copy of everything a host serves (hashes, keys, rules, groups, host
/// lists, login state) that the same reads work on; a refresh replaces it whole; the queue of
/// login-state updates keeps its order.
async fn offline_cache(db: &Db<'_>) {
    let (s, dir) = fresh_store(db, local()).await;
    s.add_group("root", NewGroup { name: "acme".into(), hosts: vec!["@eu".into()], ..NewGroup::default() })
        .await
        .unwrap();
    let alice = NewUser {
        password_hash: Some("$6$NmrYu2ruVtCWkCju$uEXqqfpNecOkZasA.iumoTelA3bn9wcZ1pYjI0ViwS95IfGvKGACZ.GtV6ME2z9ZzZGre5zdtq3cArT9LshhM/".into()),
        keys: vec![PublicKey::parse(ED25519).unwrap()],
        rules: vec![Rule::new("/in", Level::Upload).unwrap()],
        groups: vec!["acme".into()],
        hosts: vec!["web1".into()],
        ..nu("alice")
    };
    s.add_user("root", alice).await.unwrap();
    s.add_user("root", nu("bob")).await.unwrap();
    let a = s.get_user("alice").await.unwrap();
    s.record_failure(&a.id, gatehouse_server::store::now(), 300, 5, 900).await.unwrap();
    let a = s.get_user("alice").await.unwrap();

    let cache = Store::open_cache(s.config(), dir.path().join("cache.db").to_str().unwrap()).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(dir.path().join("cache.db")).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(cache.synced_at().await.unwrap(), None);
    s.copy_into(&cache, 1234).await.unwrap();
    assert_eq!(cache.synced_at().await.unwrap(), Some(1234));
    assert_eq!(cache.get_user("alice").await.unwrap(), a, "the same record, login state included");
    assert_eq!(cache.groups_of(&a).await.unwrap(), s.groups_of(&a).await.unwrap());
    assert_eq!(cache.nss_view().await.unwrap().0.len(), s.nss_view().await.unwrap().0.len());

    s.delete_user("root", "bob").await.unwrap();
    s.copy_into(&cache, 1235).await.unwrap();
    assert!(matches!(cache.get_user("bob").await, Err(StoreError::NotFound { .. })), "a refresh replaces");

    for e in ["one", "two", "three"] {
        cache.enqueue(e).await.unwrap();
    }
    let q = cache.queued().await.unwrap();
    assert_eq!(q.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>(), ["one", "two", "three"]);
    cache.dequeue(q[0].0).await.unwrap();
    assert_eq!(cache.queued_count().await.unwrap(), 2);
}

/// Admin roles (issue 9): grants for accounts and %groups, merged scopes, a gatehouse user's
/// flag and groups, audit rows, and a role that goes with its group leaves no rights behind.
async fn admin_roles(db: &Db<'_>) {
    use gatehouse_server::store::Scope;
    let (s, _dir) = fresh_store(db, local()).await;
    for g in ["acme", "beta"] {
        s.add_group("root", NewGroup { name: g.into(), ..NewGroup::default() }).await.unwrap();
    }
    s.grant_admin("root", "%helpdesk", Some("acme")).await.unwrap();
    s.grant_admin("root", "alice", Some("beta")).await.unwrap();
    assert!(matches!(s.grant_admin("root", "alice", Some("beta")).await, Err(StoreError::Exists { .. })));
    assert!(s.grant_admin("root", "a b", None).await.is_err());
    assert!(matches!(s.grant_admin("root", "%gatehouse-users", None).await, Err(StoreError::Refused(_))));
    let p = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(s.scope_of_principals(&p(&["bob", "%staff"])).await.unwrap(), None);
    assert_eq!(
        s.scope_of_principals(&p(&["alice", "%helpdesk"])).await.unwrap(),
        Some(Scope::Groups(vec!["acme".into(), "beta".into()]))
    );
    s.grant_admin("root", "carol", None).await.unwrap();
    assert_eq!(s.scope_of_principals(&p(&["carol"])).await.unwrap(), Some(Scope::All));
    let list = s.list_admins().await.unwrap();
    assert_eq!(list.len(), 3);
    // A gatehouse user: the flag and its groups; a name of a gatehouse user cannot be granted.
    let u = s.add_user("root", nu("gadm")).await.unwrap();
    assert!(matches!(s.grant_admin("root", "gadm", None).await, Err(StoreError::Refused(_))));
    assert_eq!(s.scope_of_user(&u.id).await.unwrap(), None);
    s.set_user_admin("root", "gadm", Some(&["beta".to_string()])).await.unwrap();
    assert!(s.get_user("gadm").await.unwrap().admin);
    assert_eq!(s.scope_of_user(&u.id).await.unwrap(), Some(Scope::Groups(vec!["beta".into()])));
    assert!(s.list_admins().await.unwrap().iter().any(|r| r.holder == "gatehouse:gadm"));
    // Deleting beta takes its roles with it: alice and gadm keep no rights, not all of them.
    s.delete_group("root", "beta").await.unwrap();
    assert_eq!(s.scope_of_principals(&p(&["alice"])).await.unwrap(), None);
    assert_eq!(s.scope_of_user(&u.id).await.unwrap(), None);
    s.set_user_admin("root", "gadm", None).await.unwrap();
    assert!(!s.get_user("gadm").await.unwrap().admin);
    s.revoke_admin("root", "%helpdesk", Some("acme")).await.unwrap();
    assert!(matches!(s.revoke_admin("root", "%helpdesk", Some("acme")).await, Err(StoreError::Missing(_))));
    let actions: Vec<String> =
        sqlx::query("SELECT action FROM audit_log WHERE action LIKE 'admin.%' OR action = 'user.admin'")
            .fetch_all(s.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>(0).unwrap())
            .collect();
    assert_eq!(actions, ["admin.grant", "admin.grant", "admin.grant", "user.admin", "user.admin", "admin.revoke"]);
}

/// `password_source` (issue 9) on both backends: stored and filtered on; an LDAP user has no
/// local password (add with one, `passwd` and `invite` are refused); switching to ldap removes
/// the local hash, switching back leaves none until one is set.
async fn password_sources(db: &Db<'_>) {
    use gatehouse_policy::model::PasswordSource;
    use gatehouse_policy::password::hash_password;
    use gatehouse_policy::secret::Secret;
    let (s, _dir) = fresh_store(db, local()).await;
    let hash = hash_password(&Secret::new("a long local passphrase".into())).unwrap();
    let ldap = |name: &str| NewUser { password_source: PasswordSource::Ldap, ..nu(name) };
    let lana = s.add_user("root", ldap("lana")).await.unwrap();
    assert_eq!(lana.password_source, PasswordSource::Ldap);
    assert_eq!(nu("x").password_source, PasswordSource::Local);
    let refused = |e: StoreError| assert!(e.to_string().contains("password_source ldap"), "{e}");
    refused(s.add_user("root", NewUser { password_hash: Some(hash.clone()), ..ldap("lena") }).await.unwrap_err());
    refused(s.set_password("root", "lana", Some(hash.clone()), false).await.unwrap_err());
    refused(s.invite("root", "lana", 3600).await.map(|_| ()).unwrap_err());
    s.set_password("root", "lana", None, false).await.unwrap();

    let a = s.add_user("root", NewUser { password_hash: Some(hash.clone()), ..nu("alice") }).await.unwrap();
    assert_eq!(a.password_source, PasswordSource::Local);
    let to_ldap = UserChanges { password_source: Some(PasswordSource::Ldap), ..UserChanges::default() };
    let a = s.update_user("root", "alice", to_ldap).await.unwrap();
    assert_eq!((a.password_source, a.password_hash.as_deref()), (PasswordSource::Ldap, None));
    let to_local = UserChanges { password_source: Some(PasswordSource::Local), ..UserChanges::default() };
    let a = s.update_user("root", "alice", to_local).await.unwrap();
    assert_eq!((a.password_source, a.password_hash.as_deref()), (PasswordSource::Local, None));
    s.set_password("root", "alice", Some(hash), false).await.unwrap();

    let mut q = gatehouse_server::store::UserQuery::default();
    q.filter("password_source=ldap").unwrap();
    let names: Vec<String> = s.find_users(&q).await.unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["lana"]);
}

async fn suite(db: Db<'_>) {
    offline_cache(&db).await;
    admin_roles(&db).await;
    password_sources(&db).await;
    totp_and_invitations(&db).await;
    users_and_ids(&db).await;
    explicit_uids(&db).await;
    names(&db).await;
    roots(&db).await;
    keys_and_rules(&db).await;
    groups(&db).await;
    import_atomic(&db).await;
    plain_sql(&db).await;
    concurrent_writers(&db).await;
    migrations(&db).await;
    renames_and_ids(&db).await;
    list_filters(&db).await;
    app_passwords(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_suite() {
    suite(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_suite() {
    let pg = PgServer::start();
    suite(Db::Postgres(&pg)).await;
}

/// TLS to PostgreSQL from `[postgres]`: `require` against a server without TLS is refused with
/// an error that says so; once the server has TLS (a certificate from a test CA), `verify-full`
/// with that CA connects and the session is encrypted (`pg_stat_ssl`), while a CA file holding
/// another CA is refused. `pool_size` is the pool's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_and_pool_size_from_config() {
    let pg = PgServer::start();
    let url = pg.fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let open = |sslmode: &str, ca: &std::path::Path| {
        let mut cfg = common::test_config(url.clone(), dir.path());
        cfg.postgres.sslmode = sslmode.into();
        cfg.postgres.ca_file = ca.display().to_string();
        cfg.postgres.pool_size = 3;
        Store::open_with(cfg, std::sync::Arc::new(FakeLocal::default()), false)
    };
    let no_ca = std::path::Path::new("");
    let e = open("require", no_ca).await.err().expect("require without TLS on the server").to_string();
    assert!(e.to_lowercase().contains("tls") || e.to_lowercase().contains("ssl"), "{e}");

    let ca = pg.enable_tls();
    let mut store = None;
    for _ in 0..50 {
        match open("verify-full", &ca).await {
            Ok(s) => {
                store = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let s = store.expect("verify-full with the test CA connects once the server has TLS");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(ssl, "the session is encrypted");
    assert_eq!(s.pool().options().get_max_connections(), 3);

    let other = dir.path().join("other-ca.pem");
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=another-ca", "-keyout", "/dev/null", "-out"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e = open("verify-full", &other).await.err().expect("another CA is refused").to_string();
    assert!(e.to_lowercase().contains("certificate") || e.to_lowercase().contains("tls"), "{e}");
}

#[tokio::test]
async fn missing_database_is_not_created_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::test_config(format!("sqlite://{}/g.db", dir.path().display()), dir.path());
    let e = Store::open_with(cfg, std::sync::Arc::new(FakeLocal::default()), false).await.err().unwrap();
    assert!(e.to_string().contains("does not exist") && e.to_string().contains("gatehouse db migrate"), "{e}");
    assert!(!dir.path().join("g.db").exists());
}

#[tokio::test]
async fn fresh_database_is_not_current() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::test_config(format!("sqlite://{}/g.db", dir.path().display()), dir.path());
    let s = Store::open_with(cfg, std::sync::Arc::new(FakeLocal::default()), true).await.unwrap();
    let e = s.ensure_current().await.unwrap_err();
    assert!(e.to_string().contains("gatehouse db migrate"), "{e}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("g.db")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database is never world-readable");
}

/// Migration 0002 on SQLite gives a UUID to rows that version 1 let have none (a TEXT PRIMARY
/// KEY may be NULL there): 0002 is rolled back by hand (its triggers dropped, its record
/// removed), id-less rows are added, and `migrate` applies it again.
#[tokio::test]
async fn migration_0002_gives_idless_sqlite_rows_an_id() {
    let (s, _dir) = fresh_store(&Db::Sqlite, local()).await;
    for q in [
        "DROP TRIGGER users_default_id",
        "DROP TRIGGER groups_default_id",
        "DROP TABLE app_passwords",
        "DELETE FROM _sqlx_migrations WHERE version = 2",
        "INSERT INTO users (id, name, uid, gid, root, created_at, updated_at) VALUES (NULL, 'old1', 5000100, 5000100, '/srv/a', '2026-01-01', '2026-01-01')",
        "INSERT INTO users (id, name, uid, gid, root, created_at, updated_at) VALUES (NULL, 'old2', 5000101, 5000101, '/srv/b', '2026-01-01', '2026-01-01')",
        "INSERT INTO groups (id, name, gid, created_at, updated_at) VALUES (NULL, 'oldg', 5000102, '2026-01-01', '2026-01-01')",
    ] {
        sqlx::query(q).execute(s.pool()).await.unwrap();
    }
    assert_eq!(s.migrate().await.unwrap(), vec![2]);
    let (a, b) = (s.get_user("old1").await.unwrap().id, s.get_user("old2").await.unwrap().id);
    let g = s.get_group("oldg").await.unwrap().id;
    for id in [&a, &b, &g] {
        assert!(gatehouse_policy::model::is_id(id) && id.as_bytes()[14] == b'4', "{id}");
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "variant bits: {id}");
    }
    assert!(a != b && a != g, "each row its own id");
}
