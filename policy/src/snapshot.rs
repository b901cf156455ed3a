//! The NSS snapshot format (being written).
