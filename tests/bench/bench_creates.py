#!/usr/bin/python3
"""Durable creates/s only: bench_api.py's (c) figure (6,000 ConfigMap creates
from 8 connections, then 1,000 from 1) on a fresh hub of the given build,
so two trees can be compared (e.g. one built in a `git worktree` under /tmp).

    /usr/bin/python3 tests/bench/bench_creates.py --bin build/bin [--bench-bin OTHER/build/bin]
"""
import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_api import CREATE_BODY, Hub, bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with atoll-hub (and bench_api unless --bench-bin)")
    ap.add_argument("--bench-bin", help="folder with bench_api (default: --bin)")
    a = ap.parse_args()
    d = tempfile.mkdtemp()
    h = Hub(os.path.abspath(a.bin), d)
    try:
        h.must("POST", "/api/v1/namespaces",
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-create"}})
        bb = os.path.abspath(a.bench_bin or a.bin)
        path = "/api/v1/namespaces/bench-create/configmaps"
        r8 = bench(bb, "req", h.port, method="POST", path=path, body=CREATE_BODY % "c", requests=6000, conns=8,
                   seconds=20)
        r1 = bench(bb, "req", h.port, method="POST", path=path, body=CREATE_BODY % "s", requests=1000, conns=1,
                   seconds=10)
        print("creates: 8 conns %.0f/s (p50 %.2f p99 %.2f ms) | 1 conn %.0f/s (p50 %.2f p99 %.2f ms)" % (
            r8["rps"], r8["latency"]["p50_ms"], r8["latency"]["p99_ms"],
            r1["rps"], r1["latency"]["p50_ms"], r1["latency"]["p99_ms"]))
    finally:
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
