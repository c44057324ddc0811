"""The hub driven by real kubectl binaries (1.27, 1.32, 1.33, and Debian's
1.20 where installed), with the seed's own manifests."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import SEED, make_kubectl, kubectl_path

VERSIONS = ["1.27", "1.32", "1.33", "1.20"]


@pytest.fixture(params=VERSIONS)
def kc(request, hub, tmp_path):
    return make_kubectl(hub, tmp_path, request.param)


def seed(name):
    return os.path.join(SEED, name)


def test_apply_get_describe_scale_delete(kc, hub, tmp_path):
    out = kc("apply", "-f", seed("deployment.yaml")).stdout
    assert "deployment.apps/hello created" in out
    assert "service/hello created" in out

    out = kc("get", "deployments").stdout
    lines = out.strip().splitlines()
    assert re.split(r"\s+", lines[0]) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert re.split(r"\s+", lines[1])[:4] == ["hello", "0/3", "0", "0"]

    out = kc("get", "services").stdout
    assert re.split(r"\s+", out.splitlines()[0]) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert "5000/TCP" in out

    dep = json.loads(kc("get", "deployment", "hello", "-o", "json").stdout)
    assert dep["kind"] == "Deployment"
    assert dep["spec"]["replicas"] == 3
    assert dep["metadata"]["generation"] == 1
    assert dep["metadata"]["uid"]
    assert "ports" not in dep["spec"]["template"]["spec"]["containers"][0]
    # A field the manifest does not mention, added by someone else.
    kc("patch", "deployment", "hello", "-p",
       '{"spec":{"template":{"spec":{"containers":[{"name":"hello","ports":[{"containerPort":9898}]}]}}}}')
    dep = json.loads(kc("get", "deployment", "hello", "-o", "json").stdout)
    port = dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    assert port["containerPort"] == 9898 and port["protocol"] == "TCP"
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "stefanprodan/podinfo"

    y = kc("get", "deployment", "hello", "-o", "yaml").stdout
    assert "kind: Deployment" in y and "replicas: 3" in y

    d = kc("describe", "deployment", "hello").stdout
    assert "Name:" in d and "hello" in d
    assert "80/TCP" not in d
    assert "9898/TCP" in d

    out = kc("scale", "deployment/hello", "--replicas=10").stdout
    assert "deployment.apps/hello scaled" in out
    dep = json.loads(kc("get", "deployment", "hello", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 10
    assert dep["metadata"]["generation"] == 3

    # Re-apply with a changed image: ports (not in the patch) must survive.
    with open(seed("deployment.yaml")) as f:
        text = f.read()
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("stefanprodan/podinfo", "stefanprodan/podinfo:6.5.0"))
    out = kc("apply", "-f", str(changed)).stdout
    assert "deployment.apps/hello configured" in out
    dep = json.loads(kc("get", "deployment", "hello", "-o", "json").stdout)
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "stefanprodan/podinfo:6.5.0"
    assert c["ports"][0]["containerPort"] == 9898
    assert dep["spec"]["replicas"] == 3  # apply sets it back to the manifest's value

    out = kc("delete", "-f", seed("deployment.yaml")).stdout
    assert 'deployment.apps "hello" deleted' in out
    assert 'service "hello" deleted' in out
    p = kc("get", "deployment", "hello", check=False)
    assert p.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "hello" not found' in p.stderr


def test_server_side_apply(kc, hub):
    if kc.binary.endswith("1.20") or "kubernetes-client" in kc.binary:
        pytest.skip("server-side apply output differs on 1.20")
    out = kc("apply", "--server-side", "-f", seed("deployment.yaml")).stdout
    assert "deployment.apps/hello serverside-applied" in out
    # Client-side apply then server-side apply: the second, kubectl-last-applied
    # patch must not wipe the spec.
    kc("apply", "-f", seed("deployment.yaml"))
    kc("apply", "--server-side", "-f", seed("deployment.yaml"))
    dep = json.loads(kc("get", "deployment", "hello", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["name"] == "hello"


def test_watch_sees_change(kc, hub):
    kc("apply", "-f", seed("deployment.yaml"))
    env = dict(os.environ, HOME=kc.home, KUBECONFIG=hub.kubeconfig)
    p = subprocess.Popen([kc.binary, "get", "deployments", "-w"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    import queue
    import threading
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in p.stdout], daemon=True).start()
    try:
        seen = [lines.get(timeout=10), lines.get(timeout=10)]
        assert seen[0].split()[:2] == ["NAME", "READY"]
        assert re.match(r"hello\s+0/3\s", seen[1])
        kc("scale", "deployment/hello", "--replicas=5")
        while True:
            line = lines.get(timeout=10)
            seen.append(line)
            if re.match(r"hello\s+0/5\s", line):
                break
        assert p.poll() is None, "the watch stream must stay open"
    finally:
        p.terminate()
        p.wait(5)


def test_api_resources_lists_every_kind(kc):
    out = kc("api-resources").stdout
    for name, short in [("namespaces", "ns"), ("services", "svc"), ("configmaps", "cm"), ("secrets", None),
                        ("serviceaccounts", None), ("events", "ev"), ("pods", None), ("endpoints", None),
                        ("deployments", "deploy"), ("statefulsets", None), ("daemonsets", None), ("jobs", None),
                        ("cronjobs", None), ("ingresses", None), ("leases", None), ("clusters", None),
                        ("propagationpolicies", "pp"), ("clusterpropagationpolicies", "cpp"),
                        ("overridepolicies", "op"), ("clusteroverridepolicies", "cop"), ("works", "wk"),
                        ("resourcebindings", "rb"), ("clusterresourcebindings", "crb"),
                        ("customresourcedefinitions", "crd")]:
        line = [l for l in out.splitlines() if l.split()[0] == name]
        assert line, "%s missing from api-resources" % name
        if short:
            assert short in line[0].split()[1].split(",")


def test_seed_policies_apply(kc):
    for f in ("policy-equal.yaml", "policy-weighted.yaml", "policy-with-sleep.yaml"):
        out = kc("apply", "-f", seed(f)).stdout
        assert "propagationpolicy.policy.karmada.io/" in out
    out = kc("get", "pp").stdout
    assert re.split(r"\s+", out.splitlines()[0]) == ["NAME", "CONFLICT-RESOLUTION", "PRIORITY", "AGE"]


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gateways.networking.istio.io
spec:
  group: networking.istio.io
  names:
    kind: Gateway
    plural: gateways
    singular: gateway
    shortNames: [gw]
    categories: [istio-io]
  scope: Namespaced
  versions:
  - name: v1alpha3
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""


def test_crd_then_custom_object(kc, tmp_path):
    f = tmp_path / "crd.yaml"
    f.write_text(CRD)
    out = kc("apply", "-f", str(f)).stdout
    assert "customresourcedefinition.apiextensions.k8s.io/gateways.networking.istio.io created" in out
    out = kc("apply", "-f", seed("expose.yaml")).stdout
    assert "gateway.networking.istio.io/cross-network-gateway created" in out
    out = kc("get", "gateways").stdout
    assert "cross-network-gateway" in out
    gw = json.loads(kc("get", "gw", "cross-network-gateway", "-o", "json").stdout)
    assert gw["spec"]["servers"][0]["port"]["number"] == 15443


PRINTER_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: guestbooks.webapp.my.domain
spec:
  group: webapp.my.domain
  names: {kind: Guestbook, plural: guestbooks}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Owner, type: string, jsonPath: .spec.owner, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""


def test_crd_printer_columns(kc, tmp_path):
    """kubectl get prints a CRD's additionalPrinterColumns (wide ones with -o
    wide) as against kube-apiserver: NAME first, no AGE unless listed, an
    empty cell for an absent value (a null cell, as the apiextensions
    server sends); a column without a jsonPath is refused."""
    f = tmp_path / "crd.yaml"
    f.write_text(PRINTER_CRD)
    kc("apply", "-f", str(f))
    cr = tmp_path / "gb.yaml"
    cr.write_text("apiVersion: webapp.my.domain/v1\nkind: Guestbook\nmetadata: {name: gb}\n"
                  "spec: {size: 3, owner: alice}\n")
    kc("apply", "-f", str(cr))
    lines = kc("get", "guestbooks").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "PHASE"]
    assert lines[1].split() == ["gb", "3"]
    lines = kc("get", "guestbooks", "-o", "wide").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "PHASE", "OWNER"]
    assert lines[1].split() == ["gb", "3", "alice"]
    assert lines[1].index("alice") == lines[0].index("OWNER")
    bad = tmp_path / "bad.yaml"
    bad.write_text(PRINTER_CRD.replace("guestbooks", "badbooks").replace("kind: Guestbook", "kind: Badbook")
                   .replace("jsonPath: .spec.size", "description: no path"))
    p = kc("apply", "-f", str(bad), check=False)
    assert p.returncode != 0
    assert "additionalPrinterColumns[0].jsonPath" in p.stderr and "Required value" in p.stderr, p.stderr


def test_get_multiple_kinds_keeps_prefixes(kc):
    kc("apply", "-f", seed("deployment.yaml"))
    out = kc("get", "deployments,services").stdout
    assert "deployment.apps/hello" in out
    assert "service/hello" in out


def test_all_namespaces_and_labels(kc):
    kc("apply", "-f", seed("deployment.yaml"))
    out = kc("get", "deployments", "-A").stdout
    assert out.splitlines()[0].split()[0] == "NAMESPACE"
    assert out.splitlines()[1].split()[:2] == ["default", "hello"]
    out = kc("get", "deployments", "--show-labels").stdout
    assert "LABELS" in out.splitlines()[0]
    out = kc("get", "deployments", "-L", "app").stdout
    assert out.splitlines()[0].split()[-1] == "APP"


def test_errors_from_server(kc):
    kc("create", "-f", seed("deployment.yaml"))
    p = kc("create", "-f", seed("deployment.yaml"), check=False)
    assert p.returncode == 1
    assert "(AlreadyExists)" in p.stderr and 'deployments.apps "hello" already exists' in p.stderr
    p = kc("scale", "deployment/hello", "--replicas=-1", check=False)
    assert p.returncode != 0
