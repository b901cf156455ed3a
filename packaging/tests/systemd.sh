#!/usr/bin/env bash
# The package under a real systemd (issue 7): boot a Debian 12 container with systemd-nspawn,
# install the .deb with apt, and check what packaging/tests/install.sh cannot without systemd as
# PID 1: the units start and reach Type=notify readiness, restarts and an upgrade go through
# systemd, the enabled units start at boot before sshd, `systemd-analyze security` scores the
# units online, and a purge leaves /etc as it was. About 75 s with the root cached and the .deb
# built; making the root adds about 85 s.
#
#   bash packaging/tests/systemd.sh [--fresh] [OLD.deb [NEW.deb]]
#
# Run as root on a Debian 12 host with `mmdebstrap` and `systemd-container` installed
# (apt-get install --no-install-recommends mmdebstrap systemd-container; without
# --no-install-recommends apt also installs libnss-mymachines, whose postinst adds "mymachines"
# to the host's /etc/nsswitch.conf).
#
# - The root: `mmdebstrap --variant=minbase` of bookworm from the Debian sources the host's apt
#   uses (/etc/apt/sources.list and sources.list.d, Debian entries only; MIRROR_SOURCES=FILE
#   overrides), with systemd, openssh-server, openssh-client, sshpass and what the .deb depends
#   on. It is cached as a tarball in $GATEHOUSE_NSPAWN_CACHE (default /var/cache/gatehouse-nspawn),
#   keyed by a hash of the package list and the sources, so later runs only unpack it (a few
#   seconds). `--fresh` (or FRESH=1) makes a new one; `rm -r /var/cache/gatehouse-nspawn` drops
#   them all. Package lists are kept in the root so `apt install ./gatehouse_*.deb` resolves
#   dependencies as on a real machine (all of them are in the root already: the container has
#   no route to the mirror).
# - The container: each run unpacks the tarball into a new directory under /var/tmp (a copy, so
#   the cached root is never changed; `--ephemeral` would copy it too on a non-btrfs file
#   system) and boots it with `systemd-nspawn --boot --private-network`: its own network
#   namespace with only a loopback interface, so its sshd listens on port 22 there without
#   clashing with the host's sshd, and nothing inside can reach the outside. `--register=no
#   --keep-unit`: the host need not run systemd or systemd-machined (this one doesn't; without
#   them nspawn fails with "Failed to open system bus"). The container gets the unified cgroup
#   hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1, as Debian 12 boots; set it to 0 to try the
#   host's layout). Commands run inside with `nsenter -a` into the container's init (no
#   machinectl without machined). The reboot step powers the container off and boots the same
#   directory again. With --keep-unit and no systemd on the host, nspawn leaves empty payload/
#   and supervisor/ cgroups behind; the cleanup removes the ones this run made.
# - OLD.deb defaults to a fresh `packaging/build-deb.sh` build; NEW.deb to OLD.deb repacked with
#   `dpkg-deb` as version <old>+systemdtest1 (same binaries: the upgrade step checks that the
#   postinst restarts the daemons through systemd and that logins keep working; the real
#   migration and snapshot-format change are install.sh's upgrade step, whose build
#   (<target dir>/upgrade-next) can be given here as NEW.deb).
#
# Prints `PASS …` / `FAIL …` per step and exits non-zero if any step failed. The container is
# powered off and its directory removed on every exit (trap), also on failure or ^C.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

FRESH=${FRESH:-0}
if [ "${1:-}" = --fresh ]; then
    FRESH=1
    shift
fi
[ "$(id -u)" = 0 ] || { echo "systemd.sh: run as root" >&2; exit 2; }
for c in mmdebstrap systemd-nspawn nsenter dpkg-deb; do
    command -v "$c" >/dev/null || { echo "systemd.sh: $c is missing (apt-get install --no-install-recommends mmdebstrap systemd-container)" >&2; exit 2; }
done

