#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""perf/report.py - turn the google-benchmark JSON of perf/run into one
table per workload (implementation, figure, ratio to our pool), check the
targets of the issues, and write a Markdown summary (and optional
plots).

usage: report.py RESULTS.json [--go GO.json] [--go-missing WHY]
                 [--summary FILE.md] [--plot-dir DIR] [--hist FILE.json]
       report.py --consecutive RUN1.json RUN2.json ...

--go merges the Go peer's results (perf/go_chan, same JSON shape) of runs
made before the benchmark binary ran go_chan itself (perf/run now sets
POOL_PERF_GO and the rows are in RESULTS.json); when the file does not
exist, go_chan rows still missing are reported n/a (WHY).
--hist: the histograms the metrics_dist workload wrote ($POOL_PERF_HIST_OUT);
with --plot-dir, drawn as metrics_dist.png.
--consecutive: one table of every target across full runs, with each
run's figure and whether it held in all (the issues ask for three).
Exit status: 1 when a benchmark failed (an n/a peer is not a failure).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

POOL = "pool"
RAW = "spsc_ring"
GO = "go_chan"
# The workloads perf/go_chan runs.
GO_WORKLOADS = ["throughput", "throughput_shared", "two_producers", "batch",
                "producers_1", "producers_2", "producers_4", "capacity_1",
                "capacity_2", "capacity_8", "capacity_64", "wake_latency",
                "sleep"]
PRODUCERS = [1, 2, 4]
CAPACITIES = [1, 2, 8, 64]

# workload -> (title, [(counter, header, unit, higher_is_better)], note)
TASKS = [("items_per_second", "tasks/s", "M", True)]
WORKLOADS = {
    "throughput": ("one producer, empty tasks, capacity 2", TASKS),
    "throughput_shared": ("one producer, every task increments one shared "
                          "atomic counter, capacity 2", TASKS),
    "copy": ("pool_submit_copy of 64-byte payloads, one producer, "
             "capacity 2", TASKS),
    "throughput_bounded": ("throughput with a queue bound of 4096 (every "
                           "task counted), capacity 2", TASKS),
    "shed": ("capacity 2, workers busy: one pool_try_submit timed alone "
             "(reject: POOL_QUEUE_NONE; accept: no bound)", [
                 ("p50_ns", "p50 ns", "", False),
                 ("p99_ns", "p99 ns", "", False),
                 ("p999_ns", "p99.9 ns", "", False)]),
    "two_producers": ("two producers, empty tasks, capacity 2", TASKS),
    "batch": ("one producer, batches of 64 (peers: one by one)", TASKS),
    "wake_latency": ("idle pool, submit -> task start; CPU burnt idle", [
        ("p25_us", "p25 µs", "", False),
        ("p50_us", "p50 µs", "", False),
        ("p75_us", "p75 µs", "", False),
        ("p99_us", "p99 µs", "", False),
        ("p999_us", "p99.9 µs", "", False),
        ("fast_frac", "under 3 µs", "", True),
        ("preempt_frac", "preempting", "", True),
        ("worker_cpu_us", "worker CPU µs/wake", "", False),
        ("idle_cpu_ms", "idle CPU ms/s", "", False)]),
    "sleep": ("10 ms tasks, wall time / ideal (cold: start inside the "
              "window; warm: threads already made)", [
        ("ratio_to_ideal", "x ideal warm", "", False),
        ("cold_ratio_to_ideal", "x ideal cold", "", False),
        ("peak_rss_kb", "peak RSS KiB", "", False)]),
    "sleep_10k": ("1,000,000 x 10 ms tasks on 10,000 workers", [
        ("ratio_to_ideal", "x ideal", "", False),
        ("peak_rss_kb", "peak RSS KiB", "", False)]),
    "fork_join": ("fib(30), spawn above 15, wait inside tasks", [
        ("real_time", "ms per fib(30)", "", False)]),
    "tune_under_load": ("capacity 4, tune 1 <-> 4 every ms", TASKS),
    "memory": ("RSS per queued task / per idle worker", [
        ("bytes_per_queued_task", "B/queued task", "", False),
        ("bytes_per_idle_worker", "B/idle worker", "", False)]),
    "group": ("1,000,000 tiny tasks through one group of limit 2, "
              "capacity 2, then wait", TASKS),
    "sem": ("acquire/release pairs from 2 threads, weight 1 of 1000",
            TASKS),
    "sem_contended": ("acquire/release pairs from 2 threads on a "
                      "semaphore of weight 1", TASKS),
    "multipool": ("two producers, one pool of capacity 2 against "
                  "multi-pools of 2 x capacity 1", TASKS),
    "metrics_dist": ("mixed tasks, every task timed: the pool's own "
                     "histograms", [
                         ("qw_p50_us", "queue wait p50 µs", "", False),
                         ("qw_p99_us", "queue wait p99 µs", "", False),
                         ("run_p50_us", "run p50 µs", "", False),
                         ("run_p99_us", "run p99 µs", "", False)]),
}
WORKLOADS["wake_latency_noisy"] = (
    "wake_latency while perf/pool-noise keeps every CPU busy (futex "
    "ping-pong, thread churn)", WORKLOADS["wake_latency"][1])
