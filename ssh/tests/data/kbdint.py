#!/usr/bin/python3
"""A paramiko client for the sshd tests: logs in over keyboard-interactive (optionally after a
public key) answering each prompt by its text, then runs one command and reports.

Usage: kbdint.py PORT USER [--key FILE] [--password P] [--code C] [--new N]
                  [--command CMD | --sftp FILE]

Prompts are answered by what they say: "Verification code" gets --code, "New password" and
"Retype new password" get --new, any other prompt containing "assword" gets --password. Prints
one line per prompt (`prompt <text>`), then `auth ok` or `auth failed: <why>`, then, after a
login, `exit <status>` and the command's output; with --sftp, uploads FILE over SFTP as
`/<its name>`, reads it back and prints `sftp put <bytes>`, `sftp get same` and `sftp ls <names>`. Exits 0 only when authentication succeeded.
"""
import argparse
import socket
import sys

import paramiko


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("user")
    p.add_argument("--key")
    p.add_argument("--password", default="")
    p.add_argument("--code", default="")
    p.add_argument("--new", default="")
    p.add_argument("--command", default="")
    p.add_argument("--sftp")
    a = p.parse_args()

    def answer(text):
        t = text.lower()
        if "verification code" in t:
            return a.code
        if "new password" in t:
            return a.new
        if "assword" in t:
            return a.password
        return ""

    def handler(title, instructions, prompts):
        out = []
        for text, _echo in prompts:
            print("prompt", text.strip())
            out.append(answer(text))
        return out

    sock = socket.create_connection(("127.0.0.1", a.port), timeout=20)
    t = paramiko.Transport(sock)
    t.banner_timeout = 20
    t.auth_timeout = 20
    try:
        t.start_client(timeout=20)
        if a.key:
            key = paramiko.Ed25519Key.from_private_key_file(a.key)
            remaining = t.auth_publickey(a.user, key)
            print("after key:", ",".join(remaining) if remaining else "done")
            if not t.is_authenticated():
                t.auth_interactive(a.user, handler)
        else:
            t.auth_interactive(a.user, handler)
    except paramiko.AuthenticationException as e:
        print("auth failed:", str(e).replace("\n", " "))
        t.close()
        return 1
    except (paramiko.SSHException, OSError, EOFError) as e:
        print("auth failed:", type(e).__name__, str(e).replace("\n", " "))
        t.close()
        return 1
    print("auth ok")
    if a.sftp:
        return sftp(t, a.sftp)
    try:
        ch = t.open_session(timeout=20)
        ch.settimeout(20)
        if a.command:
            ch.exec_command(a.command)
        else:
            ch.invoke_shell()
        data = b""
        while True:
            chunk = ch.recv(4096)
            if not chunk:
                break
            data += chunk
        err = b""
        while ch.recv_stderr_ready():
            err += ch.recv_stderr(4096)
        print("exit", ch.recv_exit_status())
        sys.stdout.write((data + err).decode(errors="replace"))
    except (paramiko.SSHException, OSError, EOFError) as e:
        print("session failed:", type(e).__name__, e)
    t.close()
    return 0


def sftp(t, path):
    """Upload, read back and list over SFTP; 0 when it all worked."""
    try:
        s = paramiko.SFTPClient.from_transport(t)
        name = "/" + path.rsplit("/", 1)[-1]
        attrs = s.put(path, name)
        print("sftp put", attrs.st_size)
        with s.open(name) as f, open(path, "rb") as mine:
            print("sftp get", "same" if f.read() == mine.read() else "different")
        print("sftp ls", " ".join(sorted(s.listdir("/"))))
        s.close()
    except (paramiko.SSHException, OSError, EOFError) as e:
        print("sftp failed:", type(e).__name__, e)
        t.close()
        return 1
    t.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