T0=$(date +%s)
FAILED=0
pass() { echo "PASS $*"; }
fail() {
    echo "FAIL $*"
    FAILED=1
}
elapsed() { echo "$(($(date +%s) - T0)) s"; }

NAME=gh-systemd-$$
WORK=
NSPAWN=
LEADER=
CG_BEFORE=
SRCDIR=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
        [ -n "$LEADER" ] && nsenter -t "$LEADER" -a systemctl poweroff --no-block >/dev/null 2>&1
        for _ in $(seq 60); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.5; done
        # nspawn powers the container off on SIGTERM too; SIGKILL as the last resort.
        kill -0 "$NSPAWN" 2>/dev/null && kill "$NSPAWN" && sleep 5
        kill -0 "$NSPAWN" 2>/dev/null && kill -9 "$NSPAWN"
        wait "$NSPAWN" 2>/dev/null
        echo "     container $NAME stopped"
    fi
    # With --keep-unit nspawn splits its own cgroup into payload/ and supervisor/ and leaves
    # them behind (empty) when systemd is not the host's init; remove the ones this run made.
    for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
        for sub in payload supervisor; do
            # Depth-first: the container's systemd leaves its init.scope below payload/.
            [ -d "$d/$sub" ] && ! grep -qx "$d/$sub" <<<"$CG_BEFORE" &&
                find "$d/$sub" -depth -type d -exec rmdir {} + 2>/dev/null
        done
    done
    rmdir "/run/systemd/nspawn/propagate/$NAME" 2>/dev/null
    [ -n "$WORK" ] && rm -rf --one-file-system "$WORK"
    [ -n "$SRCDIR" ] && rm -rf "$SRCDIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the cached root ----
CACHE=${GATEHOUSE_NSPAWN_CACHE:-/var/cache/gatehouse-nspawn}
# systemd + systemd-sysv: PID 1; dbus: as on a real machine (logind, systemctl over the bus);
# openssh-server/-client: sshd and the sftp client; sshpass: the password login; adduser,
# libpam-runtime, libc6, libgcc-s1, libpam0g: the .deb's Depends; procps, iproute2: ps, ss.
# Package lists are kept (apt resolves the .deb's dependencies against them); the downloaded
# .debs are not.
MMDEBSTRAP_OPTS=(--variant=minbase --skip=cleanup/apt/lists)
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,openssh-client,sshpass,adduser,libpam-runtime,libc6,libgcc-s1,libpam0g,procps,iproute2
SRCDIR=$(mktemp -d /tmp/gatehouse-systemd-sources.XXXXXX)
if [ -n "${MIRROR_SOURCES:-}" ]; then
    MIRRORS=("$(readlink -f "$MIRROR_SOURCES")")
else
    # The host's Debian entries (deb822 stanzas or one-line entries whose keyring or URI is
    # Debian's); third-party repositories are left out. mmdebstrap takes .sources and .list
    # files as mirror arguments.
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
[ "${#MIRRORS[@]}" -gt 0 ] || { echo "systemd.sh: no Debian apt sources found on this host (set MIRROR_SOURCES=FILE)" >&2; exit 2; }
KEY=$({ echo "${MMDEBSTRAP_OPTS[*]} $PACKAGES"; cat "${MIRRORS[@]}" | grep -Ev '^[[:space:]]*(#|$)'; } | sha256sum | cut -c1-16)
TARBALL=$CACHE/bookworm-$KEY.tar
# mmdebstrap picks the format from the name: the temporary name must end in .tar too.
TMPTAR=$CACHE/.partial-bookworm-$KEY-$$.tar


