#!/usr/bin/env bash
# Fleet propagation benchmark (not part of CI): a plain-SQL change on PostgreSQL until every
# host's NSS snapshot shows it, over 200 changes (one at a time, then 50/s), at 10,000 and
# 100,000 users, and the first sync of a 1,000,000-user database; three hosts
# (three exporters with their own LISTEN connection, snapshot and offline cache, as gatehoused
# runs them, in one process). Also prints the import, the first export and one offline-cache
# refresh. Every user reuses one argon2id hash. See server/examples/fleet_bench.rs.
# Usage: bash tests/bench/fleet.sh [USERS...]   (default: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -q -p gatehouse-server --example fleet_bench
BIN=${CARGO_TARGET_DIR:-target}/release/examples/fleet_bench
[ $# -gt 0 ] || set -- 10000 100000
for users in "$@"; do
    echo "== $users users, changes one at a time"
    "$BIN" "$users" 200 3
    echo "== $users users, 50 changes/s"
    "$BIN" "$users" 200 3 50
done
echo "== first sync of a 1,000,000-user database"
"$BIN" 1000000 0 1
