#!/usr/bin/env bash
# gatehouse-sftp against OpenSSH's own sftp-server, through one real sshd, in one run (issue 5;
# not part of CI; needs root for the private namespaces, like ssh/tests/sshd.rs, whose
# setup script builds the world: ssh/tests/data/sshd-setup.sh).
#  * the peer: the local user localbob, key login, Debian's stock `Subsystem sftp
#    /usr/lib/openssh/sftp-server`; ours: the gatehouse user alice, key login through
#    gatehouse-keys, ForceCommand gatehouse-sftp;
#  * 1 GiB get and put with aes128-gcm@openssh.com and chacha20-poly1305@openssh.com;
#  * 10,000 small operations in one session (1 KiB put and get, ls -l, chmod);
#  * login to first byte (`sftp -b` of one `ls`), and the same with 300,000 keys in the
#    database against a 300,000-line AuthorizedKeysFile (SFTP_BENCH_KEYS=0 skips it).
# Runs are interleaved (peer, ours, peer, ours, …); each figure is the median of
# SFTP_BENCH_RUNS (default 5) with the spread (min–max) beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TD=${CARGO_TARGET_DIR:-target}
RUNS=${SFTP_BENCH_RUNS:-5}
KEYS=${SFTP_BENCH_KEYS:-300000}
# SFTP_BENCH_ONLY=put (or get, small, login) runs only the matching figures.
ONLY=${SFTP_BENCH_ONLY:-}
cargo build -q --release --locked -p gatehouse-server -p gatehouse-tasks --bins
cargo build -q --release --locked -p gatehouse-ssh --bins
cargo build -q --release --locked -p pam_gatehouse -p nss_gatehouse --lib
B=$(cd "$TD/release" && pwd)
W=$(mktemp -d /tmp/gh-sftp-bench.XXXXXX)
chmod 0755 "$W"
trap 'rm -rf "$W"' EXIT
printf 'database = "sqlite://%s/g.db"\n' "$W" >"$W/g.toml"

cat >"$W/bench.sh" <<'EOF'
# Runs inside the namespace after sshd-setup.sh.
set -eu
head -c 1073741824 /dev/urandom > "$T/big"
install -o localbob -g localbob -m 0644 "$T/big" /home/localbob/big
install -o alice -g alice -m 0644 "$T/big" /srv/gatehouse/alice/big
# 10,000 small operations: 2,500 each of put and get of a 1 KiB file, `ls -l` of it (a stat)
# and `chmod` (a setstat).
head -c 1024 /dev/urandom > "$T/small"
{
    for i in $(seq 2500); do
        echo "put $T/small s$i"
        echo "get s$i /dev/null"
        echo "ls -l s$i"
        echo "chmod 644 s$i"
    done
} > "$T/small.batch"
SOPTS="-q -P $PORT -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes"
time_ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
run_sftp() { # USER CIPHER BATCHLINE...
    u=$1 c=$2; shift 2
    printf '%s\n' "$@" | sftp $SOPTS -c "$c" -i "$T/keys/$u" -b - "$u@127.0.0.1"
}
summary() { # LABEL values... -> "median (min–max)"
    label=$1; shift
    printf '%s\n' "$@" | sort -n | awk -v l="$label" '{v[NR]=$1} END {printf "%s %d %d %d\n", l, v[int((NR+1)/2)], v[1], v[NR]}'
}
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
for c in aes128-gcm@openssh.com chacha20-poly1305@openssh.com; do
    for dir in get put; do
        want $dir || continue
        peer=() ours=()
        for i in $(seq "$RUNS"); do
            # ABBA order, and no file left to truncate: the cost of freeing and faulting in
            # 1 GiB of tmpfs pages varies from run to run far more than the servers differ.
            if [ $((i % 2)) = 1 ]; then order="localbob alice"; else order="alice localbob"; fi
            for who in $order; do
                if [ $dir = get ]; then line="get big $T/got"; else line="put $T/big up"; fi
                rm -f "$T/got" /home/localbob/up /srv/gatehouse/alice/up
                ms=$(time_ms run_sftp $who $c "$line")
                rm -f "$T/got"
                if [ $who = localbob ]; then peer+=("$ms"); else ours+=("$ms"); fi
            done
        done
        summary "BENCH 1GiB-$dir-$c sftp-server" "${peer[@]}"
        summary "BENCH 1GiB-$dir-$c gatehouse-sftp" "${ours[@]}"
    done
done
if want small; then
peer=() ours=()
for i in $(seq "$RUNS"); do
    peer+=("$(time_ms sh -c "sftp $SOPTS -i $T/keys/localbob -b $T/small.batch localbob@127.0.0.1")")
    ours+=("$(time_ms sh -c "sftp $SOPTS -i $T/keys/alice -b $T/small.batch alice@127.0.0.1")")
