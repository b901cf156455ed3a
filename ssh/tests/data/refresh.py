#!/usr/bin/python3
"""A running SFTP session follows the database: a rule change applies to it within a few seconds
(also to a handle opened before the change), and deactivating the user ends it.

  refresh.py HOST PORT USER KEYFILE CLI

USER must have mode rw, no rules, and an empty root. Prints one line per step:
  STEP <name> <ok|FAIL> <detail>
and exits 1 if any step failed.
"""
import errno
import subprocess
import sys
import time

import paramiko

host, port, user, keyfile, cli = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
failed = 0


def step(name, ok, detail=""):
    global failed
    failed += 0 if ok else 1
    print("STEP %s %s %s" % (name, "ok" if ok else "FAIL", detail), flush=True)


def g(*args):
    subprocess.run([cli] + list(args), check=True, capture_output=True)


def denied(fn):
    try:
        fn()
        return False
    except IOError as e:
        return e.errno == errno.EACCES


def until(pred, limit=8.0):
    """Seconds until pred() holds (polling), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


t = paramiko.Transport((host, port))
t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
c = paramiko.SFTPClient.from_transport(t)

with c.open("/before.txt", "wb") as f:
    f.write(b"x")
step("upload-before", True)

held = c.open("/held.txt", "wb")  # opened while writing is allowed
held.write(b"first")
held.flush()

g("rule", "add", user, "/", "read")
n = [0]


def upload_denied():
    n[0] += 1
    return denied(lambda: c.open("/after-%d.txt" % n[0], "wb").close())


took = until(upload_denied)
step("rule-change-applies", took is not None, "after %.1f s" % (took or -1))
try:
    held.write(b"second")
    held.flush()
    step("open-handle-revoked", False, "write through a handle opened before the change succeeded")
except IOError as e:
    step("open-handle-revoked", e.errno == errno.EACCES, repr(e))
step("download-still-allowed", c.open("/before.txt", "rb").read() == b"x")

g("rule", "del", user, "/")
took = until(lambda: not denied(lambda: c.open("/again.txt", "wb").close()))
step("rule-removal-applies", took is not None, "after %.1f s" % (took or -1))

g("user", "set", user, "--inactive")


def ended():
    try:
        c.listdir("/")
        return False
    except (EOFError, OSError, paramiko.SSHException):
        return True


took = until(ended)
step("deactivation-ends-session", took is not None, "after %.1f s" % (took or -1))
g("user", "set", user, "--active")
t.close()
sys.exit(1 if failed else 0)
