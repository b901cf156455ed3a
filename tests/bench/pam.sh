#!/usr/bin/env bash
# PAM password logins (issue 4), every figure beside its peer, in one run (not part of CI; the
# peer needs root for a private mount namespace that leaves the host's /etc untouched):
#  * server/examples/login_bench.rs: `Authenticate` through the daemon's `serve` on a Unix socket
#    (one connection per login, as pam_gatehouse), C = 1, 2, 50 clients, vs raw verify_password
#    on one thread per core, with p50/p99 latency and peak RSS;
#  * peer: `pamtester` against pam_unix with a yescrypt hash in /etc/shadow (bind-mounted), one
#    process per login as sshd forks one per connection, C = 1 and 2 at once.
# Arguments: USERS LOGINS [C..] for the example (default 1000 300 1 2 50).
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
cargo build -q --release --locked -p gatehouse-server --example login_bench
"$T/release/examples/login_bench" "$@"

command -v pamtester >/dev/null || { echo "   (pamtester not installed: apt-get install pamtester for the peer)"; exit 0; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
PW='correct horse battery staple'
cp /etc/passwd "$W/passwd"
cp /etc/shadow "$W/shadow"
echo "benchu:x:4242:4242::/nonexistent:/usr/sbin/nologin" >>"$W/passwd"
echo "benchu:$(printf '%s\n' "$PW" | mkpasswd -m yescrypt -s):20000:0:99999:7:::" >>"$W/shadow"
cp -a /etc/pam.d "$W/pam.d"
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' >"$W/pam.d/benchunix"
cat >"$W/pam.py" <<'EOF'
import subprocess, sys, threading, time
pw, n = sys.argv[1].encode() + b"\n", int(sys.argv[2])
for c in (1, 2):
    lat, lock, left = [], threading.Lock(), [n]
    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            t = time.perf_counter()
            p = subprocess.run(["pamtester", "benchunix", "benchu", "authenticate"], input=pw,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            d = time.perf_counter() - t
            if p.returncode != 0:
                sys.exit("pamtester failed")
            with lock:
                lat.append(d)
    t = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(c)]
    for x in ts:
        x.start()
    for x in ts:
        x.join()
    secs = time.perf_counter() - t
    lat.sort()
    p99 = lat[min(len(lat) - 1, round((len(lat) - 1) * 0.99))]
    print(f"   peer: pamtester + pam_unix + yescrypt, C={c}: {n / secs:6.1f} logins/s | "
          f"p50 {lat[len(lat) // 2] * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms (whole process)")
EOF
W="$W" PW="$PW" unshare -m --propagation private bash -euo pipefail -c '
mount --bind "$W/passwd" /etc/passwd
mount --bind "$W/shadow" /etc/shadow
mount --bind "$W/pam.d" /etc/pam.d
python3 "$W/pam.py" "$PW" "${PAM_BENCH_LOGINS:-200}"
'
