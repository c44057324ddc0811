"""Time from the leading hub's kill -9 to the first placement made by the
new leader (docs/benchmarks.md): three hubs on a three-member etcd, three
simulated members; each round creates a Deployment and its policy right
after the kill and times until its ResourceBinding has clusters.

  cd tests/e2e && ATOLL_BIN=../../build/bin python3 bench_ha.py --lease 2 --rounds 5"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ha import HAFleet, wait_for  # noqa: E402
from test_ha import DEPLOYMENTS, POLICIES, deployment, placed, policy  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lease", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="atoll-bench-ha-")
    f = HAFleet(tmp, lease_s=a.lease)
    times = []
    try:
        f.start()
        for i in range(a.rounds):
            lead = wait_for("a leader", f.leader, timeout=4 * a.lease + 10)
            lead.kill9()
            t0 = time.time()
            hub = f.any_hub()
            name = "bench%d" % i
            hub.request("POST", DEPLOYMENTS, deployment(name, 1))
            hub.request("POST", POLICIES, policy(name, name))
            wait_for("placement", lambda: placed(hub, name), timeout=4 * a.lease + 10, interval=0.02)
            times.append(time.time() - t0)
            lead.start()
            print("round %d: %.2f s" % (i, times[-1]))
    finally:
        f.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("lease %d s: kill -9 → first placement by the new leader: median %.2f s, max %.2f s (%.2f lease durations)"
          % (a.lease, statistics.median(times), max(times), max(times) / a.lease))


if __name__ == "__main__":
    main()
