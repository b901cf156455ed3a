# Sourced by ssh/tests/sshd.rs inside `unshare -m -p -f --mount-proc --propagation private`
# as root: when the script ends, the PID namespace ends and takes every process it started
# (sshd's session processes included) with it.
# Builds a private Debian world the way the package will install gatehouse, then starts the
# real gatehouse-tasks, gatehoused and sshd:
# - overlays (upper layers on a tmpfs) on /etc, /var/lib, /usr/share/pam-configs, /usr/sbin and
#   the multiarch lib directory; tmpfs on /run (with /run/sshd), /home and /srv;
# - pam_gatehouse.so, libnss_gatehouse.so.2, gatehouse-keys and gatehouse-sftp at their installed
#   paths (DESIGN "Installed programs"), nsswitch and /etc/shells edited, the pam-auth-update
#   profile enabled, the system user gatehouse-keys (AuthorizedKeysCommandUser);
# - Debian's stock /etc/ssh/sshd_config and /etc/pam.d/sshd, the shipped drop-in at
#   /etc/ssh/sshd_config.d/gatehouse.conf, host keys in the private /etc/ssh.
# Nothing outside the namespace changes.
# In: T (temp dir), DATA (ssh/tests/data), PROFILE, DROPIN, PAM_SO, NSS_SO, GATEHOUSED,
#     GATEHOUSE_TASKS, GATEHOUSE_CLI, KEYS_BIN, SFTP_BIN, PW (every password), PORT.
set -eu
LIB=/usr/lib/x86_64-linux-gnu
. "${GATEHOUSE_TESTLIB:?}/private-world.sh"
ov /etc etc
ov /var/lib varlib
ov /usr/share/pam-configs pamconfigs
ov /usr/sbin sbin
ov $LIB lib
fresh /run /home /srv
mkdir -m 0755 /run/sshd

# What the package installs.
install -m 0644 "$PAM_SO" $LIB/security/pam_gatehouse.so
install -m 0644 "$NSS_SO" $LIB/libnss_gatehouse.so.2
install -m 0755 "$KEYS_BIN" /usr/sbin/gatehouse-keys
install -m 0755 "$SFTP_BIN" /usr/sbin/gatehouse-sftp
sed -i -E 's/^(passwd|group):([[:space:]]*)files/\1:\2files gatehouse/' /etc/nsswitch.conf
grep -q '^group:.*files gatehouse' /etc/nsswitch.conf
echo /usr/sbin/gatehouse-sftp >> /etc/shells
install -m 0644 "$PROFILE" /usr/share/pam-configs/gatehouse
DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable gatehouse
system_user gatehouse-keys /nonexistent
mkdir -p -m 0755 /var/lib/gatehouse/home /srv/gatehouse
# Debian's stock sshd files (openssh-server 9.2p1-2+deb12u*), the drop-in as shipped.
install -m 0644 "$DATA/sshd_config" /etc/ssh/sshd_config
install -m 0644 "$DATA/pam.d/sshd" /etc/pam.d/sshd
mkdir -p /etc/ssh/sshd_config.d
find /etc/ssh/sshd_config.d -mindepth 1 -delete
install -m 0644 "$DROPIN" /etc/ssh/sshd_config.d/gatehouse.conf
system_user sshd /run/sshd
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key

# Client keys, one per user.
mkdir -m 0700 "$T/keys"
for k in alice carol dave erin frank greg localbob osftp scpu rsyncu lftpu curlu rcloneu pyu conf ruled mustchg live gadm; do
    ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/keys/$k"
done

# A local user with a normal home and authorized_keys (the /home tmpfs is private).
useradd -m -s /bin/sh localbob
install -d -m 0700 -o localbob -g localbob /home/localbob/.ssh
install -m 0600 -o localbob -g localbob "$T/keys/localbob.pub" /home/localbob/.ssh/authorized_keys

# gatehouse users through the CLI (home_base /srv/gatehouse: roots made by gatehouse-tasks).
export GATEHOUSE_CONFIG="$T/g.toml"
g() { "$GATEHOUSE_CLI" "$@"; }
g db migrate >/dev/null
newuser() {
    name=$1
    shift
    printf '%s\n' "$PW" | g user add "$name" --password-stdin "$@" >/dev/null
    g key add "$name" --file "$T/keys/$name.pub" >/dev/null
}
newuser alice
newuser carol
newuser dave --allow-ip 10.0.0.0/8
newuser erin
newuser frank
newuser greg
# One user per client of the compatibility matrix, the conformance table's user, a user with
# per-path rules (no scp -O or rsync) and one whose password must change (no key logins).
for u in osftp scpu rsyncu lftpu curlu rcloneu pyu conf ruled mustchg live; do
    newuser "$u"
