# The cases of server/tests/proftpd.rs, run after proftpd-setup.sh (same shell). Each check is
# one RESULT line (see `cmd` in ftp-world.sh); the Rust test asserts on them.
cd "$T"
printf 'hello over ftp\n' > "$T/up.txt"
printf '0123456789abcdef\n' > "$T/big.txt"
printf '1234567\n' > "$T/small.txt"
# reloads: how many times gatehouse-tasks has signalled ProFTPD so far.
reloads() { grep -c 'op="proftpd_reload" root="proftpd" result=Ok' "$T/tasks.log" || true; }
# wait_reload N: until gatehouse-tasks has signalled ProFTPD more than N times.
wait_reload() {
    for _ in $(seq 200); do [ "$(reloads)" -gt "$1" ] && break; sleep 0.02; done
}

cmd file-tree stat -c '%U %G %a' /etc/proftpd/gatehouse/tree.conf
cmd files ls /etc/proftpd/gatehouse

# A read-write user: upload, list, download, mkdir, rename, delete, checked on disk; / is the root.
rw_cases

# Mode r.
printf 'for reading\n' > /srv/gatehouse/ro/doc.txt
chown ro:ro /srv/gatehouse/ro/doc.txt
cmd ro-get fetch ro "$URL/doc.txt"
cmd ro-put fetch ro -T "$T/up.txt" "$URL/new.txt"
cmd ro-put-disk disk ro new.txt

# No-delete: new files yes; overwrite, append and delete no.
cmd nodel-put ftp nodel "$PW" "put $T/up.txt -o a.txt"
cmd nodel-overwrite ftp nodel "$PW" "put $T/big.txt -o a.txt"
cmd nodel-append fetch nodel --append -T "$T/big.txt" "$URL/a.txt"
cmd nodel-rm ftp nodel "$PW" "rm a.txt"
cmd nodel-disk disk nodel a.txt

# max_file_size 8.
cmd capped-small ftp capped "$PW" "put $T/small.txt -o small.txt"
cmd capped-big ftp capped "$PW" "put $T/big.txt -o big.txt"

# The rule tree: a drop box, read, write, none, a wildcard.
R=/srv/gatehouse/tree
mkdir -p $R/in $R/pub $R/secret $R/work/sub $R/clients/acme
printf 'dropped\n' > $R/in/existing.txt
printf 'public\n' > $R/pub/p.txt
printf 'secret!\n' > $R/secret/s.txt
printf 'work\n' > $R/work/w.txt
printf 'report\n' > $R/clients/acme/report.txt
printf 'AAAA\n' > $R/a.txt
chown -R tree:tree $R
cmd tree-ls ftp tree "$PW" "cls -1 /"
cmd tree-in-put ftp tree "$PW" "put $T/up.txt -o /in/new.txt"
cmd tree-in-disk disk tree in/new.txt
cmd tree-in-overwrite ftp tree "$PW" "put $T/big.txt -o /in/existing.txt"
cmd tree-in-get fetch tree "$URL/in/existing.txt"
cmd tree-in-rm ftp tree "$PW" "rm /in/existing.txt"
cmd tree-in-mkdir ftp tree "$PW" "mkdir /in/sub"
cmd tree-in-ls ftp tree "$PW" "cls -1 /in"
cmd tree-secret-ls ftp tree "$PW" "cls -1 /secret"
cmd tree-secret-get fetch tree "$URL/secret/s.txt"
cmd tree-pub-get fetch tree "$URL/pub/p.txt"
cmd tree-pub-put fetch tree -T "$T/up.txt" "$URL/pub/x.txt"
cmd tree-root-put fetch tree -T "$T/up.txt" "$URL/new.txt"
cmd tree-root-get fetch tree "$URL/a.txt"
cmd tree-work-put ftp tree "$PW" "put $T/up.txt -o /work/new.txt; mv /work/w.txt /work/sub/w.txt; rm /work/new.txt"
cmd tree-work-disk ls -R $R/work
cmd tree-work-rmdir ftp tree "$PW" "rmdir /work"
cmd tree-work-mv ftp tree "$PW" "mv /work /w2"
cmd tree-work-to-pub ftp tree "$PW" "mv /work/sub/w.txt /pub/w.txt"
cmd tree-clients-get fetch tree "$URL/clients/acme/report.txt"
cmd tree-clients-put fetch tree -T "$T/up.txt" "$URL/clients/acme/x.txt"
cmd tree-clients-mv ftp tree "$PW" "mv /clients/acme /clients/b"
cmd tree-copy fetch tree -Q "SITE CPFR /pub/p.txt" -Q "SITE CPTO /work/copy.txt" "$URL/"
cmd tree-copy-disk disk tree work/copy.txt

