# Sourced by the FTP end-to-end tests (server/tests/vsftpd.rs, server/tests/proftpd.rs through
# vsftpd-setup.sh and proftpd-setup.sh) inside `unshare -m -p -f --mount-proc --propagation
# private` as root: when the script ends, the PID namespace ends and takes every process it
# started with it. Nothing outside the namespace changes.
# Builds a private Debian world the way the package installs gatehouse:
# - overlays (upper layers on a tmpfs) on /etc, /var/lib, /usr/share/pam-configs and the
#   multiarch lib directory; tmpfs on /run, /home and /srv;
# - pam_gatehouse.so and libnss_gatehouse.so.2 at their installed paths, nsswitch and
#   /etc/shells edited, the pam-auth-update profile enabled; a local user `localbob`;
# and gives the server's setup script:
#   g ARGS / newuser NAME [FLAGS]   the gatehouse CLI (users get the password PW)
#   start_gatehouse FILE            gatehouse-tasks and gatehoused, waiting until FILE exists
#   cmd LABEL COMMAND...            one client run as a RESULT line plus what SERVER_LOG got
#   ftp USER PASSWORD COMMANDS      one lftp session; fetch USER ARGS... one curl run
#   disk USER PATH                  owner, type and content of a file under USER's root
# In: T (temp dir), GATEHOUSE_TESTLIB, PROFILE, PAM_SO, NSS_SO, GATEHOUSED, GATEHOUSE_TASKS,
#     GATEHOUSE_CLI, PW (every password), PORT.
set -eu
LIB=/usr/lib/x86_64-linux-gnu
. "${GATEHOUSE_TESTLIB:?}/private-world.sh"
ov /etc etc
ov /var/lib varlib
ov /usr/share/pam-configs pamconfigs
ov $LIB lib
fresh /run /home /srv
# The loopback lines of a stock Debian /etc/hosts (debian-installer writes them; this host may
# lack the IPv6 one): an FTP server that resolves client addresses turns ::1 into "localhost".
grep -q '^::1[[:space:]]' /etc/hosts || printf '::1\t\tlocalhost ip6-localhost ip6-loopback\n' >>/etc/hosts

# What the package installs.
install -m 0644 "$PAM_SO" $LIB/security/pam_gatehouse.so
install -m 0644 "$NSS_SO" $LIB/libnss_gatehouse.so.2
sed -i -E 's/^(passwd|group):([[:space:]]*)files/\1:\2files gatehouse/' /etc/nsswitch.conf
grep -q '^group:.*files gatehouse' /etc/nsswitch.conf
grep -qx /usr/sbin/gatehouse-sftp /etc/shells || echo /usr/sbin/gatehouse-sftp >> /etc/shells
install -m 0644 "$PROFILE" /usr/share/pam-configs/gatehouse
DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable gatehouse
mkdir -p -m 0755 /var/lib/gatehouse/home /srv/gatehouse
# A local user with a password (pam_unix) and a normal home.
useradd -m -s /bin/sh localbob
printf 'localbob:%s\n' "$PW" | chpasswd

# gatehouse users through the CLI (home_base /srv/gatehouse: roots made by gatehouse-tasks).
export GATEHOUSE_CONFIG="$T/g.toml"
g() { "$GATEHOUSE_CLI" "$@"; }
g db migrate >/dev/null
newuser() {
    name=$1
    shift
    printf '%s\n' "$PW" | g user add "$name" --password-stdin "$@" >/dev/null
}

