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
  bench_failover.py --bin build/bin --clusters 100 [--background 100] [--rounds 3]
  bench_failover.py --bin build/bin --scale [--clusters 100] [--bindings 1000]

--clusters N without --scale: N real members, each its own atoll-sim
process and agent (so that a SIGKILL takes exactly one member), plus
--background Deployments divided over all N; the measured Deployment is
Aggregated over all N.

--grace is the hub's --cluster-monitor-grace-period (Karmada: 40s) and
--toleration the default NoExecute tolerations (Karmada: 300)."""
import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))


def scale(args):
    """No members: --clusters Cluster objects written through the API with
    Ready=True, --bindings Deployments divided over them, the not-ready
    NoExecute ClusterTaintPolicy and a toleration of 0 s. One cluster's
    Ready turns False; measured: its NoExecute taint, every binding that
    held replicas there evicted and rescheduled (replicas complete again)."""
    from conftest import Hub
    import test_failover as tf
    tmp = tempfile.mkdtemp(prefix="atoll-bench-failover-scale-")
    hub = Hub(os.path.join(tmp, "hub"), extra=["--default-not-ready-toleration-seconds", "0",
                                               "--default-unreachable-toleration-seconds", "0"])
    os.makedirs(hub.data_dir, exist_ok=True)
    hub.start()
    names = ["c%03d" % i for i in range(args.clusters)]
    try:
        for n in names:
            code, out, _ = hub.request("POST", tf.CL, {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
                                                      "metadata": {"name": n}, "spec": {"syncMode": "Pull"}})
            assert code == 201, out
            set_ready(hub, n, "True")
        ctp = json.loads(json.dumps(tf.NOT_READY_NOEXECUTE))
        del ctp["spec"]["targetClusters"]
        code, out, _ = hub.request("POST", tf.CTP, ctp)
        assert code == 201, out
        pp = tf.policy(clusters=names, kinds=("Deployment",))
        pp["spec"]["resourceSelectors"] = [{"apiVersion": "apps/v1", "kind": "Deployment"}]
        code, out, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies",
                                   pp)
        assert code == 201, out
        for i in range(args.bindings):
            code, out, _ = hub.request("POST", tf.DEPLOY, tf.deployment("w%05d" % i, replicas=args.replicas))
            assert code == 201, out

        def all_bindings():
            code, out, _ = hub.get(tf.RB)
            return out["items"]
        tf.wait_for("every binding scheduled", lambda: len([b for b in all_bindings() if b["spec"].get("clusters")])
                    == args.bindings, timeout=600, interval=0.5)
        victim = names[0]
        holders = [b["metadata"]["name"] for b in all_bindings()
                   if victim in [c["name"] for c in b["spec"]["clusters"]]]
        t0 = time.time()
        set_ready(hub, victim, "False")
        marks = {}
        while len(marks) < 2 and time.time() - t0 < 600:
            if "tainted" not in marks:
                c = hub.get(tf.CL + "/" + victim)[1]
                if any(t["effect"] == "NoExecute" for t in c["spec"].get("taints", [])):
                    marks["tainted"] = time.time() - t0
            if "tainted" not in marks:  # the binding list is heavy: not before the taint
                time.sleep(0.05)
                continue
            bs = {b["metadata"]["name"]: b for b in all_bindings()}
            if all(victim not in [c["name"] for c in bs[h]["spec"].get("clusters", [])] and
                   sum(c.get("replicas", 0) for c in bs[h]["spec"].get("clusters", [])) == args.replicas
                   for h in holders):
                marks["rescheduled"] = time.time() - t0
            time.sleep(0.2)
        print("%d clusters, %d bindings (%d on the lost cluster), %d replicas each: %s" % (
            args.clusters, args.bindings, len(holders), args.replicas,
            json.dumps({k: round(v, 2) for k, v in marks.items()})))
    finally:
        rc = hub.stop()
        log = hub.read_log() if rc != 0 else ""
        shutil.rmtree(tmp, ignore_errors=True)
        assert rc == 0, log


def set_ready(hub, name, status):
    code, obj, _ = hub.get("/apis/cluster.karmada.io/v1alpha1/clusters/" + name)
    obj["status"] = {"conditions": [{"type": "Ready", "status": status, "reason": "Bench", "message": "bench",
                                     "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    code, out, _ = hub.request("PUT", "/apis/cluster.karmada.io/v1alpha1/clusters/%s/status" % name, obj)
    assert code == 200, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--grace", default="3s")
    ap.add_argument("--toleration", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--ready-delay", default="1s", help="atoll-sim pod ready delay")
    ap.add_argument("--scale", action="store_true", help="no members: hub-side eviction at --clusters/--bindings")
    ap.add_argument("--clusters", type=int, default=None,
                    help="members (default 3); with --scale Cluster objects only (default 100)")
    ap.add_argument("--bindings", type=int, default=1000)
    ap.add_argument("--background", type=int, default=100,
                    help="with --clusters N (no --scale): Deployments of 3 replicas divided over all members")
    args = ap.parse_args()

    # SIGTERM/SIGINT unwind through the finally blocks, which stop every child.
    def on_signal(sig, frame):
        raise SystemExit("bench_failover: interrupted by signal %d" % sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    os.environ["ATOLL_BIN"] = os.path.abspath(args.bin)
    import test_failover as tf  # after ATOLL_BIN is set (conftest reads it)
    if args.scale:
        if args.clusters is None:
            args.clusters = 100
        return scale(args)
    names = tuple(tf.CLUSTERS) if args.clusters in (None, 3) else tuple("c%03d" % i for i in range(args.clusters))
    big = names != tuple(tf.CLUSTERS)

    flags = ["--cluster-monitor-grace-period", args.grace,
             "--default-not-ready-toleration-seconds", str(args.toleration),
             "--default-unreachable-toleration-seconds", str(args.toleration)]
    if big:
        # Every agent connects from 127.0.0.1 (as in bench_agents.py).
        flags += ["--max-connections-per-client", "100000"]
    tmp = tempfile.mkdtemp(prefix="atoll-bench-failover-")
    delays = {n: args.ready_delay for n in names}
    f = None
    rows = []
    try:
        t_start = time.time()
        # Built in two steps so that a start failing halfway (member 57 of
        # 100) still stops what did start (finally: below).
        f = tf.Fleet.__new__(tf.Fleet)
        f.members = {}
        f.__init__(tmp, flags, delays, names=names)
        if big:
            print("%d members Ready in %.1f s" % (len(names), time.time() - t_start), flush=True)
        k = f.k
        ctp = json.loads(json.dumps(tf.NOT_READY_NOEXECUTE))
        ctp["spec"]["targetClusters"]["clusterNames"] = list(names)
        tf.apply(k, ctp)
        if big and args.background:
            bg = ["bg%04d" % i for i in range(args.background)]
            bpp = tf.policy(name="bg", clusters=names, kinds=())
            bpp["spec"]["resourceSelectors"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": b}
                                                for b in bg]
            tf.apply(k, bpp)
            for b in bg:
                code, out, _ = f.hub.request("POST", tf.DEPLOY, tf.deployment(b, replicas=3))
                assert code == 201, out
            end = time.time() + 120 + 2 * len(bg)
            while True:
                n = sum(1 for d in f.hub.get(tf.DEPLOY)[1]["items"]
                        if d["metadata"]["name"].startswith("bg") and d.get("status", {}).get("readyReplicas") == 3)
                if n == len(bg):
                    break
                if time.time() > end:
                    raise AssertionError("only %d of %d background Deployments ready" % (n, len(bg)))
                if int(time.time()) % 15 == 0:
                    print("  %d of %d background Deployments ready" % (n, len(bg)), flush=True)
                time.sleep(1)
            print("%d background Deployments ready at %.1f s" % (len(bg), time.time() - t_start), flush=True)
        tf.apply(k, tf.deployment(replicas=args.replicas))
        pp = tf.policy(clusters=names[:1], kinds=("Deployment",))
        tf.apply(k, pp)
        tf.wait_for("ready", lambda: (f.template() or {}).get("status", {}).get("readyReplicas") == args.replicas,
                    timeout=60)
        pp["spec"]["placement"]["clusterAffinity"]["clusterNames"] = list(names)
        pp["spec"]["placement"]["replicaScheduling"]["replicaDivisionPreference"] = "Aggregated"
        tf.apply(k, pp)
        time.sleep(1)
        for r in range(args.rounds):
            holders = [c for c, n in f.shares("web-deployment").items() if n > 0]
            assert len(holders) == 1, f.shares("web-deployment")
            victim = holders[0]
            others = [c for c in names if c != victim]
            works = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works" % victim
            bg_on = 0
            if big:
                bg_on = sum(1 for b in f.hub.get(tf.RB)[1]["items"] if b["metadata"]["name"] != "web-deployment" and
                            victim in [c["name"] for c in b["spec"].get("clusters", [])])
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
                    # At N members: only those the binding now names (nothing
                    # else can hold them: Aggregated, before eviction).
                    where = others if not big else [c for c in f.shares("web-deployment") if c != victim]
                    n = sum(((f.member_deploy(c) or {}).get("status", {}).get("readyReplicas") or 0)
                            for c in where)
                    if n >= args.replicas:
                        marks["ready"] = now
                if "purged" not in marks:
                    code, w, _ = f.hub.get(works)
                    # The victim holds background Works too: only web's.
                    if code == 200 and not [x for x in w["items"] if x["metadata"].get("annotations", {}).get(
                            "resourcebinding.karmada.io/name", "web-deployment") == "web-deployment"]:
                        marks["purged"] = now
                time.sleep(0.05)
            rows.append(marks)
            print("round %d (%s%s): %s" % (r + 1, victim, ", %d background bindings on it" % bg_on if big else "",
                                            json.dumps({k2: round(v, 2) for k2, v in marks.items()})), flush=True)
            f.members[victim].start()
            tf.wait_for("back", lambda: f.ready(victim) == "True" and not f.taints(victim), timeout=60)
    finally:
        if f is not None and getattr(f, "hub", None) is not None:
            f.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d members%s, grace %s, toleration %ds, %d replicas, ready delay %s, %d rounds (median, max in s):" % (
        len(names), ", %d background Deployments" % args.background if big else "", args.grace, args.toleration,
        args.replicas, args.ready_delay, len(rows)))
    for key in ("notready", "evicted", "ready", "purged"):
        v = [r[key] for r in rows if key in r]
        if v:
            print("  %-9s %6.2f %6.2f" % (key, statistics.median(v), max(v)))


if __name__ == "__main__":
    main()
