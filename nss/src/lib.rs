//! libnss_gatehouse.so.2: the NSS module (`passwd: files gatehouse`, `group: files gatehouse`).
//!
//! It never talks to the daemon: it maps the snapshot file `/var/lib/gatehouse/nss.db`
//! (compiled in; no environment variable changes it) and answers from its indexes
//! ([`gatehouse_snapshot`]), with no system call on a hit. The mapping, its replacement
//! and the rules that keep it safe in multi-threaded and forking hosts are in [`map`]; the lookup
//! and buffer layout, in safe code, are in [`lookup`]. This file holds only the `extern "C"`
//! shims, all of one shape: check pointers for null, run one safe function inside
//! `catch_unwind`, map the outcome to a fixed status (`UNAVAIL` on any internal failure,
//! `TRYAGAIN` with `ERANGE` when the caller's buffer is too small, `NOTFOUND` otherwise).
//!
//! The module has no threads, no thread-local storage of its own, no sockets, and never forks or
//! execs. It links only the snapshot reader (`gatehouse-snapshot`), `libc` and std.
// The FFI crate: every unsafe block carries a SAFETY comment.
#![allow(unsafe_code)]

pub mod lookup;

use libc::{c_char, c_int, c_long, size_t};
use lookup::{Fail, Gr, Pw};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// `enum nss_status` from glibc's `<nss.h>`.
pub const NSS_STATUS_TRYAGAIN: c_int = -2;
/// The service is not available (no usable snapshot).
pub const NSS_STATUS_UNAVAIL: c_int = -1;
/// No such entry.
pub const NSS_STATUS_NOTFOUND: c_int = 0;
/// Found.
pub const NSS_STATUS_SUCCESS: c_int = 1;

/// Sets `*errnop` (if non-null) and returns the status for a failure.
fn fail(f: Fail, errnop: *mut c_int) -> c_int {
    let (status, errno) = match f {
        Fail::NotFound => (NSS_STATUS_NOTFOUND, libc::ENOENT),
        Fail::Unavail => (NSS_STATUS_UNAVAIL, libc::ENOENT),
        Fail::Range => (NSS_STATUS_TRYAGAIN, libc::ERANGE),
    };
    if !errnop.is_null() {
        // SAFETY: glibc passes a pointer to the calling thread's errno; checked non-null.
        unsafe { *errnop = errno };
    }
    status
}

/// Runs `f` with panics caught; a panic is an internal failure (`UNAVAIL`).
fn guarded<T>(f: impl FnOnce() -> Result<T, Fail>) -> Result<T, Fail> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Fail::Unavail))
}

/// The caller's buffer as a slice.
///
/// # Safety
/// `buf` must be null or valid for writes of `len` bytes for the duration of the call.
unsafe fn buffer<'b>(buf: *mut c_char, len: size_t) -> Option<&'b mut [u8]> {
    if buf.is_null() {
        return None;
    }
    // SAFETY: non-null and, per the NSS contract, `len` writable bytes owned by the caller.
    Some(unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, len) })
}

/// Writes a filled passwd entry's pointers into `*result`.
///
/// # Safety
/// `result` non-null and writable; `buf` the buffer `pw` was laid out in.
unsafe fn set_pw(result: *mut libc::passwd, buf: *mut c_char, pw: Pw) {
    // SAFETY: the offsets come from `lookup`, which only returns offsets of NUL-terminated
    // strings inside the buffer; `result` is checked non-null by the caller.
    unsafe {
        (*result).pw_name = buf.add(pw.name);
        (*result).pw_passwd = buf.add(pw.passwd);
        (*result).pw_uid = pw.uid;
        (*result).pw_gid = pw.gid;
        (*result).pw_gecos = buf.add(pw.gecos);
        (*result).pw_dir = buf.add(pw.dir);
        (*result).pw_shell = buf.add(pw.shell);
    }
}

