#!/usr/bin/env bash
# NSS benchmarks (issue 4), every figure beside its peer, in one run (not part of CI; needs root
# for the private mount namespace, which leaves the host's /etc and /var/lib untouched):
#  * the modules' own lookups, called directly: _nss_gatehouse_getpw{nam,uid}_r vs glibc's
#    _nss_files_getpw{nam,uid}_r (dlsym in libc.so.6, reading a bind-mounted /etc/passwd of the
#    same size), hit and miss, 10 / 10k / 100k / 1M users;
#  * getpwnam through glibc (__nss_configure_lookup) with `passwd: gatehouse` vs `files` vs a stub
#    module that answers NOTFOUND at once (the floor);
#  * getgrouplist and `id` for a user in 1,000 of 10,000 groups;
#  * `getent passwd` of 1M users;
#  * the snapshot build for 1M users: time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
SIZES=${NSS_BENCH_SIZES:-"10 10000 100000 1000000"}
cargo build -q --release --locked -p nss_gatehouse --lib --example make_snapshot
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir "$W/lib"
cp "$T/release/libnss_gatehouse.so" "$W/lib/libnss_gatehouse.so.2"
cc -O2 -Wall -o "$W/nssbench" tests/bench/nssbench.c -ldl
cc -O2 -Wall -shared -fPIC -Wl,-soname,libnss_stub.so.2 -o "$W/lib/libnss_stub.so.2" tests/bench/stub.c
mk="$T/release/examples/make_snapshot"

echo "== snapshot build, 1M users (target < 3 s, peak RSS < 300 MB)"
/usr/bin/time -f "   process: wall %e s, peak RSS %M kB" "$mk" 1000000 "$W/nss-1000000.db" | sed 's/^/   /'
passwd() { # N FILE: the same users as make_snapshot
    awk -v n="$1" 'BEGIN { print "root:x:0:0:root:/root:/bin/sh";
        for (i = 0; i < n; i++) printf "u%d:x:%d:%d:User number %d:/var/lib/gatehouse/home:/usr/sbin/gatehouse-sftp\n", i, 1900001000 + i, 1900001000 + i, i }' >"$2"
}
for n in $SIZES; do
    [ -e "$W/nss-$n.db" ] || "$mk" "$n" "$W/nss-$n.db" >/dev/null
    passwd "$n" "$W/passwd-$n"
done
# Groups: 10,000 users, 10,000 groups, u0 in 1,000 of them (group g holds u(g+1), and u0 if g % 10 == 0).
"$mk" 10000 "$W/nss-groups.db" 10000 1000 >/dev/null
passwd 10000 "$W/passwd-groups"
awk 'BEGIN { print "root:x:0:";
    for (g = 0; g < 10000; g++) { m = "u" ((g + 1) % 10000); if (g % 10 == 0) m = m ",u0"; printf "grp%d:x:%d:%s\n", g, 1950000000 + g, m } }' >"$W/group-groups"
printf 'passwd: gatehouse\ngroup: gatehouse\n' >"$W/nsswitch-gatehouse"
printf 'passwd: files\ngroup: files\n' >"$W/nsswitch-files"
printf 'passwd: stub\ngroup: files\n' >"$W/nsswitch-stub"

W="$W" SIZES="$SIZES" unshare -m bash -euo pipefail -c '
mount --make-rprivate /
mount -t tmpfs tmpfs /var/lib
mkdir /var/lib/gatehouse
B=$W/nssbench
export LD_LIBRARY_PATH=$W/lib
use() { cp "$1" /var/lib/gatehouse/nss.db.new && mv /var/lib/gatehouse/nss.db.new /var/lib/gatehouse/nss.db; }
echo "== module lookup cost, called directly (target <= 300 ns at every size)"
for n in $SIZES; do
    use "$W/nss-$n.db"
    mount --bind "$W/passwd-$n" /etc/passwd
    "$B" direct "$n" "$W/lib/libnss_gatehouse.so.2"
    umount /etc/passwd
done
echo "== getpwnam_r through glibc, hit / miss (target: gatehouse <= stub floor + 300 ns)"
for n in $SIZES; do
    use "$W/nss-$n.db"
    mount --bind "$W/passwd-$n" /etc/passwd
    printf "  %8s users  gatehouse %s   files %s   stub floor %s\n" "$n" \
        "$("$B" glibc "$n" gatehouse)" "$("$B" glibc "$n" files)" "$("$B" glibc "$n" stub)"
    umount /etc/passwd
done
echo "== groups: u0 in 1,000 of 10,000 groups (target: getgrouplist <= 100 us)"
use "$W/nss-groups.db"
mount --bind "$W/passwd-groups" /etc/passwd
mount --bind "$W/group-groups" /etc/group
echo "   getgrouplist  gatehouse $("$B" groups u0 gatehouse)   files $("$B" groups u0 files)"
for svc in gatehouse files; do
    mount --bind "$W/nsswitch-$svc" /etc/nsswitch.conf
    id u0 | grep -q "grp990" || { echo "id u0 lacks grp990 with $svc" >&2; exit 1; }
    s=$(date +%s%N); for i in $(seq 20); do id u0 >/dev/null; done; e=$(date +%s%N)
    echo "   id u0 (exec to exit, mean of 20)  $svc $(( (e - s) / 20000 )) us"
    umount /etc/nsswitch.conf
done
# The floor: id of root with files alone and a one-line passwd and group (process start and
# the C library, nothing worth looking up).
printf "root:x:0:0:root:/root:/bin/sh\n" > "$W/passwd-root"
printf "root:x:0:\n" > "$W/group-root"
umount /etc/group /etc/passwd
mount --bind "$W/passwd-root" /etc/passwd
mount --bind "$W/group-root" /etc/group
mount --bind "$W/nsswitch-files" /etc/nsswitch.conf
s=$(date +%s%N); for i in $(seq 20); do id root >/dev/null; done; e=$(date +%s%N)
echo "   id root, one-line files (the floor: process start), mean of 20  $(( (e - s) / 20000 )) us"
umount /etc/nsswitch.conf
umount /etc/group /etc/passwd
echo "== getent passwd of 1M users (target < 150 ms), best of 3; stub: the floor (entries made up, nothing looked up)"
use "$W/nss-1000000.db"
mount --bind "$W/passwd-1000000" /etc/passwd
for svc in gatehouse files stub; do
    mount --bind "$W/nsswitch-$svc" /etc/nsswitch.conf
    lines=$(getent passwd | wc -l)
    best=
    for i in 1 2 3; do
        s=$(date +%s%N); getent passwd >/dev/null; e=$(date +%s%N)
        t=$(( (e - s) / 1000000 )); [ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
    done
    echo "   $svc: $best ms ($lines lines)"
    umount /etc/nsswitch.conf
done
umount /etc/passwd
'
