#!/usr/bin/env bash
# Builds the .deb: the whole workspace in release mode (cargo-deb builds one package, and the
# modules and gatehouse-tasks (tasks/) and the ssh helpers (ssh/) come from other crates), then the man pages and shell
# completions into <target dir>/release/docs, where server/Cargo.toml's assets expect them: the
# CLI's pages and completions from its clap definitions (server/examples/gen_docs.rs) and the
# hand-written pages of docs/man/ (the daemons, the helpers, the modules, gatehouse.toml(5)).
# Then cargo-deb packages [package.metadata.deb] without building again.
# Prints the path of the .deb on its last line. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace
# cargo-deb reads `target/release/…` assets from the real target dir (CARGO_TARGET_DIR, a
# relative one, or .cargo/config's build.target-dir): ask cargo where that is.
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || { echo "build-deb.sh: cannot find cargo's target directory" >&2; exit 1; }
docs="$target_dir/release/docs"
rm -rf "$docs"
cargo run --release --locked -q -p gatehouse-server --example gen_docs -- "$docs"
cp docs/man/*.8 docs/man/*.5 "$docs"/
# cargo-deb compresses man pages only when they come from outside the target dir; lintian
# wants gzip -9n (maximum compression, no name or time stamp, so the build is reproducible).
gzip -9n "$docs"/*.8 "$docs"/*.5
cargo deb -p gatehouse-server --no-build --locked "$@" | tail -n 1
