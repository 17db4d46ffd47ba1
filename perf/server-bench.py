#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""perf/server-bench.py - the `server` workload of perf/run (docs/perf.md).

  server-bench.py BUILD_DIR [--out FILE] [--plot PNG] [--rounds N]
                  [--point-ms MS] [--queue N]

The example server (docs/examples/server) on each backend (pool, glib,
mutex_cv), driven from a second process on loopback:
  1. saturation of the pool backend per mix with wrk (closed loop,
     --latency): median of 3 runs, measured right before that mix's points;
  2. for each mix, load (25/50/80/95/120 % of that saturation) and backend,
     a fixed-rate open-loop run of perf/loadgen.c (no coordinated omission),
     one server process per point; the 80 % and 120 % points are run
     --rounds times (default 3), the backends taking turns, and the run
     with the median p99 is kept;
  3. 120 % with a queue bound (--queue, default 32) per backend and mix:
     accepted requests' p99, the 503s, no request unanswered;
  4. the reply path of the pool backend at 80 %: --reply loop against
     --reply direct, --rounds runs each, interleaved;
  5. live capacity: /admin/capacity 2 -> 8 -> 2 ... every second under 80 %
     load (work mix), per backend.
Writes FILE (default BUILD_DIR/server.json: a JSON list, one object per
backend x mix x load), prints Markdown tables and the targets, and draws
p99 against offered load per backend with gnuplot (--plot). Exit 1 when a
run failed (a process did not start, a tool failed); missed targets are
reported, not an exit status. Every process is started and stopped here,
bounded in time; 127.0.0.1 only.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BACKENDS = ["pool", "glib", "mutex_cv"]
LOADS = [25, 50, 80, 95, 120]
# name: (loadgen --mix, wrk Lua body or None, server --threads)
MIXES = {
    "work": ("1:/work?us=50", None, 4),
    "mixed": ("9:/work?us=20,1:/io?ms=2",
              'request = function()\n'
              '  if math.random(10) == 10 then\n'
              '    return wrk.format("GET", "/io?ms=2")\n'
              '  end\n'
              '  return wrk.format("GET", "/work?us=20")\n'
              'end\n', 8),
}
CONNS = 64


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    def __init__(self, exe, backend, threads, *extra):
        self.p = subprocess.Popen(
            [exe, "--backend", backend, "--port", "0", "--threads",
             str(threads), "--max-threads", str(max(8, threads)), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.p.kill()
            raise RuntimeError("server did not start: %r %s" %
                               (line, self.p.stderr.read()))
        self.port = int(m.group(1))

    def stats(self, reset=False):
        """The server's /debug/stats as a dict (phase quantiles in us)."""
        url = "http://127.0.0.1:%d/debug/stats%s" % (
            self.port, "?reset=1" if reset else "")
        with urllib.request.urlopen(url, timeout=10) as r:
            out = {}
            for line in r.read().decode().splitlines():
                k, v = line.split(" ", 1)
                out[k] = v if k == "backend" else int(v)
            return out

    def stop(self):
        self.p.terminate()
        try:
            out, err = self.p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.communicate()
            raise RuntimeError("server did not drain within 15 s")
        m = re.search(r"served (\d+) shed (\d+) dropped (\d+)", out)
        if self.p.returncode != 0 or not m:
            raise RuntimeError("server exit %d: %s %s" %
                               (self.p.returncode, out, err))
        return int(m.group(3))


def loadgen(exe, port, rate, ms, mix, *extra):
    r = subprocess.run([exe, "--port", str(port), "--rate", str(int(rate)),
                        "--duration-ms", str(ms), "--conns", str(CONNS),
                        "--mix", mix, "--drain-ms", "5000", *extra],
                       capture_output=True, text=True, timeout=ms / 1000 + 30)
    if r.returncode != 0:
        raise RuntimeError("loadgen exit %d: %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


def wrk_rate(port, path, lua, secs):
    args = ["wrk", "-t1", "-c32", "-d%ds" % secs, "--latency"]
    tmp = None
    if lua:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        tmp.write(lua)
        tmp.close()
        args += ["-s", tmp.name]
    args.append("http://127.0.0.1:%d%s" % (port, path))
    try:
        r = subprocess.run(args, capture_output=True, text=True,
                           timeout=secs + 30)
    finally:
        if tmp:
            os.unlink(tmp.name)
    m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk failed: %s %s" % (r.stdout, r.stderr))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", r.stdout)
    errs = re.search(r"Socket errors:.*", r.stdout)
    if bad or errs:
        log("  wrk: %s %s" % (bad and bad.group(0), errs and errs.group(0)))
    return float(m.group(1))


def row(backend, mix, pct, res, extra=None):
    d = {"backend": backend, "mix": mix, "load_pct": pct,
         "offered_rps": res["offered_rps"],
         "achieved_rps": round(res["achieved_rps"], 1),
         "p50_us": res["p50_us"], "p99_us": res["p99_us"],
         "p999_us": res["p999_us"], "max_us": res["max_us"],
         "errors": res["errors"], "shed": res["shed"],
         "unanswered": res["unanswered"], "ok": res["ok"]}
    for k, v in res.items():
        if k.startswith("srv_"):
            d[k] = v
    if extra:
        d.update(extra)
    return d


def point(a, backend, mix, pct, rate, extra_server=(), extra_lg=(),
          ms=None):
    mixspec, _, threads = MIXES[mix]
    srv = Server(a.server, backend, threads, *extra_server)
    try:
        # Warm-up: threads spawned, caches and the TCP path hot.
        loadgen(a.loadgen, srv.port, max(rate // 4, 100), 300, mixspec)
        srv.stats(reset=True)
        res = loadgen(a.loadgen, srv.port, rate, ms or a.point_ms, mixspec,
                      *extra_lg)
        st = srv.stats()
        # Inside the server, per phase (perf profile of the time).
        for ph in ("queue", "run", "back", "total"):
            res["srv_%s_p99_us" % ph] = st["%s_p99_us" % ph]
    finally:
        dropped = srv.stop()
    res["dropped"] = dropped
    return res


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["p99_us"])
    return runs[len(runs) // 2]


def fmt_table(rows, keys):
    out = ["| " + " | ".join(keys) + " |",
           "|" + "---|" * len(keys)]
    for r in rows:
        out.append("| " + " | ".join(
            ("%.0f" % r[k]) if isinstance(r.get(k), float) else
            str(r.get(k, "")) for k in keys) + " |")
    return "\n".join(out)


def plot(rows, png, sat):
    gp = shutil.which("gnuplot")
    if not gp:
        log("--plot: gnuplot not found")
        return
    d = tempfile.mkdtemp()
    plots = []
    for mix in MIXES:
        parts = []
        for b in BACKENDS:
            dat = os.path.join(d, "%s-%s.dat" % (mix, b))
            with open(dat, "w") as f:
                for r in sorted(rows, key=lambda r: r["load_pct"]):
                    if (r["mix"] == mix and r["backend"] == b and
                            "queue_bound" not in r and "live" not in r and
                            "reply" not in r):
                        f.write("%d %g\n" % (r["load_pct"],
                                             max(r["p99_us"], 1) / 1000))
            parts.append("'%s' using 1:2 with linespoints lw 2 title '%s'" %
                         (dat, b))
        plots.append("set title 'p99 vs offered load: %s (100%% = %.0f "
                     "req/s)'\nplot %s\n" %
                     (mix, sat.get(mix, 0), ", ".join(parts)))
    script = ("set terminal png size 1100,450 noenhanced\n"
              "set output '%s'\nset multiplot layout 1,2\n"
              "set logscale y\nset grid\nset key top left\n"
              "set xrange [20:125]\nset xtics (25, 50, 80, 95, 120)\n"
              "set xlabel 'offered load, %% of the pool backend saturation'\n"
              "set ylabel 'p99 latency (ms, log)'\n%s"
              "unset multiplot\n" % (png, "".join(plots)))
    subprocess.run([gp], input=script.encode(), check=True)
    log("server-bench: wrote %s" % png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--out")
    ap.add_argument("--plot")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--point-ms", type=int, default=2000)
    ap.add_argument("--queue", type=int, default=32)
    a = ap.parse_args()
    a.server = os.path.join(a.build, "docs/examples/server/pool-server")
    a.loadgen = os.path.join(a.build, "docs/examples/server/pool-loadgen")
    a.out = a.out or os.path.join(a.build, "server.json")
    for exe in (a.server, a.loadgen):
        if not os.access(exe, os.X_OK):
            log("server-bench: %s not built" % exe)
            return 1
    if not shutil.which("wrk"):
        log("server-bench: wrk not installed")
        return 1
    t_start = time.monotonic()
    rows = []

    sat = {}

    def saturation(mix):
        """The pool backend's closed-loop rate (wrk), median of 3."""
        mixspec, lua, threads = MIXES[mix]
        srv = Server(a.server, "pool", threads)
        try:
            path = "/work?us=50" if mix == "work" else "/"
            wrk_rate(srv.port, path, lua, 1)  # warm-up
            rates = [wrk_rate(srv.port, path, lua, 2) for _ in range(3)]
        finally:
            srv.stop()
        sat[mix] = statistics.median(rates)
        log("server-bench: %s saturation (pool, wrk, median of 3): %.0f "
            "req/s %s" % (mix, sat[mix], [round(r) for r in rates]))

    def grid_point(mix, pct, label, server_extra=(), extra=None):
        """One load point for every backend; with rounds, the backends
        take turns (b1 b2 b3 b1 b2 b3 ...) so drift hits all alike."""
        rate = int(sat[mix] * pct / 100)
        n = a.rounds if pct in (80, 120) else 1
        runs = {b: [] for b in BACKENDS}
        for _ in range(n):
            for b in BACKENDS:
                runs[b].append(point(a, b, mix, pct, rate, server_extra))
        for b in BACKENDS:
            res = median_run(runs[b])
            ex = {"rounds": n, "dropped": res["dropped"]}
            if n > 1:
                ex["p99_us_runs"] = [r["p99_us"] for r in runs[b]]
            ex.update(extra or {})
            rows.append(row(b, mix, pct, res, ex))
            log("  %-6s %-8s %3d%%%s %6d rps: p50 %7.0f p99 %8.0f p99.9 "
                "%8.0f us, errors %d, 503 %d, unanswered %d, p99 runs %s" %
                (mix, b, pct, label, rate, res["p50_us"], res["p99_us"],
                 res["p999_us"], res["errors"], res["shed"],
                 res["unanswered"],
                 [round(r["p99_us"]) for r in runs[b]]))

    # Each mix's reference right before its points: the machine is shared
    # and what it has to spare drifts over minutes.
    for mix in MIXES:
        saturation(mix)
        for pct in LOADS:
            grid_point(mix, pct, "")
        grid_point(mix, 120, " bound %d" % a.queue,
                   ("--queue", str(a.queue)), {"queue_bound": a.queue})

    # How responses go back: the loop writes them (eventfd hand-off) or the
    # worker writes them itself and the loop only does the bookkeeping.
    reply = []
    for mix in MIXES:
        rate = int(sat[mix] * 0.8)
        runs = {"loop": [], "direct": []}
        for _ in range(a.rounds):
            for mode in runs:
                runs[mode].append(point(a, "pool", mix, 80, rate,
                                        ("--reply", mode)))
        for mode, rs in runs.items():
            res = median_run(rs)
            r = row("pool", mix, 80, res, {"reply": mode,
                                           "p99_us_runs": [x["p99_us"]
                                                           for x in rs],
                                           "dropped": res["dropped"]})
            reply.append(r)
            rows.append(r)
            log("  reply %-6s %-6s: p50 %7.0f p99 %8.0f us (runs %s)" %
                (mode, mix, res["p50_us"], res["p99_us"],
                 [round(x["p99_us"]) for x in rs]))

    live = []
    rate = int(sat["work"] * 0.8)
    for b in BACKENDS:
        mixspec, _, _ = MIXES["work"]
        srv = Server(a.server, b, 2, "--max-threads", "8")
        try:
            loadgen(a.loadgen, srv.port, rate // 4, 300, mixspec)
            res = loadgen(a.loadgen, srv.port, rate, 6000, mixspec,
                          "--admin", "8,2", "--admin-every-ms", "1000")
        finally:
            res["dropped"] = srv.stop()
        r = row(b, "work", 80, res, {"live": "2->8->2 every 1 s",
                                     "admin_ok": res["admin_ok"],
                                     "admin_errors": res["admin_errors"],
                                     "dropped": res["dropped"]})
        live.append(r)
        rows.append(r)
        log("  live capacity %-8s: p99 %8.0f us, errors %d, admin ok %d "
            "errors %d" % (b, res["p99_us"], res["errors"], res["admin_ok"],
                           res["admin_errors"]))

    with open(a.out, "w") as f:
        json.dump(rows, f, indent=1)
    log("server-bench: wrote %s (%.0f s)" % (a.out,
                                            time.monotonic() - t_start))

    keys = ["backend", "load_pct", "offered_rps", "achieved_rps", "p50_us",
            "p99_us", "p999_us", "max_us", "errors", "shed"]
    print("## server (saturation, pool backend, wrk: %s)\n" %
          ", ".join("%s %.0f req/s" % kv for kv in sat.items()))
    for mix in MIXES:
        print("### %s (%s)\n" % (mix, MIXES[mix][0]))
        print(fmt_table(sorted(
            [r for r in rows if r["mix"] == mix and "live" not in r and
             "queue_bound" not in r and "reply" not in r],
            key=lambda r: (r["load_pct"], BACKENDS.index(r["backend"]))),
            keys) + "\n")
        print("120%% with a queue bound of %d:\n" % a.queue)
        print(fmt_table([r for r in rows if r["mix"] == mix and
                         "queue_bound" in r],
                        keys + ["unanswered"]) + "\n")
    print("### reply path (pool backend, 80 %%, median of %d)\n" % a.rounds)
    print(fmt_table(reply, ["reply", "mix", "offered_rps", "p50_us",
                            "p99_us", "p999_us", "errors"]) + "\n")
    print("### live capacity (/admin/capacity 2->8->2 every second, 80 %, "
          "work)\n")
    print(fmt_table(live, keys + ["admin_ok", "admin_errors"]) + "\n")

    def get(b, mix, pct, bound=False):
        for r in rows:
            if (r["backend"] == b and r["mix"] == mix and
                    r["load_pct"] == pct and ("queue_bound" in r) == bound
                    and "live" not in r and "reply" not in r):
                return r
        return None

    print("### where the time goes at 80 % (p99 per phase inside the "
          "server, us)\n")
    print("queue = submitted on the loop -> started on a worker; run = the "
          "handler; back = handler done -> the loop has it; total = "
          "submitted -> the loop has the response; client = what the "
          "load generator saw (includes the kernel, the loop's own "
          "queueing and the generator).\n")
    prof = [dict(r, client_p99_us=r["p99_us"]) for r in rows
            if r["load_pct"] == 80 and "srv_total_p99_us" in r and
            "live" not in r and "queue_bound" not in r and "reply" not in r]
    print(fmt_table(prof, ["backend", "mix", "srv_queue_p99_us",
                           "srv_run_p99_us", "srv_back_p99_us",
                           "srv_total_p99_us", "client_p99_us"]) + "\n")
    print("### targets\n")
    for mix in MIXES:
        p, g, m = (get(b, mix, 80) for b in BACKENDS)
        print("- %s, 80 %%: pool p99 %.0f us = %.2fx glib (%.0f; target "
              "<= 0.7x: %s), %.2fx mutex_cv (%.0f; target <= 1x: %s)" %
              (mix, p["p99_us"], p["p99_us"] / g["p99_us"], g["p99_us"],
               "holds" if p["p99_us"] <= 0.7 * g["p99_us"] else "MISSED",
               p["p99_us"] / m["p99_us"], m["p99_us"],
               "holds" if p["p99_us"] <= m["p99_us"] else "MISSED"))
        q = get("pool", mix, 120, True)
        ok = (q["p99_us"] <= 2 * p["p99_us"] and q["shed"] > 0 and
              q["unanswered"] == 0 and q["errors"] == 0)
        print("- %s, 120 %% bound %d: pool accepted p99 %.0f us = %.2fx "
              "its 80 %% p99, 503s %d, unanswered %d, errors %d (target "
              "<= 2x, shed, none unanswered: %s)" %
              (mix, a.queue, q["p99_us"], q["p99_us"] / p["p99_us"],
               q["shed"], q["unanswered"], q["errors"],
               "holds" if ok else "MISSED"))
    for r in live:
        print("- live capacity %s: p99 %.0f us, errors %d, admin errors %d"
              " (target: no errors: %s)" %
              (r["backend"], r["p99_us"], r["errors"], r["admin_errors"],
               "holds" if not r["errors"] and not r["admin_errors"]
               else "MISSED"))
    print()
    if a.plot:
        plot(rows, a.plot, sat)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log("server-bench: %s" % e)
        sys.exit(1)
