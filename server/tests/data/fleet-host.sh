# One fleet host for server/tests/fleet.rs, run as root inside `unshare -m --propagation private`.
# Builds a private world (overlays on /etc, /var/lib and the multiarch lib directory, a tmpfs on
# /run and on /var/lib/gatehouse), installs the NSS and PAM modules where glibc and Linux-PAM
# look, a one-module PAM service `sshd` (auth and account through pam_gatehouse.so), this
# host's config (/etc/gatehouse/gatehouse.toml: the shared PostgreSQL, [fleet] host NAME), and
# optionally local users; then reads commands on stdin, one per line, and answers each with
# its output, a newline and a line `@@END <exit status>`. Closing stdin stops the daemon and the namespace.
# In: T (this host's temp dir), NAME, HOST_GROUPS (comma-separated), DB (database URL),
#     LOCAL_USERS (space-separated), NSS_SO, PAM_SO, GATEHOUSED, CLI, KEYS, GATEHOUSE_TESTLIB.
set -eu
LIB=/usr/lib/x86_64-linux-gnu
. "${GATEHOUSE_TESTLIB:?}/private-world.sh"
ov /etc etc
ov /var/lib varlib
ov $LIB lib
fresh /run
mkdir -p /var/lib/gatehouse
fresh /var/lib/gatehouse

install -m 0644 "$NSS_SO" $LIB/libnss_gatehouse.so.2
install -m 0644 "$PAM_SO" $LIB/security/pam_gatehouse.so
sed -i -E 's/^(passwd|group):([[:space:]]*)files/\1:\2files gatehouse/' /etc/nsswitch.conf
grep -q '^passwd:.*files gatehouse' /etc/nsswitch.conf
printf 'auth required pam_gatehouse.so\naccount required pam_gatehouse.so\n' > /etc/pam.d/sshd
for u in $LOCAL_USERS; do useradd -M -l -s /bin/bash "$u"; done

# Every host of a fleet has the same home_base, as on real hosts (a root outside this host's
# prefixes is not served here): /srv is this host's own tmpfs.
mkdir -p /srv
fresh /srv
mkdir -p /etc/gatehouse /srv/gatehouse
groups_toml=$(printf '%s' "$HOST_GROUPS" | sed -E 's/([^,]+)/"\1"/g')
cat > /etc/gatehouse/gatehouse.toml <<TOML
database = "$DB"
home_base = "/srv/gatehouse"
[fleet]
host = "$NAME"
host_groups = [$groups_toml]
max_staleness = "1h"
TOML
export GATEHOUSE_CONFIG=/etc/gatehouse/gatehouse.toml

trap stop_daemon EXIT

echo "@@READY"
while IFS= read -r line; do
    set +e
    eval "$line" </dev/null 2>&1
    rc=$?
    set -e
    # On a line of its own even when the output does not end with a newline.
    printf '\n@@END %s\n' "$rc"
done
