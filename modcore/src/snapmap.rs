//! The persistent mapping of the snapshot file, shared by every thread of the host process.
//!
//!
//! State lives in statics made of atomics only (no mutex, so nothing can deadlock across
//! `fork()`; no thread-local storage):
//! - `CURRENT` points at the published [`Mapping`] (a heap box; it may describe a missing or
//!   unusable file, which answers `UNAVAIL`);
//! - `READERS[0]` and `READERS[1]` count threads inside a lookup, split by the parity of `EPOCH`
//!   read when the lookup began. A lookup increments `READERS[parity]` *before* loading
//!   `CURRENT` and decrements the same counter when done (all `SeqCst`);
//! - `RETIRED` holds replaced mappings; `SEEN[i]` records which of the two counters has been
//!   observed at zero since the mapping in slot `i` was retired.
//!
//! **When a retired mapping may be unmapped.** A thread that holds mapping M loaded it from
//! `CURRENT` before M was swapped out, and was counted in `READERS[p]` (for its `p`) before that
//! load. So once `READERS[0]` and `READERS[1]` have each been observed at zero at some moment
//! after M was retired, no thread can still hold M: its count would have kept that counter above
//! zero. Counts are exact (one per live lookup), so a zero is never a coincidence of others.
//! Only one thread reclaims at a time (`RECLAIM_LOCK`); it reads a slot's pointer before it
//! looks at the counters, so every observation it records for that pointer comes after the
//! pointer's retirement; only the reclaimer empties slots, so the pointer cannot change between
//! its read and the record. A retirer resets `SEEN` before filling a slot (a reset can only
//! delay a reclaim, never hasten one).
//!
//! **Why it also frees under constant load** (a process looking names up from many threads
//! without pause, where the old single counter was almost never zero): new lookups count
//! themselves under the current parity of `EPOCH`. When the reclaimer sees the other parity's
//! counter at zero it records that and flips `EPOCH`, so the counter that was busy stops
//! receiving new lookups and drains as soon as the lookups in flight finish; the next reclaim
//! sees it at zero. It flips only after the inactive counter drained, so the two never both stay
//! busy. A lookup that read the old parity just before a flip and counts itself late is harmless:
//! it loads `CURRENT` after counting itself, so it cannot hold a mapping retired earlier.
//!
//! Replaced mappings are never leaked in the running process: while all `RETIRED_SLOTS` slots
//! hold mappings not yet free, a replacement waits (lookups keep answering from the current,
//! whole, older generation) until a reclaim frees a slot, which takes only as long as the
//! lookups in flight.
//!
//! A lookup's fast path is three atomic operations, three loads and a vDSO clock read: no system
//! call. The slow path (at most once a second per process, or when the daemon marked the
//! mapped file replaced) `stat`s the fixed path and, if the file changed, maps the new one
//! (`open` `O_CLOEXEC`, `fstat`, `mmap`, `close`: no fd is kept, so nothing leaks into children
//! or survives `fork` half-shared). A forked child inherits the mapping, which is read-only and
//! stays valid; if the fork caught another thread inside a lookup, that parity's count never
//! drops to zero in the child, and the child simply never unmaps what it retires (a leak, never a
//! use-after-free). A reclaim lock inherited from a fork is overtaken after `STALE_LOCK_NS`.
use gatehouse_snapshot::{HEADER_LEN, REPLACED_OFFSET};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::SeqCst};

/// One mapped file (or the absence of one).
struct Mapping {
    /// Start of the read-only mapping; null when the file is missing or unusable.
    ptr: *mut libc::c_void,
    /// Length of the mapping in bytes (0 when `ptr` is null).
    len: usize,
    /// Identity of the file that was mapped (0, 0 when there was none).
    dev: u64,
    ino: u64,
    /// The file was already marked replaced when mapped; its mark is then ignored (the periodic
    /// path check still notices a newer file), so a stale marked file never makes every lookup
    /// remap.
    born_replaced: bool,
}