for _n in PRODUCERS:
    WORKLOADS["producers_%d" % _n] = (
        "%d producer(s) share the tasks, capacity 2" % _n, TASKS)
for _n in CAPACITIES:
    WORKLOADS["capacity_%d" % _n] = ("one producer, capacity %d" % _n, TASKS)
ORDER = list(WORKLOADS)


def split_name(name):
    parts = name.split("/")
    return parts[0], parts[1] if len(parts) > 1 else "?"


def median_of(reps):
    """One row from the repetitions of one benchmark (perf/run
    --repetitions N): every numeric field is the median of its N values,
    and the row failed if any repetition failed (the first failure is
    kept). "repetitions" says how many runs the row stands for."""
    if len(reps) == 1:
        return reps[0]
    for b in reps:
        if b.get("error_occurred"):
            return dict(b, repetitions=len(reps))
    out = {}
    for b in reps:
        for k, v in b.items():
            out.setdefault(k, v)

    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    for k, v in list(out.items()):
        if not num(v):
            continue
        # The median over the runs that have the field.
        vals = sorted(b[k] for b in reps if num(b.get(k)))
        n = len(vals)
        out[k] = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    out["repetitions"] = len(reps)
    return out


def load(path, runs=None):
    with open(path) as f:
        doc = json.load(f)
    runs = {} if runs is None else runs
    # go_chan writes "benchmarks": null when --filter matched none of its rows.
    # With --benchmark_repetitions a name has one iteration run per
    # repetition (and aggregate rows, which are not read: the median is
    # taken here for every field, labels and errors included).
    reps = {}
    for b in doc.get("benchmarks") or []:
        if b.get("run_type", "iteration") != "iteration":
            continue
        reps.setdefault(b.get("run_name", b["name"]), []).append(b)
    for name, bs in reps.items():
        w, impl = split_name(name)
        runs.setdefault(w, {})[impl] = median_of(bs)
    return doc.get("context", {}), runs


def value(b, counter):
    if b is None or b.get("error_occurred"):
        return None
    v = b.get(counter)
    if v is None:
        return None
    if counter == "real_time":
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
        v = v * scale.get(b.get("time_unit", "ns"), 1.0)
    return float(v)


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "M":
        return "%.2f M" % (v / 1e6)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def status(b):
    if b is None:
        return "not run"
    if b.get("error_occurred"):
        msg = b.get("error_message", "")
        return msg if msg.startswith("n/a") else "ERROR: " + msg
    return b.get("label", "")


