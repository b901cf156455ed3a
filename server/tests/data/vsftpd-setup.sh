# Sourced by server/tests/vsftpd.rs in its namespace (see ftp-world.sh, which builds the world):
# Debian's stock /etc/pam.d/vsftpd (pam/tests/data), Debian's stock /etc/vsftpd.conf (a copy of
# vsftpd 3.0.3-13+b2's conffile in VSFTPD_STOCK, so the host's edited or missing file never
# counts) with the shipped fragment appended, then the test's own settings (port, passive range, foreground, log
# file). Runs after ftp-world.sh (same shell). In: what ftp-world.sh takes, and PAMD
# (pam/tests/data/pam.d), FRAGMENT, PASV, VSFTPD_STOCK (server/tests/data/vsftpd.conf).
mkdir -p -m 0755 /run/vsftpd/empty
install -m 0644 "$PAMD/vsftpd" /etc/pam.d/vsftpd
system_user ftp /srv/ftp

newuser rwu
newuser ro --mode r
newuser inact --inactive
newuser expd --expires 2021-01-01
newuser noftp --protocols ssh
newuser ruled
g rule add ruled /in upload >/dev/null
newuser nodel --no-delete
newuser flip
newuser gone
# Client addresses: v6u is allowed from ::1 only, m4u from 127.0.0.0/8 only (the IPv6 and
# IPv4-mapped listeners at the end of vsftpd-scenario.sh); xpu fails over SSH and FTP.
newuser v6u --allow-ip ::1
newuser m4u --allow-ip 127.0.0.0/8
newuser xpu
install -m 0644 "$PAMD/sshd" /etc/pam.d/sshd
login_users

# gatehoused starts before vsftpd's user directory exists (the README's order: the package,
# then vsftpd); the directory is created below, once vsftpd runs. Wait for the snapshot and the
# roots instead of a vsftpd file.
start_gatehouse /var/lib/gatehouse/nss.db
for _ in $(seq 200); do [ -d /srv/gatehouse/xpu ] && break; sleep 0.05; done
[ -d /srv/gatehouse/flip ] || { echo "gatehouse-tasks made no roots" >&2; exit 1; }

# Debian's stock vsftpd.conf, the shipped fragment, then this test's settings (later lines win).
SERVER_LOG="$T/vsftpd.log"
: > "$SERVER_LOG"
{
    cat "${VSFTPD_STOCK:?}"
    cat "$FRAGMENT"
    cat <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
pasv_address=127.0.0.1
pasv_min_port=$PASV
pasv_max_port=$((PASV + 20))
background=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$SERVER_LOG
delay_failed_login=0
ssl_enable=YES
rsa_cert_file=$T/tls.crt
rsa_private_key_file=$T/tls.key
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=NO
CONF
} > "$T/vsftpd.conf"
/usr/sbin/vsftpd "$T/vsftpd.conf" 2>>"$T/vsftpd.err" &
FTPD=$!
wait_port || { echo "vsftpd did not come up; its own output:" >&2; cat "$T/vsftpd.err" >&2; exit 1; }

# Issue 15, item 9: no directory yet, so no file: the login is refused (not let in, chrooted to
# the shared home). Then the admin creates the directory as the README says, and every file is
# there within a second or so, with no restart and no database change; the login passes.
cmd late-nodir ftp rwu "$PW" "cls -1"
t0=$(date +%s%N)
install -d -m 0755 /etc/vsftpd/gatehouse
all_files() {
    for f in expd flip gone inact ipu locked m4u mustc ro rwu totpu v6u xpu; do
        [ -f "/etc/vsftpd/gatehouse/$f" ] || return 1
    done
}
for _ in $(seq 250); do all_files && break; sleep 0.02; done
t1=$(date +%s%N)
echo "LATE_DIR_MS $(( (t1 - t0) / 1000000 ))"
cmd late-rwu ftp rwu "$PW" "cls -1"
