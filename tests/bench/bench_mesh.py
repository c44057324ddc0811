"""Hub-side time from creating a Mesh over N clusters (Cluster objects, no
agents) to every cluster's Works written and listed in the Mesh's status.
Usage (from tests/e2e): ATOLL_BIN=../../build/bin python3 ../bench/bench_mesh.py 100
  --members N: N real members (atoll-sim + atoll-agent each), until each holds
  cacerts and its N-1 remote secrets: python3 ../bench/bench_mesh.py --members 100
Figures: docs/benchmarks.md, "Mesh over 3 and 100 clusters"."""
import json
import os
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../e2e"))
from conftest import Hub  # noqa: E402
def members_mode(n, timeout):
    """--members: n real members (atoll-sim + atoll-agent each, as
    bench_failover.py --clusters), then one Mesh over all; measured from the
    Mesh's create until every member holds istio-system/cacerts and exactly
    n-1 istio-remote-secret-* Secrets (polled on each sim's API)."""
    import shutil
    import signal
    import test_failover as tf

    def on_signal(sig, frame):
        raise SystemExit("bench_mesh: interrupted by signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    names = tuple("c%03d" % i for i in range(n))
    tmp = tempfile.mkdtemp(prefix="atoll-bench-mesh-")
    f = None
    sel = "/api/v1/namespaces/istio-system/secrets?labelSelector=istio%2FmultiCluster%3Dtrue"
    try:
        t_start = time.time()
        f = tf.Fleet.__new__(tf.Fleet)
        f.members = {}
        f.__init__(tmp, ["--max-connections-per-client", "100000"], names=names)
        print("%d members Ready in %.1f s" % (n, time.time() - t_start), flush=True)
        time.sleep(2)
        rss0 = rss_kib(f.hub.proc.pid)
        peak = rss0
        rv0 = int(f.hub.get("/apis/work.karmada.io/v1alpha1/works?limit=1")[1]["metadata"]["resourceVersion"])
        t0 = time.time()
        c, b, _ = f.hub.request("POST", "/apis/mesh.atoll.io/v1alpha1/meshes",
                                {"apiVersion": "mesh.atoll.io/v1alpha1", "kind": "Mesh", "metadata": {"name": "big"},
                                 "spec": {}})
        assert c == 201, b
        cacerts, done = {}, {}
        last = 0
        while len(done) < n and time.time() - t0 < timeout:
            for m in names:
                if m in done:
                    continue
                now = time.time() - t0
                if m not in cacerts and f.members[m].get("/api/v1/namespaces/istio-system/secrets/cacerts"):
                    cacerts[m] = now
                if m in cacerts:
                    lst = f.members[m].get(sel) or {}
                    got = [s for s in lst.get("items", [])
                           if s["metadata"]["name"].startswith("istio-remote-secret-")]
                    if len(got) == n - 1 and not any(s["metadata"]["name"] == "istio-remote-secret-" + m
                                                     for s in got):
                        done[m] = time.time() - t0
            peak = max(peak, rss_kib(f.hub.proc.pid))
            if time.time() - last > 15:
                last = time.time()
                print("  %.0f s: %d/%d with cacerts, %d/%d with all %d remote secrets, hub RSS %d KiB" % (
                    time.time() - t0, len(cacerts), n, len(done), n, n - 1, rss_kib(f.hub.proc.pid)), flush=True)
            time.sleep(0.1)
        rss1 = rss_kib(f.hub.proc.pid)
        rv1 = int(f.hub.get("/apis/work.karmada.io/v1alpha1/works?limit=1")[1]["metadata"]["resourceVersion"])
        print("hub revisions written meanwhile (every kind): %d" % (rv1 - rv0))
        print("clusters %d: every cacerts at %s s, every remote secret at %s s (%d/%d members complete)" % (
            n, "%.2f" % max(cacerts.values()) if len(cacerts) == n else "—(%d/%d)" % (len(cacerts), n),
            "%.2f" % max(done.values()) if len(done) == n else "—", len(done), n))
        lst = f.members[names[0]].get(sel) or {"items": []}
        if lst["items"]:
            s = lst["items"][0]
            print("one remote secret: %d bytes JSON, kubeconfig %d bytes base64" % (
                len(json.dumps(s)), sum(len(v) for v in s.get("data", {}).values())))
        c, w, _ = f.hub.get("/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works/atoll-mesh" % names[0])
        if c == 200:
            print("atoll-mesh Work of %s: %d bytes, %d manifests" % (
                names[0], len(json.dumps(w)), len(w["spec"]["workload"]["manifests"])))
        time.sleep(10)
        print("hub RSS before %d KiB, after %d KiB, peak (polled) %d KiB, 10 s later %d KiB" % (
            rss0, rss1, peak, rss_kib(f.hub.proc.pid)), flush=True)
    finally:
        if f is not None and getattr(f, "hub", None) is not None:
            f.close()
        shutil.rmtree(tmp, ignore_errors=True)


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


if "--members" in sys.argv:
    args = [a for a in sys.argv[1:] if a != "--members"]
    os.environ.setdefault("ATOLL_BIN", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../build/bin")))
    members_mode(int(args[0]) if args else 3, float(os.environ.get("BENCH_MESH_TIMEOUT", "480")))
    sys.exit(0)


N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
d = tempfile.mkdtemp()
h = Hub(d); h.start()
try:
    for i in range(N):
        c, b, _ = h.request("POST", "/apis/cluster.karmada.io/v1alpha1/clusters",
                            {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
                             "metadata": {"name": "c%03d" % i}, "spec": {"syncMode": "Pull", "region": "r%d" % (i % 3)}})
        assert c == 201, b
    time.sleep(1)
    t0 = time.time()
    c, b, _ = h.request("POST", "/apis/mesh.atoll.io/v1alpha1/meshes",
                        {"apiVersion": "mesh.atoll.io/v1alpha1", "kind": "Mesh", "metadata": {"name": "big"}, "spec": {}})
    assert c == 201, b
    while True:
        c, m, _ = h.get("/apis/mesh.atoll.io/v1alpha1/meshes/big")
        if len(m.get("status", {}).get("clusters", [])) == N:
            break
        time.sleep(0.05)
    t1 = time.time()
    c, w, _ = h.get("/apis/work.karmada.io/v1alpha1/works")
    n = len([x for x in w["items"] if x["metadata"]["name"].startswith("atoll-mesh")])
    print("clusters", N, "works", n, "time to every Work written + status: %.2f s" % (t1 - t0))
    c, s, _ = h.get("/api/v1/namespaces/karmada-system/secrets/atoll-mesh-big-ca")
    print("PKI secret bytes", len(json.dumps(s)))
    print("work bytes", len(json.dumps([x for x in w["items"] if x["metadata"]["name"] == "atoll-mesh"][0])))
    rss = open("/proc/%d/status" % h.proc.pid).read()
    print([l for l in rss.splitlines() if l.startswith("VmRSS")])
finally:
    h.stop()
