#!/bin/sh
# Regenerates keys/*.pub and keys/expected.txt with OpenSSH's ssh-keygen (Debian 12: openssh-client).
#   sh gen-keys.sh
# Private halves are deleted at once. The two FIDO (sk-*) keys cannot be made without a token, so
# their public blobs are assembled from a real Ed25519 / P-256 point plus the "ssh:" application,
# exactly as OpenSSH lays them out (PROTOCOL.u2f); ssh-keygen -l accepts and fingerprints them.
# expected.txt holds, per file, what `ssh-keygen -l -f FILE` printed; the tests read it and never
# run ssh-keygen.
set -eu
cd "$(dirname "$0")/keys"
rm -f ./*.pub expected.txt
gen() { # name keygen-args...
  name=$1; shift
  ssh-keygen -q -N '' -C "$name@gatehouse.test" -f "$name" "$@"
  rm -f "$name"
}
gen ed25519 -t ed25519
gen rsa2048 -t rsa -b 2048
gen rsa3072 -t rsa -b 3072
gen rsa4096 -t rsa -b 4096
gen ecdsa256 -t ecdsa -b 256
gen ecdsa384 -t ecdsa -b 384
gen ecdsa521 -t ecdsa -b 521
gen rsa1024 -t rsa -b 1024
gen dsa -t dsa
python3 - <<'PY'
import base64, struct
def s(b): return struct.pack(">I", len(b)) + b
def blob(line): return base64.b64decode(line.split()[1])
def fields(b):
    out = []
    while b:
        n = struct.unpack(">I", b[:4])[0]; out.append(b[4:4 + n]); b = b[4 + n:]
    return out
ed = fields(blob(open("ed25519.pub").read()))
ec = fields(blob(open("ecdsa256.pub").read()))
sk_ed = s(b"sk-ssh-ed25519@openssh.com") + s(ed[1]) + s(b"ssh:")
sk_ec = s(b"sk-ecdsa-sha2-nistp256@openssh.com") + s(b"nistp256") + s(ec[2]) + s(b"ssh:")
open("sk-ed25519.pub", "w").write("sk-ssh-ed25519@openssh.com %s sk-ed25519@gatehouse.test\n" % base64.b64encode(sk_ed).decode())
open("sk-ecdsa256.pub", "w").write("sk-ecdsa-sha2-nistp256@openssh.com %s sk-ecdsa256@gatehouse.test\n" % base64.b64encode(sk_ec).decode())
PY
for f in *.pub; do
  printf '%s\t%s\n' "$f" "$(ssh-keygen -l -f "$f")" >> expected.txt
done