echo "== [$(elapsed)] the root"
if [ "$FRESH" = 1 ] || [ ! -f "$TARBALL" ] || [ ! -s "$TARBALL" ]; then
    mkdir -p "$CACHE"
    t=$(date +%s)
    echo "     mmdebstrap bookworm ($PACKAGES) from:"
    cat "${MIRRORS[@]}" | grep -Ev '^[[:space:]]*(#|$)' | sed 's/^/     | /'
    if mmdebstrap "${MMDEBSTRAP_OPTS[@]}" --include="$PACKAGES" \
        bookworm "$TMPTAR" "${MIRRORS[@]}" >"$CACHE/mmdebstrap.log" 2>&1; then
        mv "$TMPTAR" "$TARBALL"
        pass "mmdebstrap made $TARBALL ($(du -h "$TARBALL" | cut -f1), $(($(date +%s) - t)) s)"
    else
        rm -rf "$TMPTAR"
        fail "mmdebstrap (log: $CACHE/mmdebstrap.log)"
        tail -n 30 "$CACHE/mmdebstrap.log" | sed 's/^/     | /'
        exit 1
    fi
else
    echo "     cached: $TARBALL (from $(date -r "$TARBALL" '+%F %T'); --fresh makes a new one)"
fi

# ---- the packages ----
WORK=$(mktemp -d /var/tmp/gatehouse-systemd.XXXXXX)
if [ -n "${1:-}" ]; then
    DEB=$(readlink -f "$1")
else
    echo "== [$(elapsed)] building the .deb (packaging/build-deb.sh)"
    t=$(date +%s)
    DEB=$(bash "$REPO/packaging/build-deb.sh" | tail -n 1)
    echo "     built $DEB in $(($(date +%s) - t)) s"
fi
[ -f "$DEB" ] || { echo "systemd.sh: no .deb at '$DEB'" >&2; exit 2; }
OLDV=$(dpkg-deb -f "$DEB" Version)
if [ -n "${2:-}" ]; then
    DEB2=$(readlink -f "$2")
else
    # The same package as a newer version: dpkg-deb -R keeps owners and modes, only the
    # control file's Version changes.
    NEWV=$OLDV+systemdtest1
    dpkg-deb -R "$DEB" "$WORK/repack"
    sed -i "s/^Version: .*/Version: $NEWV/" "$WORK/repack/DEBIAN/control"
    DEB2=$WORK/gatehouse_${NEWV}_amd64.deb
    dpkg-deb -Zgzip -b "$WORK/repack" "$DEB2" >/dev/null
    rm -rf "$WORK/repack"
fi
[ -f "$DEB2" ] || { echo "systemd.sh: no .deb at '$DEB2'" >&2; exit 2; }
NEWV=$(dpkg-deb -f "$DEB2" Version)
dpkg --compare-versions "$NEWV" gt "$OLDV" || { echo "systemd.sh: $NEWV is not newer than $OLDV" >&2; exit 2; }
echo "     old: $(basename "$DEB") ($OLDV)"
echo "     new: $(basename "$DEB2") ($NEWV)"

# ---- boot ----
echo "== [$(elapsed)] boot"
ROOT=$WORK/root
mkdir "$ROOT"
t=$(date +%s)
tar -C "$ROOT" -xf "$TARBALL"
echo "     unpacked the root in $(($(date +%s) - t)) s"
mkdir -p "$ROOT/root/debs"
cp "$DEB" "$DEB2" "$ROOT/root/debs/"
OLDDEB=/root/debs/$(basename "$DEB")
NEWDEB=/root/debs/$(basename "$DEB2")
CG_BEFORE=$(for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do for s in payload supervisor; do [ -d "$d/$s" ] && echo "$d/$s"; done; done || true)
export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=${SYSTEMD_NSPAWN_UNIFIED_HIERARCHY:-1}
# ct COMMAND...: run a command inside the container as root, with a clean environment.
ct() {
    nsenter -t "$LEADER" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}
