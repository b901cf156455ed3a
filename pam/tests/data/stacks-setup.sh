# Sourced by pam/tests/stacks.rs inside `unshare -m --propagation private` as root.
# Builds a private Debian world: overlays on /etc, /var/lib, /usr/share/pam-configs and
# /usr/lib/x86_64-linux-gnu (upper layers on a tmpfs), a tmpfs on /run; installs
# pam_gatehouse.so and libnss_gatehouse.so.2 where Linux-PAM and glibc look, Debian's stock
# /etc/pam.d/{sshd,vsftpd} and /etc/ftpusers, the shipped pam-auth-update profile, a local user
# and root's password; creates gatehouse users with the CLI and starts the real gatehoused at
# its fixed socket. Nothing outside the namespace changes.
# In: T (temp dir), DATA (pam/tests/data), PROFILE, PAM_SO, NSS_SO, GATEHOUSED, GATEHOUSE_CLI,
#     PW (gatehouse and local password).
set -eu
LIB=/usr/lib/x86_64-linux-gnu
. "${GATEHOUSE_TESTLIB:?}/private-world.sh"
ov /etc etc
ov /var/lib varlib
ov /usr/share/pam-configs pamconfigs
ov $LIB lib
fresh /run

# The modules at their installed paths.
install -m 0644 "$PAM_SO" $LIB/security/pam_gatehouse.so
install -m 0644 "$NSS_SO" $LIB/libnss_gatehouse.so.2
# NSS: gatehouse after files (keep whatever else the host lists).
sed -i -E 's/^(passwd|group):([[:space:]]*)files/\1:\2files gatehouse/' /etc/nsswitch.conf
grep -q '^passwd:.*files gatehouse' /etc/nsswitch.conf
echo /usr/sbin/gatehouse-sftp >> /etc/shells
# Debian's stock service files (openssh-server 9.2p1-2+deb12u*, vsftpd 3.0.3-13); su and passwd
# are the host's own (util-linux, passwd packages).
install -m 0644 "$DATA/pam.d/sshd" /etc/pam.d/sshd
install -m 0644 "$DATA/pam.d/vsftpd" /etc/pam.d/vsftpd
install -m 0644 "$DATA/ftpusers" /etc/ftpusers
test -f /etc/pam.d/su && test -f /etc/pam.d/passwd
# The profile as shipped, enabled the way the package's postinst will.
install -m 0644 "$PROFILE" /usr/share/pam-configs/gatehouse
DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable gatehouse

# A local user and root, in the overlaid /etc only (-M: no home, -l: no lastlog/faillog).
useradd -M -l -s /bin/bash localbob
printf 'localbob:%s\nroot:%s\n' "$PW" "$PW" | chpasswd

# gatehouse users, through the CLI, then the daemon at /run/gatehouse/socket.
export GATEHOUSE_CONFIG="$T/g.toml"
"$GATEHOUSE_CLI" db migrate >/dev/null
printf '%s\n' "$PW" | "$GATEHOUSE_CLI" user add alice --password-stdin >/dev/null
printf '%s\n' "$PW" | "$GATEHOUSE_CLI" user add frank --password-stdin --protocols ftp >/dev/null
mkdir -p -m 0755 /var/lib/gatehouse
HUNG=
# A listener at the daemon's socket that never accepts: connects land in its backlog.
start_hung() {
    rm -f /run/gatehouse/socket
    perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "/run/gatehouse/socket", Listen => 5) or die "$!"; print "up\n"; STDOUT->flush; sleep 600' >"$T/hung.out" &
    HUNG=$!
    for _ in $(seq 200); do grep -q up "$T/hung.out" 2>/dev/null && return 0; sleep 0.02; done
    echo "hung listener did not come up" >&2
    return 1
}
stop_hung() {
    if [ -n "$HUNG" ]; then kill "$HUNG"; wait "$HUNG" || true; HUNG=; fi
}
trap 'stop_daemon; stop_hung' EXIT

# One command, reported as one line: `RESULT <label> <rc> <ms> <output, newlines as |>`.
# cmd LABEL INPUT COMMAND... (INPUT goes through printf %b, so \n separates answers)
cmd() {
    label=$1 input=$2
    shift 2
    t0=$(date +%s%N)
    set +e
    out=$(printf '%b' "$input" | "$@" 2>&1)
    rc=$?
    set -e
    t1=$(date +%s%N)
    printf 'RESULT %s %s %s %s\n' "$label" "$rc" $(( (t1 - t0) / 1000000 )) "$(printf '%s' "$out" | tr '\n' '|')"
}
# pam LABEL SERVICE USER "OPS" INPUT: one pamtester transaction through the real Linux-PAM.
pam() {
    cmd "$1" "$5" pamtester -v -I rhost=127.0.0.1 "$2" "$3" $4
}
