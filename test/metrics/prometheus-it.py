#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test/metrics/prometheus-it.py - a real Prometheus scrapes a pool.

usage: prometheus-it.py SERVE_BIN
       prometheus-it.py --server SERVER_BIN LOADGEN_BIN

Starts SERVE_BIN (test/metrics/serve.c: an HTTP endpoint on 127.0.0.1
serving the exposition of a pool under load), or with --server the example
server (docs/examples/server, pool backend, /metrics) on an ephemeral
127.0.0.1 port driven by the project's load generator (perf/loadgen.c,
/work?us=20 at 300 requests/s, bounded in time), then a Prometheus server on 127.0.0.1 (an ephemeral port,
--storage.tsdb.path in a temporary directory, scrape and evaluation interval
1 s), and asks Prometheus' HTTP API that
  - the target is up (up == 1),
  - pool_tasks_completed_total increased between two scrapes,
  - histogram_quantile over the queue-wait histogram returns a number.
Bounded: 100 s in all. Exit 77 (meson: skipped) with the reason only when the
prometheus binary is not installed (test/deps.sh installs it).
"""
import json
import math
import os
import re
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DEADLINE = time.monotonic() + 100


def left():
    return DEADLINE - time.monotonic()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def query(base, q):
    """The instant vector of q, as [(labels, float)]."""
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    status, body = get(url)
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise RuntimeError("query %r: %s" % (q, body))
    res = doc["data"]
    if res["resultType"] == "scalar":
        return [({}, float(res["result"][1]))]
    return [(r["metric"], float(r["value"][1])) for r in res["result"]]


def wait_for(what, fn, logs):
    last = None
    while left() > 0:
        try:
            ok, last = fn()
            if ok:
                print("ok: %s (%s)" % (what, last))
                return last
        except Exception as e:  # not up yet, or a transient failure
            last = repr(e)
        time.sleep(0.5)
    print("FAILED: %s; last: %s" % (what, last))
    for path in logs:
        try:
            with open(path) as f:
                print("---- %s (tail)\n%s" % (path, f.read()[-3000:]))
        except OSError:
            pass
    sys.exit(1)


def start_serve(argv):
    """The scraped endpoint: (target host:port, [processes], stop())."""
    if argv[0] != "--server":
        serve = subprocess.Popen([argv[0], "95"], stdout=subprocess.PIPE)
        line = serve.stdout.readline().decode().strip()
        if not line.isdigit():
            serve.kill()
            raise RuntimeError("serve printed %r, not a port" % line)
        target = "127.0.0.1:" + line

        def stop():
            if serve.poll() is None:
                try:
                    get("http://%s/quit" % target, timeout=2)
                except Exception:
                    pass
                try:
                    serve.wait(10)
                except subprocess.TimeoutExpired:
                    serve.kill()
                    serve.wait()
            return serve.returncode
        return target, stop
    server_bin, loadgen_bin = argv[1], argv[2]
    srv = subprocess.Popen([server_bin, "--port", "0"],
                           stdout=subprocess.PIPE, text=True)
    line = srv.stdout.readline()  # printed once it listens
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not m:
        srv.kill()
        raise RuntimeError("server printed %r, not its address" % line)
    port = m.group(1)
    # Load for the whole test (bounded: it ends by itself after 90 s).
    lg = subprocess.Popen([loadgen_bin, "--port", port, "--rate", "300",
                           "--duration-ms", "90000", "--conns", "4",
                           "--mix", "1:/work?us=20"],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)

    def stop():
        if lg.poll() is None:
            lg.terminate()
            try:
                lg.wait(10)
            except subprocess.TimeoutExpired:
                lg.kill()
                lg.wait()
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)  # graceful drain
            try:
                srv.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.communicate()
        # 0: drained with nothing dropped (docs/examples/server).
        return srv.returncode
    return "127.0.0.1:" + port, stop


def main():
    argv = sys.argv[1:]
    if not argv or (argv[0] == "--server" and len(argv) != 3):
        print(__doc__)
        return 2
    prom = shutil.which("prometheus")
    if not prom:
        print("SKIP: prometheus not installed (Debian package prometheus; "
              "test/deps.sh installs it)")
        return 77
    tmp = tempfile.mkdtemp(prefix="pool-prom-it-")
    promp = stop = None
    try:
        try:
            target, stop = start_serve(argv)
        except RuntimeError as e:
            print("FAILED: %s" % e)
            return 1
        status, text = get("http://%s/metrics" % target)
        if status != 200 or "pool_tasks_completed_total{" not in text:
            print("FAILED: the endpoint does not serve the exposition")
            return 1
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "  evaluation_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: pool\n"
                    "    static_configs:\n      - targets: ['%s']\n"
                    % target)
        log = os.path.join(tmp, "prometheus.log")
        for attempt in range(3):
            port = free_port()
            base = "http://127.0.0.1:%d" % port
            with open(log, "w") as lf:
                promp = subprocess.Popen(
                    [prom, "--config.file=" + cfg,
                     "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                     "--web.listen-address=127.0.0.1:%d" % port,
                     "--log.level=warn"],
                    stdout=lf, stderr=subprocess.STDOUT)
            t = time.monotonic()
            while promp.poll() is None and time.monotonic() - t < 2:
                time.sleep(0.1)
            if promp.poll() is None:
                break  # still running: it has its port
        logs = [log]
        wait_for("prometheus ready",
                 lambda: (get(base + "/-/ready")[0] == 200, "ready"), logs)

        def up():
            r = query(base, 'up{job="pool"}')
            return bool(r) and r[0][1] == 1.0, r
        wait_for("target up", up, logs)

        def completed():
            r = query(base, 'pool_tasks_completed_total{job="pool"}')
            return bool(r), r[0][1] if r else None
        first = wait_for("pool_tasks_completed_total scraped", completed,
                         logs)

        def increased():
            r = query(base, 'pool_tasks_completed_total{job="pool"}')
            return bool(r) and r[0][1] > first, r[0][1] if r else None
        wait_for("pool_tasks_completed_total increased", increased, logs)

        def quantile():
            r = query(base, "histogram_quantile(0.9, sum by (le) "
                      "(rate(pool_queue_wait_seconds_bucket[5s])))")
            ok = bool(r) and not math.isnan(r[0][1]) and r[0][1] >= 0
            return ok, r[0][1] if r else None
        wait_for("histogram_quantile over the queue-wait histogram",
                 quantile, logs)
        return 0
    finally:
        if promp and promp.poll() is None:
            promp.terminate()
            try:
                promp.wait(10)
            except subprocess.TimeoutExpired:
                promp.kill()
        rc = stop() if stop else 0
        if rc not in (0, None):
            print("FAILED: the scraped endpoint exited %s" % rc)
            sys.exit(1)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