# boot WHAT: start the container on $ROOT and wait until its systemd has finished booting.
boot() {
    local what=$1 t state
    t=$(date +%s)
    setsid systemd-nspawn --boot --directory="$ROOT" --machine="$NAME" --hostname=gatehouse-test \
        --register=no --keep-unit --private-network --console=read-only \
        </dev/null >>"$WORK/console.log" 2>&1 &
    NSPAWN=$!
    for _ in $(seq 200); do
        LEADER=$(ps -o pid= --ppid "$NSPAWN" 2>/dev/null | head -n 1 | tr -d ' ' || true)
        [ -n "$LEADER" ] && nsenter -t "$LEADER" -a test -S /run/systemd/private 2>/dev/null && break
        LEADER=
        kill -0 "$NSPAWN" 2>/dev/null || break
        sleep 0.25
    done
    if [ -z "$LEADER" ]; then
        fail "systemd-nspawn --boot ($what): no container init (console below)"
        sed 's/^/     | /' "$WORK/console.log"
        exit 1
    fi
    state=$(ct timeout 120 systemctl is-system-running --wait 2>&1 || true)
    if [ "$state" = running ]; then
        pass "container booted ($what): systemd is PID 1, is-system-running: $state ($(($(date +%s) - t)) s; /sys/fs/cgroup: $(ct stat -fc %T /sys/fs/cgroup))"
    else
        fail "container booted ($what), but is-system-running: $state"
        ct systemctl --failed --no-pager 2>&1 | sed 's/^/     | /'
    fi
}
# poweroff: shut the container down from inside and wait for nspawn to exit.
poweroff() {
    ct systemctl poweroff --no-block >/dev/null 2>&1 || true
    for _ in $(seq 120); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$NSPAWN" 2>/dev/null; then
        fail "the container did not power off within 30 s"
        return 1
    fi
    wait "$NSPAWN" 2>/dev/null || true
    NSPAWN=
    LEADER=
}
boot "first boot"
ct sh -c 'echo "     $(. /etc/os-release; echo "$PRETTY_NAME"), systemd $(systemctl --version | sed -n "1s/systemd \([0-9]*\).*/\1/p"), PID 1: $(cat /proc/1/comm)"'

# step DESCRIPTION COMMAND...: one PASS/FAIL line; the command's output is shown on failure.
step() {
    local what=$1
    shift
    if "$@" >"$WORK/step.log" 2>&1; then
        pass "$what"
    else
        fail "$what"
        tail -n 40 "$WORK/step.log" | sed 's/^/     | /'
    fi
}
# show DESCRIPTION COMMAND...: like step, but always prints the command's output.
show() {
    local what=$1
    shift
    if "$@" >"$WORK/step.log" 2>&1; then pass "$what"; else fail "$what"; fi
    sed 's/^/     | /' "$WORK/step.log"
}

step "sshd is up in the container (stock config, port 22 of its own loopback)" \
    ct sh -c 'systemctl is-active ssh && ss -Hltn "sport = :22" | grep -q .'

# The manifest of /etc: every entry's type, mode, owner (numeric) and symlink target, and every
# regular file's sha256.
manifest() {
    ct sh -c 'cd / && find etc -xdev -printf "%y %m %U:%G %p -> %l\n" | LC_ALL=C sort &&
        find etc -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum'
}
manifest >"$WORK/etc.before"
ct install -d -m 0700 /root/t
ct sh -c 'for f in passwd group shadow gshadow; do cp /etc/$f /root/t/etc-$f.before; done'
echo "     /etc manifest before install: $(grep -c -- ' -> ' "$WORK/etc.before") entries"

# ---- install ----
echo "== [$(elapsed)] apt install ./$(basename "$DEB")"
show "apt install $OLDDEB" ct apt-get install -y --no-install-recommends "$OLDDEB"
step "dpkg: gatehouse $OLDV is installed" \
    ct sh -c "dpkg-query -W -f='\${Status} \${Version}' gatehouse | grep -qx 'install ok installed $OLDV'"

