# Sourced, as root inside `unshare -m … --propagation private`, by every test that builds a private
# copy of the host (pam/tests/data/stacks-setup.sh, ssh/tests/data/sshd-setup.sh,
# server/tests/data/vsftpd-setup.sh, packaging/tests/install.sh). Needs T, the test's temp dir.
#   ov DIR NAME   a writable overlay over DIR whose upper layer lives on a tmpfs under $T/ov
#   fresh DIR...  an empty tmpfs (mode 0755) on each DIR
#   start_daemon  the real gatehoused ($GATEHOUSED) in the background, logging to $T/daemon.log;
#                 returns once its socket and snapshot exist
#   stop_daemon   stops it (by its pid) and waits for it
#   system_user NAME HOME  a system account (nologin), unless the host already has one by that name
#                 (a host with gatehouse installed has gatehouse-keys; tests must not care)
# Nothing written there reaches the host; the mounts end with the namespace.
mkdir -p "$T/ov"
mount -t tmpfs -o mode=0700 tmpfs "$T/ov"
ov() {
    mkdir -p "$T/ov/$2/u" "$T/ov/$2/w"
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$T/ov/$2/u,workdir=$T/ov/$2/w" "$1"
}
fresh() {
    for d in "$@"; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
}
system_user() {
    getent passwd "$1" >/dev/null || useradd -r -M -d "$2" -s /usr/sbin/nologin "$1"
}
DAEMON=
start_daemon() {
    "$GATEHOUSED" >>"$T/daemon.log" 2>&1 </dev/null &
    DAEMON=$!
    for _ in $(seq 200); do [ -S /run/gatehouse/socket ] && [ -f /var/lib/gatehouse/nss.db ] && return 0; sleep 0.05; done
    echo "gatehoused did not come up" >&2
    return 1
}
stop_daemon() {
    if [ -n "$DAEMON" ]; then kill "$DAEMON"; wait "$DAEMON" || true; DAEMON=; fi
}
