//! The Linux-PAM C interface: constants, the few functions the module calls, and [`RealHandle`],
//! the [`PamHandle`] over a `pam_handle_t *`.
//!
//! Written against Linux-PAM 1.5's headers (`security/_pam_types.h`, `pam_modules.h`,
//! `pam_ext.h`) rather than a binding crate: the module needs a dozen symbols, and a small
//! reviewed surface is easier to keep correct inside sshd and vsftpd.
use crate::flow::{Level, Outcome, PamHandle};
use gatehouse_wire::secret::Secret;
use libc::{c_char, c_int, c_void};
use std::ffi::{CStr, CString};

/// `pam_handle_t` is opaque.
#[repr(C)]
pub struct PamHandleT {
    _private: [u8; 0],
}

pub const PAM_SUCCESS: c_int = 0;
pub const PAM_SERVICE_ERR: c_int = 3;
pub const PAM_PERM_DENIED: c_int = 6;
pub const PAM_AUTH_ERR: c_int = 7;
pub const PAM_AUTHINFO_UNAVAIL: c_int = 9;
pub const PAM_USER_UNKNOWN: c_int = 10;
pub const PAM_NEW_AUTHTOK_REQD: c_int = 12;
pub const PAM_CONV_ERR: c_int = 19;
pub const PAM_AUTHTOK_ERR: c_int = 20;

pub const PAM_SERVICE: c_int = 1;
pub const PAM_USER: c_int = 2;
pub const PAM_TTY: c_int = 3;
pub const PAM_RHOST: c_int = 4;
pub const PAM_CONV: c_int = 5;
pub const PAM_AUTHTOK: c_int = 6;
pub const PAM_OLDAUTHTOK: c_int = 7;

pub const PAM_SILENT: c_int = 0x8000;
pub const PAM_PRELIM_CHECK: c_int = 0x4000;

const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_ERROR_MSG: c_int = 3;

const LOG_ERR: c_int = 3;
const LOG_NOTICE: c_int = 5;
const LOG_DEBUG: c_int = 7;

/// `struct pam_message`.
#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

/// `struct pam_response`.
#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

/// `struct pam_conv`.
#[repr(C)]
struct PamConv {
    conv: Option<unsafe extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int>,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    fn pam_get_user(pamh: *mut PamHandleT, user: *mut *const c_char, prompt: *const c_char) -> c_int;
    fn pam_get_item(pamh: *const PamHandleT, item_type: c_int, item: *mut *const c_void) -> c_int;
    fn pam_get_authtok(pamh: *mut PamHandleT, item: c_int, authtok: *mut *const c_char, prompt: *const c_char)
        -> c_int;
    fn pam_syslog(pamh: *const PamHandleT, priority: c_int, fmt: *const c_char, ...);
}

/// Copies a C string owned by PAM; `None` for NULL or non-UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for the duration of the call.
unsafe fn copy_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().ok().map(str::to_owned)
}

/// A [`PamHandle`] over the real `pam_handle_t`.
pub struct RealHandle {
    pamh: *mut PamHandleT,
    silent: bool,
}

impl RealHandle {
    /// Wraps a non-null handle.
    ///
    /// # Safety
    /// `pamh` must be the non-null handle PAM passed to the current `pam_sm_*` call.
    pub unsafe fn new(pamh: *mut PamHandleT, flags: c_int) -> RealHandle {
        RealHandle { pamh, silent: flags & PAM_SILENT != 0 }
    }

    fn item(&self, item: c_int) -> Option<String> {
        let mut p: *const c_void = std::ptr::null();
        // SAFETY: pamh is valid for this call (RealHandle::new); PAM writes a pointer it owns.
        let rc = unsafe { pam_get_item(self.pamh, item, &mut p) };
        if rc != PAM_SUCCESS {
            return None;
        }
        // SAFETY: string items are NUL-terminated strings owned by PAM, valid until changed.
        unsafe { copy_str(p.cast()) }
    }

    fn get_authtok(&mut self, item: c_int) -> Result<Secret, Outcome> {
        let mut p: *const c_char = std::ptr::null();
        // SAFETY: pamh is valid; a NULL prompt lets PAM use its default ("Password:", or
        // "New password:"/"Retype new password:" in chauthtok). PAM keeps ownership of *p.
        let rc = unsafe { pam_get_authtok(self.pamh, item, &mut p, std::ptr::null()) };
        if rc != PAM_SUCCESS || p.is_null() {
            return Err(if rc == PAM_CONV_ERR || p.is_null() { Outcome::ConvErr } else { Outcome::AuthErr });
        }
        // SAFETY: PAM returned a NUL-terminated token it owns; we copy it into a Secret, which
        // zeroises its copy on drop (PAM wipes its own at pam_end).
        match unsafe { copy_str(p) } {
            Some(s) => Ok(Secret::new(s)),
            None => Err(Outcome::AuthErr),
        }
    }
}