done
summary "BENCH small-10000-ops sftp-server" "${peer[@]}"
summary "BENCH small-10000-ops gatehouse-sftp" "${ours[@]}"
fi
if want login; then
login() { printf 'ls\n' | sftp $SOPTS -i "$T/keys/$1" -b - "$1@127.0.0.1"; }
peer=() ours=()
for i in $(seq $((RUNS * 4))); do
    peer+=("$(time_ms login localbob)")
    ours+=("$(time_ms login alice)")
done
summary "BENCH login-first-byte sftp-server" "${peer[@]}"
summary "BENCH login-first-byte gatehouse-sftp" "${ours[@]}"
fi
if want login && [ "$KEYS" -gt 0 ]; then
    # KEYS other keys: in the database (other users, 3 each) and in localbob's authorized_keys
    # (before his own key, which is the last line).
    /usr/bin/python3 - "$KEYS" "$T" <<'PY'
import base64, os, sys
n, t = int(sys.argv[1]), sys.argv[2]
pre = b"\0\0\0\x0bssh-ed25519\0\0\0\x20"
key = lambda: "ssh-ed25519 " + base64.b64encode(pre + os.urandom(32)).decode()
with open(f"{t}/many.csv", "w") as csv, open(f"{t}/many_keys", "w") as ak:
    csv.write("name,keys\n")
    for i in range(n // 3):
        ks = [f"{key()} k{i}-{j}" for j in range(3)]
        csv.write(f"k{i},{'|'.join(ks)}\n")
        ak.writelines(k + "\n" for k in ks)
PY
    "$GATEHOUSE_CLI" import csv "$T/many.csv" >/dev/null
    cat "$T/many_keys" "$T/keys/localbob.pub" > /home/localbob/.ssh/authorized_keys
    # Let gatehoused export the new snapshot and gatehouse-tasks create the new users' roots
    # (one directory per user) before measuring, so the logins do not compete with that work.
    for _ in $(seq 600); do
        [ "$(find /srv/gatehouse -mindepth 1 -maxdepth 1 | wc -l)" -ge $((KEYS / 3)) ] && break
        sleep 0.5
    done
    sleep 3
    peer=() ours=()
    for i in $(seq $((RUNS * 4))); do
        peer+=("$(time_ms login localbob)")
        ours+=("$(time_ms login alice)")
    done
    summary "BENCH login-first-byte-$KEYS-keys sftp-server" "${peer[@]}"
    summary "BENCH login-first-byte-$KEYS-keys gatehouse-sftp" "${ours[@]}"
fi
EOF

cd "$W"
out=$(T="$W" DATA="$ROOT/ssh/tests/data" GATEHOUSE_TESTLIB="$ROOT/tests/lib" PROFILE="$ROOT/packaging/pam-configs/gatehouse" \
    DROPIN="$ROOT/packaging/sshd/gatehouse.conf" PAM_SO="$B/libpam_gatehouse.so" NSS_SO="$B/libnss_gatehouse.so" \
    GATEHOUSED="$B/gatehoused" GATEHOUSE_TASKS="$B/gatehouse-tasks" GATEHOUSE_CLI="$B/gatehouse" \
    KEYS_BIN="$B/gatehouse-keys" SFTP_BIN="$B/gatehouse-sftp" PW="correct horse battery staple" \
    PORT=$((20000 + RANDOM % 20000)) RUNS="$RUNS" KEYS="$KEYS" ONLY="$ONLY" \
    unshare -m -p -f --mount-proc --propagation private \
    bash -c '. "$DATA/sshd-setup.sh"; . "$T/bench.sh"')
echo "$out" | grep '^BENCH' | awk '
    {label=$2; who=$3; med[label, who]=$4; lo[label, who]=$5; hi[label, who]=$6; if (!(label in seen)) {seen[label]=1; order[++n]=label}}
    END {
        printf "%-46s %24s %24s %8s\n", "median of runs (min-max)", "sftp-server", "gatehouse-sftp", "ratio"
        for (i = 1; i <= n; i++) {
            l = order[i]; p = med[l, "sftp-server"]; o = med[l, "gatehouse-sftp"]
            unit = "ms"
            if (l ~ /^1GiB/) {
                printf "%-46s %9d MB/s (%4d-%4d) %9d MB/s (%4d-%4d) %7.2fx\n", l, 1073.741824e3 / p, 1073.741824e3 / hi[l, "sftp-server"], 1073.741824e3 / lo[l, "sftp-server"], 1073.741824e3 / o, 1073.741824e3 / hi[l, "gatehouse-sftp"], 1073.741824e3 / lo[l, "gatehouse-sftp"], p / o
            } else {
                printf "%-46s %9d ms (%5d-%5d) %9d ms (%5d-%5d) %7.2fx\n", l, p, lo[l, "sftp-server"], hi[l, "sftp-server"], o, lo[l, "gatehouse-sftp"], hi[l, "gatehouse-sftp"], p / o
            }
        }
        print "ratio: sftp-server time / gatehouse-sftp time (above 1: gatehouse-sftp is faster)"
    }'