def table(w, impls):
    title, figs = WORKLOADS.get(w, (w, TASKS))
    pool = impls.get(POOL)
    head = ["implementation"]
    for c, h, u, hi in figs:
        head += [h, "vs pool"]
    head.append("note")
    rows = []
    for name, b in impls.items():
        row = [name]
        for c, h, u, hi in figs:
            v, p = value(b, c), value(pool, c)
            row.append(fmt(v, u))
            row.append("%.2fx" % (v / p) if v is not None and p else "")
        row.append(status(b))
        rows.append(row)
    arrow = ", ".join("%s: %s" % (h, "higher is better" if hi else
                                  "lower is better")
                      for c, h, u, hi in figs)
    out = ["### %s — %s" % (w, title), "",
           "(%s; vs pool = figure / pool's figure)" % arrow, "",
           "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


# OpenMP's producers are team threads that run tasks inline once libgomp
# throttles task creation: not a hand-off from an outside producer.
INLINE = "openmp"
# Ratios within this band of 1.0 are noise, not a loss.
TOLERANCE = 0.03


def peers(impls, counter, exclude=(POOL, RAW, INLINE)):
    """Other libraries: not our pool in any configuration (pool_metrics*)."""
    return {n: value(b, counter) for n, b in impls.items()
            if n not in exclude and not n.startswith(POOL + "_")
            and value(b, counter) is not None}


def targets(runs):
    """Issue 3's targets: a list of (ok or None, text)."""
    res = []

    def get(w, impl, c):
        return value(runs.get(w, {}).get(impl), c)

    ips = "items_per_second"
    p = get("throughput", POOL, ips)
    if p:
        best = peers(runs["throughput"], ips)
        if best:
            n, v = max(best.items(), key=lambda kv: kv[1])
            res.append((p >= 1.5 * v, "throughput >= 1.5x best hand-off "
                        "peer (%s): %.2fx" % (n, p / v)))
        raw = get("throughput", RAW, ips)
        if raw:
            res.append((p >= 0.4 * raw, "throughput >= 40%% of raw ring: "
                        "%.0f%%" % (100 * p / raw)))
    for w in ("two_producers", "batch"):
        p = get(w, POOL, ips)
        best = peers(runs.get(w, {}), ips)
        if p and best:
            n, v = max(best.items(), key=lambda kv: kv[1])
            res.append((p > v, "%s ahead of every hand-off peer (best "
                        "%s): %.2fx" % (w, n, p / v)))
    p50 = get("wake_latency", POOL, "p50_us")
    p99 = get("wake_latency", POOL, "p99_us")
    if p50 is not None:
        res.append((p50 <= 5, "wake_latency p50 <= 5 µs: %.1f µs" % p50))
    if p99 is not None:
        res.append((p99 <= 50, "wake_latency p99 <= 50 µs: %.1f µs" % p99))
    # Issue 15: wake-ups against mutex+condvar, quiet and noisy.
    for w in ("wake_latency", "wake_latency_noisy"):
        for c, lim in (("p50_us", 0.8), ("p75_us", 1.0), ("p99_us", 1.0)):
            p, b = get(w, POOL, c), get(w, "mutex_cv", c)
            if p is not None and b:
                res.append((p <= lim * b, "%s %s <= %.1fx mutex_cv: %.2fx" %
                            (w, c[:-3], lim, p / b)))
    for w, lim in (("sleep_10k", 2.0),):
        r = get(w, POOL, "ratio_to_ideal")
        if r is not None:
            res.append((r <= lim, "%s <= %.1fx ideal: %.2fx" % (w, lim, r)))
    # Issue 11: the cost of the metrics, against the engine alone.
    for w in ("throughput", "two_producers"):
        p = get(w, POOL, ips)
        for impl, lim in (("pool_metrics", 0.95), ("pool_metrics_all", 0.7)):
            v = get(w, impl, ips)
            if p and v:
                res.append((v >= lim * p, "%s: %s >= %.2fx pool: %.2fx" %
                            (w, impl, lim, v / p)))
    losses = []
    for w, impls in runs.items():
        figs = WORKLOADS.get(w, (w, TASKS))[1]
        for c, h, u, hi in figs:
            if c in ("peak_rss_kb",):
                continue
            p, b = value(impls.get(POOL), c), value(impls.get("mutex_cv"), c)
            if p is None or b is None:
                continue
            if (hi and p < b * (1 - TOLERANCE)) or \
                    (not hi and p > b * (1 + TOLERANCE)):
                losses.append("%s %s (%s vs %s)" % (w, h, fmt(p, u), fmt(b, u)))
    res.append((not losses, "never behind the mutex+condvar baseline "
                "(3% noise band)" +
                (": behind on " + "; ".join(losses) if losses else "")))
    return res


def targets10(runs):
    """Issue 10's targets: a list of (ok or None, text)."""
    res = []
    ips = "items_per_second"

    def get(w, impl):
        return value(runs.get(w, {}).get(impl), ips)

    def ratio(w, peer, want, what=None):
        p, v = get(w, POOL), get(w, peer)
        text = "%s >= %.1fx %s" % (w, want, what or peer)
        if p is None or v is None:
            res.append((None, text + ": n/a (%s)" % (
                "pool" if p is None else peer)))
            return
        res.append((p >= want * v, text + ": %.2fx" % (p / v)))

    for w in ("throughput", "throughput_shared"):
        ratio(w, GO, 1.5)
        ratio(w, "mutex_cv", 2.0)
    ratio("throughput", RAW, 0.5, "the rebuilt spsc_ring")
    ratio("two_producers", "mutex_cv", 1.5)
    ratio("two_producers", GO, 1.5)
    ratio("batch", RAW, 0.7, "spsc_ring's batch")
    p, one = get("multipool", "multi_rr"), get("multipool", POOL)
    if p and one:
        res.append((p >= one, "multipool round-robin >= 1.0x one pool: "
                    "%.2fx" % (p / one)))
    p = get("multipool", "multi_lt")
    if p and one:
        res.append((p >= 0.8 * one, "multipool least-tasks >= 0.8x one "
                    "pool: %.2fx" % (p / one)))
    c, t = get("copy", POOL), get("throughput", POOL)
    if c and t:
        res.append((c >= 0.6 * t, "copy/pool >= 0.6x throughput/pool: "
                    "%.2fx" % (c / t)))
    b = get("throughput_bounded", POOL)
    if b and t:
        res.append(("info", "cost of a queue bound: throughput_bounded/pool "
                    "= %.2fx throughput/pool (no target)" % (b / t)))
    shed = runs.get("shed", {})
    rej = value(shed.get("pool_reject"), "p50_ns")
    acc = value(shed.get("pool_accept"), "p50_ns")
    if rej is not None:
        res.append((rej < 1000 and (acc is None or rej <= acc * 1.03),
                    "zero-queue rejection p50 < 1 µs and not slower than an "
                    "accept: %.0f ns (accept %s ns)" % (
                        rej, "%.0f" % acc if acc is not None else "n/a")))
    return res


def targets13(runs):
    """Issue 13's targets: a list of (ok or None, text)."""
    res = []
    ips = "items_per_second"

    def get(w, impl, c=ips):
        return value(runs.get(w, {}).get(impl), c)

    fj, tbb = get("fork_join", POOL, "real_time"), get("fork_join", "tbb",
                                                       "real_time")
    if fj and tbb:
        res.append((fj <= tbb, "fork_join <= 1.0x oneTBB task_group's "
                    "time: %.2fx" % (fj / tbb)))
    g, t = get("group", POOL), get("throughput", POOL)
    if g and t:
        res.append((g >= 0.8 * t, "group/pool >= 0.8x throughput/pool: "
                    "%.2fx" % (g / t)))
    for w in ("sem", "sem_contended"):
        p, b = get(w, POOL), get(w, "mutex_cv")
        if p and b:
            res.append((p > b, "%s/pool ahead of %s/mutex_cv: %.2fx" %
                        (w, w, p / b)))
    return res


def targets15(runs):
    """Issue 15's targets beyond the wake-ups: a list of (ok, text)."""
    res = []

    def get(w, impl, c):
        return value(runs.get(w, {}).get(impl), c)

    # sleep: within 3% of the ideal and never behind mutex_cv, in the warm
    # window (every implementation's threads made) and the cold one (each
    # one's start call inside the window).
    for c, h in (("ratio_to_ideal", "warm"), ("cold_ratio_to_ideal", "cold")):
        r, m = get("sleep", POOL, c), get("sleep", "mutex_cv", c)
        if r is not None:
            res.append((r <= 1.03, "sleep %s <= 1.03x ideal: %.3fx" %
                        (h, r)))
        if r is not None and m is not None:
            res.append((r <= m, "sleep %s never behind mutex_cv: %.3fx vs "
                        "%.3fx" % (h, r, m)))
    for w, c, what in (("sleep_10k", "peak_rss_kb", "peak RSS"),
                       ("memory", "bytes_per_idle_worker",
                        "bytes per idle worker")):
        p, b = get(w, POOL, c), get(w, "mutex_cv", c)
        if p is not None and b:
            res.append((p <= b, "%s %s <= mutex_cv's: %.2fx (%.0f vs "
                        "%.0f)" % (w, what, p / b, p, b)))
    return res


SECTIONS = [("issues 3, 11 and 15", targets), ("issue 10", targets10),
            ("issue 13", targets13), ("issue 15", targets15)]
MARK = {True: "met", False: "MISSED", None: "n/a", "info": "info"}


def consecutive(paths):
    """Every target across runs: the ratio in each and whether it held in
    all of them (the issues ask for three consecutive full runs)."""
    rows = {}
    order = []
    for k, path in enumerate(paths):
        _, runs = load(path)
        go = os.path.join(os.path.dirname(path), "go_" +
                          os.path.basename(path))
        if os.path.exists(go):
            load(go, runs)
        for sec, fn in SECTIONS:
            for ok, text in fn(runs):
                key, _, fig = text.rpartition(": ")
                key = "%s | %s" % (sec, key)
                if key not in rows:
                    rows[key] = [None] * len(paths)
                    order.append(key)
                rows[key][k] = (ok, fig)
    out = ["| issue | target | " + " | ".join(
        "run %d" % (k + 1) for k in range(len(paths))) + " | held |",
        "|---|---|" + "---|" * (len(paths) + 1)]
    for key in order:
        cells = rows[key]
        held = all(c is not None and c[0] is True for c in cells)
        info = all(c is None or c[0] in ("info", None) for c in cells)
        out.append("| %s | %s | %s |" % (key, " | ".join(
            "n/a" if c is None else "%s (%s)" % (c[1], MARK[c[0]])
            for c in cells), "-" if info else
            "yes" if held else "no"))
    return "\n".join(out) + "\n"


def plot_sweeps(runs, outdir, gp):
    """Line charts: throughput against producers and against capacity."""
    made = []
    for key, xs, xlabel in (("producers", PRODUCERS, "producers"),
                            ("capacity", CAPACITIES, "capacity (workers)")):
        names = []
        for x in xs:
            for n in runs.get("%s_%d" % (key, x), {}):
                if n not in names:
                    names.append(n)
        dat = os.path.join(outdir, "throughput_vs_%s.dat" % key)
        cols = []
        with open(dat, "w") as f:
            f.write("x " + " ".join('"%s"' % n for n in names) + "\n")
            for x in xs:
                row = [str(x)]
                for n in names:
                    v = value(runs.get("%s_%d" % (key, x), {}).get(n), ips_key)
                    row.append("%g" % (v * 1e-6) if v is not None else "NaN")
                f.write(" ".join(row) + "\n")
        for i, n in enumerate(names):
            v = [value(runs.get("%s_%d" % (key, x), {}).get(n), ips_key)
                 for x in xs]
            if any(a is not None for a in v):
                cols.append("'%s' using 1:%d with linespoints title '%s'" % (
                    dat, i + 2, n))
        if not cols:
            continue
        png = os.path.join(outdir, "throughput_vs_%s.png" % key)
        script = ("set terminal png size 800,450 noenhanced\n"
                  "set output '%s'\nset key outside right\n"
                  "set logscale x 2\nset xrange [0.8:%g]\nset xtics (%s)\n"
                  "set xlabel '%s'\nset ylabel 'M tasks/s'\n"
                  "set title 'throughput vs %s'\nset grid\n"
                  "set datafile missing 'NaN'\n"
                  "plot %s\n" % (png, xs[-1] * 1.25,
                                 ", ".join(str(x) for x in xs), xlabel,
                                 key, ", ".join(cols)))
        subprocess.run([gp], input=script.encode(), check=True)
        made.append(png)
    return made


ips_key = "items_per_second"


def plot(runs, outdir):
    gp = shutil.which("gnuplot")
    if not gp:
        print("--plot: gnuplot not found", file=sys.stderr)
        return []
    os.makedirs(outdir, exist_ok=True)
    made = []
    charts = [("throughput", "items_per_second", 1e-6, "M tasks/s"),
              ("wake_latency", None, 1, "µs (log)")]
    for w, c, scale, ylabel in charts:
        impls = runs.get(w, {})
        if not impls:
            continue  # not run (perf/run --filter)
        dat = os.path.join(outdir, w + ".dat")
        with open(dat, "w") as f:
            for n, b in impls.items():
                if c:
                    v = value(b, c)
                    if v is not None:
                        f.write('"%s" %g\n' % (n, v * scale))
                else:
                    vs = [value(b, k) for k in ("p50_us", "p99_us",
                                                "p999_us")]
                    if None not in vs:
                        f.write('"%s" %g %g %g\n' % (n, *vs))
        png = os.path.join(outdir, w + ".png")
        if c:
            using = "using 2:xtic(1) notitle"
        else:
            using = ("using 2:xtic(1) title 'p50', '' using 3 title 'p99', "
                     "'' using 4 title 'p99.9'")
        script = ("set terminal png size 800,450 noenhanced\n"
                  "set output '%s'\nset key top left\n"
                  "set style data histograms\nset style fill solid 0.8\n"
                  "set ylabel '%s'\nset title '%s'\nset grid ytics\n"
                  "%s"
                  "plot '%s' %s\n" % (png, ylabel, w,
                                      "" if c else "set logscale y\n",
                                      dat, using))
        subprocess.run([gp], input=script.encode(), check=True)
        made.append(png)
    return made + plot_sweeps(runs, outdir, gp)


def plot_hist(path, outdir):
    """The queue-wait and run-time distributions metrics_dist recorded."""
    gp = shutil.which("gnuplot")
    if not gp or not os.path.exists(path):
        print("--plot: no gnuplot or no %s" % path, file=sys.stderr)
        return []
    with open(path) as f:
        doc = json.load(f)
    os.makedirs(outdir, exist_ok=True)
    dat = os.path.join(outdir, "metrics_dist.dat")
    cols = []
    for name in ("queue_wait", "run"):
        h = doc[name]
        total = float(sum(h["count"]) + h["overflow"]) or 1.0
        cols.append([(u / 1e3, c / total)
                     for u, c in zip(h["upper_ns"], h["count"])])
    with open(dat, "w") as f:
        for col in cols:
            nz = [k for k, (x, y) in enumerate(col) if y > 0] or [0]
            for x, y in col[max(nz[0] - 1, 0):nz[-1] + 2]:
                # Log scale: an empty bucket is drawn at the floor.
                f.write("%g %g\n" % (x, max(y, 1e-6)))
            f.write("\n\n")
    png = os.path.join(outdir, "metrics_dist.png")
    script = ("set terminal png size 800,450 noenhanced\n"
              "set output '%s'\nset logscale xy\nset grid\n"
              "set yrange [1e-5:1]\nset format y '%%.0e'\n"
              "set xlabel 'µs (bucket upper bound, log)'\n"
              "set ylabel 'fraction of tasks per bucket (log)'\n"
              "set title \"metrics_dist: the pool's own histograms "
              "(8 buckets per power of two)\"\n"
              "plot '%s' index 0 with steps lw 2 title 'queue wait', "
              "'' index 1 with steps lw 2 title 'run time'\n" % (png, dat))
    subprocess.run([gp], input=script.encode(), check=True)
    return [png]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?")
    ap.add_argument("--consecutive", nargs="+", metavar="RUN.json",
                    help="print every target across these runs (each "
                    "run's Go results, if any, in go_RUN.json beside it)")
    ap.add_argument("--summary")
    ap.add_argument("--plot-dir")
    ap.add_argument("--hist")
    ap.add_argument("--go")
    ap.add_argument("--go-missing", default="n/a: Go results missing")
    a = ap.parse_args()
    if a.consecutive:
        sys.stdout.write(consecutive(a.consecutive))
        return 0
    if not a.results:
        ap.error("RESULTS.json is required")
    ctx, runs = load(a.results)
    if a.go:
        if os.path.exists(a.go):
            load(a.go, runs)
        else:
            for w in GO_WORKLOADS:
                if w in runs and GO not in runs[w]:
                    runs[w][GO] = {"name": w + "/" + GO,
                                   "error_occurred": True,
                                   "error_message": a.go_missing}
    parts = ["## pool perf — %s setting, %s" % (
        ctx.get("pool_perf_setting", "?"), ctx.get("date", "?")), "",
        "Host `%s`, %s CPUs at %s MHz, load average %s." % (
            ctx.get("host_name", "?"), ctx.get("num_cpus", "?"),
            ctx.get("mhz_per_cpu", "?"),
            ", ".join("%.2f" % x for x in ctx.get("load_avg", []))), ""]
    nrep = max((b.get("repetitions", 1) for impls in runs.values()
                for b in impls.values()), default=1)
    if nrep > 1:
        parts[-1:] = ["Every figure is the median of %d runs of its "
                      "benchmark, the runs of all benchmarks shuffled "
                      "together (perf/run --repetitions %d)." % (nrep, nrep),
                      ""]
    for w in ORDER + sorted(set(runs) - set(ORDER)):
        if w in runs:
            parts.append(table(w, runs[w]))
    for sec, fn in SECTIONS:
        checks = fn(runs)
        if not checks:
            continue
        parts.append("### targets (%s)\n" % sec)
        if fn is targets:
            parts.append("Hand-off peers: every peer but spsc_ring (the "
                         "physical limit) and openmp (tasks run inline on "
                         "the producing team threads).\n")
        for ok, text in checks:
            parts.append("- %s %s" % (MARK[ok], text))
        parts.append("")
    if a.plot_dir:
        pngs = plot(runs, a.plot_dir)
        if a.hist:
            pngs += plot_hist(a.hist, a.plot_dir)
        for png in pngs:
            parts.append("![%s](%s)" % (os.path.basename(png), png))
    text = "\n".join(parts) + "\n"
    sys.stdout.write(text)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(text)
    failed = [b["name"] for impls in runs.values() for b in impls.values()
              if b.get("error_occurred")
              and not b.get("error_message", "").startswith("n/a")]
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