done
g rule add ruled /in upload >/dev/null
# A gatehouse admin of group acme (delegated administration over ssh), a member of acme and a
# user of another group.
g group add acme >/dev/null
g group add beta >/dev/null
newuser gadm
g user set gadm --admin --admin-group acme >/dev/null
g user add amy --group acme >/dev/null
g user add bea --group beta >/dev/null
g invite mustchg --json > "$T/invite-mustchg.json"
g user set erin --inactive >/dev/null
g user set frank --expires 2021-01-01 >/dev/null
g user set greg --protocols ftp >/dev/null
g user add bob >/dev/null
g totp enable carol --json > "$T/totp.json"
TOTP_SECRET=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$T/totp.json")
g invite bob --json > "$T/invite.json"
INVITE=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$T/invite.json")

# The daemons: tasks first (gatehoused asks it for missing roots after each export).
TASKS= DAEMON= SSHD=
stop_all() {
    for p in $SSHD $DAEMON $TASKS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT
"$GATEHOUSE_TASKS" 2>>"$T/tasks.log" &
TASKS=$!
for _ in $(seq 200); do [ -S /run/gatehouse/tasks.socket ] && break; sleep 0.05; done
"$GATEHOUSED" 2>>"$T/daemon.log" &
DAEMON=$!
for _ in $(seq 200); do [ -S /run/gatehouse/socket ] && [ -f /var/lib/gatehouse/nss.db ] && break; sleep 0.05; done
[ -S /run/gatehouse/socket ] || { echo "gatehoused did not come up" >&2; exit 1; }
for _ in $(seq 200); do [ -d /srv/gatehouse/alice ] && break; sleep 0.05; done
[ -d /srv/gatehouse/alice ] || { echo "gatehouse-tasks did not create alice's root" >&2; exit 1; }
getent passwd alice >/dev/null || { echo "alice does not resolve through NSS" >&2; exit 1; }

SSHD_LOG="$T/sshd.log"
/usr/sbin/sshd -t -f /etc/ssh/sshd_config
/usr/sbin/sshd -D -E "$SSHD_LOG" -p "$PORT" -o ListenAddress=127.0.0.1 -o LogLevel=VERBOSE -f /etc/ssh/sshd_config &
SSHD=$!
for _ in $(seq 200); do grep -q 'Server listening' "$SSHD_LOG" 2>/dev/null && break; sleep 0.05; done
grep -q 'Server listening' "$SSHD_LOG" || { echo "sshd did not come up" >&2; cat "$SSHD_LOG" >&2; exit 1; }

# One client run, reported as two lines:
#   RESULT <label> <rc> <ms> <output, newlines as |>
#   SSHDLOG <label> <what sshd logged meanwhile, newlines as |>
# cmd LABEL COMMAND...
cmd() {
    label=$1
    shift
    before=$(wc -l < "$SSHD_LOG")
    t0=$(date +%s%N)
    set +e
    out=$("$@" 2>&1 < /dev/null)
    rc=$?
    set -e
    t1=$(date +%s%N)
    sleep 0.2
    printf 'RESULT %s %s %s %s\n' "$label" "$rc" $(( (t1 - t0) / 1000000 )) "$(printf '%s' "$out" | tr -d '\r' | tr '\n' '|')"
    printf 'SSHDLOG %s %s\n' "$label" "$(tail -n +$((before + 1)) "$SSHD_LOG" | tr -d '\r' | tr '\n' '|')"
}
SSH_OPTS="-p $PORT -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10"
# ssh_key USER "OPTIONS" [COMMAND...]: OpenSSH client with USER's key only.
ssh_key() {
    u=$1 opts=$2
    shift 2
    ssh $SSH_OPTS -o BatchMode=yes -o IdentitiesOnly=yes -o PreferredAuthentications=publickey -i "$T/keys/$u" $opts "$u@127.0.0.1" "$@"
}
# kbd USER ARGS...: the paramiko client (see kbdint.py).
kbd() { /usr/bin/python3 "$DATA/kbdint.py" "$PORT" "$@"; }
totp() { /usr/bin/python3 "$DATA/totp.py" "$TOTP_SECRET" "${1:-0}"; }


# kopts USER: OpenSSH client options for a key login as USER (for sftp, scp, rsync -e, lftp).
kopts() {
    echo "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i $T/keys/$1"
}
# disk USER: what USER's root holds, one line per entry, sorted by path:
#   OWNER TYPE SIZE PATH   (TYPE as find's %y; SIZE is - for directories)
disk() {
    echo "== disk $1"
    (cd "/srv/gatehouse/$1" && find . -mindepth 1 -printf '%u %y %s %p\n' | sed -E 's/^([^ ]+) d [0-9]+ /\1 d - /' | sort -k4)
    echo "== end"
}
# waitroot USER: until gatehouse-tasks has made USER's root.
waitroot() {
    for _ in $(seq 200); do [ -d "/srv/gatehouse/$1" ] && return 0; sleep 0.05; done
    echo "no root for $1" >&2
    return 1
}
