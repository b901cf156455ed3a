//! The daemon wire protocol (being written).