# The daemons: tasks first (gatehoused asks it for missing roots and FTP files), then wait for
# FILE (a generated file) to show that both work.
TASKS= DAEMON= FTPD=
stop_all() {
    for p in $FTPD $DAEMON $TASKS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT
start_gatehouse() {
    "$GATEHOUSE_TASKS" 2>>"$T/tasks.log" &
    TASKS=$!
    for _ in $(seq 200); do [ -S /run/gatehouse/tasks.socket ] && break; sleep 0.05; done
    "$GATEHOUSED" 2>>"$T/daemon.log" &
    DAEMON=$!
    for _ in $(seq 200); do [ -f "$1" ] && break; sleep 0.05; done
    [ -f "$1" ] || { echo "gatehouse-tasks wrote no $1" >&2; exit 1; }
    getent passwd rwu >/dev/null || { echo "rwu does not resolve through NSS" >&2; exit 1; }
}

# wait_port [HOST [PORT]]: wait until the FTP server listens (127.0.0.1, PORT by default). bash
# for /dev/tcp: this script runs under sh (dash), which has none.
wait_port() {
    for _ in $(seq 200); do
        bash -c "exec 3<>/dev/tcp/${1:-127.0.0.1}/${2:-$PORT}" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on ${1:-127.0.0.1} port ${2:-$PORT}" >&2
    return 1
}

# One client run, reported as two lines:
#   RESULT <label> <rc> <ms> <output, newlines as |>
#   FTPLOG <label> <what the server logged meanwhile, newlines as |>
# cmd LABEL COMMAND...
cmd() {
    label=$1
    shift
    SRC=$((SRC + 1))
    before=$(wc -l < "$SERVER_LOG")
    t0=$(date +%s%N)
    set +e
    out=$("$@" 2>&1 < /dev/null)
    rc=$?
    set -e
    t1=$(date +%s%N)
    printf 'RESULT %s %s %s %s\n' "$label" "$rc" $(( (t1 - t0) / 1000000 )) "$(printf '%s' "$out" | tr -d '\r' | tr '\n' '|')"
    printf 'FTPLOG %s %s\n' "$label" "$(tail -n +$((before + 1)) "$SERVER_LOG" | tr -d '\r' | tr '\n' '|')"
}
URL="ftp://127.0.0.1:$PORT"
# Every client run comes from its own loopback address (127.0.0.$SRC, counted up by `cmd`):
# gatehoused throttles each source to 10 attempts per 10 s, and this scenario makes more logins
# than that.
SRC=10
# ftp USER PASSWORD COMMANDS: one lftp session (passive mode, plain FTP: FTPS is checked with
# curl), failing fast.
ftp() {
    lftp -u "$1,$2" -e "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; set ftp:passive-mode on; set ftp:ssl-allow no; set net:socket-bind-ipv4 127.0.0.$SRC; $3; bye" "$URL"
}
# fetch USER ARGS...: one curl run as USER.
fetch() {
    u=$1
    shift
    curl -sS --interface "127.0.0.$SRC" --user "$u:$PW" "$@"
}
# disk USER PATH: owner, type and content of a file under USER's root.
disk() {
    f="/srv/gatehouse/$1/$2"
    if [ -f "$f" ]; then stat -c '%U %F' "$f"; cat "$f"; elif [ -e "$f" ]; then stat -c '%U %F' "$f"; else echo absent; fi
}

# The read-write user rwu's cases, the same on every FTP server: upload, list, download, mkdir,
# rename, delete, each checked on disk, and no way above the root.
rw_cases() {
    printf 'hello over ftp\n' > "$T/up.txt"
    cmd rw-put ftp rwu "$PW" "put $T/up.txt -o up.txt"
    cmd rw-put-disk disk rwu up.txt
    cmd rw-ls ftp rwu "$PW" "cls -1"
    cmd rw-get fetch rwu "$URL/up.txt"
    cmd rw-mkdir ftp rwu "$PW" "mkdir d1"
    cmd rw-mkdir-disk disk rwu d1
    cmd rw-mv ftp rwu "$PW" "mv up.txt d1/moved.txt"
    cmd rw-mv-disk disk rwu d1/moved.txt
    cmd rw-rm ftp rwu "$PW" "rm d1/moved.txt"
    cmd rw-rm-disk disk rwu d1/moved.txt
    cmd rw-escape ftp rwu "$PW" "cd /; cd ..; cls -1 /etc"
}

# A self-signed certificate for FTPS (explicit TLS, AUTH TLS): $T/tls.crt and $T/tls.key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
chmod 0600 "$T/tls.key"

# Users for login_cases; call before start_gatehouse.
login_users() {
    newuser totpu
    g totp enable totpu --json > "$T/totp.json"
    TOTP_SECRET=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$T/totp.json")
    newuser mustc
    g invite mustc >/dev/null
    newuser ipu --allow-ip 10.9.9.9
    newuser locked
}

# Logins every FTP server must get right: TOTP appended to the password (a code works once, the
# password alone fails), a user who must change their password, an allow-list without this
# client's address, and the lockout after five wrong passwords.
login_cases() {
    CODE=$(/usr/bin/python3 "$TOTP_PY" "$TOTP_SECRET")
    cmd totp-ok ftp totpu "$PW$CODE" "cls -1"
    cmd totp-replay ftp totpu "$PW$CODE" "cls -1"
    cmd totp-none ftp totpu "$PW" "cls -1"
    cmd mustc ftp mustc "$PW" "cls -1"
    cmd ipu ftp ipu "$PW" "cls -1"
    for i in 1 2 3 4 5; do cmd locked-bad-$i ftp locked "wrong password $i" "cls -1"; done
    cmd locked-right ftp locked "$PW" "cls -1"
    # FTPS: explicit TLS on the control and data connections, with the test's certificate.
    cmd ftps fetch rwu -v --ssl-reqd --cacert "$T/tls.crt" --resolve "localhost:$PORT:127.0.0.1" \
        --list-only "ftp://localhost:$PORT/"
}
