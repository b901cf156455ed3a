#!/usr/bin/env bash
# CI on a new machine: run `.ci/run` from a clean clone inside a freshly made Debian 12 root, so
# that everything CI needs beyond a new machine is shown to come from `.ci/run` itself.
#
#   bash packaging/tests/fresh-ci.sh [--fresh] [COMMIT]
#
# Run as root on a Debian 12 host with `mmdebstrap` (apt-get install --no-install-recommends
# mmdebstrap). COMMIT (default: main) is resolved in REPO (default /work/main); SHARED (default
# /work/shared) is copied beside the clone, as .ci/run expects. Passes .ci/run's output through
# and exits with its status. A full cold run takes 30-45 minutes on 2 cores.
#
# - The root: `mmdebstrap --variant=minbase` of bookworm (the host's Debian apt sources, as in
#   systemd.sh; MIRROR_SOURCES=FILE overrides) plus what a new machine of ours has:
#   ca-certificates, git, gcc, python3, pkg-config, libc6-dev, make. Nothing that .ci/run
#   installs itself. Cached as a tarball in $GATEHOUSE_NSPAWN_CACHE (default
#   /var/cache/gatehouse-nspawn, keyed by a hash of the packages and sources); `--fresh` (or
#   FRESH=1) makes a new one. Each run unpacks it into a new directory under /var/tmp.
#   Two files a Debian installer writes and mmdebstrap does not are added: /etc/hosts
#   (localhost and the machine's name on 127.0.1.1) and, as on the CI host this replaces, /usr/sbin/policy-rc.d exiting 101, so the
#   packages .ci/run installs (openssh-server, postgresql, vsftpd, slapd, nginx) do not start
#   their daemons: there is no init here, and with the host's network shared they would bind
#   the host's ports (port 22 is the host's sshd). The tests start their own on free ports.
# - The Rust toolchain is the host's: /root/.rustup bind-mounted read-only, /root/.cargo an
#   overlay (the host's directory as the read-only lower layer: rustup's proxies, cargo-deb,
#   the registry cache; writes go to an upper layer in the run's directory). PATH does not name
#   it: .ci/run finds cargo through ~/.cargo/env, as on a machine set up with rustup.
#   CARGO_BUILD_JOBS is passed in if set.
# - The run: a private mount and PID namespace (unshare --mount --pid --fork --kill-child) in
#   which the root is bind-mounted on itself (so / is a mount point after the chroot, which
#   `unshare -m` needs) and gets /proc (this namespace's), /sys and /dev (the host's,
#   recursively, with a private /dev/shm), a tmpfs on /run, and then `chroot` to it for
#   `bash .ci/run` as root,
#   with a clean environment. Not systemd-nspawn: without --private-network it drops
#   CAP_NET_ADMIN and keeps /sys and /proc/sys read-only, which `ip netns` and the tests'
#   namespaces need. The network namespace is the host's (apt reaches the mirror, cargo
#   crates.io). When the run ends (or this script is killed), the namespace's PID 1 is killed
#   and with it every daemon the tests started; the mounts go with the namespace, and the
#   run's directory is removed (KEEP=1 keeps it).
set -euo pipefail
SELF=$(readlink -f "$0")

if [ "${1:-}" = --inside ]; then
    # ---- inside the private mount and PID namespace (PID 1 here) ----
    ROOT=$2
    WORK=$3
    # The root must be a mount point: in a chroot whose / is not one, every `unshare -m` (the
    # tests' private namespaces) fails with "cannot change root filesystem propagation:
    # Invalid argument".
    mount --bind "$ROOT" "$ROOT"
    mount -t proc -o nosuid,nodev,noexec proc "$ROOT/proc"
    mount --rbind /sys "$ROOT/sys"
    mount --make-rslave "$ROOT/sys"
    mount --rbind /dev "$ROOT/dev"
    mount --make-rslave "$ROOT/dev"
    mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$ROOT/dev/shm"
    mount -t tmpfs -o nosuid,nodev,mode=0755 run "$ROOT/run"
    mkdir -m 1777 "$ROOT/run/lock"
    mkdir -p "$ROOT/root/.rustup" "$ROOT/root/.cargo" "$WORK/cargo-upper" "$WORK/cargo-work"
    mount --bind /root/.rustup "$ROOT/root/.rustup"
    mount -o remount,bind,ro "$ROOT/root/.rustup"
    mount -t overlay overlay -o "lowerdir=/root/.cargo,upperdir=$WORK/cargo-upper,workdir=$WORK/cargo-work" "$ROOT/root/.cargo"
    envs=(HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}"
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
    [ -n "${CARGO_BUILD_JOBS:-}" ] && envs+=(CARGO_BUILD_JOBS="$CARGO_BUILD_JOBS")
    rc=0
    chroot "$ROOT" /usr/bin/env -i "${envs[@]}" /bin/bash -c 'cd /work/gatehouse && exec bash .ci/run' </dev/null || rc=$?
    exit "$rc"
fi

FRESH=${FRESH:-0}
if [ "${1:-}" = --fresh ]; then
    FRESH=1
    shift
fi
[ "$(id -u)" = 0 ] || { echo "fresh-ci.sh: run as root" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "fresh-ci.sh: mmdebstrap is missing (apt-get install --no-install-recommends mmdebstrap)" >&2; exit 2; }
REPO=${REPO:-/work/main}
SHARED=${SHARED:-/work/shared}
COMMIT=${1:-main}
SHA=$(git -C "$REPO" rev-parse --verify --quiet "$COMMIT^{commit}") || { echo "fresh-ci.sh: no commit '$COMMIT' in $REPO" >&2; exit 2; }
[ -d "$SHARED" ] || { echo "fresh-ci.sh: no $SHARED" >&2; exit 2; }
for d in /root/.rustup /root/.cargo/bin; do [ -d "$d" ] || { echo "fresh-ci.sh: no Rust toolchain at $d" >&2; exit 2; }; done

