//! What the `gatehouse` CLI, `gatehoused` and `gatehouse-tasks` share at start-up (finding and
//! reading the config file, binding a Unix socket at a fixed path): it lives in the
//! gatehouse-tasks crate, the one of the three without the store.
pub use gatehouse_tasks::service::{bind_socket, config_path, load_config};