# Refused logins, with the reason in gatehoused's log.
cmd badpw ftp rwu "wrong password here" "cls -1"
cmd inactive ftp inact "$PW" "cls -1"
cmd expired ftp expd "$PW" "cls -1"
cmd noftp ftp noftp "$PW" "cls -1"
cmd wild ftp wild "$PW" "cls -1"
cmd check-wild "$GATEHOUSE_CLI" check wild --protocol ftp
cmd check-tree "$GATEHOUSE_CLI" check tree --protocol ftp

login_cases
# IPv6: a user allowed from ::1 only logs in over ::1; one allowed from 10.9.9.9 only does not.
cmd v6-ok curl -sS -g --user "v6u:$PW" --list-only "ftp://[::1]:$PORT/"
cmd v6-v4 fetch v6u --list-only "$URL/"
cmd v6-ipu curl -sS -g --user "ipu:$PW" --list-only "ftp://[::1]:$PORT/"
# IPv4 clients of an IPv6 socket (seen as ::ffff:127.0.0.x): a second ProFTPD with the same
# configuration bound to ::ffff:127.0.0.1 only. A 127.0.0.0/8 allow-list admits them; ipu
# (10.9.9.9) and v6u (::1) are refused.
sed -e "s|^Port .*|Port $PORTM|" -e "s|^DefaultAddress .*|DefaultAddress ::ffff:127.0.0.1|" \
    -e "s|^PassivePorts .*|PassivePorts $((PASV + 21)) $((PASV + 30))|" /etc/proftpd/proftpd.conf > "$T/proftpd-mapped.conf"
printf 'PidFile %s\nScoreboardFile %s\n' "$T/proftpd-mapped.pid" "$T/proftpd-mapped.scoreboard" >> "$T/proftpd-mapped.conf"
"$PROFTPD_BIN" -n -c "$T/proftpd-mapped.conf" 2>>"$T/proftpd.err" &
FTPD_MAPPED=$!
wait_port 127.0.0.1 "$PORTM"
cmd mapped-ok fetch m4u --list-only "ftp://127.0.0.1:$PORTM/"
cmd mapped-ipu fetch ipu --list-only "ftp://127.0.0.1:$PORTM/"
cmd mapped-v6u fetch v6u --list-only "ftp://127.0.0.1:$PORTM/"
kill "$FTPD_MAPPED"
wait "$FTPD_MAPPED" 2>/dev/null || true

# A local user still logs in (pam_unix) into their home.
printf 'mine\n' > /home/localbob/local.txt
cmd local ftp localbob "$PW" "cls -1"

# A CLI change reaches ProFTPD at the next login, without restarting it: a new rule takes the
# write away; then the user's flag for ftp.
cmd flip-put ftp flip "$PW" "put $T/up.txt -o before.txt"
n=$(reloads)
t0=$(date +%s%N)
g rule add flip / read >/dev/null
wait_reload "$n"
t1=$(date +%s%N)
echo "FLIP_MS $(( (t1 - t0) / 1000000 ))"
cmd flip-put-after fetch flip -T "$T/up.txt" "$URL/after.txt"
cmd flip-get-after fetch flip "$URL/before.txt"
cmd flip-pid sh -c "[ \"\$(cat /run/proftpd.pid)\" = $FTPD ] && echo same proftpd"
n=$(reloads)
g rule add flip '/x/*/y' read >/dev/null
wait_reload "$n"
cmd flip-wild ftp flip "$PW" "cls -1"
cmd flip-file ls /etc/proftpd/gatehouse
# The SFTP conformance table's cases that FTP can express, through ProFTPD with curl.
mkdir -p "$T/confbase"
echo "== conformance"
/usr/bin/python3 "$CONFORMANCE" ftp "$T/confbase" 127.0.0.1 "$PORT" conf "$PW" "$GATEHOUSE_CLI" \
    /etc/proftpd/gatehouse/conf.conf "$T/tasks.log" 2>&1 || true
echo "== proftpd.log"
cat "$SERVER_LOG" "$T/proftpd.err"
echo "== end"
