#!/usr/bin/python3
"""paramiko as an SFTP client for the sshd end-to-end test (ssh/tests/sshd.rs): the
everyday operations, resume in both directions, and the requests the command-line clients
never make (posix-rename, statvfs, chmod, truncate, readlink, symlink, hardlink, limits).

Usage: clients.py PORT USER KEYFILE WORKDIR BIG SMALL
  BIG, SMALL: local files to upload; WORKDIR: where downloads go. The caller has placed
  /resume-up.bin (a partial upload), /adminlink (a symlink) in the user's root, and
  WORKDIR/resume-down.bin (a partial download of /resume-down.bin).
Prints one line per step, `step NAME ok [DETAIL]` or `step NAME err ERROR`; the caller checks
the disk afterwards.
"""
import os
import sys

import paramiko
from paramiko.sftp import CMD_EXTENDED

port, user, keyfile, work, big, small = sys.argv[1:7]
t = paramiko.Transport(("127.0.0.1", int(port)))
t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
c = paramiko.SFTPClient.from_transport(t)


def step(name, fn):
    try:
        detail = fn()
        print("step %s ok%s" % (name, "" if detail is None else " " + str(detail)))
    except Exception as e:  # noqa: BLE001 - every outcome is reported
        print("step %s err %r" % (name, e))


def resume_up():
    done = c.stat("/resume-up.bin").st_size
    with open(big, "rb") as src, c.open("/resume-up.bin", "ab") as dst:
        src.seek(done)
        dst.write(src.read())
    return done


def resume_down():
    local = work + "/resume-down.bin"
    done = os.path.getsize(local)
    with open(local, "ab") as dst, c.open("/resume-down.bin", "rb") as src:
        src.seek(done)
        dst.write(src.read())
    return done


def ext(name, *strings):
    msg = c._request(CMD_EXTENDED, name, *strings)[1]
    return msg


def statvfs():
    m = ext("statvfs@openssh.com", "/")
    bsize, frsize, blocks = m.get_int64(), m.get_int64(), m.get_int64()
    return "bsize=%d blocks=%d" % (bsize, blocks)


def limits():
    m = ext("limits@openssh.com")
    return "packet=%d read=%d write=%d handles=%d" % tuple(m.get_int64() for _ in range(4))


step("put", lambda: [c.put(big, "/up.bin")] and None)
step("get", lambda: c.get("/up.bin", work + "/py-down.bin"))
step("mkdir", lambda: c.mkdir("/pdir"))
step("rename", lambda: c.rename("/up.bin", "/pdir/renamed.bin"))
step("posix-rename", lambda: c.posix_rename("/pdir/renamed.bin", "/pdir/posix.bin"))
step("put-small", lambda: [c.put(small, "/del.txt")] and None)
step("remove", lambda: c.remove("/del.txt"))
step("mkdir-gone", lambda: c.mkdir("/gone"))
step("rmdir", lambda: c.rmdir("/gone"))
step("resume-up", resume_up)
step("resume-down", resume_down)
step("put-trunc", lambda: [c.put(small, "/trunc.txt")] and None)
step("truncate", lambda: c.truncate("/trunc.txt", 3))
step("chmod", lambda: c.chmod("/pdir/posix.bin", 0o600))
step("statvfs", statvfs)
step("limits", limits)
step("readlink", lambda: c.readlink("/adminlink"))
step("symlink", lambda: c.symlink("pdir", "/mylink"))
step("hardlink", lambda: [ext("hardlink@openssh.com", "/trunc.txt", "/hard.txt")] and None)
step("listdir", lambda: ",".join(sorted(c.listdir("/"))))
c.close()
t.close()