impl RealHandle {
    /// Sends one message through the application's conversation and returns its answer, if
    /// any. The reply is copied into a [`Secret`]; the C copy is wiped and freed here, as is the
    /// response array (PAM's contract: the module frees what the conversation allocated).
    fn converse(&self, style: c_int, msg: &str) -> Result<Option<Secret>, Outcome> {
        let text = CString::new(msg.replace('\0', " ")).map_err(|_| Outcome::ServiceErr)?;
        let mut conv: *const c_void = std::ptr::null();
        // SAFETY: pamh is valid; PAM_CONV yields a pointer to the application's pam_conv.
        if unsafe { pam_get_item(self.pamh, PAM_CONV, &mut conv) } != PAM_SUCCESS || conv.is_null() {
            return Err(Outcome::ConvErr);
        }
        // SAFETY: PAM_CONV items are `struct pam_conv *`, valid while the handle is.
        let conv = unsafe { &*conv.cast::<PamConv>() };
        let Some(f) = conv.conv else {
            return Err(Outcome::ConvErr);
        };
        let message = PamMessage { msg_style: style, msg: text.as_ptr() };
        let mut list: *const PamMessage = &message;
        let mut resp: *mut PamResponse = std::ptr::null_mut();
        // SAFETY: one valid message; the application may allocate `resp`, which we free below.
        let rc = unsafe { f(1, &mut list, &mut resp, conv.appdata_ptr) };
        let mut answer = None;
        if !resp.is_null() {
            // SAFETY: the conversation allocated one response with malloc (PAM's contract); its
            // `resp` is NULL or a malloc'd NUL-terminated string. Both are wiped and freed once.
            unsafe {
                let r = &mut *resp;
                if !r.resp.is_null() {
                    answer = copy_str(r.resp).map(Secret::new);
                    let len = libc::strlen(r.resp);
                    // Volatile writes, so the wipe of memory about to be freed is not elided.
                    for i in 0..len {
                        std::ptr::write_volatile(r.resp.add(i), 0);
                    }
                    libc::free(r.resp.cast());
                }
                libc::free(resp.cast());
            }
        }
        if rc != PAM_SUCCESS {
            return Err(Outcome::ConvErr);
        }
        Ok(answer)
    }
}

impl PamHandle for RealHandle {
    fn user(&mut self) -> Option<String> {
        let mut p: *const c_char = std::ptr::null();
        // SAFETY: pamh is valid; PAM owns the returned string.
        let rc = unsafe { pam_get_user(self.pamh, &mut p, std::ptr::null()) };
        if rc != PAM_SUCCESS {
            return None;
        }
        // SAFETY: as above.
        unsafe { copy_str(p) }.filter(|u| !u.is_empty())
    }

    fn service(&self) -> Option<String> {
        self.item(PAM_SERVICE)
    }

    fn rhost(&self) -> Option<String> {
        self.item(PAM_RHOST).filter(|s| !s.is_empty())
    }

    fn tty(&self) -> Option<String> {
        self.item(PAM_TTY)
    }

    fn authtok(&mut self) -> Result<Secret, Outcome> {
        self.get_authtok(PAM_AUTHTOK)
    }

    fn new_authtok(&mut self) -> Result<Secret, Outcome> {
        self.get_authtok(PAM_AUTHTOK)
    }

    fn old_authtok(&self) -> Option<Secret> {
        self.item(PAM_OLDAUTHTOK).map(Secret::new)
    }

    fn prompt(&mut self, msg: &str, echo: bool) -> Result<Secret, Outcome> {
        let style = if echo { PAM_PROMPT_ECHO_ON } else { PAM_PROMPT_ECHO_OFF };
        self.converse(style, msg)?.ok_or(Outcome::ConvErr)
    }

    fn error(&mut self, msg: &str) {
        if self.silent {
            return;
        }
        let _ = self.converse(PAM_ERROR_MSG, msg);
    }

    fn log(&self, level: Level, msg: &str) {
        let prio = match level {
            Level::Notice => LOG_NOTICE,
            Level::Err => LOG_ERR,
            Level::Debug => LOG_DEBUG,
        };
        let Ok(text) = CString::new(msg.replace('\0', " ")) else {
            return;
        };
        // SAFETY: "%s" with one NUL-terminated argument; pam_syslog only reads them.
        unsafe { pam_syslog(self.pamh, prio, c"%s".as_ptr(), text.as_ptr()) };
    }
}

/// Maps an [`Outcome`] to the PAM return code.
pub fn code(o: Outcome) -> c_int {
    match o {
        Outcome::Success => PAM_SUCCESS,
        Outcome::UserUnknown => PAM_USER_UNKNOWN,
        Outcome::AuthErr => PAM_AUTH_ERR,
        Outcome::PermDenied => PAM_PERM_DENIED,
        Outcome::NewAuthtokReqd => PAM_NEW_AUTHTOK_REQD,
        Outcome::AuthtokErr => PAM_AUTHTOK_ERR,
        Outcome::AuthinfoUnavail => PAM_AUTHINFO_UNAVAIL,
        Outcome::ConvErr => PAM_CONV_ERR,
        Outcome::ServiceErr => PAM_SERVICE_ERR,
    }
}

/// Reads `argc`/`argv` into owned strings (non-UTF-8 arguments are dropped).
///
/// # Safety
/// `argv` must be NULL or point to `argc` NUL-terminated strings.
pub unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    if argv.is_null() || argc <= 0 {
        return Vec::new();
    }
    (0..argc as usize)
        // SAFETY: i < argc, and argv has argc entries per the caller's contract.
        .filter_map(|i| unsafe { copy_str(*argv.add(i)) })
        .collect()
}
