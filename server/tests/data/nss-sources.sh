# Sourced by server/tests/nss_sources.rs inside `unshare -m -p -f --mount-proc --propagation
# private` as root; the PID namespace takes gatehoused with it. Nothing outside the namespace
# changes: /etc and /var/lib are overlays, /run and /var/lib/gatehouse tmpfs.
# A second NSS source, libnss-extrausers (/var/lib/extrausers/passwd), listed in nsswitch.conf
# after files: one of its users has the name of a gatehouse user, another the uid of a second
# gatehouse user. gatehoused must leave both out of its snapshot and say why; alice stays.
# In: T, GATEHOUSED, GATEHOUSE_CLI, GATEHOUSE_TESTLIB.
set -eu
. "${GATEHOUSE_TESTLIB:?}/private-world.sh"
ov /etc etc
ov /var/lib varlib
mkdir -p /var/lib/gatehouse /var/lib/extrausers "$T/srv"
fresh /run /var/lib/gatehouse
printf 'database = "sqlite://%s/g.db"\nhome_base = "%s/srv"\n' "$T" "$T" > "$T/g.toml"
export GATEHOUSE_CONFIG="$T/g.toml"
g() { "$GATEHOUSE_CLI" "$@"; }
g db migrate >/dev/null
for u in alice dupname dupid; do g user add "$u" >/dev/null; done
uid=$(g user show dupid --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["uid"])')
printf 'dupname:x:4242:4242::/home/dupname:/bin/sh\nsomeone:x:%s:%s::/:/bin/sh\n' "$uid" "$uid" > /var/lib/extrausers/passwd
: > /var/lib/extrausers/group
sed -i -E 's/^(passwd|group):([[:space:]]*)files/\1:\2files extrausers/' /etc/nsswitch.conf
grep -q '^passwd:.*files extrausers' /etc/nsswitch.conf
echo "NSSWITCH $(grep '^passwd:' /etc/nsswitch.conf)"
start_daemon
# The first export is written before start_daemon returns; keep a copy for the Rust side.
cp /var/lib/gatehouse/nss.db "$T/nss.db"
stop_daemon
