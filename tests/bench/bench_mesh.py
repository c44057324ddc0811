"""Hub-side time from creating a Mesh over N clusters (Cluster objects, no
agents) to every cluster's Works written and listed in the Mesh's status.
Usage (from tests/e2e): ATOLL_BIN=../../build/bin python3 ../bench/bench_mesh.py 100
Figures: docs/benchmarks.md, "Mesh over 3 and 100 clusters"."""
import json
import os
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../e2e"))
from conftest import Hub  # noqa: E402
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
