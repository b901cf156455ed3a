#!/usr/bin/python3
"""The swap race: while SFTP requests are in flight, a directory inside the root is swapped for a
symlink that points outside the root, in a tight loop. Nothing outside may ever change, and no
request may ever read what is outside.

  race.py WORKDIR SERVER SECONDS

SERVER is examples/sftp_local.rs, spawned as uid 65534 on socket pairs (four sessions, one
thread each, so requests from several sessions are in flight at once). Prints a summary line:
`requests N ok M outside-changed 0 leaked 0`, and exits 1 if anything outside changed or a
read returned the outside file's content.
"""
import hashlib
import json
import os
import sys
import threading
import time

from sftp_pipe import NOBODY, spawn

SECRET = b"outside-the-root secret"


def snapshot(base):
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha1(f.read()).hexdigest()
            out[p] = (st.st_mode, st.st_size, int(st.st_mtime), digest)
    return out


def main():
    work, server, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    root = os.path.join(work, "root")
    outside = os.path.join(work, "outside")
    os.makedirs(os.path.join(root, "work", "dreal"))
    os.makedirs(outside)
    with open(os.path.join(outside, "f"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(root, "work", "dreal", "f"), "wb") as f:
        f.write(b"inside")
    os.symlink(outside, os.path.join(root, "work", "dlink"))
    for dirpath, dirnames, filenames in os.walk(root):
        for n in [dirpath] + [os.path.join(dirpath, x) for x in dirnames + filenames]:
            os.lchown(n, NOBODY, NOBODY)
    # The outside directory is writable by the server's uid: only the server's confinement
    # keeps it out.
    os.chown(outside, NOBODY, NOBODY)
    os.chown(os.path.join(outside, "f"), NOBODY, NOBODY)
    before = snapshot(outside)
    policy = {"user": "nobody", "uid": NOBODY, "root": root, "mode": "rw", "delete_allowed": True,
              "max_file_size": None, "rules": [{"path": "/work", "level": "write"}], "groups": [], "refused": None}
    pfile = os.path.join(work, "policy.json")
    with open(pfile, "w") as f:
        json.dump(policy, f)

    stop = threading.Event()
    stats = {"requests": 0, "ok": 0, "leaked": 0}
    lock = threading.Lock()

    def swapper():
        d = os.path.join(root, "work")
        while not stop.is_set():
            for name in ("dreal", "dlink"):
                try:
                    os.rename(os.path.join(d, name), os.path.join(d, "d"))
                    os.rename(os.path.join(d, "d"), os.path.join(d, name))
                except OSError:
                    pass

    def client(n):
        log = open(os.path.join(work, "server-%d.log" % n), "wb")
        c, ours, proc = spawn(server, pfile, log)
        i = 0
        while not stop.is_set():
            i += 1
            ops = [
                lambda: c.open("/work/d/f", "rb").read(),
                lambda: c.open("/work/d/new-%d-%d" % (n, i), "wb").write(b"x"),
                lambda: c.listdir("/work/d"),
                lambda: c.mkdir("/work/d/sub-%d-%d" % (n, i)),
                lambda: c.remove("/work/d/f"),
                lambda: c.chmod("/work/d/f", 0o777),
                lambda: c.truncate("/work/d/f", 0),
                lambda: c.rename("/work/d/f", "/work/d/g-%d-%d" % (n, i)),
                lambda: c.stat("/work/d/f"),
            ]
            for op in ops:
                try:
                    r = op()
                    with lock:
                        stats["ok"] += 1
                        if isinstance(r, bytes) and SECRET in r:
                            stats["leaked"] += 1
                        if isinstance(r, list) and "f" in r and os.path.exists(os.path.join(outside, "f")):
                            pass
                except Exception:  # noqa: BLE001 - refusals and races are expected
                    pass
                with lock:
                    stats["requests"] += 1
        c.close()
        ours.close()
        proc.wait(timeout=10)
        log.close()

    threads = [threading.Thread(target=swapper)] + [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    changed = 0 if snapshot(outside) == before else 1
    print("requests %d ok %d outside-changed %d leaked %d" % (stats["requests"], stats["ok"], changed, stats["leaked"]))
    sys.exit(1 if changed or stats["leaked"] else 0)


if __name__ == "__main__":
    main()
