#!/usr/bin/env python3
"""Time from a member's death to its replicas ready elsewhere (issue 16).

A hub, three simulated members with agents (tests/e2e/test_failover.py's
Fleet), the ClusterTaintPolicy of Karmada's failover documentation, and a
Deployment whose replicas all live in one member (Aggregated). Each round
kills that member (atoll-sim and agent, SIGKILL) and records, from the kill:
Ready no longer True on the hub, the binding evicted from it, the replicas
ready in another member, the evicted copy's Work removed. The member is
then brought back and the next round kills the new holder.

  bench_failover.py --bin build/bin [--grace 3s] [--toleration 2] [--rounds 5]

--grace is the hub's --cluster-monitor-grace-period (Karmada: 40s) and
--toleration the default NoExecute tolerations (Karmada: 300)."""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--grace", default="3s")
    ap.add_argument("--toleration", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--ready-delay", default="1s", help="atoll-sim pod ready delay")
    args = ap.parse_args()
    os.environ["ATOLL_BIN"] = os.path.abspath(args.bin)
    import test_failover as tf  # after ATOLL_BIN is set (conftest reads it)

    flags = ["--cluster-monitor-grace-period", args.grace,
             "--default-not-ready-toleration-seconds", str(args.toleration),
             "--default-unreachable-toleration-seconds", str(args.toleration)]
    tmp = tempfile.mkdtemp(prefix="atoll-bench-failover-")
    delays = {n: args.ready_delay for n in tf.CLUSTERS}
    f = tf.Fleet(tmp, flags, delays)
    rows = []
    try:
        k = f.k
        tf.apply(k, tf.NOT_READY_NOEXECUTE)
        tf.apply(k, tf.deployment(replicas=args.replicas))
        pp = tf.policy(clusters=("m1",), kinds=("Deployment",))
        tf.apply(k, pp)
        tf.wait_for("ready", lambda: (f.template() or {}).get("status", {}).get("readyReplicas") == args.replicas,
                    timeout=60)
        pp["spec"]["placement"]["clusterAffinity"]["clusterNames"] = list(tf.CLUSTERS)
        pp["spec"]["placement"]["replicaScheduling"]["replicaDivisionPreference"] = "Aggregated"
        tf.apply(k, pp)
        time.sleep(1)
        for r in range(args.rounds):
            holders = [c for c, n in f.shares("web-deployment").items() if n > 0]
            assert len(holders) == 1, f.shares("web-deployment")
            victim = holders[0]
            others = [c for c in tf.CLUSTERS if c != victim]
            works = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works" % victim
            t0 = time.time()
            f.members[victim].kill()
            marks = {}
            while len(marks) < 4 and time.time() - t0 < 600:
                now = time.time() - t0
                if "notready" not in marks and f.ready(victim) != "True":
                    marks["notready"] = now
                if "evicted" not in marks and victim not in f.shares("web-deployment"):
                    marks["evicted"] = now
                if "ready" not in marks:
                    n = sum(((f.member_deploy(c) or {}).get("status", {}).get("readyReplicas") or 0)
                            for c in others)
                    if n >= args.replicas:
                        marks["ready"] = now
                if "purged" not in marks:
                    code, w, _ = f.hub.get(works)
                    if code == 200 and not w["items"]:
                        marks["purged"] = now
                time.sleep(0.05)
            rows.append(marks)
            print("round %d (%s): %s" % (r + 1, victim, json.dumps({k2: round(v, 2) for k2, v in marks.items()})),
                  flush=True)
            f.members[victim].start()
            tf.wait_for("back", lambda: f.ready(victim) == "True" and not f.taints(victim), timeout=60)
    finally:
        f.close()
    print("grace %s, toleration %ds, %d replicas, ready delay %s, %d rounds (median, max in s):" % (
        args.grace, args.toleration, args.replicas, args.ready_delay, len(rows)))
    for key in ("notready", "evicted", "ready", "purged"):
        v = [r[key] for r in rows if key in r]
        if v:
            print("  %-9s %6.2f %6.2f" % (key, statistics.median(v), max(v)))


if __name__ == "__main__":
    main()