WORK=
SRCDIR=
UNSHARE=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$UNSHARE" ] && kill -0 "$UNSHARE" 2>/dev/null; then
        # unshare ignores SIGTERM and SIGINT while it waits for its child, so SIGKILL;
        # --kill-child (PR_SET_PDEATHSIG) then kills the namespace's PID 1, which ends every
        # process in the namespace.
        kill -KILL "$UNSHARE"
        wait "$UNSHARE" 2>/dev/null
    fi
    if [ -n "$WORK" ]; then
        if [ "${KEEP:-0}" = 1 ]; then echo "fresh-ci.sh: kept $WORK" >&2; else rm -rf --one-file-system "$WORK"; fi
    fi
    [ -n "$SRCDIR" ] && rm -rf "$SRCDIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the cached root ----
CACHE=${GATEHOUSE_NSPAWN_CACHE:-/var/cache/gatehouse-nspawn}
MMDEBSTRAP_OPTS=(--variant=minbase)
PACKAGES=ca-certificates,git,gcc,python3,pkg-config,libc6-dev,make
SRCDIR=$(mktemp -d /tmp/gatehouse-fresh-ci-sources.XXXXXX)
if [ -n "${MIRROR_SOURCES:-}" ]; then
    MIRRORS=("$(readlink -f "$MIRROR_SOURCES")")
else
    # The host's Debian entries only (third-party repositories are left out).
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v RS= -v ORS='\n\n' '/debian-archive-keyring|deb\.debian\.org|security\.debian\.org|\/debian(-security)?[[:space:]]/' "$f"
    done >"$SRCDIR/debian.sources"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        grep -E '^[[:space:]]*deb[[:space:]].*(debian\.org|/debian(-security)?)[[:space:]]' "$f" || true
    done >"$SRCDIR/debian.list"
    MIRRORS=()
    for f in "$SRCDIR/debian.sources" "$SRCDIR/debian.list"; do [ -s "$f" ] && MIRRORS+=("$f"); done
fi
[ "${#MIRRORS[@]}" -gt 0 ] || { echo "fresh-ci.sh: no Debian apt sources found on this host (set MIRROR_SOURCES=FILE)" >&2; exit 2; }
KEY=$({ echo "${MMDEBSTRAP_OPTS[*]} $PACKAGES"; cat "${MIRRORS[@]}" | grep -Ev '^[[:space:]]*(#|$)'; } | sha256sum | cut -c1-16)
TARBALL=$CACHE/bookworm-ci-$KEY.tar
TMPTAR=$CACHE/.partial-bookworm-ci-$KEY-$$.tar
if [ "$FRESH" = 1 ] || [ ! -f "$TARBALL" ] || [ ! -s "$TARBALL" ]; then
    mkdir -p "$CACHE"
    t=$(date +%s)
    echo "fresh-ci.sh: mmdebstrap bookworm (minbase + $PACKAGES)"
    if mmdebstrap "${MMDEBSTRAP_OPTS[@]}" --include="$PACKAGES" bookworm "$TMPTAR" "${MIRRORS[@]}" \
        >"$CACHE/mmdebstrap-ci.log" 2>&1; then
        mv "$TMPTAR" "$TARBALL"
        echo "fresh-ci.sh: made $TARBALL in $(($(date +%s) - t)) s"
    else
        rm -rf "$TMPTAR"
        tail -n 30 "$CACHE/mmdebstrap-ci.log" >&2
        echo "fresh-ci.sh: mmdebstrap failed (log: $CACHE/mmdebstrap-ci.log)" >&2
        exit 2
    fi
else
    echo "fresh-ci.sh: cached root $TARBALL (from $(date -r "$TARBALL" '+%F %T'); --fresh makes a new one)"
fi

# ---- the machine ----
WORK=$(mktemp -d /var/tmp/gatehouse-fresh-ci.XXXXXX)
ROOT=$WORK/root
mkdir "$ROOT"
tar -C "$ROOT" -xf "$TARBALL"
# As debian-installer writes it: the machine's own name resolves (127.0.1.1). The root shares
# the host's UTS namespace, so that name is the host's. (Without it ProFTPD exits at start:
# "mod_unique_id/0.2: unable to resolve 'vm' to an IP address", and every ProFTPD test fails.)
[ -e "$ROOT/etc/hosts" ] || printf '%s\n' '127.0.0.1	localhost' "127.0.1.1	$(hostname)" \
    '::1		localhost ip6-localhost ip6-loopback' 'ff02::1		ip6-allnodes' 'ff02::2		ip6-allrouters' \
    >"$ROOT/etc/hosts"
printf '%s\n' '#!/bin/sh' '# fresh-ci.sh: no init in this root; daemons are started by the tests themselves.' 'exit 101' \
    >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/work"
git clone -q --no-hardlinks "$REPO" "$ROOT/work/gatehouse"
git -C "$ROOT/work/gatehouse" -c advice.detachedHead=false checkout -q --detach "$SHA"
cp -a "$SHARED" "$ROOT/work/shared"
echo "fresh-ci.sh: $REPO $COMMIT = $SHA, cloned to $ROOT/work/gatehouse"
echo "fresh-ci.sh: running 'bash .ci/run' as root in the new root (chroot, private mount and PID namespace)"

rc=0
unshare --mount --pid --fork --kill-child --propagation private bash "$SELF" --inside "$ROOT" "$WORK" &
UNSHARE=$!
wait "$UNSHARE" || rc=$?
UNSHARE=
echo "fresh-ci.sh: .ci/run exited with status $rc"
exit "$rc"
