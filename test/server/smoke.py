#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test/server/smoke.py - the example server end to end, in a few seconds.

  smoke.py SERVER LOADGEN

A few thousand requests (the project's own client, perf/loadgen.c) with zero
errors, /metrics checked with promtool, live capacity, SIGTERM drain (the
in-flight request is answered, exit 0, the counts add up), the drain
deadline (a request still running when it passes is counted dropped, exit
1), a second SIGTERM exiting at once, and load shedding with a queue bound
on every backend (503 at once, /healthz saturated).
"""
import shutil
import signal
import subprocess
import time

from serverlib import (Fail, Server, check, is_closed, loadgen, main,
                       parse_counts, read_response, wait_for)


def case_load_and_drain(exe, lg):
    srv = Server(exe, "--threads", "2")
    try:
        r = loadgen(lg, srv.port, "--rate", "0", "--requests", "3000",
                    "--conns", "16", "--mix", "9:/work?us=20,1:/io?ms=1")
        check(r["errors"] == 0 and r["ok"] == 3000,
              "loadgen: %r" % r)
        st, _, body = srv.get("/admin/capacity?n=3")
        check(st == 200 and body == b"old 2 new 3\n",
              "capacity: %d %r" % (st, body))
        st, _, body = srv.get("/healthz")
        check(st == 200 and body == b"ok\n", "healthz %d %r" % (st, body))
        st, h, body = srv.get("/metrics")
        check(st == 200, "/metrics %d" % st)
        text = body.decode()
        check('server_responses_total{code="200"}' in text,
              "no responses counter in /metrics")
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"],
                               input=body, capture_output=True, timeout=30)
            check(p.returncode == 0,
                  "promtool: %s %s" % (p.stdout, p.stderr))
        else:
            raise Fail("promtool not installed (test/deps.sh installs "
                       "prometheus)")
        s = srv.stats()
        if s["pool_metrics"]:
            # Built with pool/metrics.h: the pool's own series follow.
            check('pool="server"' in text,
                  "no pool series in /metrics:\n%s" % text[-2000:])
        s = srv.stats()
        check(s["submitted"] == s["completed"] == 3000,
              "pool counts %r" % s)
        # A request in flight when SIGTERM comes is still answered.
        c = srv.connect()
        c.sendall(b"GET /io?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: srv.stats()["inflight"] == 1, "the /io in flight")
        srv.signal()
        st, h, body = read_response(c)
        check(st == 200 and body == b"slept 300 ms\n",
              "drained response %d %r" % (st, body))
        closed, extra = is_closed(c, 5)
        check(closed and not extra, "connection not closed after drain")
        rc, out, err = srv.wait()
        check(rc == 0, "exit %d: %s %s" % (rc, out, err))
        n = parse_counts(out)
        # 3000 + admin + the drained one (healthz, metrics and stats are
        # answered by the loop and not counted as served).
        check(n == {"served": 3002, "shed": 0, "dropped": 0},
              "counts %r" % n)
    finally:
        srv.kill()


def case_other_reply_path(exe, lg):
    """Both reply paths carry load without an error: the same 3,000
    requests with --reply direct and --reply loop, pipelining included."""
    for mode in ("direct", "loop"):
        srv = Server(exe, "--threads", "2", "--reply", mode)
        try:
            r = loadgen(lg, srv.port, "--rate", "0", "--requests", "3000",
                        "--conns", "16", "--mix", "9:/work?us=20,1:/io?ms=1")
            check(r["errors"] == 0 and r["ok"] == 3000,
                  "%s: loadgen %r" % (mode, r))
            c = srv.connect()
            c.sendall(b"GET /work?us=1 HTTP/1.1\r\n\r\n"
                      b"GET /healthz HTTP/1.1\r\n\r\n"
                      b"GET /io?ms=1 HTTP/1.1\r\n\r\n")
            got = [read_response(c)[0] for _ in range(3)]
            check(got == [200, 200, 200], "%s: pipelined %r" % (mode, got))
            rc, out, err = srv.stop()
            n = parse_counts(out)
            check(rc == 0 and n["served"] == 3002 and n["dropped"] == 0,
                  "%s: exit %d counts %r" % (mode, rc, n))
        finally:
            srv.kill()


def case_drain_deadline(exe, lg):
    srv = Server(exe, "--threads", "1", "--drain-timeout-ms", "200")
    try:
        c = srv.connect()
        c.sendall(b"GET /io?ms=6000 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: srv.stats()["inflight"] == 1, "the /io in flight")
        t = time.monotonic()
        srv.signal()
        rc, out, err = srv.wait(timeout=10)
        # 200 ms deadline; well before the 6 s request would end.
        check(time.monotonic() - t < 4.0, "drain deadline not kept")
        check(rc == 1, "exit %d (want 1: one dropped): %s" % (rc, out))
        check(parse_counts(out)["dropped"] == 1, "counts: %s" % out)
    finally:
        srv.kill()


def case_second_sigterm(exe, lg):
    srv = Server(exe, "--threads", "1", "--drain-timeout-ms", "20000")
    try:
        c = srv.connect()
        c.sendall(b"GET /io?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: srv.stats()["inflight"] == 1, "the /io in flight")
        srv.signal()
        # Draining: a new connection is refused (the listener is closed).
        def refused():
            try:
                srv.connect(timeout=1).close()
                return False
            except OSError:
                return True
        wait_for(refused, "the listener to close")
        t = time.monotonic()
        srv.signal()
        rc, out, err = srv.wait(timeout=5)
        # "At once": well before the in-flight 5 s request or the 20 s
        # drain deadline (sanitizer builds take a while to exit).
        check(time.monotonic() - t < 3.0, "second SIGTERM was not at once")
        check(rc == 2, "exit %d after a second SIGTERM" % rc)
    finally:
        srv.kill()


def case_shedding(exe, lg):
    """Capacity 1, queue bound 1: with one request running, one more is
    queued and the next two are answered 503 at once, on every backend
    (the pool's rule: accepted while running + queued < capacity + Q)."""
    for backend in ("pool", "glib", "mutex_cv"):
        srv = Server(exe, "--backend", backend, "--threads", "1",
                     "--queue", "1")
        try:
            first = srv.connect()
            first.sendall(b"GET /io?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: srv.stats()["running"] == 1,
                     "%s: the first request running" % backend)
            second = srv.connect()
            second.sendall(b"GET /io?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: srv.stats()["queued"] == 1,
                     "%s: the second request queued" % backend)
            st, _, body = srv.get("/healthz")
            check(st == 503 and body == b"saturated\n",
                  "%s: healthz at the bound %d %r" % (backend, st, body))
            for _ in range(2):
                st, _, body = srv.get("/work?us=1")
                check(st == 503 and body == b"overloaded\n",
                      "%s: over the bound answered %d" % (backend, st))
            # "At once": answered while the first request still runs and
            # the second still waits (an order, not a time: a shed that
            # waited for room would come after the first one's 1.5 s).
            st = srv.stats()
            check(st["running"] == 1 and st["queued"] == 1,
                  "%s: shedding was not at once (%r)" % (backend, st))
            for c, want in ((first, b"slept 1500 ms\n"),
                            (second, b"slept 1 ms\n")):
                st, _, body = read_response(c)
                check(st == 200 and body == want,
                      "%s: accepted request answered %d %r" %
                      (backend, st, body))
            rc, out, err = srv.stop()
            check(rc == 0, "%s: exit %d" % (backend, rc))
            n = parse_counts(out)
            check(n == {"served": 2, "shed": 2, "dropped": 0},
                  "%s: counts %r" % (backend, n))
        finally:
            srv.kill()


if __name__ == "__main__":
    main([("load_and_drain", case_load_and_drain),
          ("reply_paths", case_other_reply_path),
          ("drain_deadline", case_drain_deadline),
          ("second_sigterm", case_second_sigterm),
          ("shedding", case_shedding)])
