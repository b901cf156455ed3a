#!/usr/bin/env python3
"""FTP client loops for tests/bench/ftp.sh (plain ftplib, no process per login).

  ftp_client.py logins HOST PORT USER PASSWORD COUNT CONCURRENCY
      COUNT logins (connect, USER, PASS, QUIT) from CONCURRENCY threads; prints
      "<logins/s> <p50 ms> <p99 ms>". Fails if any login fails.
  ftp_client.py change HOST PORT USER PASSWORD CHANGES CLI...
      CHANGES times: run `CLI user set USER --mode r|rw` (alternating), then log in and try a
      1-byte upload until the server does what the new mode says; prints "<p50 ms> <p99 ms>
      <max ms>" of the time from the CLI's start to that login.

Every connection comes from its own loopback address (127.1.x.y), so gatehoused's per-source
throttle (10 attempts per 10 s) never answers and only the login itself is measured.
"""
import ftplib
import io
import itertools
import subprocess
import sys
import threading
import time

_addresses = (f"127.1.{a}.{b}" for a, b in itertools.cycle(itertools.product(range(256), range(1, 255))))
_lock = threading.Lock()


def source():
    with _lock:
        return next(_addresses)


def connect(host, port):
    f = ftplib.FTP(source_address=(source(), 0), timeout=10)
    f.connect(host, port)
    return f


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def logins(host, port, user, pw, count, conc):
    times, errors = [], []

    def worker(n):
        for _ in range(n):
            t = time.monotonic()
            try:
                f = connect(host, port)
                f.login(user, pw)
                f.quit()
            except Exception as e:  # noqa: BLE001 - reported and counted as a failure
                errors.append(repr(e))
                return
            times.append(time.monotonic() - t)

    per = [count // conc + (1 if i < count % conc else 0) for i in range(conc)]
    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    if errors:
        sys.exit(f"{len(errors)} logins failed, first: {errors[0]}")
    print(f"{count / wall:.1f} {percentile(times, 50) * 1000:.1f} {percentile(times, 99) * 1000:.1f}")


def can_write(host, port, user, pw):
    f = connect(host, port)
    try:
        f.login(user, pw)
        f.storbinary("STOR probe.txt", io.BytesIO(b"x"))
        return True
    except ftplib.error_perm:
        return False
    finally:
        try:
            f.quit()
        except Exception:  # noqa: BLE001 - the server may have closed already
            pass


def change(host, port, user, pw, changes, cli):
    delays = []
    for i in range(changes):
        mode = "r" if i % 2 == 0 else "rw"
        t = time.monotonic()
        subprocess.run(cli + ["user", "set", user, "--mode", mode], check=True, stdout=subprocess.DEVNULL)
        while can_write(host, port, user, pw) != (mode == "rw"):
            if time.monotonic() - t > 30:
                sys.exit(f"mode {mode} not enforced after 30 s")
        delays.append(time.monotonic() - t)
    ms = [d * 1000 for d in delays]
    print(f"{percentile(ms, 50):.0f} {percentile(ms, 99):.0f} {max(ms):.0f}")


if __name__ == "__main__":
    what, host, port, user, pw, n = sys.argv[1:7]
    if what == "logins":
        logins(host, int(port), user, pw, int(n), int(sys.argv[7]))
    elif what == "change":
        change(host, int(port), user, pw, int(n), sys.argv[7:])
    else:
        sys.exit(__doc__)
