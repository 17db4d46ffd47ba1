#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test/server/bad_input.py - bad clients against the example server.

  bad_input.py SERVER LOADGEN

Malformed requests (400), oversized heads (431), a slow client sending one
byte a second (408 and closed at the read timeout, while other clients are
served meanwhile: the loop does not stall), and clients that disconnect
mid-request or mid-response (FIN and RST). Afterwards the server holds
exactly the file descriptors it held before, every task it submitted to the
pool has completed (pool counters: submitted == completed, none queued or
running), no request is in flight, and SIGTERM exits 0 with nothing dropped.
"""
import socket
import struct
import time

from serverlib import (Server, check, is_closed, main, parse_counts,
                       read_response, wait_for)

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /work?us=1\r\n\r\n",
    b"GET /work?us=1 HTTP/2.0\r\n\r\n",
    b"GET work HTTP/1.1\r\n\r\n",
    b"G(T / HTTP/1.1\r\n\r\n",
    b"GET /work?us=1 HTTP/1.1\n\n",
    b"GET /work?us=1 HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET /work?us=1 HTTP/1.1\r\n: empty name\r\n\r\n",
    b"GET /work?us=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    b"GET /work?us=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"\x00\x01\x02\xff\xfe\r\n\r\n",
    b"GET /w\x01rk HTTP/1.1\r\n\r\n",
]
BAD_QUERY = [
    b"GET /work?us=abc HTTP/1.1\r\n\r\n",
    b"GET /work HTTP/1.1\r\n\r\n",
    b"GET /work?us=99999999999 HTTP/1.1\r\n\r\n",
    b"GET /io?ms=-1 HTTP/1.1\r\n\r\n",
    b"GET /admin/capacity?n=0 HTTP/1.1\r\n\r\n",
]


def rst_close(s):
    # SO_LINGER 0: close sends RST, as a crashing client does.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def quiet(srv, base_fds):
    """The state the server must return to: nothing leaked."""
    def settled():
        s = srv.stats()
        ok = (s["inflight"] == 0 and s["conns"] == 1 and
              s["submitted"] == s["completed"] and s["queued"] == 0 and
              s["running"] == 0 and srv.fds() == base_fds)
        return ok and s
    return wait_for(settled, "no leaked fd, task or connection", 10)


def case_bad_input(exe, lg):
    srv = Server(exe, "--threads", "2", "--read-timeout-ms", "1000")
    try:
        base_fds = srv.fds()
        base = srv.stats()
        check(base["fds"] >= 1, "stats: %r" % base)

        for req in MALFORMED:
            s = srv.connect()
            s.sendall(req)
            st, h, _ = read_response(s)
            check(st == 400 and h.get("connection") == "close",
                  "%r answered %d %r" % (req, st, h))
            closed, extra = is_closed(s, 5)
            check(closed and not extra, "%r: not closed after 400" % req)
            s.close()
        for req in BAD_QUERY:
            s = srv.connect()
            s.sendall(req)
            st, _, _ = read_response(s)
            check(st == 400, "%r answered %d" % (req, st))
            # Keep-alive survives a bad query: the next request works.
            s.sendall(b"GET /work?us=1 HTTP/1.1\r\n\r\n")
            st, _, _ = read_response(s)
            check(st == 200, "after %r: %d" % (req, st))
            s.close()
        s = srv.connect()
        s.sendall(b"POST /work?us=1 HTTP/1.1\r\n\r\n")
        check(read_response(s)[0] == 405, "POST not 405")
        s.sendall(b"GET /nowhere HTTP/1.1\r\n\r\n")
        check(read_response(s)[0] == 404, "unknown path not 404")
        s.close()

        # Oversized heads: one huge header; too many headers.
        for req in (b"GET /work?us=1 HTTP/1.1\r\nX-Big: " + b"a" * 9000 +
                    b"\r\n\r\n",
                    b"GET /work?us=1 HTTP/1.1\r\n" + b"X: y\r\n" * 100 +
                    b"\r\n"):
            s = srv.connect()
            try:
                s.sendall(req)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before the rest
            st, h, _ = read_response(s)
            check(st == 431, "oversized head answered %d" % st)
            s.close()

        # Pipelined requests are answered in order on one connection.
        s = srv.connect()
        s.sendall(b"GET /work?us=1 HTTP/1.1\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\n\r\n"
                  b"GET /io?ms=1 HTTP/1.1\r\n\r\n")
        got = [read_response(s) for _ in range(3)]
        check([g[0] for g in got] == [200, 200, 200] and
              got[1][2] == b"ok\n" and got[2][2] == b"slept 1 ms\n",
              "pipelined answers %r" % got)
        s.close()

        # More pipelined answers than the server buffers before it stops
        # parsing (64 KiB): all come. A server that stopped reading and
        # never resumed would leave read_response waiting for its socket
        # timeout (an exception) or close the connection (fewer than 300):
        # a count, not a time, so a slow sanitizer build does not fail it.
        s = srv.connect()
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n" * 300)
        got = sum(read_response(s)[0] == 200 for _ in range(300))
        check(got == 300, "pipelined /metrics: %d of 300" % got)
        s.close()

        # A slow client: one byte a second. Meanwhile others are served
        # at once; it gets 408 and is closed at the 1 s read timeout.
        slow = srv.connect()
        t0 = time.monotonic()
        msg = b"GET /work?us=1 HTTP/1.1\r\nHost: slow\r\n\r\n"
        closed_at = None
        for i, b in enumerate(msg):
            try:
                slow.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            t = time.monotonic()
            st, _, _ = srv.get("/work?us=10", timeout=2)
            check(st == 200 and time.monotonic() - t < 1.0,
                  "loop stalled by a slow client")
            closed, data = is_closed(slow, 1.0)
            if closed:
                closed_at = time.monotonic()
                check(data.startswith(b"HTTP/1.1 408"),
                      "slow client got %r" % data[:40])
                break
            if time.monotonic() - t0 > 6:
                break
        check(closed_at is not None and closed_at - t0 < 3.5,
              "slow client not closed by its read timeout")
        slow.close()

        # Disconnects: mid-request (half a head), right after sending
        # (FIN and RST) while the handler runs, and with many pipelined
        # requests pending.
        for i in range(20):
            s = srv.connect()
            s.sendall(b"GET /work?us=1 HTTP/1.1\r\nHo")
            (rst_close if i % 2 else socket.socket.close)(s)
        for i in range(20):
            s = srv.connect()
            s.sendall(b"GET /io?ms=50 HTTP/1.1\r\n\r\n" if i % 2 else
                      b"GET /work?us=2000 HTTP/1.1\r\n\r\n")
            (rst_close if i % 4 < 2 else socket.socket.close)(s)
        for i in range(10):
            s = srv.connect()
            s.sendall(b"GET /work?us=200 HTTP/1.1\r\n\r\n" * 50)
            rst_close(s)
        st = quiet(srv, base_fds)
        check(st["submitted"] > base["submitted"], "nothing ran? %r" % st)

        rc, out, err = srv.stop()
        check(rc == 0, "exit %d: %s %s" % (rc, out, err))
        check(parse_counts(out)["dropped"] == 0, "dropped: %s" % out)
    finally:
        srv.kill()


if __name__ == "__main__":
    main([("bad_input", case_bad_input)])
