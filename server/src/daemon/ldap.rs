//! The password check of users whose `password_source` is `ldap`: one LDAP simple bind as the
//! user's DN against the `[ldap]` directory ([`gatehouse_policy::ldap`]).
//!
//! - It runs on the async threads, never on the hashing threads: a slow or dead directory
//!   cannot hold up local-password logins, which queue only for argon2.
//! - One deadline covers the whole attempt (waiting for a slot, connect, TLS or StartTLS, the
//!   bind), at most 2 s, so an unreachable directory fails the login closed before the PAM
//!   module gives up on the daemon (3 s), and gatehoused's log says why. At most [`MAX_BINDS`] binds are in flight at once.
//! - An empty password is refused here and never sent: an LDAP simple bind with a DN and no
//!   password is an "unauthenticated bind", which servers answer with success (RFC 4513 5.1.2).
//! - The result code decides: 0 is a right password, 49 (`invalidCredentials`) a wrong one,
//!   anything else (and any network or TLS error) means the directory could not say, and the
//!   login fails closed without counting as a wrong password.
//!
//! The password is copied into the request frame by ldap3 (its buffer is not ours to wipe);
//! every copy gatehouse makes is a [`Secret`], wiped on drop. Nothing here logs it.
use gatehouse_policy::ldap::LdapConfig;
use gatehouse_policy::secret::Secret;
use ldap3::{LdapConnAsync, LdapConnSettings};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// LDAP binds in flight at once; more wait for a slot within their deadline.
pub const MAX_BINDS: usize = 32;

/// LDAP result code `invalidCredentials` (RFC 4511 appendix A).
const INVALID_CREDENTIALS: u32 = 49;

/// The configured directory, ready to bind against.
pub struct Directory {
    cfg: LdapConfig,
    timeout: Duration,
    /// TLS settings with the configured CA file; `None` uses the system's roots.
    tls: Option<Arc<rustls::ClientConfig>>,
    slots: Semaphore,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("url", &self.cfg.url)
            .field("bind_dn", &self.cfg.bind_dn)
            .field("starttls", &self.cfg.starttls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// The directory of `[ldap]`, or `None` when none is configured. Reads the CA file now, so a
    /// missing or empty one stops the daemon at start-up rather than failing every login.
    pub fn from_config(cfg: &LdapConfig) -> Result<Option<Directory>, String> {
        if !cfg.is_configured() {
            return Ok(None);
        }
        cfg.validate().map_err(|e| e.to_string())?;
        let timeout = Duration::from_secs(cfg.timeout_secs().map_err(|e| e.to_string())?);
        let tls = cfg.ca_file.as_deref().map(tls_with_ca).transpose()?;
        Ok(Some(Directory { cfg: cfg.clone(), timeout, tls, slots: Semaphore::new(MAX_BINDS) }))
    }

    /// Binds as `user` with `password`. `Ok(true)`: right password; `Ok(false)`: wrong (or
    /// empty) password; `Err`: the directory could not be asked or did not say, in words.
    pub async fn check(&self, user: &str, password: &Secret) -> Result<bool, String> {
        if password.expose().is_empty() {
            return Ok(false);
        }
        let dn = self.cfg.bind_dn_for(user);
        match tokio::time::timeout(self.timeout, self.bind(&dn, password)).await {
            Ok(r) => r,
            Err(_) => Err(format!("{} gave no answer within {} s", self.cfg.url, self.timeout.as_secs())),
        }
    }

    async fn bind(&self, dn: &str, password: &Secret) -> Result<bool, String> {
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        // No timeouts of ldap3's own: the one deadline of `check` covers connect, TLS and bind.
        let mut settings = LdapConnSettings::new().set_starttls(self.cfg.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let url = &self.cfg.url;
        let (conn, mut ldap) =
            LdapConnAsync::with_settings(settings, url).await.map_err(|e| format!("cannot connect to {url}: {e}"))?;
        // The connection's driver; it ends when the last handle is dropped.
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        let res = ldap.simple_bind(dn, password.expose()).await;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), ldap.unbind()).await;
        });
        match res {
            Ok(r) if r.rc == 0 => Ok(true),
            Ok(r) if r.rc == INVALID_CREDENTIALS => Ok(false),
            Ok(r) => Err(format!("{url} answered the bind with result code {} {:?}", r.rc, r.text)),
            Err(e) => Err(format!("bind at {url} failed: {e}")),
        }
    }
}

/// TLS settings that trust exactly the certificates of a PEM file.
fn tls_with_ca(path: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("cannot read ldap.ca_file {path}: {e}"))?;
    for c in certs {
        let c = c.map_err(|e| format!("ldap.ca_file {path}: {e}"))?;
        roots.add(c).map_err(|e| format!("ldap.ca_file {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("ldap.ca_file {path} holds no certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
