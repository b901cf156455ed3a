#!/usr/bin/env bash
# FTP benchmarks (issue 6), every figure beside its peers from the same run (not part of CI;
# needs root, vsftpd, lftp, curl and perl's DB_File; ProFTPD installed or unpacked as .ci/run
# does). Each server runs in private mount and PID namespaces built by the test suite's own
# scripts (server/tests/data/ftp-world.sh and <server>-setup.sh): the host is not touched.
#  * FTP logins per second on one vsftpd build, same run, rounds interleaved, each login a
#    fresh connection (connect, USER, PASS, QUIT; tests/bench/ftp_client.py):
#      - a gatehouse user (Debian's stock /etc/pam.d/vsftpd, pam_unix then pam_gatehouse);
#      - the classic vsftpd virtual-user recipe: pam_userdb (a Berkeley DB of plain passwords)
#        + guest_enable, its own vsftpd instance and PAM service;
#      - a local Unix user (pam_unix, yescrypt, Debian 12's default hash);
#  * the time from a CLI change (`gatehouse user set flip --mode r|rw`, alternating) to the
#    FTP server enforcing it at the next login (an upload refused or accepted), on vsftpd and
#    ProFTPD.
# FTP_BENCH_ROUNDS (default 3), FTP_BENCH_LOGINS per run (default 200), FTP_BENCH_CONC
# (default "2 8"), FTP_BENCH_CHANGES (default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TD=${CARGO_TARGET_DIR:-target}
cargo build -q --release --locked -p gatehouse-server -p gatehouse-tasks --bins
cargo build -q --release --locked -p pam_gatehouse -p nss_gatehouse --lib
B=$(cd "$TD/release" && pwd)
W=$(mktemp -d /tmp/gh-ftp-bench.XXXXXX)
chmod 0755 "$W"
trap 'rm -rf "$W"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cat >"$W/vsftpd-bench.sh" <<'EOF'
# Runs after ftp-world.sh and vsftpd-setup.sh (vsftpd on PORT, gatehouse users and localbob).
set -eu
CLIENT="/usr/bin/python3 $ROOT/tests/bench/ftp_client.py"
# The virtual-user recipe: its own PAM service and vsftpd instance on PORTV.
mkdir -p -m 0755 /srv/ftp
perl -MDB_File -MFcntl -e 'tie my %h, "DB_File", $ARGV[0], O_RDWR|O_CREAT, 0600, $DB_HASH or die "$!"; $h{$ARGV[1]} = $ARGV[2]; untie %h' \
    /etc/vsftpd/virtual_users.db vu "$PW"
printf 'auth required pam_userdb.so db=/etc/vsftpd/virtual_users\naccount required pam_userdb.so db=/etc/vsftpd/virtual_users\n' \
    > /etc/pam.d/vsftpd_virtual
{ cat "$T/vsftpd.conf"; printf 'listen_port=%s\npasv_min_port=%s\npasv_max_port=%s\npam_service_name=vsftpd_virtual\nguest_enable=YES\nguest_username=ftp\n' \
    "$PORTV" $((PASV + 21)) $((PASV + 40)); } > "$T/vsftpd-virtual.conf"
/usr/sbin/vsftpd "$T/vsftpd-virtual.conf" 2>>"$T/vsftpd.err" &
FTPD="$FTPD $!"
wait_port 127.0.0.1 "$PORTV"
for c in $CONC; do
    for r in $(seq "$ROUNDS"); do
        for who in gatehouse:$PORT:rwu userdb:$PORTV:vu pam_unix:$PORT:localbob; do
            IFS=: read -r label port user <<<"$who"
            echo "BENCH logins-c$c $label $($CLIENT logins 127.0.0.1 "$port" "$user" "$PW" "$LOGINS" "$c")"
        done
    done
done
echo "CHANGE vsftpd $($CLIENT change 127.0.0.1 "$PORT" flip "$PW" "$CHANGES" "$GATEHOUSE_CLI")"
EOF
cat >"$W/proftpd-bench.sh" <<'EOF'
# Runs after ftp-world.sh and proftpd-setup.sh (ProFTPD on PORT).
set -eu
wait_port
echo "CHANGE proftpd $(/usr/bin/python3 "$ROOT/tests/bench/ftp_client.py" change 127.0.0.1 "$PORT" flip "$PW" "$CHANGES" "$GATEHOUSE_CLI")"
EOF

