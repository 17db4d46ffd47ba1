#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# perf/report.py with repetitions (perf/run --repetitions N): a row is the
# median of its runs, field by field; a row with one failed run fails; the
# aggregate rows google-benchmark adds are not read; one run stays as is.
import json
import os
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
import report  # noqa: E402


def it(name, ips, rt, extra=None):
    b = {"name": name + "/iterations:3/real_time",
         "run_name": name + "/iterations:3/real_time",
         "run_type": "iteration", "items_per_second": ips,
         "real_time": rt, "time_unit": "ms", "label": "x"}
    b.update(extra or {})
    return b


def agg(name, kind, ips):
    return {"name": name + "/iterations:3/real_time_" + kind,
            "run_name": name + "/iterations:3/real_time",
            "run_type": "aggregate", "aggregate_name": kind,
            "items_per_second": ips}


doc = {"context": {}, "benchmarks": [
    it("throughput/pool", 9.0, 3.0), it("throughput/pool", 1.0, 1.0),
    it("throughput/pool", 5.0, 2.0), agg("throughput/pool", "mean", 99.0),
    agg("throughput/pool", "median", 98.0),
    it("throughput/pool_metrics", 4.0, 1.0),
    it("throughput/pool_metrics", 6.0, 2.0, {"p50_us": 3.0}),
    it("throughput/mutex_cv", 2.0, 1.0),
    it("throughput/mutex_cv", 3.0, 1.0,
       {"error_occurred": True, "error_message": "submit failed"}),
    it("throughput/mutex_cv", 4.0, 1.0),
    it("two_producers/pool", 7.0, 4.0),
]}
fails = []


def check(what, got, want):
    if got != want:
        fails.append("%s: got %r, want %r" % (what, got, want))


with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "r.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    _, runs = report.load(path)
p = runs["throughput"]["pool"]
check("odd count: median ips", p["items_per_second"], 5.0)
check("odd count: median real_time", p["real_time"], 2.0)
check("odd count: repetitions", p["repetitions"], 3)
check("label kept", p["label"], "x")
m = runs["throughput"]["pool_metrics"]
check("even count: mean of the middle two", m["items_per_second"], 5.0)
check("a counter only one run has", m["p50_us"], 3.0)
c = runs["throughput"]["mutex_cv"]
check("a failed run fails the row", c.get("error_occurred"), True)
check("the failure's message", c.get("error_message"), "submit failed")
t = runs["two_producers"]["pool"]
check("one run as is", t["items_per_second"], 7.0)
check("one run: no repetitions field", "repetitions" in t, False)
for f in fails:
    print("FAIL " + f)
print("%d checks failed" % len(fails) if fails else "all checks passed")
sys.exit(1 if fails else 0)
