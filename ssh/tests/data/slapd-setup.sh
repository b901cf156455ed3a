# Sourced (sh) by the LDAP end-to-end test inside its private namespace, as root: a real OpenLDAP
# slapd on 127.0.0.1:$LDAP_PORT, configured from a generated slapd.conf in $T/ldap (no cn=config,
# nothing under /etc/ldap or /var/lib/ldap is used or changed), with a test CA and a server
# certificate for StartTLS, and one person whose password is $LDAP_PW.
# In: T, LDAP_PORT, LDAP_PW. Out: SLAPD (the pid; the caller stops it), $T/ldap/ca.pem,
# $T/ldap/slapd.log (slapd's stats log: one line per connection, BIND and result).
set -eu
L="$T/ldap"
mkdir -p "$L/db"

# A test CA and a certificate for 127.0.0.1 signed by it (webpki wants v3 with a SAN).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=gatehouse-test-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$L/ca.key" -out "$L/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$L/server.key" -out "$L/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$L/ext"
openssl x509 -req -in "$L/server.csr" -CA "$L/ca.pem" -CAkey "$L/ca.key" -CAcreateserial -days 2 \
    -extfile "$L/ext" -out "$L/server.pem" 2>/dev/null

cat > "$L/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $L/slapd.pid
TLSCACertificateFile $L/ca.pem
TLSCertificateFile $L/server.pem
TLSCertificateKeyFile $L/server.key
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
directory $L/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
EOF

HASH=$(slappasswd -s "$LDAP_PW")
cat > "$L/people.ldif" <<EOF
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: uid=lana,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: lana
cn: Lana
sn: Directory
userPassword: $HASH

dn: uid=nora,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: nora
cn: Nora
sn: Directory
userPassword: $HASH
EOF
slapadd -q -f "$L/slapd.conf" -l "$L/people.ldif"

# -d stats: stay in the foreground (so $! is slapd itself) and log each operation.
/usr/sbin/slapd -f "$L/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" -d stats 2>"$L/slapd.log" &
SLAPD=$!
for _ in $(seq 200); do grep -q 'slapd starting' "$L/slapd.log" 2>/dev/null && break; sleep 0.05; done
grep -q 'slapd starting' "$L/slapd.log" || { echo "slapd did not come up" >&2; cat "$L/slapd.log" >&2; exit 1; }
