# Sourced by server/tests/admin.rs inside `unshare -m -p -f --mount-proc --propagation private`
# as root; the PID namespace takes gatehoused with it when the script ends. Nothing outside the
# namespace changes: /etc and /var/lib are overlays (the local accounts are made there), /run
# and /var/lib/gatehouse (the daemon's snapshot) tmpfs.
# Delegated administration by local Unix accounts: the real gatehoused on its fixed socket, the
# real CLI run as the admin's uid with setpriv, every run reported as a RESULT line, and the
# audit log printed at the end (== AUDIT).
# In: T (temp dir, 0755), GATEHOUSED, GATEHOUSE_CLI, GATEHOUSE_TESTLIB, PW.
set -eu
. "${GATEHOUSE_TESTLIB:?}/private-world.sh"
ov /etc etc
# gatehoused writes its NSS snapshot to the fixed /var/lib/gatehouse: a tmpfs here, never the
# host's directory.
ov /var/lib varlib
mkdir -p /var/lib/gatehouse
fresh /run /var/lib/gatehouse
mkdir -p -m 0755 /run/bin "$T/srv" "$T/data"
install -m 0755 "$GATEHOUSE_CLI" /run/bin/gatehouse

# Local accounts: hd1 is in the Unix group helpdesk (which holds the acme role), nobody-adm holds
# no role.
groupadd helpdesk
useradd -M -s /bin/sh -G helpdesk hd1
useradd -M -s /bin/sh nobody-adm

cat > "$T/g.toml" <<TOML
database = "sqlite://$T/g.db"
home_base = "$T/srv"
root_prefixes = ["$T/data"]
TOML
export GATEHOUSE_CONFIG="$T/g.toml"
g() { /run/bin/gatehouse "$@" >/dev/null; }
g db migrate
g group add acme
g group add beta
g user add alice --group acme
g user add carol --group beta
g user add boss --group acme
g user set boss --admin --admin-group acme
g user add shared1 --group beta --root "$T/srv/shared"
g user add sh2 --group acme --root "$T/srv/shared"
g user add squat --group beta --root "$T/srv/dan"
g admin grant %helpdesk --group acme
g admin grant nobody-adm --group beta
g admin revoke nobody-adm --group beta
echo "== ADMINS"
/run/bin/gatehouse admin list
echo "== END"

DAEMON=
trap '[ -z "$DAEMON" ] || { kill "$DAEMON"; wait "$DAEMON" || true; }' EXIT
"$GATEHOUSED" 2>>"$T/daemon.log" &
DAEMON=$!
for _ in $(seq 200); do [ -S /run/gatehouse/socket ] && break; sleep 0.05; done

# as USER LABEL [ARGS…]: the CLI as that local account (its uid and Unix groups), without the
# config (a delegated admin's CLI never opens the database).
as() {
    user=$1 label=$2
    shift 2
    start=$(date +%s%3N)
    set +e
    out=$(env -u GATEHOUSE_CONFIG setpriv --reuid "$user" --regid "$user" --init-groups /run/bin/gatehouse "$@" 2>&1 </dev/null)
    rc=$?
    set -e
    echo "RESULT $label $rc $(($(date +%s%3N) - start)) $(printf '%s' "$out" | tr '\n' '|')"
}
# with_stdin TEXT USER LABEL ARGS…: the same, with TEXT on standard input.
with_stdin() {
    text=$1 user=$2 label=$3
    shift 3
    set +e
    out=$(printf '%s\n' "$text" | env -u GATEHOUSE_CONFIG setpriv --reuid "$user" --regid "$user" --init-groups /run/bin/gatehouse "$@" 2>&1)
    rc=$?
    set -e
    echo "RESULT $label $rc 0 $(printf '%s' "$out" | tr '\n' '|')"
}

ssh-keygen -q -t ed25519 -N '' -C bob@laptop -f "$T/key"
KEY=$(cat "$T/key.pub")

# Allowed: add, change, keys, rules, password, show, list, membership within acme.
with_stdin "$PW" hd1 add user add bob --group acme --password-stdin --display-name Bob
as hd1 set user set alice --mode r --display-name 'Alice A'
as hd1 key-add key add bob "$KEY"
as hd1 rule-add rule add bob /in upload
with_stdin "$PW.2" hd1 passwd passwd bob --stdin
as hd1 show user show bob
as hd1 list user list --group acme
as hd1 root-ok user set bob --root "$T/data/bob"

# Refused: other groups, raising rights, roots outside the prefixes or reaching others' files.
as hd1 add-other user add dave --group beta
as hd1 add-nogroup user add dave
as hd1 set-other user set carol --mode r
as hd1 show-other user show carol
as hd1 list-all user list
as hd1 raise-admin user set bob --admin
as hd1 raise-group user set bob --group beta
as hd1 admin-target user set boss --mode r
as hd1 members-foreign group members acme --add carol
as hd1 move-out group members acme --remove bob
as hd1 root-outside user set bob --root /etc/gatehouse-evil
as hd1 root-shared user set bob --root "$T/srv/shared"
as hd1 root-default user add dan --group acme
# An existing folder nobody's root points at (a former employee's): never handed to a user by a
# group admin, so it can be neither read nor removed with --remove-files (issue 15, item 4).
mkdir -p "$T/srv/former-employee"
echo payroll > "$T/srv/former-employee/payroll.txt"
as hd1 root-existing user set bob --root "$T/srv/former-employee"
as hd1 group-set group set acme --protocols ssh,ftp
as hd1 grant admin grant hd1
as hd1 del-shared user del sh2 --remove-files
as nobody-adm norole user list --group acme
as hd1 del user del bob

echo "== AUDIT"
/usr/bin/python3 - "$T/g.db" <<'PY'
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute("SELECT actor, action, target, detail FROM audit_log ORDER BY id"):
    print("|".join(row).replace("\n", " "))
PY
echo "== END"
