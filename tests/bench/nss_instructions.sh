#!/usr/bin/env bash
# Instructions per NSS lookup, counted by callgrind: repeatable whatever else the machine does,
# so two builds of the module can be compared on a busy machine (not part of CI; needs root for
# the private mount namespace, and valgrind).
#   bash tests/bench/nss_instructions.sh [OTHER_TARGET_DIR [LABEL]]
# With OTHER_TARGET_DIR (a release build of another commit, e.g. the code before a change, made
# with `cargo build --release -p nss_gatehouse --lib --example make_snapshot` in its worktree) its
# module is counted beside this tree's, each with a snapshot from its own make_snapshot (the
# format may differ between them). Per call = (count at 20,000 calls - count at 0) / 20,000.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
SIZES=${NSS_BENCH_SIZES:-"10 1000000"}
CALLS=20000
cargo build -q --release --locked -p nss_gatehouse --lib --example make_snapshot
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cc -O2 -Wall -o "$W/nssbench" tests/bench/nssbench.c -ldl
builds=("this:$(realpath "$T")")
[ $# -ge 1 ] && builds+=("${2:-other}:$(realpath "$1")")
for b in "${builds[@]}"; do
    label=${b%%:*} dir=${b#*:}
    mkdir "$W/$label"
    cp "$dir/release/libnss_gatehouse.so" "$W/$label/libnss_gatehouse.so.2"
    for n in $SIZES; do "$dir/release/examples/make_snapshot" "$n" "$W/$label/nss-$n.db" >/dev/null; done
done
echo "== instructions per call of the module's own function (callgrind; fewer is better)"
W="$W" SIZES="$SIZES" CALLS="$CALLS" LABELS="${builds[*]%%:*}" unshare -m bash -euo pipefail -c '
mount --make-rprivate /
mount -t tmpfs tmpfs /var/lib
mkdir /var/lib/gatehouse
count() { # LABEL N OP CALLS -> instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$W/nssbench" count "$2" \
        "$W/$1/libnss_gatehouse.so.2" "$3" "$4" 2>&1 | sed -n "s/.*Collected : \([0-9]*\).*/\1/p"
}
for n in $SIZES; do
    for op in nam-hit nam-miss uid-hit uid-miss; do
        line=$(printf "  %8s users  %-8s" "$n" "$op")
        for label in $LABELS; do
            cp "$W/$label/nss-$n.db" /var/lib/gatehouse/nss.db
            a=$(count "$label" "$n" "$op" 0); b=$(count "$label" "$n" "$op" "$CALLS")
            line="$line  $label $(( (b - a) / CALLS ))"
        done
        echo "$line"
    done
done
'