# world SERVER EXTRA_ENV...: ftp-world.sh, SERVER-setup.sh, then SERVER-bench.sh in namespaces.
world() {
    server=$1
    shift
    T="$W/$server"
    mkdir -m 0755 "$T"
    printf 'database = "sqlite://%s/g.db"\n' "$T" >"$T/g.toml"
    env T="$T" ROOT="$ROOT" GATEHOUSE_TESTLIB="$ROOT/tests/lib" PAMD="$ROOT/pam/tests/data/pam.d" \
        PROFILE="$ROOT/packaging/pam-configs/gatehouse" PAM_SO="$B/libpam_gatehouse.so" NSS_SO="$B/libnss_gatehouse.so" \
        GATEHOUSED="$B/gatehoused" GATEHOUSE_TASKS="$B/gatehouse-tasks" GATEHOUSE_CLI="$B/gatehouse" \
        PW="correct horse battery staple" PORT="$(free_port)" PORTV="$(free_port)" PASV="$(free_port)" \
        ROUNDS="${FTP_BENCH_ROUNDS:-3}" LOGINS="${FTP_BENCH_LOGINS:-200}" CONC="${FTP_BENCH_CONC:-2 8}" \
        CHANGES="${FTP_BENCH_CHANGES:-20}" "$@" \
        unshare -m -p -f --mount-proc --propagation private \
        bash -c ". $ROOT/server/tests/data/ftp-world.sh; . $ROOT/server/tests/data/$server-setup.sh; . $W/$server-bench.sh"
}
out=$(world vsftpd FRAGMENT="$ROOT/packaging/ftp/vsftpd.conf.fragment" VSFTPD_STOCK="$ROOT/server/tests/data/vsftpd.conf")
PROFTPD_BIN=$(ls /usr/sbin/proftpd /opt/gatehouse-ci/proftpd/usr/sbin/proftpd 2>/dev/null | head -n 1 || true)
if [ -n "$PROFTPD_BIN" ]; then
    base=${PROFTPD_BIN%/usr/sbin/proftpd}
    out+=$'\n'$(world proftpd PROFTPD_BIN="$PROFTPD_BIN" PROFTPD_BASE="$base" \
        FRAGMENT="$ROOT/packaging/ftp/proftpd.conf.fragment" PAMFILE="$ROOT/packaging/ftp/proftpd.pam")
else
    echo "ProFTPD not found: its change timing is skipped" >&2
fi
echo "$out" | awk '
    /^BENCH/ { k = $2 SUBSEP $3; n[k]++; rate[k, n[k]] = $4; p50[k, n[k]] = $5; p99[k, n[k]] = $6
               if (!($2 in seen)) { seen[$2] = 1; order[++m] = $2 } }
    /^CHANGE/ { change[++c] = sprintf("%-10s p50 %5d ms   p99 %5d ms   max %5d ms", $2, $3, $4, $5) }
    function med(k, arr,   i, j, t, v, cnt) {
        cnt = n[k]; for (i = 1; i <= cnt; i++) v[i] = arr[k, i]
        for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return v[int((cnt + 1) / 2)]
    }
    END {
        print "FTP logins on one vsftpd, median of the rounds (logins/s, p50 / p99 ms of one login)"
        for (i = 1; i <= m; i++) {
            l = order[i]; g = med(l SUBSEP "gatehouse", rate)
            printf "  %-10s gatehouse %6.1f/s (%s / %s ms)   pam_userdb+guest %6.1f/s (%s / %s ms)   pam_unix+yescrypt %6.1f/s (%s / %s ms)\n", l,
                g, med(l SUBSEP "gatehouse", p50), med(l SUBSEP "gatehouse", p99),
                med(l SUBSEP "userdb", rate), med(l SUBSEP "userdb", p50), med(l SUBSEP "userdb", p99),
                med(l SUBSEP "pam_unix", rate), med(l SUBSEP "pam_unix", p50), med(l SUBSEP "pam_unix", p99)
        }
        print "CLI change (gatehouse user set --mode) to enforcement at the next login"
        for (i = 1; i <= c; i++) print "  " change[i]
    }'
