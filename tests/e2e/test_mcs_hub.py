"""Issue 13, multi-cluster services, hub side (as Karmada does it): Service
+ Deployment `hello` with a ServiceExport propagated to ap and us, a
ServiceImport propagated to eu. The agents of ap and us report the
EndpointSlices of the exported Service; the hub gives eu the derived
Service `derived-hello` and one EndpointSlice per source cluster listing
that cluster's pod IPs. They follow a scale from 10 to 4 and a cluster
taken away (its agent stopped, its Cluster deleted)."""

import pytest
import yaml

from conftest import make_kubectl, stop_process
from test_mesh import KUBECTL_VERSION, run_fleet, wait_for

SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    yield from run_fleet(tmp_path_factory, "mcshub", ["--zone", "zone-1"])


def objs(replicas):
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hello", "namespace": "default"},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "hello"}},
                  "template": {"metadata": {"labels": {"app": "hello"}},
                               "spec": {"containers": [{"name": "hello", "image": "hello:1",
                                                        "ports": [{"containerPort": 5000}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hello", "namespace": "default"},
         "spec": {"selector": {"app": "hello"}, "ports": [{"name": "http", "port": 5000, "targetPort": 5000}]}},
        {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
         "metadata": {"name": "hello", "namespace": "default"}},
        {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
         "metadata": {"name": "hello", "namespace": "default"},
         "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"},
                                        {"apiVersion": "v1", "kind": "Service", "name": "hello"},
                                        {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
                                         "name": "hello"}],
                  "placement": {"clusterAffinity": {"clusterNames": ["ap", "us"]},
                                "replicaScheduling": {"replicaSchedulingType": "Divided",
                                                      "replicaDivisionPreference": "Weighted"}}}},
        {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
         "metadata": {"name": "hello", "namespace": "default"},
         "spec": {"type": "ClusterSetIP", "ports": [{"name": "http", "port": 5000, "protocol": "TCP"}]}},
        {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
         "metadata": {"name": "hello-import", "namespace": "default"},
         "spec": {"resourceSelectors": [{"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
                                         "name": "hello"}],
                  "placement": {"clusterAffinity": {"clusterNames": ["eu", "us"]}}}},
    ]


def ips_of(slices):
    return sorted(a for s in slices for e in s.get("endpoints") or [] for a in e.get("addresses", []))


def source_ips(fleet, m):
    """The pod IPs of hello in member m, as its own EndpointSlices list them."""
    lst = fleet.mget(m, SLICES + "?labelSelector=kubernetes.io%2Fservice-name%3Dhello") or {}
    return ips_of(lst.get("items", []))


def pod_ips(fleet, m):
    lst = fleet.mget(m, "/api/v1/namespaces/default/pods?labelSelector=app%3Dhello") or {}
    return sorted(p["status"]["podIP"] for p in lst.get("items", [])
                  if p.get("status", {}).get("podIP") and not p["metadata"].get("deletionTimestamp"))


def derived(fleet, consumer="eu"):
    """A consumer's derived slices: provision cluster -> sorted IPs (None: not listable)."""
    lst = fleet.mget(consumer, SLICES + "?labelSelector=kubernetes.io%2Fservice-name%3Dderived-hello")
    if lst is None:
        return None
    out = {}
    for s in lst["items"]:
        lab = s["metadata"]["labels"]
        assert lab["endpointslice.kubernetes.io/managed-by"] == "endpointslice-dispatch-controller.karmada.io"
        out[lab["endpointslice.karmada.io/provision-cluster"]] = ips_of([s])
    return out


def settled(fleet, sources, total, consumer="eu"):
    """consumer lists exactly the endpoints of sources, each matching that
    member's pods, total of them in all."""
    d = derived(fleet, consumer)
    if d is None or sorted(d) != sorted(sources):
        return False
    for m in sources:
        if not d[m] or d[m] != source_ips(fleet, m) or d[m] != pod_ips(fleet, m):
            return False
    return sum(len(v) for v in d.values()) == total and d


def test_derived_service_and_slices_follow_scale_and_cluster_loss(fleet, tmp_path):
    k = make_kubectl(fleet.hub, tmp_path, KUBECTL_VERSION)
    k("apply", "-f", "-", input=yaml.safe_dump_all(objs(10)))
    d = wait_for("eu lists the 10 endpoints of ap and us", lambda: settled(fleet, ["ap", "us"], 10), timeout=30)
    assert len(d["ap"]) + len(d["us"]) == 10 and not set(d["ap"]) & set(d["us"])
    svc = fleet.mget("eu", "/api/v1/namespaces/default/services/derived-hello")
    assert svc and svc["spec"]["ports"][0]["port"] == 5000 and not svc["spec"].get("selector")
    sl = fleet.mget("eu", SLICES + "?labelSelector=kubernetes.io%2Fservice-name%3Dderived-hello")["items"]
    for s in sl:
        assert s["addressType"] == "IPv4" and s["ports"] and s["ports"][0]["port"] == 5000
        assert all(e.get("zone") == "zone-1" for e in s["endpoints"]), s
    # us imports too: it gets the OTHER cluster's endpoints (ap's), never its own.
    d = wait_for("us lists ap's endpoints", lambda: settled(fleet, ["ap"], len(pod_ips(fleet, "ap")), "us"))
    assert set(d["ap"]) == set(derived(fleet)["ap"])
    assert fleet.mget("ap", "/api/v1/namespaces/default/services/derived-hello") is None

    k("scale", "deployment", "hello", "--replicas", "4")
    wait_for("eu follows the scale to 4", lambda: settled(fleet, ["ap", "us"], 4), timeout=20)
    k("scale", "deployment", "hello", "--replicas", "6")
    wait_for("eu follows the scale to 6", lambda: settled(fleet, ["ap", "us"], 6), timeout=20)
    wait_for("us follows", lambda: settled(fleet, ["ap"], len(pod_ips(fleet, "ap")), "us"))

    proc, log = fleet.agents.pop("ap")
    assert stop_process(proc, log) == 0
    code, _, _ = fleet.hub.request("DELETE", "/apis/cluster.karmada.io/v1alpha1/clusters/ap")
    assert code == 200
    wait_for("ap's endpoints gone from eu", lambda: sorted(derived(fleet) or {"?": 1}) == ["us"], timeout=20)
    # ap's share is rescheduled to us: eu follows us up to all 6 replicas.
    wait_for("eu lists the 6 endpoints of us", lambda: settled(fleet, ["us"], 6), timeout=20)
    wait_for("ap's endpoints gone from us", lambda: derived(fleet, "us") == {})

    # The import withdrawn: the derived objects leave eu.
    k("delete", "propagationpolicy", "hello-import")
    k("delete", "serviceimport", "hello")
    wait_for("derived-hello gone from eu",
             lambda: fleet.mget("eu", "/api/v1/namespaces/default/services/derived-hello") is None
             and derived(fleet) == {} and derived(fleet, "us") == {}, timeout=20)
    assert fleet.mget("us", "/api/v1/namespaces/default/services/hello") is not None  # the export stays
