# The cases of server/tests/vsftpd.rs, run after vsftpd-setup.sh (same shell). Each check is
# one RESULT line (see `cmd` there); the Rust test asserts on them.
cd "$T"
printf 'hello over ftp\n' > "$T/up.txt"

# Files written by gatehouse-tasks: root-owned 0644, one per user vsftpd can serve.
cmd file-rwu stat -c '%U %G %a' /etc/vsftpd/gatehouse/rwu
cmd file-rwu-text cat /etc/vsftpd/gatehouse/rwu
cmd file-ro-text cat /etc/vsftpd/gatehouse/ro
cmd files ls /etc/vsftpd/gatehouse

# A read-write user: upload, list, download, mkdir, rename, delete, checked on disk.
rw_cases

# A read-only user: download yes, upload no (550), and nothing appears.
printf 'for reading\n' > /srv/gatehouse/ro/doc.txt
chown ro:ro /srv/gatehouse/ro/doc.txt
cmd ro-get fetch ro "$URL/doc.txt"
cmd ro-put fetch ro -T "$T/up.txt" "$URL/new.txt"
cmd ro-put-disk disk ro new.txt
cmd ro-mkdir ftp ro "$PW" "mkdir d2"

# Refused logins.
cmd badpw ftp rwu "wrong password here" "cls -1"
cmd inactive ftp inact "$PW" "cls -1"
cmd expired ftp expd "$PW" "cls -1"
cmd noftp ftp noftp "$PW" "cls -1"
cmd ruled ftp ruled "$PW" "cls -1"
cmd nodel ftp nodel "$PW" "cls -1"
login_cases
cmd check-ruled "$GATEHOUSE_CLI" check ruled --protocol ftp
cmd check-nodel "$GATEHOUSE_CLI" check nodel --protocol ftp
cmd check-rwu "$GATEHOUSE_CLI" check rwu --protocol ftp

# A local user still logs in (pam_unix), into their home (write_enable stays Debian's NO).
printf 'mine\n' > /home/localbob/local.txt
cmd local ftp localbob "$PW" "cls -1"
cmd local-badpw ftp localbob "not the password" "cls -1"

# A CLI change reaches vsftpd at the next login, without restarting it.
cmd flip-put ftp flip "$PW" "put $T/up.txt -o before.txt"
t0=$(date +%s%N)
g user set flip --mode r >/dev/null
for _ in $(seq 100); do grep -q '^write_enable=NO' /etc/vsftpd/gatehouse/flip && break; sleep 0.02; done
t1=$(date +%s%N)
cmd flip-file cat /etc/vsftpd/gatehouse/flip
echo "FLIP_MS $(( (t1 - t0) / 1000000 ))"
cmd flip-put-after fetch flip -T "$T/up.txt" "$URL/after.txt"
cmd flip-get-after fetch flip "$URL/before.txt"
cmd flip-disk ls /srv/gatehouse/flip
# A new rule: the file goes and the next login is refused.
g rule add flip /in upload >/dev/null
for _ in $(seq 100); do [ -e /etc/vsftpd/gatehouse/flip ] || break; sleep 0.02; done
cmd flip-ruled ftp flip "$PW" "cls -1"
# A deleted user's file is removed.
g user del gone >/dev/null
for _ in $(seq 100); do [ -e /etc/vsftpd/gatehouse/gone ] || break; sleep 0.02; done
cmd gone-file ls /etc/vsftpd/gatehouse

# App passwords (issue 9): with TOTP on, the password alone no longer logs in over FTP, an
# FTP-only app password does (no code), and once revoked it does not.
newuser apu
for _ in $(seq 100); do [ -f /etc/vsftpd/gatehouse/apu ] && [ -d /srv/gatehouse/apu ] && break; sleep 0.02; done
g totp enable apu >/dev/null
TOKEN=$(g apppass add apu --label lftp --protocols ftp | grep '^ghap_')
echo "TOKEN_SECRET ${TOKEN##*_}"
cmd ap-pw ftp apu "$PW" "cls -1"
cmd ap-token ftp apu "$TOKEN" "put $T/up.txt -o viaapp.txt"
cmd ap-token-disk disk apu viaapp.txt
g apppass revoke apu --label lftp >/dev/null
cmd ap-revoked ftp apu "$TOKEN" "cls -1"

# IPv6 and IPv4-mapped client addresses: two more listeners with the same configuration, one on
# ::1 and one on ::ffff:127.0.0.1 (an IPv6 socket taking IPv4 clients, which it sees as
# ::ffff:127.0.0.x, as a dual-stack `listen_ipv6=YES` server does). curl, which asks for EPSV
# (vsftpd refuses PASV on an IPv6 socket).
listener() { # NAME ADDRESS6 PORT FIRST_PASV_PORT
    { cat "$T/vsftpd.conf"; printf 'listen=NO\nlisten_ipv6=YES\nlisten_address6=%s\nlisten_port=%s\npasv_min_port=%s\npasv_max_port=%s\n' "$2" "$3" "$4" $(($4 + 9)); } > "$T/vsftpd-$1.conf"
    /usr/sbin/vsftpd "$T/vsftpd-$1.conf" 2>>"$T/vsftpd.err" &
    FTPD="$FTPD $!"
}
listener v6 ::1 "$PORT6" $((PASV + 21))
listener mapped ::ffff:127.0.0.1 "$PORTM" $((PASV + 31))
wait_port ::1 "$PORT6"
wait_port 127.0.0.1 "$PORTM"
cmd v6-ok curl -sS -g --user "v6u:$PW" --list-only "ftp://[::1]:$PORT6/"
cmd v6-m4u curl -sS -g --user "m4u:$PW" --list-only "ftp://[::1]:$PORT6/"
cmd mapped-ok fetch m4u --list-only "ftp://127.0.0.1:$PORTM/"
cmd mapped-ipu fetch ipu --list-only "ftp://127.0.0.1:$PORTM/"
cmd mapped-v6u fetch v6u --list-only "ftp://127.0.0.1:$PORTM/"

# Lockout counts failures of every protocol: three wrong passwords through Debian's sshd PAM
# stack (pamtester, as sshd calls it) and two over FTP lock xpu on both; unlock frees both.
sshpw() { printf '%s\n' "$2" | pamtester -I rhost=127.0.0.$SRC sshd "$1" authenticate; }
for i in 1 2 3; do cmd xp-ssh-bad-$i sshpw xpu "wrong password $i"; done
for i in 4 5; do cmd xp-ftp-bad-$i ftp xpu "wrong password $i" "cls -1"; done
cmd xp-ftp-locked ftp xpu "$PW" "cls -1"
cmd xp-ssh-locked sshpw xpu "$PW"
g unlock xpu >/dev/null
cmd xp-ftp-unlocked ftp xpu "$PW" "cls -1"
cmd xp-ssh-unlocked sshpw xpu "$PW"
