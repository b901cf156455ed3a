//! The id range (`[ids]` in the config file): the header of every snapshot carries it, and the
//! reader never hands out an id outside it. A plain type; the policy crate reads it from the
//! config file.

/// The lowest `[ids] first` allowed: below are root and the system accounts and groups. The NSS
/// module refuses a snapshot whose range starts lower, whatever wrote it.
pub const MIN_ID: u32 = 1000;

/// `[ids]`: the range uids and gids are allocated from. The first two ids are the virtual groups
/// `gatehouse-users` and `gatehouse-totp`; users and groups get the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// First id of the range (inclusive).
    pub first: u32,
    /// Last id of the range (inclusive).
    pub last: u32,
}

impl Default for IdRange {
    fn default() -> Self {
        IdRange { first: 1_900_000_000, last: 1_999_999_999 }
    }
}

impl IdRange {
    /// gid of the virtual group every gatehouse user belongs to.
    pub fn users_group(&self) -> u32 {
        self.first
    }
    /// gid of the virtual group of users with TOTP enabled.
    pub fn totp_group(&self) -> u32 {
        self.first.saturating_add(1)
    }
    /// First id handed to a user or group.
    pub fn first_allocatable(&self) -> u32 {
        self.first.saturating_add(2)
    }
    /// True if `id` may be handed to a user or group.
    pub fn allocatable(&self, id: u32) -> bool {
        id >= self.first_allocatable() && id <= self.last
    }
}
