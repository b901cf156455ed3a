# Sourced by server/tests/proftpd.rs in its namespace, after ftp-world.sh (same shell): ProFTPD
# 1.3.8's stock /etc/proftpd (proftpd.conf and modules.conf from the package's templates, with
# the module path of the unpacked copy when it is not installed), the shipped fragment as
# /etc/proftpd/conf.d/gatehouse.conf, the shipped PAM file (Debian's stock one) as
# /etc/pam.d/proftpd, then the test's own settings (port, loopback, passive range, log file).
# In: what ftp-world.sh takes, and PROFTPD_BIN, PROFTPD_BASE ("" or the unpacked copy),
# FRAGMENT, PAMFILE, PASV.
# The host's /etc/proftpd never counts (an earlier install may have left one, a new machine has
# none): the private /etc/proftpd starts empty and gets proftpd.conf and modules.conf from the
# package's templates, as Debian's postinst makes them (the unpacked package has no
# /etc/proftpd/proftpd.conf: the postinst copies /usr/share/proftpd/templates).
TEMPLATES="$PROFTPD_BASE/usr/share/proftpd/templates"
[ -f "$TEMPLATES/proftpd.conf" ] && [ -f "$TEMPLATES/modules.conf" ] ||
    { echo "no ProFTPD templates in $TEMPLATES" >&2; exit 1; }
rm -rf /etc/proftpd
mkdir -p -m 0755 /run/proftpd /etc/proftpd/conf.d /var/log/proftpd
install -m 0644 "$TEMPLATES/proftpd.conf" "$TEMPLATES/modules.conf" /etc/proftpd/
sed -i "s|^ModulePath .*|ModulePath $PROFTPD_BASE/usr/lib/proftpd|" /etc/proftpd/modules.conf
grep -q "^ModulePath $PROFTPD_BASE/usr/lib/proftpd\$" /etc/proftpd/modules.conf ||
    { echo "modules.conf has no ModulePath line to point at $PROFTPD_BASE/usr/lib/proftpd" >&2; exit 1; }
system_user proftpd /run/proftpd
install -m 0644 "$PAMFILE" /etc/pam.d/proftpd
install -m 0644 "$FRAGMENT" /etc/proftpd/conf.d/gatehouse.conf
install -d -m 0755 /etc/proftpd/gatehouse
# gatehouse keeps ProFTPD files because the config says so (the binary is not at /usr/sbin here).
echo 'ftp_servers = ["proftpd"]' >> "$T/g.toml"

newuser rwu
newuser ro --mode r
newuser inact --inactive
newuser expd --expires 2021-01-01
newuser noftp --protocols ssh
newuser nodel --no-delete
newuser capped --max-file-size 8
newuser tree
for r in "/ list" "/in upload" "/pub read" "/secret none" "/work write" "/clients/* read"; do
    g rule add tree $r >/dev/null
done
newuser wild
g rule add wild '/clients/*/in' upload >/dev/null
newuser flip
newuser conf
login_users
newuser v6u --allow-ip ::1
newuser m4u --allow-ip 127.0.0.0/8

start_gatehouse /etc/proftpd/gatehouse/flip.conf
[ -d /srv/gatehouse/tree ] || { echo "gatehouse-tasks made no roots" >&2; exit 1; }

# Debian's stock proftpd.conf, then this test's settings: the stock Port line is replaced, its
# log files moved into the temp dir.
SERVER_LOG="$T/proftpd.log"
: > "$SERVER_LOG"
sed -i -e "s|^Port .*|Port $PORT|" -e "s|^TransferLog .*|TransferLog $T/xferlog|" \
    -e "s|^SystemLog .*|SystemLog $SERVER_LOG|" /etc/proftpd/proftpd.conf
cat >> /etc/proftpd/proftpd.conf <<CONF
DefaultAddress 127.0.0.1 ::1
SocketBindTight on
PassivePorts $PASV $((PASV + 20))
DelayEngine off
<IfModule !mod_tls.c>
  LoadModule mod_tls.c
</IfModule>
TLSEngine on
TLSRequired off
TLSRSACertificateFile $T/tls.crt
TLSRSACertificateKeyFile $T/tls.key
TLSOptions NoSessionReuseRequired
TLSLog $T/tls.log
CONF
"$PROFTPD_BIN" -t >>"$T/proftpd.err" 2>&1 || { cat "$T/proftpd.err" >&2; exit 1; }
"$PROFTPD_BIN" -n 2>>"$T/proftpd.err" &
FTPD=$!
wait_port || { echo "ProFTPD did not come up; its own output:" >&2; cat "$T/proftpd.err" >&2; exit 1; }
