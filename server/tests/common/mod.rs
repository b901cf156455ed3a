//! Shared test harness: a real PostgreSQL started on a temp dir and a loopback port, and a
//! store opened on a fresh database of either backend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_policy::config::Config;
use gatehouse_server::store::{LocalIds, Store};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Finds PostgreSQL's server binaries (Debian keeps them out of PATH).
pub fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect();
    dirs.sort();
    dirs.into_iter().rev().find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A PostgreSQL server owned by this test process, stopped (by its own pid file) on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    counter: AtomicU32,
}

/// Runs a command as the `postgres` user when we are root (initdb refuses root).
fn as_pg_user(bin: &Path, args: &[&str]) -> Command {
    if nix::unistd::geteuid().is_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

impl PgServer {
    /// Starts a server; panics with a clear message if PostgreSQL is not installed.
    pub fn start() -> PgServer {
        let bin = pg_bin()
            .expect("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)");
        let dir = tempfile::Builder::new().prefix("gatehouse-pg").tempdir().unwrap();
        let data = dir.path().join("data");
        if nix::unistd::geteuid().is_root() {
            let pg = nix::unistd::User::from_name("postgres").unwrap().expect("user postgres");
            nix::unistd::chown(dir.path(), Some(pg.uid), Some(pg.gid)).unwrap();
        }
        let d = data.to_str().unwrap();
        let out =
            as_pg_user(&bin.join("initdb"), &["-D", d, "-A", "trust", "-U", "gatehouse", "--no-sync", "-E", "UTF8"])
                .output()
                .unwrap();
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let pg = PgServer { dir, bin, port, counter: AtomicU32::new(0) };
        pg.start_again();
        pg
    }

    /// Starts the server again after [`PgServer::stop`] (same data, same port).
    pub fn start_again(&self) {
        let d = self.dir.path().join("data");
        let d = d.to_str().unwrap();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let out = as_pg_user(
            &self.bin.join("pg_ctl"),
            &["-D", d, "-o", &opts, "-l", log.to_str().unwrap(), "-w", "-t", "60", "start"],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        let out = as_pg_user(&self.bin.join("pg_ctl"), &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://gatehouse@127.0.0.1:{}/{db}", self.port)
    }

    /// Turns TLS on with a certificate for 127.0.0.1 signed by a new test CA, and returns that
    /// CA's PEM file. Connections made after this (a reload) may use TLS.
    pub fn enable_tls(&self) -> PathBuf {
        let d = self.dir.path();
        let script = format!(
            "set -e; cd {d}
             openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=gatehouse-pg-ca \
                 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
                 -keyout ca.key -out ca.pem
             openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
                 -keyout server.key -out server.csr
             printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\nbasicConstraints=CA:FALSE\\n' > ext
             openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out server.pem
             chmod 0600 server.key; chown postgres: server.key server.pem 2>/dev/null || true
             printf \"ssl = on\\nssl_cert_file = '{d}/server.pem'\\nssl_key_file = '{d}/server.key'\\n\" >> data/postgresql.conf",
            d = d.display()
        );
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(out.status.success(), "making the certificates failed: {}", String::from_utf8_lossy(&out.stderr));
        let data = d.join("data");
        let out = as_pg_user(&self.bin.join("pg_ctl"), &["-D", data.to_str().unwrap(), "reload"]).output().unwrap();
        assert!(out.status.success(), "pg_ctl reload failed: {}", String::from_utf8_lossy(&out.stderr));
        d.join("ca.pem")
    }

    /// Creates a fresh, empty database and returns its URL.
    pub async fn fresh_db(&self) -> String {
        use sqlx::Connection;
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        let mut c = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
        self.url(&name)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ =
            as_pg_user(&self.bin.join("pg_ctl"), &["-D", data.to_str().unwrap_or(""), "-m", "immediate", "-w", "stop"])
                .output();
    }
}

/// A fake view of the host: these names and ids are "local", and one subordinate-id range.
#[derive(Debug, Default)]
pub struct FakeLocal {
    pub names: Vec<&'static str>,
    pub ids: Vec<u32>,
    pub subid: Option<(u32, u32)>,
}

impl LocalIds for FakeLocal {
    fn name_taken(&self, name: &str) -> Option<String> {
        self.names.contains(&name).then(|| format!("name {name:?} is already a local user"))
    }
    fn id_taken(&self, id: u32) -> Option<String> {
        self.ids.contains(&id).then(|| format!("id {id} is already used locally"))
    }
    fn subid_ranges(&self) -> Vec<(u32, u32)> {
        self.subid.into_iter().collect()
    }
}

/// Which backend a test runs on.
pub enum Db<'a> {
    Sqlite,
    Postgres(&'a PgServer),
}

/// A config for tests: a small id range and a temp home_base.
pub fn test_config(database: String, home: &Path) -> Config {
    let mut cfg = Config::parse(&format!(
        "home_base = \"{}\"\nroot_prefixes = [\"/data/shared\"]\n[ids]\nfirst = 5000000\nlast = 5001000\n",
        home.display()
    ))
    .unwrap();
    cfg.database = database;
    cfg
}

/// Opens a migrated store on a fresh database. The temp dir holds the SQLite file and roots.
pub async fn fresh_store(db: &Db<'_>, local: FakeLocal) -> (Store, tempfile::TempDir) {
    fresh_store_with(db, local, |_| {}).await
}

/// [`fresh_store`], with the config changed by `tweak` first. The FTP servers' per-user
/// directories are `<temp dir>/vsftpd` and `<temp dir>/proftpd` (not created), never the host's.
pub async fn fresh_store_with(
    db: &Db<'_>,
    local: FakeLocal,
    tweak: impl FnOnce(&mut Config),
) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = match db {
        Db::Sqlite => format!("sqlite://{}/gatehouse.db", dir.path().display()),
        Db::Postgres(pg) => pg.fresh_db().await,
    };
    let mut cfg = test_config(url, &dir.path().join("home"));
    cfg.vsftpd_user_config_dir = dir.path().join("vsftpd").display().to_string();
    cfg.proftpd_config_dir = dir.path().join("proftpd").display().to_string();
    tweak(&mut cfg);
    let store = Store::open_with(cfg, Arc::new(local), true).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

#[path = "../../../tests/lib/build.rs"]
mod build;
/// Builds other packages of the workspace into this test's target dir (see `tests/lib/build.rs`).
pub fn build_workspace_parts(args: &[&str]) -> Result<PathBuf, String> {
    build::workspace_parts(args)
}

/// Where .ci/run unpacks proftpd-core: Debian's vsftpd and proftpd-core conflict (both provide
/// `ftp-server`), so CI installs vsftpd and unpacks ProFTPD's binaries and modules here instead.
pub const PROFTPD_UNPACKED: &str = "/opt/gatehouse-ci/proftpd";

/// The ProFTPD binary and its module directory: the installed ones, or the unpacked copy.
pub fn proftpd() -> Option<(PathBuf, PathBuf)> {
    ["", PROFTPD_UNPACKED].into_iter().find_map(|base| {
        let bin = PathBuf::from(format!("{base}/usr/sbin/proftpd"));
        bin.exists().then(|| (bin, PathBuf::from(format!("{base}/usr/lib/proftpd"))))
    })
}
