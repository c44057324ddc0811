"""The table of Karmada policy cases (tests/data/karmada/*.yaml, format in
its README): each case on a fresh hub, applied with a real kubectl, checked
for placement, the rendered Works (overrides) and the events. One test runs
them all and reports every failing case."""
import json
import os
import time

import yaml

from conftest import Hub, make_kubectl
from test_placement import work_name

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "data", "karmada")
CLUSTER_API = "/apis/cluster.karmada.io/v1alpha1/clusters"
KUBECTL_VERSION = "1.32"


def load_cases():
    out = []
    for f in sorted(os.listdir(CASES)):
        if f.endswith(".yaml"):
            with open(os.path.join(CASES, f)) as fh:
                out.append((f, yaml.safe_load(fh)))
    return out


def make_cluster(hub, c):
    spec = {"syncMode": "Pull"}
    for f in ("region", "provider", "zones", "taints"):
        if f in c:
            spec[f] = c[f]
    body = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": c["name"], "labels": c.get("labels", {})}, "spec": spec}
    code, obj, _ = hub.request("POST", CLUSTER_API, body)
    assert code == 201, obj
    ready = c.get("ready", True)
    if ready == "none":
        return
    obj["status"] = {"kubernetesVersion": "v1.23.8", "conditions": [{
        "type": "Ready", "status": "True" if ready else "False",
        "reason": "ClusterReady" if ready else "ClusterNotReady", "message": "set by the test",
        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    code, out, _ = hub.request("PUT", CLUSTER_API + "/" + c["name"] + "/status", obj)
    assert code == 200, out


def binding(hub, name):
    for path in ("/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings/",
                 "/apis/work.karmada.io/v1alpha2/clusterresourcebindings/"):
        code, b, _ = hub.get(path + name)
        if code == 200:
            return b
    return None


def placement(b):
    return {c["name"]: c.get("replicas", 0) for c in (b or {}).get("spec", {}).get("clusters", [])} if b else None


def pointer(doc, ptr):
    for part in ptr.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def work_manifest(hub, cluster, ref, namespaced):
    kind, name = ref.split("/", 1)
    wn = work_name(kind.lower(), name, "default" if namespaced else "")
    code, w, _ = hub.get("/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works/%s" % (cluster, wn))
    return w["spec"]["workload"]["manifests"][0] if code == 200 else None


def events(hub, ref):
    kind, name = ref.split("/", 1)
    code, lst, _ = hub.get("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D" + name)
    assert code == 200, lst
    return [(e["reason"], e.get("message", "")) for e in lst["items"]
            if e["involvedObject"]["kind"].lower() == kind.lower()]


def check(hub, exp):
    """Returns what is still wrong (empty when the case holds)."""
    wrong = []
    for bname, want in (exp.get("placement") or {}).items():
        got = placement(binding(hub, bname))
        if got != {k: v for k, v in want.items()}:
            wrong.append("binding %s: placement %r, want %r" % (bname, got, want))
    for bname, fields in (exp.get("binding_fields") or {}).items():
        b = binding(hub, bname)
        for ptr, want in fields.items():
            try:
                got = pointer(b, ptr) if b else "<no binding>"
            except (KeyError, IndexError, ValueError):
                got = "<absent>"
            if got != want:
                wrong.append("binding %s: %s = %r, want %r" % (bname, ptr, got, want))
    for bname in exp.get("absent") or []:
        if binding(hub, bname) is not None:
            wrong.append("binding %s exists" % bname)
    cluster_scoped = ("namespace", "clusterrole", "customresourcedefinition", "priorityclass")
    for cluster, refs in (exp.get("works") or {}).items():
        for ref, fields in refs.items():
            m = work_manifest(hub, cluster, ref, ref.split("/")[0].lower() not in cluster_scoped)
            if m is None:
                wrong.append("no Work for %s in %s" % (ref, cluster))
                continue
            for ptr, want in fields.items():
                try:
                    got = pointer(m, ptr)
                except (KeyError, IndexError, ValueError):
                    got = "<absent>"
                if got != want:
                    wrong.append("%s in %s: %s = %r, want %r" % (ref, cluster, ptr, got, want))
    for path, fields in (exp.get("objects") or {}).items():
        code, o, _ = hub.get(path)
        for ptr, want in fields.items():
            try:
                got = pointer(o, ptr) if code == 200 else "<no object: %d>" % code
            except (KeyError, IndexError, ValueError, TypeError):
                got = "<absent>"
            if got != want:
                wrong.append("%s: %s = %r, want %r" % (path, ptr, got, want))
    for ref, wants in (exp.get("events") or {}).items():
        evs = events(hub, ref)
        for w in wants:
            reason, _, text = w.partition(":")
            if not any(r == reason and text in msg for r, msg in evs):
                wrong.append("%s: no event %s with %r (got %r)" % (ref, reason, text, evs))
    return wrong


def test_karmada_policy_cases(tmp_path):
    failures = []
    cases = load_cases()
    assert len(cases) >= 10
    for fname, case in cases:
        d = tmp_path / fname.replace(".yaml", "")
        d.mkdir()
        hub = Hub(str(d), extra=case.get("hub_flags") or ()).start()
        try:
            for c in case["clusters"]:
                make_cluster(hub, c)
            k = make_kubectl(hub, d, KUBECTL_VERSION)
            k("apply", "-f", "-", input=case["manifests"])
            deadline = time.time() + 10
            if case.get("manifests_after"):
                # applied once the expected placement holds (as a user
                # applies a WorkloadRebalancer to workloads already placed)
                only = {"placement": case["expect"].get("placement")}
                while check(hub, only) and time.time() < deadline:
                    time.sleep(0.1)
                k("apply", "-f", "-", input=case["manifests_after"])
            wrong = check(hub, case["expect"])
            while wrong and time.time() < deadline:
                time.sleep(0.1)
                wrong = check(hub, case["expect"])
            if wrong:
                failures.append("%s (%s):\n  %s" % (fname, case["name"], "\n  ".join(wrong)))
        finally:
            rc = hub.stop()
            assert rc == 0, hub.read_log()
    assert not failures, "\n".join(failures)