static CURRENT: AtomicPtr<Mapping> = AtomicPtr::new(std::ptr::null_mut());
/// Which of `READERS` new lookups count themselves in: its lowest bit.
static EPOCH: AtomicUsize = AtomicUsize::new(0);
static READERS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
const RETIRED_SLOTS: usize = 16;
#[allow(clippy::declare_interior_mutable_const)]
const NO_MAPPING: AtomicPtr<Mapping> = AtomicPtr::new(std::ptr::null_mut());
static RETIRED: [AtomicPtr<Mapping>; RETIRED_SLOTS] = [NO_MAPPING; RETIRED_SLOTS];
#[allow(clippy::declare_interior_mutable_const)]
const NOTHING_SEEN: AtomicU8 = AtomicU8::new(0);
/// Per `RETIRED` slot: bit `q` set once `READERS[q]` was seen at zero after the slot was filled.
static SEEN: [AtomicU8; RETIRED_SLOTS] = [NOTHING_SEEN; RETIRED_SLOTS];
const BOTH_SEEN: u8 = 0b11;
/// 0, or the coarse monotonic time (ns) at which a thread started reclaiming (one at a time;
/// overtaken after `STALE_LOCK_NS`, e.g. when a fork caught the holder).
static RECLAIM_LOCK: AtomicU64 = AtomicU64::new(0);
/// Number of non-null `RETIRED` slots (a hint, so lookups skip the reclaim walk).
static RETIRED_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Mappings given up on because `RETIRED` was full (diagnostics; tests read it).
static LEAKED: AtomicUsize = AtomicUsize::new(0);
/// Coarse monotonic time (ns) of the last path check.
static LAST_CHECK: AtomicU64 = AtomicU64::new(0);
/// 0, or the coarse monotonic time (ns) at which a thread started remapping. A holder older than
/// `STALE_LOCK_NS` is presumed gone (e.g. a fork caught it) and may be overtaken; the lock only
/// avoids duplicate work, safety never depends on it.
static REMAP_LOCK: AtomicU64 = AtomicU64::new(0);
const CHECK_EVERY_NS: u64 = 1_000_000_000;
const STALE_LOCK_NS: u64 = 5_000_000_000;
/// Files larger than this are refused (the format's offsets are u32).
const MAX_FILE: u64 = u32::MAX as u64;

/// CLOCK_MONOTONIC_COARSE in nanoseconds, plus one so that 0 means "never". glibc serves this
/// clock from the vDSO: no system call.
fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        return 1;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64).saturating_add(1)
}

/// Marks the calling thread as inside a lookup until dropped (also on unwind), counted under
/// the parity of `EPOCH` it read.
struct Reader(usize);

impl Reader {
    fn enter() -> Reader {
        let parity = EPOCH.load(SeqCst) & 1;
        READERS[parity].fetch_add(1, SeqCst);
        Reader(parity)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        READERS[self.0].fetch_sub(1, SeqCst);
    }
}

