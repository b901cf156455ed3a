#!/usr/bin/env bash
# Builds the .deb: the whole workspace in release mode (cargo-deb builds one package, and the
# modules and the sftp-hook binaries come from other crates), then cargo-deb packages
# server/Cargo.toml's [package.metadata.deb] without building again.
# Prints the path of the .deb on its last line. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace
cargo deb -p gatehouse-server --no-build --locked "$@" | tail -n 1
