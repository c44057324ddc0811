"""Members on other Kubernetes versions, and the OpenAPI documents made from
the schema table: the seed's Deployment and Service propagated through an
agent to `atoll-sim --kubernetes-version v1.20.2` (which refuses fields 1.20
does not know under server-side apply, as kube-apiserver 1.20 does), and
`kubectl explain` against the hub."""
import json
import os
import subprocess

import pytest
import yaml

from conftest import BIN, SEED, Hub, Kubectl, stop_process
from test_agent import Agent, _read, cluster_ready, wait_for

CLUSTER = "eu"  # test_agent.Agent registers this name
EXEC_NS = "karmada-es-" + CLUSTER


class OldMember:
    """atoll-sim acting as Kubernetes v1.20.2."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "member")
        os.makedirs(self.dir, exist_ok=True)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")

    def start(self):
        pf = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "sim.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "atoll-sim"), "--name", CLUSTER, "--insecure-listen", "127.0.0.1:0",
             "--kubeconfig-out", self.kubeconfig, "--port-file", pf, "--nodes", "2", "--ready-delay", "100ms",
             "--kubernetes-version", "v1.20.2"], stdout=self.log, stderr=self.log)
        port = wait_for("atoll-sim to listen", lambda: _read(pf), timeout=10)
        wait_for("the member kubeconfig", lambda: _read(self.kubeconfig))
        self.url = "http://127.0.0.1:%s" % port
        return self

    def request(self, method, path, body=None, ctype="application/json", accept=None):
        import urllib.error
        import urllib.request
        data = (body if isinstance(body, bytes) else json.dumps(body).encode()) if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self):
        return stop_process(self.proc, self.log)


def seed_objects():
    with open(os.path.join(SEED, "deployment.yaml")) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def other_deployment():
    d = seed_objects()[0]
    assert d["kind"] == "Deployment"
    d["metadata"] = {"name": "direct", "namespace": "default"}
    return d


def test_old_member_refuses_unknown_fields_like_kube_1_20(tmp_path):
    for bad in ("1.20", "v1.20", "v2.0.0", "v1.20.2x"):
        p = subprocess.run([os.path.join(BIN, "atoll-sim"), "--name", "x", "--insecure-listen", "127.0.0.1:0",
                            "--kubernetes-version", bad], capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and "invalid --kubernetes-version" in p.stderr, (bad, p.stderr)
    m = OldMember(str(tmp_path)).start()
    try:
        code, v = m.request("GET", "/version")
        assert (code, v["gitVersion"], v["minor"]) == (200, "v1.20.2", "20")
        # No OpenAPI v3 before 1.24; v2 (JSON) has 1.20's fields only.
        assert m.request("GET", "/openapi/v3")[0] == 404
        code, doc = m.request("GET", "/openapi/v2", accept="application/json")
        assert code == 200
        spec = doc["definitions"]["io.k8s.api.core.v1.ServiceSpec"]["properties"]
        assert "ipFamilies" in spec and "internalTrafficPolicy" not in spec
        pod = doc["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]
        assert "containers" in pod and "os" not in pod and "schedulingGates" not in pod
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80}], "internalTrafficPolicy": "Cluster"}}
        code, st = m.request("PATCH", "/api/v1/namespaces/default/services/s?fieldManager=t", svc,
                             ctype="application/apply-patch+yaml")
        assert code == 500, st
        assert st["message"] == ("failed to create typed patch object: .spec.internalTrafficPolicy: "
                                 "field not declared in schema")
        assert m.request("GET", "/api/v1/namespaces/default/services/s")[0] == 404
        del svc["spec"]["internalTrafficPolicy"]
        code, st = m.request("PATCH", "/api/v1/namespaces/default/services/s?fieldManager=t", svc,
                             ctype="application/apply-patch+yaml")
        assert code == 201, st
    finally:
        assert m.stop() == 0


def test_seed_to_kubernetes_1_20_member(tmp_path):
    hub = Hub(str(tmp_path / "hub"))
    os.makedirs(hub.data_dir, exist_ok=True)
    hub.start()
    member = agent = None
    try:
        member = OldMember(str(tmp_path)).start()
        agent = Agent(str(tmp_path), hub.url, member).start()
        wait_for("the cluster to be Ready", lambda: cluster_ready(hub) == "True", timeout=15)
        # First a Work of several manifests straight into the execution
        # namespace: its slots need the member's schema at the same time.
        cms = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c%d" % i, "namespace": "default"},
                "data": {"k": "v"}} for i in range(6)]
        code, body, _ = hub.request("POST", "/apis/work.karmada.io/v1alpha1/namespaces/%s/works" % EXEC_NS, {
            "apiVersion": "work.karmada.io/v1alpha1", "kind": "Work",
            "metadata": {"name": "several", "namespace": EXEC_NS},
            "spec": {"workload": {"manifests": cms + [other_deployment()]}}})
        assert code == 201, body
        for o in seed_objects():
            path = "/apis/apps/v1/namespaces/default/deployments" if o["kind"] == "Deployment" \
                else "/api/v1/namespaces/default/services"
            code, body, _ = hub.request("POST", path, o)
            assert code == 201, body
        pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
              "metadata": {"name": "hello", "namespace": "default"},
              "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"},
                                             {"apiVersion": "v1", "kind": "Service", "name": "hello"}],
                       "placement": {"clusterAffinity": {"clusterNames": [CLUSTER]}}}}
        code, body, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies", pp)
        assert code == 201, body
        # Both applied on the 1.20 member.
        wait_for("the Deployment on the member",
                 lambda: member.request("GET", "/apis/apps/v1/namespaces/default/deployments/hello")[0] == 200,
                 timeout=20)
        wait_for("the Service on the member",
                 lambda: member.request("GET", "/api/v1/namespaces/default/services/hello")[0] == 200, timeout=20)

        def service_status():
            code, wl, _ = hub.get("/apis/work.karmada.io/v1alpha1/namespaces/%s/works" % EXEC_NS)
            for w in wl.get("items", []) if code == 200 else []:
                for ms in w.get("status", {}).get("manifestStatuses", []):
                    if ms["identifier"]["kind"] == "Service":
                        return w, ms
            return None
        w, ms = wait_for("the Service's Work status to name the dropped field",
                         lambda: (lambda r: r if r and r[1].get("droppedFields") else None)(service_status()),
                         timeout=20)
        assert ".spec.internalTrafficPolicy" in ms["droppedFields"], ms
        # ipFamilies and ipFamilyPolicy exist in 1.20: kept.
        assert not any(f in ms["droppedFields"] for f in (".spec.ipFamilies", ".spec.ipFamilyPolicy")), ms
        applied = [c for c in w["status"]["conditions"] if c["type"] == "Applied"]
        assert applied and applied[0]["status"] == "True", w["status"]
        # The Deployment's Work drops nothing.
        code, wl, _ = hub.get("/apis/work.karmada.io/v1alpha1/namespaces/%s/works" % EXEC_NS)
        for w2 in wl["items"]:
            for ms2 in w2.get("status", {}).get("manifestStatuses", []):
                if ms2["identifier"]["kind"] == "Deployment":
                    assert "droppedFields" not in ms2, ms2

        def event():
            code, el, _ = hub.get("/api/v1/namespaces/%s/events" % EXEC_NS)
            for e in el.get("items", []) if code == 200 else []:
                if e.get("reason") == "FieldsDropped":
                    return e
            return None
        ev = wait_for("a FieldsDropped Event on the hub", event, timeout=10)
        assert ev["type"] == "Warning" and ev["involvedObject"]["kind"] == "Work", ev
        assert ".spec.internalTrafficPolicy" in ev["message"] and "Service default/hello" in ev["message"], ev
        # The member's schema was asked for once (v3: 404, then v2), though
        # two Works were applied at once.
        with open(os.path.join(agent.dir, "agent.log"), errors="replace") as f:
            log = f.read()
        assert log.count("the member has no OpenAPI v3") == 1, log[-3000:]
    except Exception:
        if agent:
            print("agent log:\n" + agent.read_log())
        print("hub log:\n" + hub.read_log()[-4000:])
        raise
    finally:
        rcs = [agent.stop() if agent else 0, member.stop() if member else 0, hub.stop()]
    assert rcs == [0, 0, 0], rcs


@pytest.fixture
def kctl(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(hub, None, str(home))


def test_openapi_documents_carry_schemas(hub):
    code, doc, _ = hub.request("GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert code == 200 and doc["swagger"] == "2.0", doc
    d = doc["definitions"]
    assert d["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]["$ref"] == \
        "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
    assert "internalTrafficPolicy" in d["io.k8s.api.core.v1.ServiceSpec"]["properties"]
    assert d["io.karmada.policy.v1alpha1.PropagationPolicy"]["x-kubernetes-group-version-kind"] == [
        {"group": "policy.karmada.io", "kind": "PropagationPolicy", "version": "v1alpha1"}]
    # kubectl's protobuf document is unchanged for protobuf clients.
    code, raw, hdrs = hub.request("GET", "/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert code == 200 and hdrs["Content-Type"] == "application/octet-stream"
    code, idx, _ = hub.request("GET", "/openapi/v3")
    url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"]
    code, doc, _ = hub.request("GET", url)
    dep = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert dep["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert dep["properties"]["spec"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]


def test_kubectl_explain(kctl):
    out = kctl("explain", "deployment.spec.strategy").stdout
    assert "KIND:       Deployment" in out and "GROUP:      apps" in out, out
    assert "FIELD: strategy <DeploymentStrategy>" in out, out
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out, out
    assert "type\t<string>" in out and "enum: Recreate, RollingUpdate" in out, out
    out = kctl("explain", "deployment.spec.strategy.rollingUpdate").stdout
    assert "FIELD: rollingUpdate <RollingUpdateDeployment>" in out and "  maxSurge\t<" in out, out
    out = kctl("explain", "propagationpolicy.spec.placement", "--recursive").stdout
    assert "KIND:       PropagationPolicy" in out and "FIELD: placement <Object>" in out, out
    lines = [l.rstrip() for l in out.splitlines()]
    for want in ("  clusterAffinities\t<[]Object>", "    affinityName\t<string> -required-",
                 "  clusterAffinity\t<Object>", "    clusterNames\t<[]string>",
                 "      matchLabels\t<map[string]string>", "  spreadConstraints\t<[]Object>",
                 "    spreadByField\t<string>", "  replicaScheduling\t<Object>",
                 "        targetCluster\t<Object> -required-", "        weight\t<integer> -required-"):
        assert want in lines, (want, out)
    # Nested under the right parent: clusterNames directly below clusterAffinity.
    i = lines.index("  clusterAffinity\t<Object>")
    assert lines[i + 1] == "    clusterNames\t<[]string>", out
    # The same from the protobuf OpenAPI v2 document (what kubectl 1.20 reads).
    out = kctl("explain", "deployment.spec.strategy", "--output=plaintext-openapiv2").stdout
    assert "RESOURCE: strategy <Object>" in out and "VERSION:  apps/v1" in out, out
    assert "   rollingUpdate\t<Object>" in out and "   type\t<string>" in out, out
    out = kctl("explain", "propagationpolicy.spec.placement", "--recursive", "--output=plaintext-openapiv2").stdout
    assert "   clusterAffinity\t<Object>" in out and "      clusterNames\t<[]string>" in out, out
    # A field that does not exist is an error, as against Kubernetes.
    p = kctl("explain", "deployment.spec.replcias", check=False)
    assert p.returncode != 0 and "replcias" in p.stderr, (p.stdout, p.stderr)