/// Writes a filled group entry's pointers into `*result`.
///
/// # Safety
/// As for [`set_pw`].
unsafe fn set_gr(result: *mut libc::group, buf: *mut c_char, gr: Gr) {
    // SAFETY: offsets from `lookup` inside the buffer; `mem` is an aligned, NULL-terminated
    // pointer array inside it; `result` is checked non-null by the caller.
    unsafe {
        (*result).gr_name = buf.add(gr.name);
        (*result).gr_passwd = buf.add(gr.passwd);
        (*result).gr_gid = gr.gid;
        (*result).gr_mem = buf.add(gr.mem) as *mut *mut c_char;
    }
}

/// Runs a passwd lookup and fills `result`.
///
/// # Safety
/// NSS contract: `result` and `buf`/`buflen` valid (checked for null).
unsafe fn pw_call(
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    f: impl FnOnce(&mut [u8]) -> Result<Pw, Fail>,
) -> c_int {
    if result.is_null() {
        return fail(Fail::Unavail, errnop);
    }
    // SAFETY: caller's buffer per the NSS contract.
    let Some(slice) = (unsafe { buffer(buf, buflen) }) else { return fail(Fail::Range, errnop) };
    match guarded(|| f(slice)) {
        Ok(pw) => {
            // SAFETY: `result` non-null; `pw` laid out in `buf`.
            unsafe { set_pw(result, buf, pw) };
            NSS_STATUS_SUCCESS
        }
        Err(e) => fail(e, errnop),
    }
}

/// Runs a group lookup and fills `result`.
///
/// # Safety
/// As for [`pw_call`].
unsafe fn gr_call(
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    f: impl FnOnce(&mut [u8], usize) -> Result<Gr, Fail>,
) -> c_int {
    if result.is_null() {
        return fail(Fail::Unavail, errnop);
    }
    // SAFETY: caller's buffer per the NSS contract.
    let Some(slice) = (unsafe { buffer(buf, buflen) }) else { return fail(Fail::Range, errnop) };
    match guarded(|| f(slice, buf as usize)) {
        Ok(gr) => {
            // SAFETY: `result` non-null; `gr` laid out in `buf`.
            unsafe { set_gr(result, buf, gr) };
            NSS_STATUS_SUCCESS
        }
        Err(e) => fail(e, errnop),
    }
}

/// The bytes of a C string argument, or `None` for null.
///
/// # Safety
/// `s` null or a NUL-terminated string valid for the call.
unsafe fn c_name<'a>(s: *const c_char) -> Option<&'a [u8]> {
    if s.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated per the NSS contract.
    Some(unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes())
}

/// `getpwnam_r` backend.
///
/// # Safety
/// Called by glibc with the NSS contract's pointers.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_getpwnam_r(
    name: *const c_char,
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    // SAFETY: NSS contract.
    let Some(name) = (unsafe { c_name(name) }) else { return fail(Fail::NotFound, errnop) };
    // SAFETY: NSS contract.
    unsafe { pw_call(result, buf, buflen, errnop, |b| lookup::getpwnam(name, b)) }
}

/// `getpwuid_r` backend.
///
/// # Safety
/// Called by glibc with the NSS contract's pointers.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_getpwuid_r(
    uid: libc::uid_t,
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    // SAFETY: NSS contract.
    unsafe { pw_call(result, buf, buflen, errnop, |b| lookup::getpwuid(uid, b)) }
}

/// `setpwent` backend.
#[no_mangle]
pub extern "C" fn _nss_gatehouse_setpwent(_stayopen: c_int) -> c_int {
    lookup::rewind_pw();
    NSS_STATUS_SUCCESS
}

/// `endpwent` backend.
#[no_mangle]
pub extern "C" fn _nss_gatehouse_endpwent() -> c_int {
    lookup::rewind_pw();
    NSS_STATUS_SUCCESS
}

/// `getpwent_r` backend.
///
/// # Safety
/// Called by glibc with the NSS contract's pointers.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_getpwent_r(
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    // SAFETY: NSS contract.
    unsafe { pw_call(result, buf, buflen, errnop, lookup::getpwent) }
}

