#!/usr/bin/env bash
# Store and CLI benchmarks (not part of CI):
#   - `gatehouse import csv` of 100,000 users with pre-hashed passwords into SQLite;
#   - `gatehouse user show` and `gatehouse check` on a 1,000,000-user database.
# Peers, measured in the same run: sqlite3's own `.import` of the same CSV into a bare table
# (the floor for writing the rows at all), and a flat-file lookup (`grep` of a 1,000,000-line
# passwd-style file), which is what glibc's `files` source does for every lookup.
# Every user reuses one argon2id hash: a million real hashes would take hours.
# Usage: bash tests/bench/store.sh [USERS_BIG]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIG=${1:-1000000}
cargo build --release --locked -q -p gatehouse-server
G=$PWD/target/release/gatehouse
W=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

mkconf() { # $1 = name
    printf 'database = "sqlite://%s/%s.db"\nhome_base = "%s/home"\n' "$W" "$1" "$W" > "$W/$1.toml"
    GATEHOUSE_CONFIG=$W/$1.toml "$G" db migrate >/dev/null
}
ms() { awk -v a="$1" -v b="$EPOCHREALTIME" "BEGIN { printf \"%.1f\", (b - a) * 1000 }"; }
now() { echo "$EPOCHREALTIME"; }

# One real hash, reused.
mkconf seed
echo 'benchmark password 1234567' | GATEHOUSE_CONFIG=$W/seed.toml "$G" user add seed --password-stdin >/dev/null
HASH=$(GATEHOUSE_CONFIG=$W/seed.toml "$G" export --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["users"][0]["password_hash"])')

gen_csv() { # $1 = count, $2 = file
    python3 - "$1" "$2" "$HASH" <<'PY'
import sys
n, path, h = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "w") as f:
    f.write("name,password_hash,email,allowed_ips,protocols\n")
    for i in range(n):
        f.write(f"u{i:07d},\"{h}\",u{i}@example.com,10.0.0.0/8,ssh;ftp\n")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }

echo "== import csv, 100,000 users, SQLite"
gen_csv 100000 "$W/100k.csv"
mkconf imp
t=$(now); GATEHOUSE_CONFIG=$W/imp.toml "$G" import csv "$W/100k.csv" >/dev/null; gh=$(ms "$t")
t=$(now); sqlite3 "$W/floor.db" ".mode csv" ".import $W/100k.csv bare" >/dev/null; fl=$(ms "$t")
printf '%-44s %10s ms\n' "gatehouse import csv (100k, one transaction)" "$gh" "sqlite3 .import into a bare table (floor)" "$fl"
python3 -c "print(f'ratio gatehouse/floor: {float($gh)/float($fl):.1f}x   target: < 10000 ms')"

echo "== user show / check on a $BIG-user database"
gen_csv "$BIG" "$W/big.csv"
mkconf big
t=$(now); GATEHOUSE_CONFIG=$W/big.toml "$G" import csv "$W/big.csv" >/dev/null; echo "import of $BIG users: $(ms "$t") ms"
python3 - "$BIG" "$W/passwd" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        f.write(f"u{i:07d}:x:{1000+i}:{1000+i}::/home/u{i:07d}:/bin/sh\n")
PY
target=$(printf 'u%07d' $((BIG * 3 / 4)))
export GATEHOUSE_CONFIG=$W/big.toml
"$G" user show "$target" >/dev/null
show=(); chk=(); grp=()
for _ in $(seq 15); do
    t=$(now); "$G" user show "$target" >/dev/null; show+=("$(ms "$t")")
    t=$(now); "$G" check "$target" --ip 10.1.2.3 --protocol ssh --path /a/b --op upload >/dev/null; chk+=("$(ms "$t")")
    t=$(now); grep -m1 "^$target:" "$W/passwd" >/dev/null; grp+=("$(ms "$t")")
done
printf '%-44s %10s ms (median of 15, process start included)\n' \
    "gatehouse user show" "$(printf '%s\n' "${show[@]}" | median)" \
    "gatehouse check (login + path decision)" "$(printf '%s\n' "${chk[@]}" | median)" \
    "grep of a $BIG-line passwd file (peer)" "$(printf '%s\n' "${grp[@]}" | median)"
echo "target: < 50 ms each"
