"""Shared by conformance.py and race.py: paramiko's SFTPClient over one end of a socket pair,
to a server process spawned on the other end as uid 65534 (examples/sftp_local.rs)."""
import socket
import subprocess

import paramiko

NOBODY = 65534


class PipeChannel:
    """The socket-like object paramiko's SFTPClient needs, over one end of a socket pair."""

    def __init__(self, sock):
        self.sock = sock

    def get_name(self):
        return "local"

    def send(self, data):
        return self.sock.send(data)

    def recv(self, n):
        return self.sock.recv(n)

    def close(self):
        self.sock.close()


def spawn(server, policy_file, log):
    """Starts SERVER POLICY_FILE as uid 65534 on a socket pair; returns (client, sock, proc)."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", server, policy_file],
        stdin=theirs, stdout=theirs, stderr=log, close_fds=True)
    theirs.close()
    return paramiko.SFTPClient(PipeChannel(ours)), ours, proc