/// `getgrnam_r` backend.
///
/// # Safety
/// Called by glibc with the NSS contract's pointers.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_getgrnam_r(
    name: *const c_char,
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    // SAFETY: NSS contract.
    let Some(name) = (unsafe { c_name(name) }) else { return fail(Fail::NotFound, errnop) };
    // SAFETY: NSS contract.
    unsafe { gr_call(result, buf, buflen, errnop, |b, base| lookup::getgrnam(name, b, base)) }
}

/// `getgrgid_r` backend.
///
/// # Safety
/// Called by glibc with the NSS contract's pointers.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_getgrgid_r(
    gid: libc::gid_t,
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    // SAFETY: NSS contract.
    unsafe { gr_call(result, buf, buflen, errnop, |b, base| lookup::getgrgid(gid, b, base)) }
}

/// `setgrent` backend.
#[no_mangle]
pub extern "C" fn _nss_gatehouse_setgrent(_stayopen: c_int) -> c_int {
    lookup::rewind_gr();
    NSS_STATUS_SUCCESS
}

/// `endgrent` backend.
#[no_mangle]
pub extern "C" fn _nss_gatehouse_endgrent() -> c_int {
    lookup::rewind_gr();
    NSS_STATUS_SUCCESS
}

/// `getgrent_r` backend.
///
/// # Safety
/// Called by glibc with the NSS contract's pointers.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_getgrent_r(
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    // SAFETY: NSS contract.
    unsafe { gr_call(result, buf, buflen, errnop, lookup::getgrent) }
}

/// `initgroups_dyn` backend: appends the user's supplementary groups (except `group`, the
/// primary one, and gids already present) to `*groupsp`, growing it with `realloc` up to
/// `limit` (when positive).
///
/// # Safety
/// Called by glibc with the NSS contract's pointers: `*groupsp` a malloc'd array of `*size`
/// gids of which the first `*start` are used.
#[no_mangle]
pub unsafe extern "C" fn _nss_gatehouse_initgroups_dyn(
    user: *const c_char,
    group: libc::gid_t,
    start: *mut c_long,
    size: *mut c_long,
    groupsp: *mut *mut libc::gid_t,
    limit: c_long,
    errnop: *mut c_int,
) -> c_int {
    if start.is_null() || size.is_null() || groupsp.is_null() {
        return fail(Fail::Unavail, errnop);
    }
    // SAFETY: NSS contract.
    let Some(user) = (unsafe { c_name(user) }) else { return fail(Fail::NotFound, errnop) };
    // Only the gids present before this call need a duplicate check: the snapshot's list is
    // strictly ascending, so the ones added here are distinct (O(n), not O(n²) at 1,000 groups).
    // SAFETY: `start` is non-null (checked above) and points to the caller's count.
    let before = unsafe { *start }.max(0) as usize;
    let mut add = |gid: libc::gid_t| -> bool {
        // SAFETY: `start`, `size`, `groupsp` are non-null (checked above) and describe a malloc'd
        // array of `*size` gids with `*start` in use, per the NSS contract; every index used is
        // below `*start` or `*size`, and the array is replaced only by a successful realloc.
        unsafe {
            let used = (*start).max(0) as usize;
            let groups = *groupsp;
            if !groups.is_null() && (0..before.min(used)).any(|i| *groups.add(i) == gid) {
                return true;
            }
            if *start >= *size {
                if limit > 0 && *size >= limit {
                    return false;
                }
                let mut new_size = (*size).max(1).saturating_mul(2);
                if limit > 0 {
                    new_size = new_size.min(limit);
                }
                let bytes = (new_size as usize).saturating_mul(std::mem::size_of::<libc::gid_t>());
                let p = libc::realloc(groups as *mut libc::c_void, bytes) as *mut libc::gid_t;
                if p.is_null() {
                    return false;
                }
                *groupsp = p;
                *size = new_size;
            }
            *(*groupsp).add(used) = gid;
            *start += 1;
        }
        true
    };
    match guarded(|| lookup::initgroups(user, group, &mut add)) {
        Ok(()) => NSS_STATUS_SUCCESS,
        Err(e) => fail(e, errnop),
    }
}