units="gatehouse-tasks.service gatehoused.service"
# The units reached readiness: Type=notify units stay "activating (start)" until READY=1.
ready() {
    local u ok=0
    for u in $units; do
        ct systemctl show -p Id,Type,ActiveState,SubState,Result,MainPID,NRestarts,UnitFileState "$u" | tr '\n' ' '
        echo
        printf '%s is-active: %s\n' "$u" "$(ct systemctl is-active "$u" || true)"
        [ "$(ct systemctl show -P Type "$u")" = notify ] || ok=1
        [ "$(ct systemctl show -P ActiveState "$u")/$(ct systemctl show -P SubState "$u")" = active/running ] || ok=1
        [ "$(ct systemctl show -P NRestarts "$u")" = 0 ] || ok=1
        ct systemctl is-active -q "$u" || ok=1
    done
    ct test -S /run/gatehouse/socket && ct test -S /run/gatehouse/tasks.socket || ok=1
    return $ok
}
main_pids() { for u in $units; do ct systemctl show -P MainPID "$u"; done | tr '\n' ' '; }
show "systemd started both units, Type=notify, active/running, no restarts" ready
step "both units enabled (multi-user.target wants them)" ct systemctl is-enabled $units
verify_units() {
    local out
    out=$(ct systemd-analyze verify /lib/systemd/system/gatehoused.service /lib/systemd/system/gatehouse-tasks.service 2>&1)
    echo "$out"
    [ -z "$out" ]
}
step "systemd-analyze verify: no warnings on the units" verify_units
step "the postinst reloaded sshd through systemd (ssh.service journal), sshd -t accepts the drop-in" \
    ct sh -c 'sshd -t && systemctl is-active ssh && journalctl -b -u ssh --no-pager | grep -q "Reloaded .*ssh.service\|Reloaded OpenBSD Secure Shell server"'
PIDS1=$(main_pids)

# ---- a user and logins ----
echo "== [$(elapsed)] a user from the CLI, sftp logins"
PW='alice-Passw0rd-2026!'
ct ssh-keygen -q -t ed25519 -N '' -C alice@test -f /root/t/alice
step "gatehouse user add alice --password-stdin" \
    ct sh -c "printf '%s\n' '$PW' | gatehouse user add alice --password-stdin"
step "gatehouse key add alice --file alice.pub" ct gatehouse key add alice --file /root/t/alice.pub
step "alice resolves through NSS and gatehouse-tasks made her root" \
    ct sh -c 'for i in $(seq 100); do getent passwd alice && [ -d /srv/gatehouse/alice ] && exit 0; sleep 0.1; done; exit 1'
ct sh -c 'head -c 200000 /dev/urandom >/root/t/up.bin && printf "%s\n" "put /root/t/up.bin /up.bin" "get /up.bin /root/t/down.bin" "ls -l /" >/root/t/batch'
SSHO="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10"
sftp_key() {
    ct sh -c "rm -f /root/t/down.bin && sftp $SSHO -o BatchMode=yes -o IdentitiesOnly=yes -i /root/t/alice -b /root/t/batch alice@127.0.0.1 && cmp /root/t/up.bin /root/t/down.bin"
}
# sftp -b turns BatchMode on (no password prompts) unless an earlier -o sets it.
sftp_password() {
    ct sh -c "rm -f /root/t/down.bin && SSHPASS='$PW' sshpass -e sftp $SSHO -o BatchMode=no -o PubkeyAuthentication=no -o PreferredAuthentications=keyboard-interactive,password -b /root/t/batch alice@127.0.0.1 && cmp /root/t/up.bin /root/t/down.bin"
}
no_shell() {
    local out
    if out=$(ct ssh $SSHO -o BatchMode=yes -o IdentitiesOnly=yes -i /root/t/alice alice@127.0.0.1 id 2>&1); then
        echo "$out"
        return 1
    fi
    echo "$out"
    ! grep -q 'uid=' <<<"$out"
}
wrong_password() { ! ct sh -c "SSHPASS='wrong-$PW' sshpass -e sftp $SSHO -o BatchMode=no -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 -b /root/t/batch alice@127.0.0.1"; }
logins() {
    local when=$1
    step "sftp login with alice's key (OpenSSH sftp): upload and download ($when)" sftp_key
    step "sftp login with alice's password (sshpass, keyboard-interactive) ($when)" sftp_password
    step "a wrong password is refused ($when)" wrong_password
    step "alice gets no shell (gatehouse-sftp is forced) ($when)" no_shell
}
logins "installed"

