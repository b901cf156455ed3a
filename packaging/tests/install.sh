#!/usr/bin/env bash
# The package test: install the .deb, use it, remove and purge it, and check the host
# came back as it was. Run as root: `bash packaging/tests/install.sh [OLD.deb NEW.deb]`.
# Without arguments it builds the .deb with packaging/build-deb.sh, and a "newer" package for the
# upgrade step: the same sources copied to a temp dir with one more schema migration (a column
# on users) and the next NSS snapshot format version, built as Debian revision 2 in its own
# target dir (<target dir>/upgrade-next; sharing one would let cargo take one tree's artifacts
# for the other's, since it fingerprints path packages relative to the workspace root). So the
# upgrade runs a real migration and a real format change: the new daemon writes a snapshot the
# old module, still mapped in a long-running process, must refuse (UNAVAIL) without crashing.
#
# The host is never changed: everything after the build runs in a private mount and PID
# namespace (`unshare -m -p -f --mount-proc --propagation private`) with overlays (upper layers
# on a tmpfs) on /etc, /var, /usr and /root, and tmpfs on /run, /srv and /home, so dpkg,
# adduser, pam-auth-update and the maintainer scripts write only into the overlays. When the
# namespace ends, every process started here (daemons, sshd, sessions) ends with it. The network
# namespace is the host's: sshd listens on a free port of 127.0.0.1.
#
# No systemd runs here (as in CI and containers): the daemons are started by hand, as the
# postinst says.
#
# Prints one line per check (`ok …` / `FAIL …`) and exits non-zero if any check failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

