//! `[ids]`: the uid/gid range. [`IdRange`] itself is a plain type of the snapshot crate (which
//! has no serde); this reads it from the file.
use gatehouse_snapshot::IdRange;
use serde::Deserialize;

/// The `[ids]` table as the file spells it; [`IdRange`] itself is a plain type of the snapshot
/// crate, which has no serde.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdsToml {
    #[serde(default = "default_first")]
    first: u32,
    #[serde(default = "default_last")]
    last: u32,
}

fn default_first() -> u32 {
    IdRange::default().first
}

fn default_last() -> u32 {
    IdRange::default().last
}

pub(super) fn from_toml<'de, D: serde::Deserializer<'de>>(d: D) -> Result<IdRange, D::Error> {
    IdsToml::deserialize(d).map(|t| IdRange { first: t.first, last: t.last })
}