# ---- restart ----
echo "== [$(elapsed)] systemctl restart gatehoused gatehouse-tasks"
step "systemctl restart gatehoused gatehouse-tasks" ct systemctl restart gatehoused gatehouse-tasks
show "both active/running again after the restart" ready
PIDS2=$(main_pids)
step "new main PIDs ($PIDS1-> $PIDS2)" test "$PIDS1" != "$PIDS2"
logins "after restart"
# Both units declare RuntimeDirectory=gatehouse; systemd gives a unit's runtime directory to
# its User= each time the unit starts. gatehoused binds its socket and keeps writing
# /run/gatehouse/sync.json there, so the directory must stay gatehouse's when gatehouse-tasks
# (root) restarts on its own (by hand, or Restart=always after a crash).
tasks_alone() {
    ct systemctl restart gatehouse-tasks
    ct sh -c 'stat -c "%U:%G %a %n" /run/gatehouse /run/gatehouse/*'
    [ "$(ct stat -c %U:%G /run/gatehouse)" = gatehouse:gatehouse ] && ct systemctl is-active -q gatehoused gatehouse-tasks
}
step "systemctl restart gatehouse-tasks alone: /run/gatehouse stays gatehouse's" tasks_alone

# ---- upgrade ----
echo "== [$(elapsed)] upgrade: apt install ./$(basename "$DEB2")"
show "apt install $NEWDEB (daemons running)" ct apt-get install -y --no-install-recommends "$NEWDEB"
step "dpkg: gatehouse $NEWV is installed" \
    ct sh -c "dpkg-query -W -f='\${Status} \${Version}' gatehouse | grep -qx 'install ok installed $NEWV'"
show "both active/running after the upgrade" ready
PIDS3=$(main_pids)
step "the postinst restarted both daemons through systemd ($PIDS2-> $PIDS3)" \
    sh -c "set -- $PIDS2 $PIDS3; [ \$1 != \$3 ] && [ \$2 != \$4 ]"
step "alice is still there" ct gatehouse user show alice
logins "after upgrade"

# ---- reboot ----
echo "== [$(elapsed)] reboot: the enabled units start at boot, before sshd"
poweroff
boot "after the upgrade"
show "both units started at boot, active/running" ready
# Before=ssh.service: sshd must not accept logins before gatehoused is ready.
ordered() {
    local tasks daemon ssh
    tasks=$(ct systemctl show -P ActiveEnterTimestampMonotonic gatehouse-tasks)
    daemon=$(ct systemctl show -P ActiveEnterTimestampMonotonic gatehoused)
    ssh=$(ct systemctl show -P ExecMainStartTimestampMonotonic ssh)
    echo "monotonic µs: ready: gatehouse-tasks $tasks, gatehoused $daemon; ssh.service started $ssh"
    [ "$tasks" -gt 0 ] && [ "$tasks" -le "$daemon" ] && [ "$daemon" -le "$ssh" ]
}
show "boot order: gatehouse-tasks ready, then gatehoused ready, then sshd started" ordered
logins "after reboot"

