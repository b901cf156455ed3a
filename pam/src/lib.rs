//! pam_gatehouse.so: the PAM module.
//!
//! Each `pam_sm_*` entry point is a thin shim: check the handle for NULL, read the arguments,
//! run one function of [`flow`] inside `catch_unwind`, map the outcome to a return code. No
//! panic crosses into sshd or vsftpd; a panic becomes `PAM_SERVICE_ERR`. The module never
//! forks, execs, spawns threads or writes to stdout/stderr (vsftpd's fds 0–2 are the control
//! connection), keeps no file descriptor between calls, and logs with `pam_syslog` only.
#![allow(unsafe_code)]

mod backend;
pub mod ffi;
pub mod flow;

use ffi::{PamHandleT, RealHandle};
use flow::{Args, Backend, Level, Outcome, PamHandle};
use libc::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Which `pam_sm_*` function is running.
#[derive(Clone, Copy)]
enum Phase {
    Auth,
    Account,
    Password { prelim: bool },
    Other,
}

/// The one shim shape every entry point shares.
///
/// # Safety
/// `pamh` is the handle PAM passed (may be NULL, which is refused); `argv` has `argc` entries.
unsafe fn entry(pamh: *mut PamHandleT, flags: c_int, argc: c_int, argv: *const *const c_char, phase: Phase) -> c_int {
    if pamh.is_null() {
        return ffi::PAM_SERVICE_ERR;
    }
    // SAFETY: argv/argc come from PAM unchanged.
    let raw_args = unsafe { ffi::args(argc, argv) };
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: pamh is non-null and is this call's handle.
        let mut h = unsafe { RealHandle::new(pamh, flags) };
        let (args, unknown) = Args::parse(raw_args.iter().map(String::as_str));
        if !unknown.is_empty() {
            h.log(Level::Err, &format!("ignoring unknown arguments: {}", unknown.join(" ")));
        }
        let b = backend::Real::new(&args);
        let b: &dyn Backend = &b;
        match phase {
            Phase::Auth => flow::authenticate(&mut h, b, &args),
            Phase::Account => flow::account(&mut h, b, &args),
            Phase::Password { prelim } => flow::chauthtok(&mut h, b, &args, prelim),
            Phase::Other => flow::nothing_to_do(&mut h, b, &args),
        }
    }));
    ffi::code(result.unwrap_or(Outcome::ServiceErr))
}

/// Authentication: verifies the password pam_unix read (or prompts for it).
///
/// # Safety
/// Called by Linux-PAM with its handle and the module's arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded from PAM.
    unsafe { entry(pamh, flags, argc, argv, Phase::Auth) }
}

/// Credentials: nothing to set.
///
/// # Safety
/// Called by Linux-PAM with its handle and the module's arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_setcred(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded from PAM.
    unsafe { entry(pamh, flags, argc, argv, Phase::Other) }
}

/// Account: active, expiry, IP, protocol, lockout, forced password change.
///
/// # Safety
/// Called by Linux-PAM with its handle and the module's arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_acct_mgmt(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded from PAM.
    unsafe { entry(pamh, flags, argc, argv, Phase::Account) }
}

/// Password change for gatehouse users.
///
/// # Safety
/// Called by Linux-PAM with its handle and the module's arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_chauthtok(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    let prelim = flags & ffi::PAM_PRELIM_CHECK != 0;
    // SAFETY: forwarded from PAM.
    unsafe { entry(pamh, flags, argc, argv, Phase::Password { prelim }) }
}

/// Session open: nothing to do.
///
/// # Safety
/// Called by Linux-PAM with its handle and the module's arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_open_session(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded from PAM.
    unsafe { entry(pamh, flags, argc, argv, Phase::Other) }
}

/// Session close: nothing to do.
///
/// # Safety
/// Called by Linux-PAM with its handle and the module's arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_close_session(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded from PAM.
    unsafe { entry(pamh, flags, argc, argv, Phase::Other) }
}
