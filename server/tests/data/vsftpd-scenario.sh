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
