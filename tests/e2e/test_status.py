"""/status, its SSE feed, /metrics and the hub's logs, against a real hub.

Clusters are created through the API with their status written directly
(PUT .../clusters/NAME/status), as an agent would. Workloads go the real
way (seed deployment + PropagationPolicy, scheduled by the hub's
controllers); when the controllers are not in this build the test writes
the ResourceBinding itself, so the feed is tested either way."""
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import SEED, Hub, Kubectl

CLUSTERS = "/apis/cluster.karmada.io/v1alpha1/clusters"
BINDINGS = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings"
POLICIES = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def make_cluster(hub, name, region, ready="True", version="v1.23.8", nodes=(3, 3), since=None, heartbeat=None):
    body = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"syncMode": "Pull", "region": region, "zones": [region + "-1"], "provider": "sim"}}
    code, out, _ = hub.request("POST", CLUSTERS, body)
    assert code in (201, 409), out
    set_cluster_status(hub, name, ready, version, nodes, since, heartbeat)


def set_cluster_status(hub, name, ready, version="v1.23.8", nodes=(3, 3), since=None, heartbeat=None):
    code, obj, _ = hub.get(CLUSTERS + "/" + name)
    assert code == 200, obj
    now = time.time()
    reason = {"True": "ClusterReady", "False": "ClusterNotReachable"}.get(ready, "ClusterStatusUnknown")
    obj["status"] = {
        "kubernetesVersion": version,
        "nodeSummary": {"totalNum": nodes[1], "readyNum": nodes[0]},
        "resourceSummary": {"allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                            "allocated": {"cpu": "1", "pods": "5"}},
        "conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": reason,
                        "lastTransitionTime": rfc3339(since or now),
                        "lastHeartbeatTime": rfc3339(heartbeat or now)}],
    }
    code, out, _ = hub.request("PUT", CLUSTERS + "/" + name + "/status", obj)
    assert code == 200, out


def status(hub):
    code, doc, headers = hub.get("/status")
    assert code == 200, doc
    assert headers["Content-Type"].startswith("application/json")
    return doc


def workload(doc, kind, name, ns="default"):
    for w in doc["workloads"]:
        if w["kind"] == kind and w["name"] == name and w["namespace"] == ns:
            return w
    raise AssertionError("no workload %s %s/%s in %s" % (kind, ns, name, json.dumps(doc)[:2000]))


def placement(w):
    return {c["name"]: c["assignedReplicas"] for c in w["clusters"] if c["assigned"]}


def wait_for(fn, timeout=10, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except AssertionError as e:
            last = e
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def weights(spec):
    return [{"targetCluster": {"clusterNames": [c]}, "weight": w} for c, w in spec.items()]


class Seed:
    """The seed walkthrough's workload, scheduled by the hub's controllers when
    they are there, else with the binding written by the test."""

    def __init__(self, hub, kubectl):
        self.hub, self.kubectl = hub, kubectl
        kubectl("apply", "-f", os.path.join(SEED, "deployment.yaml"), "-f", os.path.join(SEED, "policy-equal.yaml"))
        try:
            wait_for(lambda: self.binding(), timeout=3, what="the controllers' ResourceBinding")
            self.controllers = True
        except AssertionError:
            self.controllers = False
            self.write_binding(3, {"eu": 1, "ap": 1, "us": 1})

    def binding(self):
        code, b, _ = self.hub.get(BINDINGS + "/hello-deployment")
        return b if code == 200 and b.get("spec", {}).get("clusters") else None

    def write_binding(self, replicas, clusters):
        code, b, _ = self.hub.get(BINDINGS + "/hello-deployment")
        if code == 404:
            b = {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
                 "metadata": {"name": "hello-deployment", "namespace": "default",
                              "annotations": {"propagationpolicy.karmada.io/name": "hello-propagation",
                                              "propagationpolicy.karmada.io/namespace": "default"}},
                 "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default",
                                       "name": "hello"}}}
        b["spec"]["replicas"] = replicas
        b["spec"]["clusters"] = [{"name": c, "replicas": n} for c, n in sorted(clusters.items())]
        code, out, _ = self.hub.request("PUT" if "uid" in b["metadata"] else "POST",
                                        BINDINGS + ("/hello-deployment" if "uid" in b["metadata"] else ""), b)
        assert code in (200, 201), out
        code, b, _ = self.hub.get(BINDINGS + "/hello-deployment")
        b["status"] = {"conditions": [
            {"type": "Scheduled", "status": "True", "reason": "Success",
             "message": "Binding has been scheduled successfully.", "lastTransitionTime": rfc3339(time.time())}]}
        code, out, _ = self.hub.request("PUT", BINDINGS + "/hello-deployment/status", b)
        assert code == 200, out

    def scale(self, n, expect):
        self.kubectl("scale", "deployment/hello", "--replicas=%d" % n)
        if not self.controllers:
            self.write_binding(n, expect)

    def reweight(self, spec, expect):
        code, p, _ = self.hub.get(POLICIES + "/hello-propagation")
        assert code == 200, p
        p["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"] = weights(spec)
        code, out, _ = self.hub.request("PUT", POLICIES + "/hello-propagation", p)
        assert code == 200, out
        if not self.controllers:
            code, d, _ = self.hub.get("/apis/apps/v1/namespaces/default/deployments/hello")
            self.write_binding(d["spec"]["replicas"], expect)


