//! Writes the fuzzing seeds: a few valid snapshots into `corpus/snapshot/` (from the snapshot
//! writer) and one frame body of every request and response kind into `corpus/wire/` (from the
//! wire encoder).
use gatehouse_snapshot::IdRange;
use gatehouse_policy::secret::Secret;
use gatehouse_snapshot::{build, SnapGroup, SnapUser};
use gatehouse_policy::wire::{encode_request, encode_response, Request, Response};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let dir = root.join("snapshot");
    std::fs::create_dir_all(&dir)?;
    let ids = IdRange::default();
    for n in [0u32, 1, 3, 20] {
        let users: Vec<SnapUser> = (0..n)
            .map(|i| SnapUser {
                name: if i == 0 { "alice".into() } else { format!("u{i}") },
                uid: 1_900_000_002 + i,
                gid: 1_900_000_002 + i,
                gecos: format!("User {i}"),
                totp: i % 2 == 0,
            })
            .collect();
        let groups = vec![SnapGroup {
            name: "acme".into(),
            gid: 1_900_100_000,
            members: users.iter().map(|u| u.name.clone()).collect(),
        }];
        std::fs::write(dir.join(format!("users-{n}")), build(u64::from(n), &ids, &users, &groups)?)?;
    }

    let dir = root.join("wire");
    std::fs::create_dir_all(&dir)?;
    let requests = [
        Request::Authenticate {
            user: "alice".into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.7".into()),
            tty: Some("ssh".into()),
            password: Secret::new("correct horse \"battery\" \\ staple \u{e9}".into()),
        },
        Request::Authenticate {
            user: "bob".into(),
            service: "vsftpd".into(),
            rhost: None,
            tty: None,
            password: Secret::new(String::new()),
        },
        Request::Account { user: "alice".into(), service: "proftpd".into(), rhost: Some("2001:db8::1".into()), tty: None },
        Request::ChangePassword {
            user: "alice".into(),
            service: "passwd".into(),
            old: Some(Secret::new("old".into())),
            new: Secret::new("new password".into()),
        },
        Request::ChangePassword { user: "alice".into(), service: "passwd".into(), old: None, new: Secret::new("n".into()) },
        Request::Keys { user: "alice".into() },
        Request::Ping,
    ];
    for (i, r) in requests.iter().enumerate() {
        std::fs::write(dir.join(format!("request-{i}-{}", r.kind())), &*encode_request(r)?)?;
    }
    let responses = [
        Response::Ok,
        Response::Denied { reason: "protocol ssh is not allowed".into() },
        Response::UnknownUser,
        Response::NewPasswordRequired,
        Response::Keys {
            lines: vec![
                "restrict,from=\"10.0.0.0/8\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b".into(),
                String::new(),
            ],
        },
        Response::Keys { lines: vec![] },
        Response::Unavailable { reason: "database is down".into() },
        Response::BadRequest { reason: "user is empty".into() },
    ];
    for (i, r) in responses.iter().enumerate() {
        std::fs::write(dir.join(format!("response-{i}")), encode_response(r)?)?;
    }
    // Older and newer versions, unknown fields, a framed body: near misses the fuzzer grows from.
    std::fs::write(dir.join("version-2"), br#"{"v":2,"request":"ping"}"#)?;
    std::fs::write(dir.join("unknown-field"), br#"{"v":1,"x":[1,{"y":null}],"request":{"keys":{"user":"a","z":1}}}"#)?;
    let body = br#"{"v":1,"request":"ping"}"#;
    let mut framed = (body.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(body);
    std::fs::write(dir.join("framed-ping"), framed)?;
    Ok(())
}