# The next build: the tracked files of this tree (with their working-tree contents), one more
# migration for each backend, the snapshot format version plus one. Prints the .deb's path.
build_next() {
    local t=$1 src=$1/next-src target v
    mkdir -p "$src" "$t/new"
    (cd "$REPO" && git ls-files -z -- . ':!fuzz/corpus' | xargs -0 cp --parents -t "$src")
    for b in sqlite postgres; do
        printf '%s\n' '-- Added by packaging/tests/install.sh: the upgrade step runs a real migration.' \
            'ALTER TABLE users ADD COLUMN upgrade_probe TEXT;' >"$src/server/migrations/$b/9999_upgrade_probe.sql"
    done
    v=$(sed -n 's/^pub const VERSION: u32 = \([0-9]*\);$/\1/p' "$src/snapshot/src/lib.rs")
    [ -n "$v" ] || { echo "install.sh: cannot find the snapshot VERSION in snapshot/src/lib.rs" >&2; return 1; }
    sed -i "s/^pub const VERSION: u32 = $v;\$/pub const VERSION: u32 = $((v + 1));/" "$src/snapshot/src/lib.rs"
    target=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps --locked |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    (cd "$src" && CARGO_TARGET_DIR="$target/upgrade-next" bash packaging/build-deb.sh --deb-revision 2 -o "$t/new" >&2)
    ls "$t"/new/*.deb
}

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 2; }
    for p in openssh-server openssh-client python3-paramiko lintian vsftpd curl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || { echo "install.sh: $p is not installed (.ci/run installs it)" >&2; exit 2; }
    done
    T=$(mktemp -d /tmp/gatehouse-install.XXXXXX)
    trap 'umount -R "$T/ov" 2>/dev/null || true; rm -rf "$T"' EXIT
    if [ -n "${1:-}" ]; then
        DEB=$(readlink -f "$1")
        DEB2=$(readlink -f "${2:?install.sh: give both OLD.deb and NEW.deb}")
    else
        DEB=$(bash "$REPO/packaging/build-deb.sh" | tail -n 1)
        DEB2=$(build_next "$T")
    fi
    for d in "$DEB" "$DEB2"; do [ -f "$d" ] || { echo "install.sh: no .deb at '$d'" >&2; exit 2; }; done
    # lintian: no errors or warnings (packaging/debian/lintian-overrides says why for each
    # override); informational tags are printed only.
    lint_rc=0
    lintian "$DEB" >"$T/lintian.txt" 2>&1 || true
    sed 's/^/     lintian | /' "$T/lintian.txt"
    if grep -Eq '^[EW]: ' "$T/lintian.txt"; then
        echo "FAIL lintian reports errors or warnings on $(basename "$DEB")"
        lint_rc=1
    else
        echo "ok   lintian: no errors or warnings on $(basename "$DEB")"
    fi
    rc=0
    unshare -m -p -f --mount-proc --propagation private bash "$0" --inside "$DEB" "$DEB2" "$T" || rc=$?
    [ "$rc" = 0 ] || exit "$rc"
    exit "$lint_rc"
fi

# ---- inside the namespace ----
DEB=$2
DEB2=$3
T=$4
export DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
FAILED=0
ok() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    FAILED=1
}
# check DESCRIPTION COMMAND...: one line, ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@" >>"$T/check.log" 2>&1; then ok "$what"; else fail "$what (see below)"; tail -n 20 "$T/check.log" | sed 's/^/     | /'; fi
    : >"$T/check.log"
}

. "$REPO/tests/lib/private-world.sh"
ov /etc etc
ov /var var
ov /usr usr
ov /root root
fresh /run /srv /home
mkdir -m 0755 /run/sshd /run/lock

# The machine as a sysadmin has it before installing: sshd's host keys and its privilege
# separation user exist, a local user with a password and a key.
ssh-keygen -A >/dev/null
system_user sshd /run/sshd
LOCALPW='local-Passw0rd-123'
useradd -m -s /bin/sh localu
echo "localu:$LOCALPW" | chpasswd
mkdir -m 0700 "$T/keys"
for k in alice localu root; do ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/keys/$k"; done
install -d -m 0700 -o localu -g localu /home/localu/.ssh
install -m 0600 -o localu -g localu "$T/keys/localu.pub" /home/localu/.ssh/authorized_keys
install -d -m 0700 /root/.ssh
install -m 0600 "$T/keys/root.pub" /root/.ssh/authorized_keys

# What must come back byte-identical, and all of /etc for a wider comparison.
sums() { find /etc/pam.d /etc/nsswitch.conf /etc/shells /etc/ssh -xdev \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum; }
allsums() { find /etc -xdev \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum 2>/dev/null || true; }
sums >"$T/before.sums"
allsums >"$T/before-etc.sums"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SSH_OPTS=(-p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
    -o BatchMode=yes -o IdentitiesOnly=yes -o PreferredAuthentications=publickey)
SSHD=
start_sshd() {
    /usr/sbin/sshd -t
    : >"$T/sshd.log"
    /usr/sbin/sshd -D -E "$T/sshd.log" -p "$PORT" -o ListenAddress=127.0.0.1 -o LogLevel=VERBOSE &
    SSHD=$!
    for _ in $(seq 100); do grep -q 'Server listening' "$T/sshd.log" 2>/dev/null && return 0; sleep 0.1; done
    cat "$T/sshd.log" >&2
    return 1
}
# Password login of a local user with paramiko (password method: Debian's default).
local_password_login() {
    python3 - "$PORT" "$LOCALPW" <<'PY'
import sys, paramiko
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect("127.0.0.1", port=int(sys.argv[1]), username="localu", password=sys.argv[2],
          look_for_keys=False, allow_agent=False, timeout=20)
_, out, _ = c.exec_command("id -un")
assert out.read().strip() == b"localu"
c.close()
PY
}
# su as root to a local user must answer at once (no daemon, no socket, no prompt).
su_fast() {
    local t0 t1
    t0=$(date +%s%N)
    timeout 10 su -s /bin/sh localu -c true </dev/null
    t1=$(date +%s%N)
    echo "su took $(((t1 - t0) / 1000000)) ms"
    [ $(((t1 - t0) / 1000000)) -lt 2000 ]
}
locals_can_log_in() {
    local when=$1
    check "local user key login over ssh ($when)" ssh "${SSH_OPTS[@]}" -i "$T/keys/localu" localu@127.0.0.1 true
    check "local user password login over ssh ($when)" local_password_login
    check "root key login over ssh ($when)" ssh "${SSH_OPTS[@]}" -i "$T/keys/root" root@127.0.0.1 true
    check "su from root to a local user answers at once ($when)" su_fast
}

echo "== before install"
check "sshd starts (stock config)" start_sshd
locals_can_log_in "before install"
kill "$SSHD"
wait "$SSHD" 2>/dev/null || true

echo "== dpkg -i $(basename "$DEB")"
T0=$(date +%s)
if dpkg -i "$DEB" >"$T/dpkg-i.log" 2>&1; then ok "dpkg -i"; else fail "dpkg -i"; sed 's/^/     | /' "$T/dpkg-i.log"; fi
grep -h '^gatehouse:' "$T/dpkg-i.log" | sed 's/^/     | /' || true
check "package is installed" sh -c 'dpkg-query -W -f="\${Status}" gatehouse | grep -q "install ok installed"'
check "nsswitch.conf: gatehouse after files on passwd and group" \
    sh -c 'grep -Eq "^passwd:.*files gatehouse" /etc/nsswitch.conf && grep -Eq "^group:.*files gatehouse" /etc/nsswitch.conf'
check "/etc/shells lists /usr/sbin/gatehouse-sftp" grep -qx /usr/sbin/gatehouse-sftp /etc/shells
check "PAM profile enabled in common-auth/account/password/session" \
    sh -c 'for s in auth account password session; do grep -q pam_gatehouse.so /etc/pam.d/common-$s || exit 1; done'
check "system users gatehouse and gatehouse-keys exist" sh -c 'getent passwd gatehouse && getent passwd gatehouse-keys'
check "database created 0600, owned by gatehouse" \
    sh -c '[ "$(stat -c %a:%U /var/lib/gatehouse/gatehouse.db)" = 600:gatehouse ]'
check "/var/lib/gatehouse/home is root's, 0755, empty" \
    sh -c '[ "$(stat -c %a:%U /var/lib/gatehouse/home)" = 755:root ] && [ -z "$(ls -A /var/lib/gatehouse/home)" ]'
check "config /etc/gatehouse/gatehouse.toml 0644" sh -c '[ "$(stat -c %a /etc/gatehouse/gatehouse.toml)" = 644 ]'
check "libnss_gatehouse.so.2 has its SONAME" \
    sh -c 'objdump -p /usr/lib/x86_64-linux-gnu/libnss_gatehouse.so.2 2>/dev/null | grep -q "SONAME *libnss_gatehouse.so.2" || readelf -d /usr/lib/x86_64-linux-gnu/libnss_gatehouse.so.2 | grep -q "libnss_gatehouse.so.2"'
check "sshd accepts the config with the drop-in" /usr/sbin/sshd -t
check "examples: vsftpd and ProFTPD fragments and PAM files" sh -c 'cd /usr/share/doc/gatehouse/examples && ls vsftpd.conf.fragment vsftpd.pam proftpd.conf.fragment proftpd.pam'
check "docs beside the README: admin guide, design, benchmarks" \
    sh -c 'cd /usr/share/doc/gatehouse && ls README.md docs/admin-guide.md docs/design.md docs/benchmarks.md'

# Man pages: the admin's way in (`man pam_gatehouse`, …) finds each hand-written page, and every
# page the package installs renders without a warning (what lintian's groff-message check runs).
man_finds() { # SECTION NAME: `man` finds the page by name and shows its NAME line
    local out
    out=$(MANPAGER=cat MANWIDTH=80 man "$1" "$2" 2>&1) || { echo "$out"; return 1; }
    printf '%s\n' "$out" | grep -A1 '^NAME' | grep -q "^ *$2 "
}
for page in "8 pam_gatehouse" "8 libnss_gatehouse" "5 gatehouse.toml" "8 gatehoused" "8 gatehouse-tasks" \
    "8 gatehouse-sftp" "8 gatehouse-keys" "8 gatehouse" "8 gatehouse-user-add"; do
    # shellcheck disable=SC2086 # "SECTION NAME", split on purpose
    check "man $page" man_finds $page
done
all_pages_render() {
    local n=0 bad=0 p warn
    for p in $(dpkg -L gatehouse | grep -E '^/usr/share/man/man[1-9]/.*\.gz$'); do
        n=$((n + 1))
        warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$p" 2>&1 >/dev/null) || warn+=" (man failed)"
        [ -z "$warn" ] || { echo "$p: $warn"; bad=1; }
    done
    echo "$n pages"
    [ "$n" -ge 50 ] && [ "$bad" = 0 ]
}
check "every installed man page renders without warnings" all_pages_render

echo "== daemon stopped, empty database: no one is locked out"
check "sshd starts" start_sshd
locals_can_log_in "installed, daemon stopped"

echo "== daemons started by hand (no systemd), a user from the CLI"
/usr/sbin/gatehouse-tasks 2>"$T/tasks.log" &
TASKS=$!
for _ in $(seq 100); do [ -S /run/gatehouse/tasks.socket ] && break; sleep 0.05; done
setpriv --reuid=gatehouse --regid=gatehouse --init-groups /usr/sbin/gatehoused 2>"$T/daemon.log" &
DAEMON=$!
for _ in $(seq 100); do [ -S /run/gatehouse/socket ] && [ -f /var/lib/gatehouse/nss.db ] && break; sleep 0.05; done
check "gatehoused (as user gatehouse) and gatehouse-tasks are up" \
    sh -c '[ -S /run/gatehouse/socket ] && [ -S /run/gatehouse/tasks.socket ] && [ -f /var/lib/gatehouse/nss.db ]'
PW='alice-Passw0rd-2026!'
check "gatehouse user add alice --password-stdin" sh -c "printf '%s\n' '$PW' | gatehouse user add alice --password-stdin"
check "gatehouse key add alice --file alice.pub" gatehouse key add alice --file "$T/keys/alice.pub"
wait_alice() {
    for _ in $(seq 100); do getent passwd alice >/dev/null && [ -d /srv/gatehouse/alice ] && return 0; sleep 0.1; done
    return 1
}
check "alice resolves through NSS and her root exists" wait_alice
check "database still owned by gatehouse after the root CLI wrote to it" \
    sh -c 'for f in /var/lib/gatehouse/gatehouse.db*; do [ "$(stat -c %U "$f")" = gatehouse ] || { ls -l /var/lib/gatehouse; exit 1; }; done'

echo "== logins"
head -c 200000 /dev/urandom >"$T/up.bin"
cat >"$T/batch" <<EOF
put $T/up.bin /up.bin
get /up.bin $T/down.bin
ls /
EOF
check "sftp with alice's key: upload and download" \
    sftp -b "$T/batch" -P "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o BatchMode=yes -o IdentitiesOnly=yes -i "$T/keys/alice" alice@127.0.0.1
check "downloaded file is the uploaded one" cmp "$T/up.bin" "$T/down.bin"
cp "$T/up.bin" "$T/pw.bin"
kbd_sftp() {
    out=$(python3 "$REPO_DATA/kbdint.py" "$PORT" alice --password "$PW" --sftp "$T/pw.bin")
    echo "$out"
    echo "$out" | grep -q '^sftp get same'
}
REPO_DATA=$REPO/ssh/tests/data
check "sftp with alice's password (keyboard-interactive, paramiko): upload and read back" kbd_sftp
no_shell() {
    local out
    if out=$(ssh "${SSH_OPTS[@]}" -i "$T/keys/alice" alice@127.0.0.1 id 2>&1); then return 1; fi
    echo "$out"
    ! echo "$out" | grep -q 'uid=' && grep -q 'Accepted publickey for alice' "$T/sshd.log"
}
check "alice logs in with her key but gets no shell (gatehouse-sftp refuses)" no_shell
locals_can_log_in "installed, daemon running"

echo "== FTP: vsftpd with the fragment from /usr/share/doc/gatehouse/examples"
# The admin's two steps (README, FTP): the fragment in vsftpd's config (here Debian's stock
# /etc/vsftpd.conf, from server/tests/data, in $T, plus this test's port and foreground settings) and the per-user
# directory, which the test removes again before the purge (it is the admin's, not the package's).
had_vsftpd_dir=$([ -d /etc/vsftpd ] && echo yes || echo no)
install -d -m 0755 /etc/vsftpd/gatehouse
system_user ftp /srv/ftp
mkdir -p -m 0755 /run/vsftpd/empty
gatehouse user set alice --display-name "Alice (ftp)" >/dev/null
vsftpd_file() {
    for _ in $(seq 100); do [ -f /etc/vsftpd/gatehouse/alice ] && break; sleep 0.1; done
    cat /etc/vsftpd/gatehouse/alice
    grep -qx "local_root=/srv/gatehouse/alice" /etc/vsftpd/gatehouse/alice && [ "$(stat -c %U:%a /etc/vsftpd/gatehouse/alice)" = root:644 ]
}
check "gatehouse-tasks wrote vsftpd's per-user file for alice (root's, 0644)" vsftpd_file
FTPPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
    cat "$REPO/server/tests/data/vsftpd.conf" /usr/share/doc/gatehouse/examples/vsftpd.conf.fragment
    printf '%s\n' listen=YES listen_ipv6=NO listen_address=127.0.0.1 "listen_port=$FTPPORT" pasv_address=127.0.0.1 \
        background=NO delay_failed_login=0
} >"$T/vsftpd.conf"
/usr/sbin/vsftpd "$T/vsftpd.conf" 2>"$T/vsftpd.err" &
FTPD=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$FTPPORT") 2>/dev/null && break; sleep 0.05; done
ftp_round_trip() {
    curl -sS --max-time 20 --user "alice:$PW" -T "$T/up.bin" "ftp://127.0.0.1:$FTPPORT/ftp.bin" &&
        curl -sS --max-time 20 --user "alice:$PW" -o "$T/ftp-down.bin" "ftp://127.0.0.1:$FTPPORT/ftp.bin" &&
        cmp "$T/up.bin" "$T/ftp-down.bin" && cmp "$T/up.bin" /srv/gatehouse/alice/ftp.bin
}
check "ftp (curl, passive) with alice's password: upload into her root and download" ftp_round_trip
ftp_wrong_password() { ! curl -sS --max-time 20 --user "alice:wrong-$PW" "ftp://127.0.0.1:$FTPPORT/" 2>&1; }
check "ftp with a wrong password is refused" ftp_wrong_password
kill "$FTPD"
wait "$FTPD" 2>/dev/null || true
rm -rf /etc/vsftpd/gatehouse
[ "$had_vsftpd_dir" = yes ] || rmdir /etc/vsftpd
gatehouse status >"$T/status.txt" 2>&1 || true
sed 's/^/     status | /' "$T/status.txt"

echo "== upgrade to $(basename "$DEB2") with the daemons running"
# The new build brings a migration and the next snapshot format. A long-running process that
# mapped the NSS module before the upgrade looks alice up 10 times a second throughout. While the
# old daemon writes the old format it must keep resolving her; once the new daemon writes the new
# format, the old module must answer UNAVAIL (not found), never a wrong record, and never crash.
python3 -c '
import pwd, sys, time
last = None
for _ in range(600):
    try:
        pwd.getpwnam("alice")
        now = "resolves"
    except KeyError:
        now = "unknown"
    if now != last:
        print(now, flush=True)
        last = now
    time.sleep(0.1)
' >"$T/looker.log" 2>&1 &
LOOKER=$!
sleep 0.5
snapshot_version() { python3 -c 'import struct,sys; print(struct.unpack_from("<I", open(sys.argv[1], "rb").read(12), 8)[0])' /var/lib/gatehouse/nss.db; }
OLD_FORMAT=$(snapshot_version)
check "dpkg -i $(basename "$DEB2")" dpkg -i "$DEB2"
check "the upgraded package is installed" sh -c 'dpkg-query -W -f="\${Version}" gatehouse | grep -q -- "-2$"'
migrated() {
    python3 - <<'PY'
import sqlite3
db = sqlite3.connect("file:/var/lib/gatehouse/gatehouse.db?mode=ro", uri=True)
versions = [v for (v,) in db.execute("SELECT version FROM _sqlx_migrations WHERE success")]
columns = [c[1] for c in db.execute("PRAGMA table_info(users)")]
print("applied:", versions)
assert 9999 in versions and "upgrade_probe" in columns, (versions, columns)
assert db.execute("SELECT name FROM users").fetchall() == [("alice",)]
PY
}
check "postinst ran the new migration (gatehouse db migrate), alice kept" migrated
check "the new CLI reads alice from the migrated database" gatehouse user show alice
locals_can_log_in "upgraded, old daemon still running"
check "the old module in a long-running process still resolves alice" \
    sh -c "kill -0 $LOOKER && [ \"\$(tail -n 1 $T/looker.log)\" = resolves ]"
# Without systemd nothing restarts the daemons (with systemd the postinst does): until they are
# restarted, processes that load the new module find the old format and treat gatehouse users
# as unknown (fail closed); local users are unaffected (checked above).
kill "$DAEMON" "$TASKS"
wait "$DAEMON" "$TASKS" 2>/dev/null || true
/usr/sbin/gatehouse-tasks 2>>"$T/tasks.log" &
TASKS=$!
for _ in $(seq 100); do [ -S /run/gatehouse/tasks.socket ] && break; sleep 0.05; done
setpriv --reuid=gatehouse --regid=gatehouse --init-groups /usr/sbin/gatehoused 2>>"$T/daemon.log" &
DAEMON=$!
new_format() {
    for _ in $(seq 100); do
        [ -S /run/gatehouse/socket ] && [ "$(snapshot_version)" = $((OLD_FORMAT + 1)) ] && return 0
        sleep 0.05
    done
    echo "snapshot format $(snapshot_version), expected $((OLD_FORMAT + 1))"
    return 1
}
check "the new daemon writes the next snapshot format ($OLD_FORMAT -> $((OLD_FORMAT + 1)))" new_format
check "a new process (new module) resolves alice" getent passwd alice
old_module_refuses() {
    for _ in $(seq 50); do [ "$(tail -n 1 "$T/looker.log")" = unknown ] && break; sleep 0.1; done
    cat "$T/looker.log"
    kill -0 "$LOOKER" && [ "$(tail -n 1 "$T/looker.log")" = unknown ] && [ "$(head -n 1 "$T/looker.log")" = resolves ]
}
check "the old module, still mapped, answers not found for the new format and does not crash" old_module_refuses
kill "$LOOKER" 2>/dev/null || true
check "sftp with alice's key after the upgrade" \
    sftp -b "$T/batch" -P "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o BatchMode=yes -o IdentitiesOnly=yes -i "$T/keys/alice" alice@127.0.0.1
check "sftp with alice's password after the upgrade" kbd_sftp
kill "$DAEMON" "$TASKS"
wait "$DAEMON" "$TASKS" 2>/dev/null || true

echo "== the admin's nsswitch choice, remove and install again"
nss_count() { grep -Ec '^(passwd|group):.*[[:space:]]gatehouse([[:space:]]|$)' /etc/nsswitch.conf || true; }
check "nsswitch.conf: gatehouse still once on passwd and group" test "$(nss_count)" = 2
check "alice is still there" gatehouse user show alice
sed -i -E '/^(passwd|group):/ s/[[:space:]]+gatehouse([[:space:]]|$)/\1/' /etc/nsswitch.conf
check "dpkg -i again after the admin took gatehouse out of nsswitch.conf" dpkg -i "$DEB2"
check "nsswitch.conf: the admin's removal stands on upgrade" test "$(nss_count)" = 0
check "dpkg -r" dpkg -r gatehouse
check "dpkg -i after a remove (config-files state)" dpkg -i "$DEB2"
check "nsswitch.conf: gatehouse added again after remove + install" test "$(nss_count)" = 2
check "database kept across remove + install: alice is still there" gatehouse user show alice

echo "== dpkg -r, dpkg -P"
if dpkg -r gatehouse >"$T/dpkg-r.log" 2>&1; then ok "dpkg -r"; else fail "dpkg -r"; sed 's/^/     | /' "$T/dpkg-r.log"; fi
check "after remove: nsswitch.conf has no gatehouse" sh -c '! grep -q gatehouse /etc/nsswitch.conf'
check "after remove: no pam_gatehouse in /etc/pam.d" sh -c '! grep -rq pam_gatehouse /etc/pam.d'
check "after remove: database kept" test -f /var/lib/gatehouse/gatehouse.db
if dpkg -P gatehouse >"$T/dpkg-p.log" 2>&1; then ok "dpkg -P"; else fail "dpkg -P"; sed 's/^/     | /' "$T/dpkg-p.log"; fi
echo "     install + use + remove + purge: $(($(date +%s) - T0)) s"

sums >"$T/after.sums"
if diff "$T/before.sums" "$T/after.sums" >"$T/sums.diff"; then
    ok "/etc/pam.d, /etc/nsswitch.conf, /etc/shells, /etc/ssh byte-identical after purge ($(wc -l <"$T/before.sums") files)"
else
    fail "recorded files changed after purge"
    sed 's/^/     | /' "$T/sums.diff"
fi
allsums >"$T/after-etc.sums"
# adduser's users may stay (Debian policy); its backups (passwd-, …) and the files themselves
# change. Anything else in /etc must be as before.
{ diff "$T/before-etc.sums" "$T/after-etc.sums" || true; } | { grep '^[<>]' || true; } \
    | { grep -Ev ' /etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$' || true; } >"$T/etc.diff"
if [ -s "$T/etc.diff" ]; then
    fail "other files in /etc changed after purge"
    sed 's/^/     | /' "$T/etc.diff"
else
    ok "nothing else in /etc changed ($(wc -l <"$T/before-etc.sums") files; the system users stay, as policy allows)"
fi
check "/var/lib/gatehouse and /etc/gatehouse are gone" sh -c '[ ! -e /var/lib/gatehouse ] && [ ! -e /etc/gatehouse ]'
check "no gatehouse in nsswitch.conf" sh -c '! grep -q gatehouse /etc/nsswitch.conf'
check "no gatehouse-sftp in /etc/shells" sh -c '! grep -q gatehouse-sftp /etc/shells'
check "no pam_gatehouse in /etc/pam.d/common-*" sh -c '! grep -q pam_gatehouse /etc/pam.d/common-*'
check "no gatehouse files left under /usr, /lib/systemd or /etc/systemd" \
    sh -c '! ls /usr/sbin/gatehouse* /usr/lib/x86_64-linux-gnu/libnss_gatehouse* /usr/lib/x86_64-linux-gnu/security/pam_gatehouse* /usr/share/pam-configs/gatehouse /lib/systemd/system/gatehouse* 2>/dev/null && [ -z "$(find /etc/systemd -name "*gatehouse*" 2>/dev/null)" ]'
check "dpkg knows no gatehouse package" sh -c '! dpkg-query -W gatehouse 2>/dev/null | grep -q .'
locals_can_log_in "after purge"

kill "$SSHD" 2>/dev/null || true
if [ "$FAILED" = 0 ]; then echo "all package checks passed"; else echo "some package checks FAILED"; fi
exit "$FAILED"
