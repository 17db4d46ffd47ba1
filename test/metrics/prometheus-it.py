#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test/metrics/prometheus-it.py SERVE_BIN - a real Prometheus scrapes a pool.

Starts SERVE_BIN (an HTTP endpoint on 127.0.0.1 serving the exposition of a
pool under load), then a Prometheus server on 127.0.0.1 (an ephemeral port,
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


def main():
    serve_bin = sys.argv[1]
    prom = shutil.which("prometheus")
    if not prom:
        print("SKIP: prometheus not installed (Debian package prometheus; "
              "test/deps.sh installs it)")
        return 77
    tmp = tempfile.mkdtemp(prefix="pool-prom-it-")
    serve = promp = target = None
    try:
        serve = subprocess.Popen([serve_bin, "95"], stdout=subprocess.PIPE)
        line = serve.stdout.readline().decode().strip()
        if not line.isdigit():
            print("FAILED: serve printed %r, not a port" % line)
            return 1
        target = "127.0.0.1:" + line
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
        if serve and target and serve.poll() is None:
            try:
                get("http://%s/quit" % target, timeout=2)
            except Exception:
                pass
            try:
                serve.wait(10)
            except subprocess.TimeoutExpired:
                serve.kill()
        if serve and serve.returncode not in (0, None):
            print("FAILED: serve exited %d" % serve.returncode)
            sys.exit(1)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
