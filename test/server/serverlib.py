# SPDX-License-Identifier: MIT
"""test/server/serverlib.py - start and talk to the example server in tests.

Loopback only; every wait is bounded and fails the test when it runs out.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class Server:
    """The server on an ephemeral 127.0.0.1 port; stop() returns (rc, out)."""

    def __init__(self, exe, *args):
        self.proc = subprocess.Popen([exe, "--port", "0", *args],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # blocks until it listens
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise Fail("server did not start: %r %s" %
                       (line, self.proc.stderr.read()))
        self.port = int(m.group(1))
        self.pid = self.proc.pid
        self.waited = False

    def signal(self, sig=signal.SIGTERM):
        os.kill(self.pid, sig)

    def wait(self, timeout=15):
        self.waited = True
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise Fail("server did not exit within %d s" % timeout)
        return self.proc.returncode, out, err

    def stop(self, timeout=15):
        self.signal()
        return self.wait(timeout)

    def kill(self):
        """Stop it if it runs; if it died by itself (a sanitizer report,
        a crash), show what it said on stderr."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        elif self.proc.returncode != 0 and not self.waited:
            _, err = self.proc.communicate()
            print("server exited %d by itself; stderr:\n%s" %
                  (self.proc.returncode, err[-4000:]), file=sys.stderr)

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def get(self, path, timeout=10):
        """One request on a fresh connection: (status, headers, body)."""
        s = self.connect(timeout)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close"
                       "\r\n\r\n" % path).encode())
            return read_response(s)
        finally:
            s.close()

    def stats(self):
        st, _, body = self.get("/debug/stats")
        check(st == 200, "/debug/stats answered %d" % st)
        out = {}
        for line in body.decode().splitlines():
            k, v = line.split(" ", 1)
            out[k] = v if k == "backend" else int(v)
        return out


_leftover = {}


def read_response(s):
    """Read one response from s: (status, headers dict, body bytes). Bytes
    past it (pipelined answers) are kept for the next call on s."""
    buf = _leftover.pop(s.fileno(), b"")
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise Fail("connection closed before a response head: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise Fail("connection closed inside a body")
        rest += chunk
    if len(rest) > n:
        _leftover[s.fileno()] = rest[n:]
    return status, headers, rest[:n]


def is_closed(s, timeout):
    """True when the peer closes s within timeout (data before EOF is
    returned too)."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True, data
            data += chunk
    except socket.timeout:
        return False, data
    except ConnectionResetError:
        return True, data


def wait_for(fn, what, timeout=10.0):
    """Poll fn() until it returns true, at most timeout seconds."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.02)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


def loadgen(exe, port, *args, timeout=60):
    r = subprocess.run([exe, "--port", str(port), *args],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Fail("loadgen exit %d: %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


def parse_counts(out):
    m = re.search(r"served (\d+) shed (\d+) dropped (\d+)", out)
    check(m, "no counts line in %r" % out)
    return {"served": int(m.group(1)), "shed": int(m.group(2)),
            "dropped": int(m.group(3))}


def main(cases):
    """Run the named cases (argv: server exe, loadgen exe)."""
    exe, lg = sys.argv[1], sys.argv[2]
    failed = 0
    for name, fn in cases:
        t = time.monotonic()
        try:
            fn(exe, lg)
            print("ok   %s (%.1f s)" % (name, time.monotonic() - t))
        except Exception as e:  # report every case, then fail
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (name, e))
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
