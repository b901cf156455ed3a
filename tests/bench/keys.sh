#!/usr/bin/env bash
# gatehouse-keys benchmarks (issue 4), every figure beside its peer, in one run (not part of CI;
# needs root for the private mount namespace, as ssh/tests/keys.rs):
#  * `gatehouse-keys USER UID FP TYPE KEY`, exec to exit, against the real gatehoused over a
#    SQLite database of 100,000 users with 300,000 ed25519 keys (filled by `gatehouse import csv`),
#    vs the same lookup done by reading a 300,000-line authorized_keys file: `grep -F` of the key
#    (a floor: no parsing) and `ssh-keygen -l -f` (OpenSSH parsing every line, as sshd does);
#  * snapshot propagation: `gatehouse user set` → a new /var/lib/gatehouse/nss.db, 100k users.
# Timing is by one Python process spawning each command (its fork+exec cost, measured with
# /bin/true, is included in every figure).
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
USERS=${KEYS_BENCH_USERS:-100000}
cargo build -q --release --locked -p gatehouse-server --bin gatehouse --bin gatehoused
cargo build -q --release --locked -p gatehouse-ssh --bin gatehouse-keys
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
BIN=$(cd "$T/release" && pwd)
printf 'database = "sqlite://%s/g.db"\nhome_base = "%s/home"\n' "$W" "$W" >"$W/g.toml"
export GATEHOUSE_CONFIG=$W/g.toml

echo "== gatehouse-keys, $USERS users with 3 ed25519 keys each"
python3 - "$USERS" "$W" <<'EOF'
import base64, os, sys
n, w = int(sys.argv[1]), sys.argv[2]
pre = b"\0\0\0\x0bssh-ed25519\0\0\0\x20"
key = lambda: "ssh-ed25519 " + base64.b64encode(pre + os.urandom(32)).decode()
with open(f"{w}/users.csv", "w") as csv, open(f"{w}/authorized_keys", "w") as ak:
    csv.write("name,keys\n")
    for i in range(n):
        ks = [f"{key()} u{i}-{j}" for j in range(3)]
        csv.write(f"u{i},{'|'.join(ks)}\n")
        ak.writelines(k + "\n" for k in ks)
    # The key looked up: the last user's last key (the last line of the file).
    open(f"{w}/key", "w").write(ks[-1].split()[1])
EOF
"$BIN/gatehouse" db migrate >/dev/null
/usr/bin/time -f "   gatehouse import csv: %e s, peak RSS %M kB" "$BIN/gatehouse" import csv "$W/users.csv" | sed 's/^/   /'
echo "   authorized_keys peer file: $(wc -l <"$W/authorized_keys") lines, $(du -h "$W/authorized_keys" | cut -f1)"

cat >"$W/ns.py" <<'EOF'
import os, subprocess, sys, time
w, b, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = open(f"{w}/key").read().strip()
user = f"u{n - 1}"
def run(argv, times=200, want=None):
    d = []
    for _ in range(times):
        t = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        d.append(time.perf_counter() - t)
        if want is not None and want not in p.stdout:
            sys.exit(f"{argv[0]}: unexpected output {p.stdout[:200]!r}")
    d.sort()
    return d[len(d) // 2] * 1000, d[min(len(d) - 1, round((len(d) - 1) * 0.99))] * 1000
fmt = lambda r: f"p50 {r[0]:7.2f} ms  p99 {r[1]:7.2f} ms"
keys = [f"{b}/gatehouse-keys", user, "1900001000", "SHA256:x", "ssh-ed25519", key]
rows = [
    ("/bin/true (the spawn floor)", run(["/bin/true"]), ""),
    (f"gatehouse-keys {user} (target p50 < 3 ms)", run(keys, want=key.encode()), ""),
    ("peer: grep -F key, 300k-line authorized_keys", run(["grep", "-F", key, f"{w}/authorized_keys"], want=key.encode()), ""),
    ("peer: ssh-keygen -l -f, same file", run(["ssh-keygen", "-l", "-f", f"{w}/authorized_keys"], times=20), " (20 runs)"),
]
for name, r, note in rows:
    print(f"   {name:46} {fmt(r)}{note}")
print(f"== snapshot propagation, {n} users: gatehouse user set -> new /var/lib/gatehouse/nss.db (20 samples)")
snap = "/var/lib/gatehouse/nss.db"
sig = lambda: (lambda s: (s.st_ino, s.st_mtime_ns))(os.stat(snap))
from_start, from_exit = [], []
for i in range(20):
    time.sleep(0.6)  # let any earlier export settle
    before = sig()
    t0 = time.perf_counter()
    subprocess.run([f"{b}/gatehouse", "user", "set", f"u{i}", "--display-name", f"bench {i} {t0}"],
                   check=True, stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    while sig() == before:
        if time.perf_counter() - t0 > 30:
            sys.exit("no new snapshot within 30 s")
        time.sleep(0.001)
    t2 = time.perf_counter()
    from_start.append(t2 - t0)
    from_exit.append(t2 - t1)
for name, d in (("from the CLI start", from_start), ("from the CLI exit", from_exit)):
    d.sort()
    print(f"   {name:18}: p50 {d[10] * 1000:6.0f} ms  p99 {d[19] * 1000:6.0f} ms")
EOF
W="$W" BIN="$BIN" USERS="$USERS" unshare -m --propagation private bash -euo pipefail -c '
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -m 0755 /var/lib/gatehouse
"$BIN/gatehoused" 2>"$W/daemon.log" &
pid=$!
trap "kill $pid; wait $pid || true" EXIT
for i in $(seq 600); do [ -S /run/gatehouse/socket ] && [ -f /var/lib/gatehouse/nss.db ] && break; sleep 0.1; done
[ -f /var/lib/gatehouse/nss.db ] || { echo "no snapshot"; cat "$W/daemon.log"; exit 1; }
# After its first export the daemon walks every user once (roots, FTP files): measure only when it
# has gone idle (its CPU time unchanged for a second), or that walk is timed as well.
cpu() { awk "{print \$14 + \$15}" /proc/$pid/stat; }
prev=-1
for i in $(seq 120); do now=$(cpu); [ "$now" = "$prev" ] && break; prev=$now; sleep 1; done
python3 "$W/ns.py" "$W" "$BIN" "$USERS"
'