impl Mapping {
    /// The mapped bytes.
    ///
    /// The caller must hold a [`Reader`] taken before it loaded the pointer to `self`.
    fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr` is a live PROT_READ mapping of `len` bytes: it is unmapped only after it
        // has left `CURRENT` and no reader is counted (see the module docs), and the caller is a
        // counted reader that loaded it from `CURRENT`. The file is never written in place by
        // the daemon except for the 4-byte `replaced` word, which the parser never reads through
        // this slice (it is read with an atomic load in `marked_replaced`).
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// True if the daemon has marked this file replaced since it was mapped.
    fn marked_replaced(&self) -> bool {
        if self.ptr.is_null() || self.born_replaced || self.len < HEADER_LEN {
            return false;
        }
        // SAFETY: the mapping is live (as in `bytes`), at least HEADER_LEN bytes long, and
        // page-aligned, so `ptr + 12` is a 4-aligned u32 inside it. Another process changes this
        // word with pwrite; an atomic load is the right way to read it. A plain atomic load of a
        // u32 is permitted on read-only memory.
        let word = unsafe { AtomicU32::from_ptr((self.ptr as *mut u8).add(REPLACED_OFFSET) as *mut u32) };
        word.load(SeqCst) != 0
    }
}

/// Identity (dev, ino) of the file at the snapshot path, if it exists.
fn path_identity() -> Option<(u64, u64)> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the path is a NUL-terminated constant and `st` is writable.
    let rc = unsafe { libc::stat(snapshot_path().as_ptr(), &mut st) };
    (rc == 0).then_some((st.st_dev, st.st_ino))
}

fn snapshot_path() -> &'static std::ffi::CStr {
    // The compiled-in path, NUL-terminated; a unit test checks it equals
    // `gatehouse_snapshot::paths::SNAPSHOT_PATH`.
    c"/var/lib/gatehouse/nss.db"
}

/// Maps the file at the snapshot path. Never fails: a missing or unusable file gives a mapping
/// with a null pointer (lookups answer `UNAVAIL`), still carrying the file's identity so the
/// periodic check does not remap it again and again.
fn map_file() -> Box<Mapping> {
    let mut m = Box::new(Mapping { ptr: std::ptr::null_mut(), len: 0, dev: 0, ino: 0, born_replaced: false });
    // SAFETY: the path is a NUL-terminated constant; the flags ask for a read-only fd that is
    // not inherited across exec.
    let fd = unsafe { libc::open(snapshot_path().as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY) };
    if fd < 0 {
        return m;
    }
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is writable.
    let rc = unsafe { libc::fstat(fd, &mut st) };
    if rc == 0 {
        m.dev = st.st_dev;
        m.ino = st.st_ino;
        let size = st.st_size as u64;
        // Only a regular file that no one but its owner may write is trusted.
        let usable = (st.st_mode & libc::S_IFMT) == libc::S_IFREG
            && st.st_mode & 0o022 == 0
            && size >= HEADER_LEN as u64
            && size <= MAX_FILE;
        if usable {
            // SAFETY: mapping `size` bytes of an open regular file read-only; the result is
            // checked against MAP_FAILED before use.
            let p =
                unsafe { libc::mmap(std::ptr::null_mut(), size as usize, libc::PROT_READ, libc::MAP_SHARED, fd, 0) };
            if p != libc::MAP_FAILED {
                m.ptr = p;
                m.len = size as usize;
                m.born_replaced = m.marked_replaced();
            }
        }
    }
    // SAFETY: `fd` is ours and closed exactly once; the mapping stays valid after close.
    unsafe { libc::close(fd) };
    m
}

/// Unmaps and frees a mapping that no thread can reach any more.
fn destroy(m: *mut Mapping) {
    if m.is_null() {
        return;
    }
    // SAFETY: `m` came from `Box::into_raw` and is owned by the caller alone (taken out of
    // `CURRENT`/`RETIRED` with no reader counted, or never published).
    let b = unsafe { Box::from_raw(m) };
    if !b.ptr.is_null() {
        // SAFETY: `ptr`/`len` describe a mapping made by `map_file`, unmapped exactly once.
        unsafe { libc::munmap(b.ptr, b.len) };
    }
}

/// Puts a mapping taken out of `CURRENT` on the retired list, or leaks it if the list is full
/// (which `remap` avoids by not replacing a mapping while every slot is taken).
fn retire(m: *mut Mapping) {
    for (slot, seen) in RETIRED.iter().zip(&SEEN) {
        if !slot.load(SeqCst).is_null() {
            continue;
        }
        // Reset before filling: only the reclaimer empties slots and sets bits, so a reset that
        // lands on another retirer's fresh slot merely delays its reclaim.
        seen.store(0, SeqCst);
        if slot.compare_exchange(std::ptr::null_mut(), m, SeqCst, SeqCst).is_ok() {
            RETIRED_COUNT.fetch_add(1, SeqCst);
            return;
        }
    }
    LEAKED.fetch_add(1, SeqCst);
}

/// Records which reader counters are at zero for every retired mapping, unmaps those seen
/// both, and flips `EPOCH` when that helps the busy counter drain (see the module docs). Called
/// outside any lookup; one thread at a time.
fn reclaim() {
    let now = now_ns();
    let held = RECLAIM_LOCK.load(SeqCst);
    let got_lock = (held == 0 || now.saturating_sub(held) > STALE_LOCK_NS)
        && RECLAIM_LOCK.compare_exchange(held, now, SeqCst, SeqCst).is_ok();
    if !got_lock {
        return;
    }
    // The pointers first, then the counters: every zero seen below is later than the
    // retirement of the pointer it is recorded for.
    let mut held_ptrs = [std::ptr::null_mut::<Mapping>(); RETIRED_SLOTS];
    for (h, slot) in held_ptrs.iter_mut().zip(&RETIRED) {
        *h = slot.load(SeqCst);
    }
    let active = EPOCH.load(SeqCst) & 1;
    let zero = [READERS[0].load(SeqCst) == 0, READERS[1].load(SeqCst) == 0];
    let mut waiting = false;
    for ((h, slot), seen) in held_ptrs.iter().zip(&RETIRED).zip(&SEEN) {
        if h.is_null() {
            continue;
        }
        let bits = u8::from(zero[0]) | (u8::from(zero[1]) << 1);
        if seen.fetch_or(bits, SeqCst) | bits == BOTH_SEEN {
            if slot.compare_exchange(*h, std::ptr::null_mut(), SeqCst, SeqCst).is_ok() {
                RETIRED_COUNT.fetch_sub(1, SeqCst);
                destroy(*h);
            }
        } else {
            waiting = true;
        }
    }
    // The inactive counter has drained: make the active one inactive so it drains too.
    if waiting && zero[active ^ 1] {
        EPOCH.fetch_add(1, SeqCst);
    }
    RECLAIM_LOCK.store(0, SeqCst);
}

/// Maps the current file and publishes it; the previous mapping is retired.
fn remap() {
    let now = now_ns();
    LAST_CHECK.store(now, SeqCst);
    let held = REMAP_LOCK.load(SeqCst);
    let got_lock = (held == 0 || now.saturating_sub(held) > STALE_LOCK_NS)
        && REMAP_LOCK.compare_exchange(held, now, SeqCst, SeqCst).is_ok();
    if !got_lock {
        // Someone else is remapping. Only the very first mapping is worth racing for.
        if CURRENT.load(SeqCst).is_null() {
            let new = Box::into_raw(map_file());
            if CURRENT.compare_exchange(std::ptr::null_mut(), new, SeqCst, SeqCst).is_err() {
                destroy(new);
            }
        }
        return;
    }
    if RETIRED_COUNT.load(SeqCst) >= RETIRED_SLOTS {
        // Every slot holds a mapping some thread may still read: keep serving the current one
        // (a whole, older generation) until a reclaim frees a slot, rather than leak one. Only
        // the holder of REMAP_LOCK retires, so the slot found free here is still free below.
        REMAP_LOCK.store(0, SeqCst);
        reclaim();
        return;
    }
    let new = Box::into_raw(map_file());
    let old = CURRENT.swap(new, SeqCst);
    if !old.is_null() {
        retire(old);
    }
    REMAP_LOCK.store(0, SeqCst);
    reclaim();
}

/// Decides, inside a lookup, whether the published mapping should be replaced.
fn stale(m: *const Mapping) -> bool {
    // SAFETY: `m` was loaded from CURRENT by a counted reader (see `with_snapshot`), so it is
    // not freed while we look at it.
    let Some(m) = (unsafe { m.as_ref() }) else { return true };
    if m.marked_replaced() {
        return true;
    }
    let now = now_ns();
    let last = LAST_CHECK.load(SeqCst);
    if now.saturating_sub(last) < CHECK_EVERY_NS || LAST_CHECK.compare_exchange(last, now, SeqCst, SeqCst).is_err() {
        return false;
    }
    match path_identity() {
        Some(id) => id != (m.dev, m.ino),
        None => !m.ptr.is_null() || m.dev != 0 || m.ino != 0,
    }
}

/// Runs `f` on the bytes of the current snapshot (empty when there is none), remapping first if
/// the file was replaced.
pub fn with_snapshot<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let mut reader = Reader::enter();
    let mut m = CURRENT.load(SeqCst);
    if stale(m) {
        drop(reader);
        remap();
        reader = Reader::enter();
        m = CURRENT.load(SeqCst);
    }
    // SAFETY: `m` was loaded from CURRENT while `reader` is counted, so it is not freed before
    // `reader` drops. It is null only if nothing was ever published, which `remap` prevents.
    let bytes = match unsafe { m.as_ref() } {
        Some(m) => m.bytes(),
        None => &[],
    };
    let result = f(bytes);
    drop(reader);
    if RETIRED_COUNT.load(SeqCst) != 0 {
        reclaim();
    }
    result
}

/// (retired mappings waiting, mappings leaked): diagnostics for tests.
pub fn stats() -> (usize, usize) {
    (RETIRED_COUNT.load(SeqCst), LEAKED.load(SeqCst))
}

#[cfg(test)]
mod tests {
    #[test]
    fn compiled_path_matches_snapshot_crate() {
        assert_eq!(super::snapshot_path().to_str().ok(), Some(gatehouse_snapshot::paths::SNAPSHOT_PATH));
    }
}
