//! The crate's two errors: [`SnapshotError`] for a file (or a record) the reader refuses, and
//! [`BuildError`] for input the writer refuses.
use std::fmt;

/// Why a snapshot (or one of its records) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The file is shorter than its header, or than a record it points to.
    #[error("snapshot truncated at {0}")]
    Truncated(&'static str),
    /// The first bytes are not [`MAGIC`](crate::MAGIC): this is not a gatehouse snapshot.
    #[error("not a gatehouse snapshot (bad magic)")]
    BadMagic,
    /// A format version this reader does not know; the NSS module answers `UNAVAIL`.
    #[error("snapshot format version {0} is not supported (this reader knows version 2)")]
    UnsupportedVersion(u32),
    /// A header field disagrees with the file (length, section offset, reserved word).
    #[error("snapshot header field {0} is inconsistent with the file")]
    BadHeader(&'static str),
    /// A record points outside its section or the heap.
    #[error("snapshot record field {0} points out of bounds")]
    OutOfBounds(&'static str),
    /// A string is not NUL-terminated, or contains a NUL.
    #[error("snapshot string field {0} is malformed (missing terminator or inner NUL)")]
    BadString(&'static str),
    /// A name index entry's hash is not the hash of the name it points to
    /// ([`Snapshot::verify`](crate::Snapshot::verify) only).
    #[error("snapshot index {0} holds a hash that does not match its name")]
    BadHash(&'static str),
    /// A record's id lies outside the header's range (or the range starts below [`MIN_ID`](crate::MIN_ID)).
    #[error("snapshot record field {0} is outside the id range")]
    OutOfRange(&'static str),
    /// A section is not sorted or has duplicate keys ([`Snapshot::verify`](crate::Snapshot::verify) only).
    #[error("snapshot section {0} is not strictly sorted")]
    Unsorted(&'static str),
}

/// Input the writer ([`crate::build`]) refuses: a name, display name or id that cannot appear in
/// the file, a duplicate, or a file that would exceed 4 GiB. The message names the field, as the
/// policy core's errors do (`invalid name "a:b": character ':' cannot appear in an NSS name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: {reason}")]
pub struct BuildError {
    /// The field's name (`name`, `display_name`, `uid`, `gid`, `snapshot`).
    pub field: &'static str,
    /// The offending input, truncated to 80 characters.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl BuildError {
    /// Builds the error, truncating the echoed value.
    pub(crate) fn invalid(field: &'static str, value: impl AsRef<str>, reason: impl fmt::Display) -> Self {
        let value: String = value.as_ref().chars().take(80).collect();
        BuildError { field, value, reason: reason.to_string() }
    }
}