# ---- security scores ----
echo "== [$(elapsed)] systemd-analyze security gatehoused.service gatehouse-tasks.service"
ct systemd-analyze security --no-pager gatehoused.service gatehouse-tasks.service >"$WORK/security.txt" 2>&1 || true
# The settings that count against the units (✗), then each unit's overall score.
grep -E '^(✗|→ Overall)' "$WORK/security.txt" | sed 's/^/     | /' || true
for u in gatehoused gatehouse-tasks; do
    s=$(ct systemd-analyze security --no-pager "$u.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \(.*\)/\1/p' || true)
    echo "     $u.service: ${s:-?}"
done
step "systemd-analyze security scored both units" sh -c "[ \$(grep -c 'Overall exposure level' '$WORK/security.txt') = 2 ]"
# The journal of both units (both boots): anything systemd or the daemons complained about.
ct journalctl --no-pager -o short-monotonic -u gatehoused -u gatehouse-tasks >"$WORK/journal.txt" 2>&1 || true
# In full when a step failed; otherwise each start's readiness and anything that looks wrong.
if [ "$FAILED" = 0 ]; then
    echo "     journal of both units ($(wc -l <"$WORK/journal.txt") lines; readiness and errors):"
    grep -E ' INFO ready |Failed|failed|ERROR|WARN|Permission denied' "$WORK/journal.txt" | sed 's/^/     | /' || true
else
    echo "     journal of both units ($(wc -l <"$WORK/journal.txt") lines):"
    sed 's/^/     | /' "$WORK/journal.txt"
fi
ct journalctl --no-pager -p warning -o short-monotonic >"$WORK/warnings.txt" 2>&1 || true
echo "     warnings and worse in the journal (both boots) ($(wc -l <"$WORK/warnings.txt") lines):"
sed 's/^/     | /' "$WORK/warnings.txt"
no_failed_units() {
    local out
    out=$(ct systemctl --failed --no-legend --plain)
    echo "$out"
    [ -z "$out" ]
}
step "no unit failed in the container" no_failed_units

# ---- purge ----
echo "== [$(elapsed)] apt purge gatehouse"
show "apt-get purge gatehouse" ct apt-get purge -y gatehouse
step "dpkg knows no gatehouse package" ct sh -c "! dpkg-query -W -f='\${Status}' gatehouse 2>/dev/null | grep -q installed"
units_gone() {
    local u s rc=0
    for u in $units; do
        s=$(ct systemctl show -p LoadState -p ActiveState "$u" | tr '\n' ' ')
        echo "$u: $s"
        [ "$s" = "LoadState=not-found ActiveState=inactive " ] || rc=1
    done
    return $rc
}
step "the units are stopped and gone" units_gone
step "/var/lib/gatehouse, /etc/gatehouse and /run/gatehouse are gone" \
    ct sh -c '! ls -d /var/lib/gatehouse /etc/gatehouse /run/gatehouse 2>/dev/null'
step "the local root login path is untouched: sshd active, stock config valid" ct sh -c 'systemctl is-active ssh && sshd -t'
manifest >"$WORK/etc.after"
# Debian policy lets system users stay on purge: the only allowed difference is the two users'
# lines in passwd, group, shadow and gshadow, and those files' backups (passwd- …). Everything
# else (contents, types, modes, owners, symlinks) must be as before.
users_re='^(gatehouse|gatehouse-keys):'
etc_compare() {
    local rc=0 f
    diff <(grep -Ev ' etc/(passwd|group|shadow|gshadow)-?$' "$WORK/etc.before") \
        <(grep -Ev ' etc/(passwd|group|shadow|gshadow)-?$' "$WORK/etc.after") || rc=1
    for f in passwd group shadow gshadow; do
        if ! diff <(ct cat "/root/t/etc-$f.before") <(ct grep -Ev "$users_re" "/etc/$f"); then
            echo "/etc/$f differs beyond the gatehouse users' lines"
            rc=1
        fi
        echo "/etc/$f: left after purge: $(ct grep -E "$users_re" "/etc/$f" | cut -d: -f1 | tr '\n' ' ')"
        grep -E " etc/$f\$" "$WORK/etc.before" | grep -v -- ' -> ' | sed 's/^/  before: /'
        grep -E " etc/$f\$" "$WORK/etc.after" | grep -v -- ' -> ' | sed 's/^/  after:  /'
    done
    return $rc
}
show "/etc byte-identical after purge ($(grep -c -- ' -> ' "$WORK/etc.before") entries: contents, modes, owners), but for the system users policy lets stay" etc_compare

echo "== [$(elapsed)] done in $(elapsed)"
if [ "$FAILED" = 0 ]; then echo "PASS all steps"; else echo "FAIL some steps failed"; fi
exit "$FAILED"