def test_status_schema_and_values(hub, kubectl):
    doc = status(hub)
    assert doc["schemaVersion"] == "atoll.status/v1"
    assert doc["clusters"] == [] and doc["workloads"] == []
    assert doc["totals"]["clusters"] == 0
    assert isinstance(doc["revision"], int) and doc["revision"] > 0

    t0 = time.time()
    make_cluster(hub, "eu", "europe", since=t0 - 3600, heartbeat=t0 - 30)
    make_cluster(hub, "ap", "asia", nodes=(2, 2))
    make_cluster(hub, "us", "america", nodes=(4, 5))
    # A Lease heartbeat is preferred over the condition's.
    code, out, _ = hub.request("POST", "/api/v1/namespaces", {"metadata": {"name": "karmada-cluster"}})
    assert code in (201, 409), out
    code, out, _ = hub.request("POST", "/apis/coordination.k8s.io/v1/namespaces/karmada-cluster/leases", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "eu"},
        "spec": {"holderIdentity": "eu", "leaseDurationSeconds": 40,
                 "renewTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(t0 - 2))}})
    assert code == 201, out

    seed = Seed(hub, kubectl)
    doc = wait_for(lambda: (lambda d: d if placement(workload(d, "Deployment", "hello")) ==
                            {"ap": 1, "eu": 1, "us": 1} else None)(status(hub)), what="1/1/1")
    assert [c["name"] for c in doc["clusters"]] == ["ap", "eu", "us"]
    eu = doc["clusters"][1]
    assert eu["region"] == "europe" and eu["zones"] == ["europe-1"] and eu["provider"] == "sim"
    assert eu["mode"] == "Pull" and eu["ready"] == "True" and eu["kubernetesVersion"] == "v1.23.8"
    assert eu["readySince"] == rfc3339(t0 - 3600)
    assert eu["heartbeat"]["source"] == "lease"
    assert 1 <= eu["heartbeat"]["ageSeconds"] <= 10
    assert eu["nodes"] == {"ready": 3, "total": 3}
    assert eu["resources"]["allocatable"]["memory"] == "32Gi"
    assert doc["clusters"][0]["heartbeat"]["source"] == "condition"
    assert doc["totals"]["clusters"] == 3 and doc["totals"]["clustersReady"] == 3
    assert doc["totals"]["nodesReady"] == 9 and doc["totals"]["nodesTotal"] == 10

    w = workload(doc, "Deployment", "hello")
    assert w["apiVersion"] == "apps/v1"
    assert w["desiredReplicas"] == 3
    assert w["policy"] == {"kind": "PropagationPolicy", "namespace": "default", "name": "hello-propagation"}
    assert w["binding"]["name"] == "hello-deployment"
    assert any(c["type"] == "Scheduled" and c["status"] == "True" for c in w["conditions"])
    assert doc["totals"]["desiredReplicas"] >= 3

    # Scale to 10: 4/3/3 (Karmada's Webster division, "ap" wins the tie here).
    seed.scale(10, {"ap": 4, "eu": 3, "us": 3})
    doc = wait_for(lambda: (lambda d: d if workload(d, "Deployment", "hello")["desiredReplicas"] == 10 and
                            sum(placement(workload(d, "Deployment", "hello")).values()) == 10 else None)(status(hub)),
                   what="10 replicas")
    w = workload(doc, "Deployment", "hello")
    assert sorted(placement(w).values()) == [3, 3, 4]
    assert w["assignedReplicas"] == 10

    # Re-weight 2:1:2 -> 4/2/4.
    seed.reweight({"us": 2, "ap": 1, "eu": 2}, {"us": 4, "ap": 2, "eu": 4})
    doc = wait_for(lambda: (lambda d: d if placement(workload(d, "Deployment", "hello")) ==
                            {"us": 4, "ap": 2, "eu": 4} else None)(status(hub)), what="4/2/4")

    # A cluster going NotReady.
    set_cluster_status(hub, "us", "False", nodes=(0, 5), since=time.time() - 5)
    doc = status(hub)
    us = [c for c in doc["clusters"] if c["name"] == "us"][0]
    assert us["ready"] == "False" and us["readyReason"] == "ClusterNotReachable"
    assert us["readySince"] == rfc3339(time.time() - 5) or us["readySince"] == rfc3339(time.time() - 6)
    assert doc["totals"]["clustersReady"] == 2 and doc["totals"]["clustersNotReady"] == 1
    assert doc["totals"]["nodesReady"] == 5
    assert doc["revision"] >= int(kubectl("get", "clusters", "us", "-o", "jsonpath={.metadata.resourceVersion}").stdout)


def test_status_ready_replicas_from_aggregated_status(hub, kubectl):
    """Per-cluster ready replicas and health come from aggregatedStatus."""
    for c in ("eu", "ap", "us"):
        make_cluster(hub, c, c)
    seed = Seed(hub, kubectl)
    if seed.controllers:
        # Report Work status as the agents would and let the hub aggregate.
        for c, n in (("eu", 1), ("ap", 1)):
            path = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works" % c
            works = wait_for(lambda: hub.get(path)[1].get("items"), what="work in " + c)
            wk = works[0]
            wk["status"] = {
                "conditions": [{"type": "Applied", "status": "True", "reason": "AppliedSuccessful",
                                "message": "Manifest has been successfully applied",
                                "lastTransitionTime": rfc3339(time.time())}],
                "manifestStatuses": [{"identifier": {"ordinal": 0, "group": "apps", "version": "v1",
                                                     "kind": "Deployment", "namespace": "default", "name": "hello"},
                                      "status": {"replicas": n, "readyReplicas": n, "availableReplicas": n,
                                                 "updatedReplicas": n},
                                      "health": "Healthy"}]}
            code, out, _ = hub.request("PUT", path + "/" + wk["metadata"]["name"] + "/status", wk)
            assert code == 200, out
    else:
        code, b, _ = hub.get(BINDINGS + "/hello-deployment")
        b["status"]["aggregatedStatus"] = [
            {"clusterName": "eu", "applied": True, "health": "Healthy", "status": {"readyReplicas": 1}},
            {"clusterName": "ap", "applied": True, "health": "Healthy", "status": {"readyReplicas": 1}},
            {"clusterName": "us", "applied": False, "appliedMessage": "boom", "health": "Unknown"}]
        code, out, _ = hub.request("PUT", BINDINGS + "/hello-deployment/status", b)
        assert code == 200, out

    def ready():
        w = workload(status(hub), "Deployment", "hello")
        per = {c["name"]: c for c in w["clusters"]}
        if per["eu"]["readyReplicas"] == 1 and per["ap"]["readyReplicas"] == 1:
            return w, per
        return None
    w, per = wait_for(ready, what="ready replicas")
    assert w["readyReplicas"] == 2
    assert per["eu"]["applied"] is True and per["eu"]["health"] == "Healthy"
    assert per["us"]["readyReplicas"] == 0
    assert status(hub)["totals"]["readyReplicas"] >= 2
    if seed.controllers:
        # Both Work status reports were aggregated: two lag observations.
        samples, _ = scrape(hub)
        assert samples["atoll_hub_status_aggregation_lag_seconds_count"] >= 2
        assert samples["atoll_hub_status_aggregation_lag_seconds_sum"] < 10
        assert samples['atoll_hub_works{state="applied"}'] >= 2


# ---- Server-Sent Events ------------------------------------------------------------


class SSE:
    """A minimal Server-Sent Events client over a raw socket (HTTP/1.1, chunked)."""

    def __init__(self, hub, last_event_id=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", hub.port), timeout=timeout)
        hdr = "GET /status?watch=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if last_event_id is not None:
            hdr += "Last-Event-ID: %s\r\n" % last_event_id
        self.sock.sendall((hdr + "\r\n").encode())
        self.buf = b""
        self.text = ""
        head = self._until(b"\r\n\r\n")
        self.status_line = head.split(b"\r\n")[0].decode()
        self.headers = head.decode(errors="replace")

    def _until(self, sep):
        while sep not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def _chunk(self):
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        if size == 0:
            raise EOFError("stream ended")
        while len(self.buf) < size + 2:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        data, self.buf = self.buf[:size], self.buf[size + 2:]
        self.text += data.decode()

    def next_block(self, timeout=10):
        """The next SSE block as a dict of fields (comments under ':')."""
        self.sock.settimeout(timeout)
        while "\n\n" not in self.text:
            self._chunk()
        block, self.text = self.text.split("\n\n", 1)
        fields = {}
        for line in block.split("\n"):
            k, _, v = line.partition(":")
            fields.setdefault(k, []).append(v[1:] if v.startswith(" ") else v)
        return fields

    def next_event(self, timeout=10):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout("no event")
            b = self.next_block(left)
            if "data" in b:
                return int(b["id"][0]), b.get("event", ["message"])[0], json.loads("\n".join(b["data"]))

    def close(self):
        self.sock.close()


def test_sse_full_document_then_changes(hub):
    s = SSE(hub)
    assert s.status_line.startswith("HTTP/1.1 200")
    assert "text/event-stream" in s.headers
    rid, ev, doc = s.next_event()
    assert ev == "status" and doc["schemaVersion"] == "atoll.status/v1"
    assert rid == doc["revision"]
    make_cluster(hub, "eu", "europe")
    while True:
        rid2, _, doc = s.next_event()
        assert rid2 > rid and doc["revision"] == rid2
        if doc["clusters"] and doc["clusters"][0]["ready"] == "True":
            break
    assert doc["clusters"][0]["name"] == "eu"
    s.close()


def drain(s, rid, doc, quiet=0.5):
    """The last event before the feed stays quiet for `quiet` seconds."""
    while True:
        try:
            rid, _, doc = s.next_event(timeout=quiet)
        except socket.timeout:
            return rid, doc


def test_sse_resume_misses_nothing(hub):
    make_cluster(hub, "eu", "europe")
    s = SSE(hub)
    rid, _, doc = s.next_event()
    rid, doc = drain(s, rid, doc)
    s.close()  # dropped connection
    # Changes while disconnected.
    make_cluster(hub, "ap", "asia")
    set_cluster_status(hub, "eu", "False")
    time.sleep(0.3)
    s = SSE(hub, last_event_id=rid)
    rid2, _, doc = s.next_event(timeout=5)
    assert rid2 > rid
    assert {c["name"]: c["ready"] for c in doc["clusters"]} == {"ap": "True", "eu": "False"}
    rid2, doc = drain(s, rid2, doc)
    s.close()

    # Resuming at the current revision resends nothing; later changes arrive.
    s = SSE(hub, last_event_id=rid2)
    b = s.next_block()  # "retry"
    b = s.next_block()
    assert "data" not in b and any("resumed" in c for c in b.get("", [])), b
    with pytest.raises(socket.timeout):
        s.next_event(timeout=0.5)
    set_cluster_status(hub, "ap", "False")
    rid3, _, doc = s.next_event()
    assert rid3 > rid2 and all(c["ready"] == "False" for c in doc["clusters"])
    # Controllers may react (taints); wait for the feed to settle.
    rid3, doc = drain(s, rid3, doc)
    s.close()

    # Unchanged document but the store moved on (unrelated writes): still current.
    s = SSE(hub, last_event_id=rid3)
    # (A Lease outside karmada-cluster: no controller reacts to it.)
    code, out, _ = hub.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                               {"metadata": {"name": "node-1"}, "spec": {"holderIdentity": "node-1"}})
    assert code == 201, out
    with pytest.raises(socket.timeout):
        s.next_event(timeout=0.5)
    s.close()
    # A revision from the future (another hub, a restore) gets the document.
    s = SSE(hub, last_event_id=10 ** 9)
    rid4, _, doc = s.next_event()
    assert rid4 >= rid3 and len(doc["clusters"]) == 2
    s.close()


def test_sse_coalesces_bursts(hub):
    make_cluster(hub, "eu", "europe")
    s = SSE(hub)
    s.next_event()
    t0 = time.time()
    n = 60
    for i in range(n):
        set_cluster_status(hub, "eu", "True" if i % 2 else "False", nodes=(i, 100))
    elapsed = time.time() - t0
    events = []
    while True:
        try:
            rid, _, doc = s.next_event(timeout=1)
            events.append((rid, doc))
        except socket.timeout:
            break
    # At most one update per 100 ms window (plus the edges), and the last
    # one is the final state.
    assert 1 <= len(events) <= elapsed / 0.1 + 3, (len(events), elapsed)
    assert events[-1][1]["clusters"][0]["nodes"]["ready"] == n - 1
    ids = [e[0] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    s.close()


def test_sse_keepalive_and_limits(tmp_path):
    h = Hub(str(tmp_path)).start()
    try:
        s = SSE(h)
        s.next_event()
        s.close()
        code, body, _ = h.request("POST", "/status", {})
        assert code == 405
        code, body, _ = h.get("/status/x")
        assert code == 404
    finally:
        assert h.stop() == 0


# ---- metrics --------------------------------------------------------------------------


def scrape(hub):
    code, text, headers = hub.get("/metrics")
    assert code == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert isinstance(text, (bytes, str))
    text = text.decode() if isinstance(text, bytes) else text
    samples = {}
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            types[name] = typ
            continue
        if line.startswith("#") or not line:
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$', line)
        assert m, "bad sample line: " + line
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples, types


def test_metrics_count_requests_exactly(hub, kubectl):
    key = 'atoll_hub_requests_total{verb="list",resource="deployments",code="200"}'
    before, types = scrape(hub)
    assert types["atoll_hub_requests_total"] == "counter"
    assert types["atoll_hub_request_duration_seconds"] == "histogram"
    n = 7
    for _ in range(n):
        assert hub.get("/apis/apps/v1/namespaces/default/deployments")[0] == 200
    for _ in range(3):
        assert hub.get("/apis/apps/v1/namespaces/default/deployments/nope")[0] == 404
    after, _ = scrape(hub)
    assert after[key] - before.get(key, 0) == n
    assert after['atoll_hub_requests_total{verb="get",resource="deployments",code="404"}'] == 3
    hkey = 'atoll_hub_request_duration_seconds_count{verb="list",resource="deployments"}'
    assert after[hkey] - before.get(hkey, 0) == n
    inf = 'atoll_hub_request_duration_seconds_bucket{verb="list",resource="deployments",le="+Inf"}'
    assert after[inf] == after[hkey]
    # Writes, subresources and our own paths are labelled too.
    kubectl("apply", "-f", os.path.join(SEED, "deployment.yaml"))
    kubectl("scale", "deployment/hello", "--replicas=4")
    after, _ = scrape(hub)
    assert after['atoll_hub_requests_total{verb="create",resource="deployments",code="201"}'] >= 1
    assert any(k.startswith('atoll_hub_requests_total{verb="patch",resource="deployments/scale"') for k in after)
    assert after['atoll_hub_requests_total{verb="get",resource="/metrics",code="200"}'] >= 2
    # Unknown resources never become label values.
    hub.get("/apis/example.com/v1/namespaces/default/whatever-%d" % os.getpid())
    after, _ = scrape(hub)
    assert not any("whatever" in k for k in after)
    assert any('resource="unknown"' in k for k in after)


def test_metrics_store_clusters_bindings(hub, kubectl):
    make_cluster(hub, "eu", "europe")
    make_cluster(hub, "ap", "asia")
    make_cluster(hub, "us", "america", ready="False")
    seed = Seed(hub, kubectl)
    assert seed.controllers, "the controllers placed the seed"
    # The placement was timed: the controllers observed the scheduling latency.
    wait_for(lambda: scrape(hub)[0].get("atoll_hub_scheduling_duration_seconds_count", 0) > 0,
             what="a scheduling latency observation")
    samples, types = scrape(hub)
    assert samples['atoll_hub_clusters{ready="True"}'] == 2
    assert samples['atoll_hub_clusters{ready="False"}'] == 1
    assert samples['atoll_hub_clusters{ready="Unknown"}'] == 0
    rev = status(hub)["revision"]
    assert samples["atoll_hub_store_revision"] <= rev
    assert samples["atoll_hub_store_revision"] >= rev - 2
    assert samples["atoll_hub_store_size_bytes"] > 0
    assert sum(v for k, v in samples.items() if k.startswith("atoll_hub_bindings{")) >= 1
    for state in ("pending", "applied", "failed"):
        assert 'atoll_hub_works{state="%s"}' % state in samples
    assert types["atoll_hub_scheduling_duration_seconds"] == "histogram"
    assert samples["atoll_hub_scheduling_duration_seconds_count"] > 0
    assert samples['atoll_hub_scheduling_duration_seconds_bucket{le="+Inf"}'] == \
        samples["atoll_hub_scheduling_duration_seconds_count"]
    # Each scheduling pass took some time, and far less than 5 s on average.
    assert 0 < samples["atoll_hub_scheduling_duration_seconds_sum"] < 5 * samples["atoll_hub_scheduling_duration_seconds_count"]
    assert "atoll_hub_status_aggregation_lag_seconds_count" in samples
    # Streams: one watch and one status feed open while scraping.
    p = subprocess.Popen(["kubectl", "get", "deployments", "--watch"], env=dict(os.environ, KUBECONFIG=hub.kubeconfig,
                         HOME=kubectl.home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = SSE(hub)
    s.next_event()
    try:
        wait_for(lambda: scrape(hub)[0]['atoll_hub_open_streams{kind="watch"}'] >= 1, what="watch gauge")
        assert scrape(hub)[0]['atoll_hub_open_streams{kind="status"}'] == 1
    finally:
        p.terminate()
        p.wait()
        s.close()
    wait_for(lambda: scrape(hub)[0]['atoll_hub_open_streams{kind="status"}'] == 0, what="status gauge back to 0")


# ---- logs -----------------------------------------------------------------------------

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtopsecretkeymaterial0123456789abcdefghijklmnop\n"
       "-----END RSA PRIVATE KEY-----\n")
TOKEN = "abcdef.0123456789abcdef"


def test_logs_are_json_and_hold_no_secrets(tmp_path):
    h = Hub(str(tmp_path), extra=["--log-format", "json", "--log-level", "debug"]).start()
    try:
        k = Kubectl(h, None, str(tmp_path))
        auth = {"Authorization": "Bearer " + TOKEN}
        h.request("GET", "/apis/apps/v1/namespaces/default/deployments", headers=auth)
        h.request("GET", "/status?token=" + TOKEN, headers=auth)
        code, out, _ = h.request("POST", "/api/v1/namespaces/default/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts"},
            "stringData": {"ca-key.pem": PEM, "token": TOKEN}}, headers=auth)
        assert code == 201, out
        # Bad input that gets echoed in errors.
        h.request("POST", "/api/v1/namespaces/default/secrets", b'{"stringData":{"k":"' + PEM.encode() + b'"',
                  headers=auth)
        h.request("PUT", "/api/v1/namespaces/default/secrets/cacerts",
                  {"metadata": {"name": "other"}, "data": {"k": "not base64 " + TOKEN}}, headers=auth)
        h.request("GET", "/metrics")
        h.request("GET", "/api/v1/namespaces/default/pods/%FF%0A%22x%C3")
        k("get", "secrets")
    finally:
        assert h.stop() == 0
    with open(os.path.join(str(tmp_path), "hub.log"), "rb") as f:
        raw = f.read()
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) > 8
    seen_request = False
    for line in lines:
        rec = json.loads(line)
        assert set(("ts", "level", "program", "msg")) <= set(rec), line
        assert rec["level"] in ("debug", "info", "warn", "error")
        seen_request |= rec["msg"] == "request" and rec.get("resource") == "secrets"
    assert seen_request, "no access log line at debug level"
    for needle in (TOKEN, "PRIVATE KEY", "topsecretkeymaterial", "Bearer", "token="):
        assert needle.encode() not in raw, needle
