#!/usr/bin/python3
"""Durable creates of several atoll-hub builds, interleaved (issue 14: did a
change make creates slower?).

    /usr/bin/python3 tests/bench/bench_create_cpu.py OLD_BIN_DIR NEW_BIN_DIR [...] [--rounds N]

For each build directory (one holding atoll-hub; bench_api is taken from
this tree's build/bin), a fresh hub in a temporary data dir on 127.0.0.1
(bench_api.py's Hub), one namespace, then 4,000 ConfigMap creates from 8
connections (bench_api.py's (c) body). Prints per build the median hub CPU
(user + system, /proc/PID/stat) per create and the median creates/s over
the rounds; builds run one after the other in every round, so a noisy
moment hits all of them. Bounded: 4,000 requests and 30 s per run."""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_api as B  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_BIN = os.path.abspath(os.path.join(HERE, "../../build/bin"))
N = 4000


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def one_run(bindir):
    tmp = tempfile.mkdtemp(prefix="atoll-bench-create-")
    hub = B.Hub(bindir, tmp, [])
    try:
        hub.must("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bc"}})
        c0 = cpu_seconds(hub.proc.pid)
        r = B.bench(BENCH_BIN, "req", hub.port, method="POST", path="/api/v1/namespaces/bc/configmaps",
                    body=B.CREATE_BODY % "c", requests=N, conns=8, seconds=30)
        return (cpu_seconds(hub.proc.pid) - c0) * 1000 / N, r["rps"]
    finally:
        hub.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bindirs", nargs="+")
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    res = {d: [] for d in a.bindirs}
    for _ in range(a.rounds):
        for d in a.bindirs:
            res[d].append(one_run(os.path.abspath(d)))
    print("%-40s %18s %12s" % ("build", "hub CPU/create", "creates/s"))
    for d in a.bindirs:
        print("%-40s %15.3f ms %12.0f" % (d, statistics.median(x[0] for x in res[d]),
                                          statistics.median(x[1] for x in res[d])))


if __name__ == "__main__":
    main()
