#!/usr/bin/python3
"""The SFTP conformance table: (rule set, operation, path, expected result), each case run
through a real SFTP session (paramiko) and checked on disk afterwards.

Two transports, same table:
  local ROOTBASE SERVER  -- spawns SERVER POLICY.json (ssh/examples/sftp_local.rs, the real
                            gatehouse-sftp handlers without sshd) on a socket pair, as uid 65534;
  ssh ROOTBASE HOST PORT USER KEYFILE CLI
                         -- connects to a real sshd as USER; the rule set is applied with the
                            gatehouse CLI before each group of cases;
  ftp ROOTBASE HOST PORT USER PASSWORD CLI CONF TASKSLOG
                         -- the same through a real ProFTPD with curl (see Ftp), for the cases
                            FTP can express.
Every case gets a fresh tree. A case passes when the result matches and the disk shows exactly
the expected effect: nothing else in the root changed, and nothing outside it.
Prints one line per case (`ok`/`FAIL`), then `cases N failed M`; exits 1 on any failure.
"""
import errno
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys

import paramiko

from sftp_pipe import NOBODY, spawn


# ---------------------------------------------------------------------------------------------
# Rule sets: (mode, delete_allowed, rules)
# ---------------------------------------------------------------------------------------------
RULES_TREE = {
    "/": "list",
    "/in": "upload",
    "/pub": "read",
    "/secret": "none",
    "/work": "write",
    "/clients/*": "read",
    "/clients/*/in": "upload",
}
# (mode, delete_allowed, rules, max_file_size)
RULE_SETS = {
    "rw": ("rw", True, {}, None),
    "r": ("r", True, {}, None),
    "nodelete": ("rw", False, {}, None),
    "tree": ("rw", True, RULES_TREE, None),
    "tree-r": ("r", True, RULES_TREE, None),
    "capped": ("rw", True, {}, 8),
}

OUTSIDE = "outside"  # a sibling of the root, which no case may change


def make_tree(root, outside, owner):
    for d in ["dir", "emptydir", "in", "pub", "secret", "work/sub", "clients/acme/in"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    files = {
        "a.txt": b"AAAA",
        "dir/b.txt": b"BBBBBB",
        "in/existing.txt": b"dropped",
        "pub/p.txt": b"public",
        "secret/s.txt": b"secret!",
        "work/w.txt": b"work",
        "work/sub/x.txt": b"x",
        "clients/acme/report.txt": b"report",
    }
    for p, data in files.items():
        with open(os.path.join(root, p), "wb") as f:
            f.write(data)
    # Admin-placed links: one out of the root, one from a write folder into a none folder.
    os.symlink(outside, os.path.join(root, "work", "out"))
    os.symlink("../secret", os.path.join(root, "work", "tosecret"))
    os.makedirs(outside, exist_ok=True)
    with open(os.path.join(outside, "victim.txt"), "wb") as f:
        f.write(b"do not touch")
    for base in (root, outside):
        for dirpath, dirnames, filenames in os.walk(base):
            for n in [dirpath] + [os.path.join(dirpath, x) for x in dirnames + filenames]:
                os.lchown(n, owner, owner)


def snapshot(base):
    """path -> (kind, mode, size, digest) for everything under base."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = "/" + os.path.relpath(p, base)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", 0, 0, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", stat.S_IMODE(st.st_mode), 0, "")
            else:
                with open(p, "rb") as f:
                    digest = hashlib.sha1(f.read()).hexdigest()
                out[rel] = ("f", stat.S_IMODE(st.st_mode), st.st_size, digest, int(st.st_mtime))
    return out


# ---------------------------------------------------------------------------------------------
# Operations: each returns a value (for download/list/stat) and the paths it may change.
# ---------------------------------------------------------------------------------------------
NEW = b"new content"


def op_download(c, p, _):
    with c.open(p, "rb") as f:
        return f.read()


def op_upload(c, p, _):
    with c.open(p, "wb") as f:  # WRITE|CREAT|TRUNC
        f.write(NEW)


def op_append(c, p, _):
    with c.open(p, "ab") as f:
        f.write(NEW)


def op_list(c, p, _):
    return sorted(c.listdir(p))


OPS = {
    "download": op_download,
    "upload": op_upload,
    "overwrite": op_upload,
    "append": op_append,
    "mkdir": lambda c, p, _: c.mkdir(p),
    "rmdir": lambda c, p, _: c.rmdir(p),
    "remove": lambda c, p, _: c.remove(p),
    "rename": lambda c, p, to: c.rename(p, to),
    "posix-rename": lambda c, p, to: c.posix_rename(p, to),
    "chmod": lambda c, p, mode: c.chmod(p, mode),
    "utime": lambda c, p, _: c.utime(p, (1000000000, 1000000000)),
    "truncate": lambda c, p, size: c.truncate(p, size),
    "chown": lambda c, p, _: c.chown(p, 0, 0),
    "list": op_list,
    "stat": lambda c, p, _: c.stat(p).st_size,
    "lstat": lambda c, p, _: c.lstat(p).st_size,
    "symlink": lambda c, p, to: c.symlink(to, p),
    "readlink": lambda c, p, _: c.readlink(p),
    "realpath": lambda c, p, _: c.normalize(p),
}

# (rule set, op, path, arg, expected, effect) -- expected: ok | denied | nosuch | fail.
# effect (ok cases): a function (before, after, result) -> error string or None; paths named in
# `touches` may change, everything else must not.
def same(result, want):
    return None if result == want else "got %r, want %r" % (result, want)


def file_is(p, data):
    def check(before, after, result):
        e = after.get(p)
        if e is None or e[0] != "f" or e[3] != hashlib.sha1(data).hexdigest():
            return "%s is %r, want content %r" % (p, e, data)
    return check


def gone(p):
    return lambda b, a, r: None if p not in a else "%s still there" % p


def is_dir(p):
    return lambda b, a, r: None if a.get(p, ("?",))[0] == "d" else "%s is not a directory" % p


def moved(src, dst):
    def check(b, a, r):
        if src in a:
            return "%s still there" % src
        if dst not in a or a[dst][3] != b[src][3]:
            return "%s is %r, want the content of %s" % (dst, a.get(dst), src)
    return check


def mode_is(p, m):
    return lambda b, a, r: None if a[p][1] == m else "%s mode %o, want %o" % (p, a[p][1], m)


def size_is(p, n):
    return lambda b, a, r: None if a[p][2] == n else "%s size %d, want %d" % (p, a[p][2], n)


def mtime_is(p, t):
    return lambda b, a, r: None if a[p][4] == t else "%s mtime %d, want %d" % (p, a[p][4], t)


def result_is(want):
    return lambda b, a, r: same(r, want)


def all_of(*checks):
    def check(b, a, r):
        for c in checks:
            e = c(b, a, r)
            if e:
                return e
    return check


ROOT_LIST = sorted(["a.txt", "dir", "emptydir", "in", "pub", "secret", "work", "clients"])
TREE_LIST = sorted(["a.txt", "dir", "emptydir", "in", "pub", "work", "clients"])  # no "secret"

CASES = [
    # --- mode rw, no rules: everything but links and chown
    ("rw", "download", "/a.txt", None, "ok", [], result_is(b"AAAA")),
    ("rw", "upload", "/new.txt", None, "ok", ["/new.txt"], file_is("/new.txt", NEW)),
    ("rw", "overwrite", "/a.txt", None, "ok", ["/a.txt"], file_is("/a.txt", NEW)),
    ("rw", "append", "/a.txt", None, "ok", ["/a.txt"], file_is("/a.txt", b"AAAA" + NEW)),
    ("rw", "mkdir", "/d2", None, "ok", ["/d2"], is_dir("/d2")),
    ("rw", "rmdir", "/emptydir", None, "ok", ["/emptydir"], gone("/emptydir")),
    ("rw", "rmdir", "/dir", None, "fail", [], None),
    ("rw", "remove", "/a.txt", None, "ok", ["/a.txt"], gone("/a.txt")),
    ("rw", "remove", "/dir", None, "fail", [], None),
    ("rw", "rename", "/a.txt", "/a2.txt", "ok", ["/a.txt", "/a2.txt"], moved("/a.txt", "/a2.txt")),
    ("rw", "rename", "/a.txt", "/dir/b.txt", "fail", [], None),
    ("rw", "posix-rename", "/a.txt", "/dir/b.txt", "ok", ["/a.txt", "/dir/b.txt"], moved("/a.txt", "/dir/b.txt")),
    ("rw", "chmod", "/a.txt", 0o600, "ok", ["/a.txt"], mode_is("/a.txt", 0o600)),
    ("rw", "chmod", "/a.txt", 0o4755, "ok", ["/a.txt"], mode_is("/a.txt", 0o755)),
    ("rw", "chmod", "/dir", 0o2775, "ok", ["/dir"], mode_is("/dir", 0o775)),
    ("rw", "utime", "/a.txt", None, "ok", ["/a.txt"], mtime_is("/a.txt", 1000000000)),
    ("rw", "truncate", "/a.txt", 1, "ok", ["/a.txt"], size_is("/a.txt", 1)),
    ("rw", "chown", "/a.txt", None, "denied", [], None),
    ("rw", "list", "/", None, "ok", [], result_is(ROOT_LIST)),
    ("rw", "stat", "/dir/b.txt", None, "ok", [], result_is(6)),
    ("rw", "symlink", "/ln", "/a.txt", "denied", [], None),
    ("rw", "realpath", "/dir/../..", None, "ok", [], result_is("/")),
    ("rw", "list", "/../..", None, "ok", [], result_is(ROOT_LIST)),
    ("rw", "download", "~root/.bashrc", None, "nosuch", [], None),
    ("rw", "download", "../../../../etc/passwd", None, "nosuch", [], None),
    # --- mode r: read and list only
    ("r", "download", "/dir/b.txt", None, "ok", [], result_is(b"BBBBBB")),
    ("r", "list", "/", None, "ok", [], result_is(ROOT_LIST)),
    ("r", "upload", "/new.txt", None, "denied", [], None),
    ("r", "overwrite", "/a.txt", None, "denied", [], None),
    ("r", "append", "/a.txt", None, "denied", [], None),
    ("r", "mkdir", "/d2", None, "denied", [], None),
    ("r", "rmdir", "/emptydir", None, "denied", [], None),
    ("r", "remove", "/a.txt", None, "denied", [], None),
    ("r", "rename", "/a.txt", "/a2.txt", "denied", [], None),
    ("r", "chmod", "/a.txt", 0o600, "denied", [], None),
    ("r", "utime", "/a.txt", None, "denied", [], None),
    ("r", "truncate", "/a.txt", 0, "denied", [], None),
    # --- no-delete: new files yes, destroying existing data no
    ("nodelete", "upload", "/new.txt", None, "ok", ["/new.txt"], file_is("/new.txt", NEW)),
    ("nodelete", "overwrite", "/a.txt", None, "denied", [], None),
    ("nodelete", "append", "/a.txt", None, "denied", [], None),
    ("nodelete", "truncate", "/a.txt", 0, "denied", [], None),
    ("nodelete", "remove", "/a.txt", None, "denied", [], None),
    ("nodelete", "rmdir", "/emptydir", None, "denied", [], None),
    ("nodelete", "posix-rename", "/a.txt", "/dir/b.txt", "denied", [], None),
    ("nodelete", "rename", "/a.txt", "/a2.txt", "ok", ["/a.txt", "/a2.txt"], moved("/a.txt", "/a2.txt")),
    ("nodelete", "mkdir", "/d2", None, "ok", ["/d2"], is_dir("/d2")),
    ("nodelete", "download", "/a.txt", None, "ok", [], result_is(b"AAAA")),
    # --- per-path rules: drop box, none, read, write, wildcards
    ("tree", "list", "/", None, "ok", [], result_is(TREE_LIST)),
    ("tree", "list", "/in", None, "ok", [], result_is(["existing.txt"])),
    ("tree", "upload", "/in/new.txt", None, "ok", ["/in/new.txt"], file_is("/in/new.txt", NEW)),
    ("tree", "overwrite", "/in/existing.txt", None, "denied", [], None),
    ("tree", "append", "/in/existing.txt", None, "denied", [], None),
    ("tree", "download", "/in/existing.txt", None, "denied", [], None),
    ("tree", "remove", "/in/existing.txt", None, "denied", [], None),
    ("tree", "mkdir", "/in/sub", None, "denied", [], None),
    ("tree", "rmdir", "/in", None, "denied", [], None),
    ("tree", "list", "/secret", None, "nosuch", [], None),
    ("tree", "stat", "/secret", None, "nosuch", [], None),
    ("tree", "download", "/secret/s.txt", None, "nosuch", [], None),
    ("tree", "upload", "/secret/new.txt", None, "nosuch", [], None),
    ("tree", "rename", "/secret", "/s2", "nosuch", [], None),
    ("tree", "download", "/pub/p.txt", None, "ok", [], result_is(b"public")),
    ("tree", "upload", "/pub/x.txt", None, "denied", [], None),
    ("tree", "remove", "/pub/p.txt", None, "denied", [], None),
    ("tree", "chmod", "/pub/p.txt", 0o600, "denied", [], None),
    ("tree", "upload", "/work/new.txt", None, "ok", ["/work/new.txt"], file_is("/work/new.txt", NEW)),
    ("tree", "remove", "/work/w.txt", None, "ok", ["/work/w.txt"], gone("/work/w.txt")),
    ("tree", "truncate", "/work/w.txt", 2, "ok", ["/work/w.txt"], size_is("/work/w.txt", 2)),
    ("tree", "rename", "/work/w.txt", "/work/sub/w.txt", "ok", ["/work/w.txt", "/work/sub/w.txt"],
     moved("/work/w.txt", "/work/sub/w.txt")),
    ("tree", "rename", "/work/w.txt", "/pub/w.txt", "denied", [], None),
    ("tree", "rename", "/work/sub", "/in/sub", "denied", [], None),
    ("tree", "rename", "/work", "/w2", "denied", [], None),
    ("tree", "rmdir", "/work/sub", None, "fail", [], None),
    ("tree", "upload", "/new.txt", None, "denied", [], None),
    ("tree", "mkdir", "/newdir", None, "denied", [], None),
    ("tree", "download", "/a.txt", None, "denied", [], None),
    ("tree", "upload", "/clients/acme/in/f.txt", None, "ok", ["/clients/acme/in/f.txt"],
     file_is("/clients/acme/in/f.txt", NEW)),
    ("tree", "download", "/clients/acme/report.txt", None, "ok", [], result_is(b"report")),
    ("tree", "upload", "/clients/acme/x.txt", None, "denied", [], None),
    ("tree", "list", "/clients/acme", None, "ok", [], result_is(["in", "report.txt"])),
    # --- escapes through paths and admin-placed links
    ("tree", "upload", "/../../outside/new.txt", None, "denied", [], None),
    ("tree", "download", "/work/out/victim.txt", None, "denied", [], None),
    ("tree", "upload", "/work/out/new.txt", None, "denied", [], None),
    ("tree", "list", "/work/tosecret", None, "nosuch", [], None),
    ("tree", "download", "/work/tosecret/s.txt", None, "nosuch", [], None),
    ("tree", "readlink", "/work/out", None, "denied", [], None),
    # the link is visible, but its text names a `none` folder: hidden like the folder itself
    ("tree", "readlink", "/work/tosecret", None, "nosuch", [], None),
    ("tree", "symlink", "/work/ln", "/work/w.txt", "denied", [], None),
    ("tree", "remove", "/work/out", None, "ok", ["/work/out"], gone("/work/out")),
    # --- a read-only user under the same rules: the mode caps every set
    ("tree-r", "upload", "/in/new.txt", None, "denied", [], None),
    ("tree-r", "upload", "/work/new.txt", None, "denied", [], None),
    ("tree-r", "download", "/work/w.txt", None, "ok", [], result_is(b"work")),
    ("tree-r", "list", "/secret", None, "nosuch", [], None),
    # --- max_file_size 8: writes past it are refused (the new file stays, empty)
    ("capped", "upload", "/new.txt", None, "denied", ["/new.txt"], None),
    ("capped", "append", "/a.txt", None, "denied", [], None),
    ("capped", "truncate", "/a.txt", 100, "denied", [], None),
    ("capped", "truncate", "/a.txt", 2, "ok", ["/a.txt"], size_is("/a.txt", 2)),
]


def classify(exc):
    if isinstance(exc, IOError) and exc.errno == errno.ENOENT:
        return "nosuch"
    if isinstance(exc, IOError) and exc.errno == errno.EACCES:
        return "denied"
    return "fail"


# ---------------------------------------------------------------------------------------------
# Transports
# ---------------------------------------------------------------------------------------------
class Local:
    """SERVER POLICY.json on a socket pair, as uid 65534."""

    def __init__(self, server, workdir):
        self.server, self.workdir = server, workdir
        self.proc = None
        self.root = os.path.join(workdir, "root")
        self.uid = NOBODY

    def open(self, root, rule_set):
        mode, delete, rules, cap = RULE_SETS[rule_set]
        policy = {
            "user": "nobody", "uid": NOBODY, "root": root, "mode": mode, "delete_allowed": delete,
            "max_file_size": cap, "rules": [{"path": k, "level": v} for k, v in rules.items()],
            "groups": [], "refused": None,
        }
        pfile = os.path.join(self.workdir, "policy.json")
        with open(pfile, "w") as f:
            json.dump(policy, f)
        self.log = open(os.path.join(self.workdir, "server.log"), "ab")
        client, self.sock, self.proc = spawn(self.server, pfile, self.log)
        return client

    def close(self, client):
        client.close()
        self.sock.close()
        self.proc.wait(timeout=10)
        self.log.close()


class Ssh:
    """A real sshd: the rule set is applied to USER with the CLI first."""

    def __init__(self, host, port, user, keyfile, cli):
        import pwd
        self.host, self.port, self.user, self.keyfile, self.cli = host, int(port), user, keyfile, cli
        entry = pwd.getpwnam(user)
        self.uid = entry.pw_uid
        show = subprocess.run([cli, "user", "show", user, "--json"], check=True, capture_output=True).stdout
        self.root = json.loads(show)["root"]
        self.rule_set = None

    def open(self, root, rule_set):
        if rule_set != self.rule_set:
            self.apply(rule_set)
            self.rule_set = rule_set
        self.t = paramiko.Transport((self.host, self.port))
        self.t.connect(username=self.user, pkey=paramiko.Ed25519Key.from_private_key_file(self.keyfile))
        return paramiko.SFTPClient.from_transport(self.t)

    def apply(self, rule_set):
        mode, delete, rules, cap = RULE_SETS[rule_set]
        run = lambda *a: subprocess.run([self.cli] + list(a), check=True, capture_output=True)
        run("user", "set", self.user, "--mode", mode, "--no-delete" if not delete else "--delete",
            "--max-file-size", str(cap or 0))
        listed = subprocess.run([self.cli, "rule", "list", self.user, "--json"], check=True, capture_output=True)
        for r in json.loads(listed.stdout or b"[]"):
            run("rule", "del", self.user, r["path"])
        for k, v in rules.items():
            run("rule", "add", self.user, k, v)

    def _unused(self):
        pass

    def close(self, client):
        client.close()
        self.t.close()


class Ftp(Ssh):
    """A real FTP server (ProFTPD) on loopback, driven by curl, one login per case: the rule set is
    applied with the CLI, then the case waits until gatehouse-tasks has rewritten the user's
    ProFTPD file and signalled ProFTPD. FTP has no truncate, lstat, readlink, realpath or
    no-replace rename, so those cases are skipped (`FTP_SKIP`); a refusal is a 5xx reply, and
    "no such file" and "permission denied" are both 550 in FTP, told apart by the reply's text."""

    def __init__(self, host, port, user, password, cli, conf, tasks_log):
        Ssh.__init__(self, host, port, user, None, cli)
        self.password, self.conf, self.tasks_log, self.src = password, conf, tasks_log, 1

    def reloads(self):
        with open(self.tasks_log) as f:
            return f.read().count('op="proftpd_reload" root="proftpd" result=Ok')

    def apply(self, rule_set):
        """Applies the rule set (several CLI commands) and waits until ProFTPD was signalled after
        the last of them: the first reload may come from a pass that saw only some of the
        commands (seen on a loaded machine), so the count must also stay still for a second,
        longer than gatehoused's poll, settle and the helper's write together."""
        import time
        before = self.reloads()
        Ssh.apply(self, FTP_RULE_SETS.get(rule_set, rule_set))
        deadline = time.monotonic() + 10
        last, still_since = self.reloads(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.reloads()
            if now != last:
                last, still_since = now, time.monotonic()
            elif now > before and time.monotonic() - still_since >= 1.0:
                break
        time.sleep(0.1)  # SIGHUP is handled by ProFTPD's main loop, before its next accept

    def open(self, root, rule_set):
        if rule_set != self.rule_set:
            self.apply(rule_set)
            self.rule_set = rule_set
        self.src = self.src % 250 + 1
        return self

    def close(self, client):
        pass

    def curl(self, path, *args, quote=()):
        cmd = ["curl", "-sS", "-v", "--interface", "127.0.1.%d" % self.src, "--user",
               "%s:%s" % (self.user, self.password)]
        for q in quote:
            cmd += ["-Q", q]
        url = "ftp://%s:%s%s" % (self.host, self.port, path)
        r = subprocess.run(cmd + list(args) + [url], capture_output=True)
        replies = [l[2:] for l in r.stderr.decode(errors="replace").splitlines() if l.startswith("< ")]
        if r.returncode != 0:
            last = next((l for l in reversed(replies) if l[:1] in "45"), "")
            errno_ = errno.ENOENT if "No such file" in last else errno.EACCES
            if not (last.startswith("550") or last.startswith("552") or last.startswith("553")) or \
                    any(w in last for w in ("not empty", "Is a directory", "Not a directory", "exists")):
                errno_ = errno.EIO
            raise IOError(errno_, "curl %d: %s" % (r.returncode, last))
        return r.stdout, replies


def ftp_op(c, op, path, arg):
    """One table operation over FTP (see Ftp); None for an operation FTP does not have."""
    tmp = "/tmp/conformance-ftp-new.txt"
    with open(tmp, "wb") as f:
        f.write(NEW)
    if op == "download":
        return c.curl(path)[0]
    if op in ("upload", "overwrite"):
        c.curl(path, "-T", tmp)
        return None
    if op == "append":
        c.curl(path, "--append", "-T", tmp)
        return None
    if op == "list":
        return sorted(n for n in c.curl(path.rstrip("/") + "/", "--list-only")[0].decode().splitlines()
                      if n and n not in (".", ".."))
    if op == "stat":
        _, replies = c.curl("/", quote=["TYPE I", "SIZE " + path])
        return next(int(l.split()[1]) for l in replies if l.startswith("213 "))
    if op == "posix-rename":
        c.curl("/", quote=["RNFR " + path, "RNTO " + arg])
        return None
    verbs = {"mkdir": "MKD %s", "rmdir": "RMD %s", "remove": "DELE %s", "utime": "MFMT 20010909014640 %s",
             "chown": "SITE CHGRP root %s"}
    if op == "chmod":
        c.curl("/", quote=["SITE CHMOD %o %s" % (arg, path)])
    elif op == "symlink":
        c.curl("/", quote=["SITE SYMLINK %s %s" % (arg, path)])
    elif op in verbs:
        c.curl("/", quote=[verbs[op] % path])
    else:
        raise NotImplementedError(op)
    return None
    raise NotImplementedError(op)


# Where ProFTPD answers differently, by case number, and why (README: FTP differences). It is
# never weaker: each of these refuses what SFTP allows.
FTP_EXPECT = {
    # SITE CHMOD would set setuid/setgid bits (gatehouse-sftp strips them) and ProFTPD cannot
    # mask them, so gatehouse users get no SITE CHMOD at all.
    13: "denied", 14: "denied", 15: "denied",
    # SIZE of a `none` folder: 550 "Operation not permitted", not "No such file or directory".
    # Listings and CWD hide it, and nothing in it can be read or written, but SIZE/MDTM/MLST
    # tell a probing client that something of that name exists.
    58: "denied",
}
# What FTP cannot ask (or curl cannot send: paths not starting with /): no truncate, lstat, readlink or realpath; RENAME never replaces in SFTP v3
# but always may in FTP (the posix-rename cases stand for FTP's RNFR/RNTO).
FTP_SKIP = {"truncate", "lstat", "readlink", "realpath", "rename"}
# The rule sets as ProFTPD gets them: the tree without its `/clients/*/in` key, which ProFTPD
# cannot express (a user with it is refused there; tests/proftpd.rs checks that).
TREE_FTP = {k: v for k, v in RULES_TREE.items() if k != "/clients/*/in"}
FTP_RULE_SETS = {"tree": "tree-ftp", "tree-r": "tree-r-ftp"}
RULE_SETS["tree-ftp"] = ("rw", True, TREE_FTP, None)
RULE_SETS["tree-r-ftp"] = ("r", True, TREE_FTP, None)


def main():
    kind, base = sys.argv[1], sys.argv[2]
    if kind == "ftp":
        transport = Ftp(*sys.argv[3:10])
    else:
        transport = Local(sys.argv[3], base) if kind == "local" else Ssh(*sys.argv[3:8])
    failed = skipped = 0
    for i, (rs, op, path, arg, want, touches, effect) in enumerate(CASES):
        if kind == "ftp" and (op in FTP_SKIP or "/clients/acme/in" in path or not path.startswith("/")):
            skipped += 1
            print("skip %-3d %-9s %-12s %s: not expressible over FTP/ProFTPD" % (i + 1, rs, op, path))
            continue
        root = transport.root
        outside = os.path.join(base, OUTSIDE)
        for d in (root, outside):
            shutil.rmtree(d, ignore_errors=True)
        # Through sshd, gatehouse-tasks may recreate the (empty) root between these two lines:
        # it makes missing roots after every export, and the last case's rule change exported.
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)
        make_tree(root, outside, transport.uid)
        before, before_out = snapshot(root), snapshot(outside)
        client = transport.open(root, rs)
        got, result, err = "ok", None, ""
        try:
            result = ftp_op(client, op, path, arg) if kind == "ftp" else OPS[op](client, path, arg)
        except Exception as e:  # noqa: BLE001 - every failure is classified and reported
            got, err = classify(e), repr(e)
        finally:
            transport.close(client)
        after, after_out = snapshot(root), snapshot(outside)
        problems = []
        if kind == "ftp" and (i + 1) in FTP_EXPECT:
            want = FTP_EXPECT[i + 1]
        if kind == "ftp" and want == "denied" and got == "nosuch":
            got = want  # both are 550 in FTP; "no such file" reveals no more than "denied"
        if got != want:
            problems.append("result %s, want %s %s" % (got, want, err))
        if after_out != before_out:
            problems.append("OUTSIDE THE ROOT CHANGED")
        keep = lambda s: {k: v for k, v in s.items() if not any(k == t or k.startswith(t + "/") for t in touches)}
        if keep(after) != keep(before):
            diff = sorted(set(keep(after).items()) ^ set(keep(before).items()))
            problems.append("unexpected change on disk: %r" % diff[:4])
        if got == "ok" and want == "ok" and effect:
            e = effect(before, after, result)
            if e:
                problems.append(e)
        label = "%-3d %-9s %-12s %s%s" % (i + 1, rs, op, path, " -> %s" % arg if isinstance(arg, str) else "")
        if problems:
            failed += 1
            print("FAIL %s: %s" % (label, "; ".join(problems)))
        else:
            print("ok   %s: %s" % (label, want))
    if skipped:
        print("skipped %d" % skipped)
    print("cases %d failed %d" % (len(CASES) - skipped, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
