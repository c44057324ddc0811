"""kubectl's everyday verbs against the hub, one hub per kubectl version:
create subcommands (pdb and quota with their table columns), expose, run, set image, rollout restart|status, label,
annotate, edit (a scripted editor), diff, wait --for=condition, auth can-i,
api-versions and get --raw /openapi/v3.

make test runs 1.20 (Debian's, from make kubectl-1.20) and 1.33;
`make kubectl-matrix` (ATOLL_KUBECTL_ALL=1) runs 1.20, 1.27, 1.31, 1.32, 1.33.
test_protobuf.py covers every create subcommand's objects in detail."""
import json
import os
import sys

import pytest

from conftest import E2E_TLS, make_kubectl

ALL = ["1.20", "1.27", "1.31", "1.32", "1.33"]
VERSIONS = ALL if os.environ.get("ATOLL_KUBECTL_ALL") == "1" else ["1.20", "1.33"]

EDITOR = """#!%s
import sys, yaml
p = sys.argv[-1]
d = yaml.safe_load(open(p))
d["spec"]["replicas"] = 4
open(p, "w").write(yaml.safe_dump(d))
""" % sys.executable


def ok(hub, path):
    code, body, _ = hub.get(path)
    assert code == 200, (path, body)
    return body


def set_deployment_status(hub, name, replicas):
    """What a member's status aggregation would report: all replicas ready."""
    path = "/apis/apps/v1/namespaces/default/deployments/" + name
    d = ok(hub, path)
    d["status"] = {"observedGeneration": d["metadata"]["generation"], "replicas": replicas,
                   "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                   "conditions": [
                       {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                        "message": "ok"},
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                        "message": "ok"}]}
    code, body, _ = hub.request("PUT", path + "/status", d)
    assert code == 200, body


@pytest.mark.parametrize("version", VERSIONS)
def test_everyday_verbs(hub, tmp_path, version):
    kc = make_kubectl(hub, tmp_path, version)
    # create subcommands
    kc("create", "namespace", "demo")
    kc("create", "configmap", "cm", "--from-literal=a=b")
    kc("create", "secret", "generic", "s", "--from-literal=x=y")
    kc("create", "serviceaccount", "sa")
    kc("create", "service", "clusterip", "svc", "--tcp=80:8080")
    kc("create", "job", "job", "--image=busybox")
    if version != "1.20":  # 1.20 sends batch/v1beta1, which Kubernetes 1.25+ no longer serves
        kc("create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *")
    kc("create", "role", "r", "--verb=get", "--resource=pods")
    kc("create", "rolebinding", "rb", "--role=r", "--user=alice")
    kc("create", "clusterrole", "cr", "--verb=get", "--resource=nodes")
    kc("create", "clusterrolebinding", "crb", "--clusterrole=cr", "--group=devs")
    kc("create", "priorityclass", "high", "--value=1000")
    kc("create", "ingress", "ing", "--rule=foo.com/bar=svc:80")
    kc("create", "deployment", "web", "--image=nginx", "--replicas=2")
    if version != "1.20":  # 1.20 sends policy/v1beta1, which Kubernetes 1.25+ no longer serves
        kc("create", "pdb", "pdb", "--selector=app=web", "--min-available=50%")
        out = kc("get", "pdb", "pdb").stdout.splitlines()
        assert out[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"], out
        assert out[1].split()[:4] == ["pdb", "50%", "N/A", "0"], out
        assert ok(hub, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/pdb")["spec"]["selector"] == \
            {"matchLabels": {"app": "web"}}
    kc("create", "quota", "q", "--hard=pods=2,cpu=1,limits.memory=1Gi")
    out = kc("get", "quota", "q").stdout.splitlines()
    assert out[0].split() == ["NAME", "AGE", "REQUEST", "LIMIT"], out
    # no quota controller on the hub (nor in Karmada's): used and hard print as 0
    assert out[1].split()[2:] == ["cpu:", "0/0,", "pods:", "0/0", "limits.memory:", "0/0"], out
    assert ok(hub, "/api/v1/namespaces/default/resourcequotas/q")["spec"]["hard"] == \
        {"pods": "2", "cpu": "1", "limits.memory": "1Gi"}
    for path in ([] if version == "1.20" else ["/apis/batch/v1/namespaces/default/cronjobs/cj"]) + ["/api/v1/namespaces/demo", "/api/v1/namespaces/default/configmaps/cm",
                 "/api/v1/namespaces/default/secrets/s", "/api/v1/namespaces/default/serviceaccounts/sa",
                 "/api/v1/namespaces/default/services/svc", "/apis/batch/v1/namespaces/default/jobs/job",
                 "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/r",
                 "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/rb",
                 "/apis/rbac.authorization.k8s.io/v1/clusterroles/cr",
                 "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/crb",
                 "/apis/scheduling.k8s.io/v1/priorityclasses/high",
                 "/apis/networking.k8s.io/v1/namespaces/default/ingresses/ing"]:
        ok(hub, path)
    dep = "/apis/apps/v1/namespaces/default/deployments/web"
    assert ok(hub, dep)["spec"]["replicas"] == 2

    # expose, run, set image, label, annotate, rollout restart
    kc("expose", "deployment", "web", "--port=80", "--target-port=8080", "--name=websvc")
    assert ok(hub, "/api/v1/namespaces/default/services/websvc")["spec"]["selector"] == {"app": "web"}
    kc("run", "pod1", "--image=nginx", "--labels=a=b")
    assert ok(hub, "/api/v1/namespaces/default/pods/pod1")["metadata"]["labels"] == {"a": "b"}
    kc("set", "image", "deployment/web", "nginx=nginx:1.25")
    kc("label", "deployment", "web", "tier=front")
    kc("annotate", "deployment", "web", "note=hi")
    kc("rollout", "restart", "deployment/web")
    d = ok(hub, dep)
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert d["metadata"]["labels"]["tier"] == "front" and d["metadata"]["annotations"]["note"] == "hi"
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]

    # rollout status and wait, once the status says every replica is ready
    set_deployment_status(hub, "web", 2)
    out = kc("rollout", "status", "deployment/web", "--timeout=20s").stdout
    assert 'deployment "web" successfully rolled out' in out
    out = kc("wait", "--for=condition=Available", "deployment/web", "--timeout=20s").stdout
    assert "deployment.apps/web condition met" in out

    # edit with a scripted editor
    ed = tmp_path / "editor.py"
    ed.write_text(EDITOR)
    ed.chmod(0o755)
    env = {"KUBE_EDITOR": str(ed)}
    out = kc("edit", "deployment/web", env=env).stdout
    assert "deployment.apps/web edited" in out
    assert ok(hub, dep)["spec"]["replicas"] == 4

    # diff: server-side dry run, rc 1 when the live object differs. kubectl
    # 1.20 first looks for a dryRun parameter on the PATCH operation of the
    # kind in /openapi/v2 ("doesn't support dry-run" without it).
    man = tmp_path / "web.yaml"
    live = json.loads(kc("get", "deployment", "web", "-o", "json").stdout)
    for k in ("status",):
        live.pop(k, None)
    for k in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
        live["metadata"].pop(k, None)
    live["spec"]["replicas"] = 7
    man.write_text(json.dumps(live))
    p = kc("diff", "-f", str(man), check=False)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "+  replicas: 7" in p.stdout and "-  replicas: 4" in p.stdout, p.stdout
    assert ok(hub, dep)["spec"]["replicas"] == 4  # a dry run changes nothing

    # auth can-i, api-versions, the OpenAPI v3 index
    assert kc("auth", "can-i", "create", "deployments").stdout.strip() == "yes"
    av = kc("api-versions").stdout.split()
    for gv in ("v1", "apps/v1", "policy.karmada.io/v1alpha1", "work.karmada.io/v1alpha2"):
        assert gv in av, av
    idx = json.loads(kc("get", "--raw", "/openapi/v3").stdout)
    assert "apis/apps/v1" in idx["paths"]


@pytest.mark.skipif(not E2E_TLS, reason="identities exist only on a TLS hub")
def test_can_i_as_viewer(hub):
    from test_tls import anon_ctx, create_token
    tok = create_token(hub, "--user", "dash", "--group", "system:atoll:viewers", "--ttl", "1h")
    hdr = {"Authorization": "Bearer " + tok["token"]}
    ssar = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "default"}}}
    code, got, _ = hub.request("POST", ssar, body, context=anon_ctx(hub), headers=hdr)
    assert code == 201 and got["status"]["allowed"] is False and "dash" in got["status"]["reason"], got
    code, got, _ = hub.request("POST", ssar, body)  # admin
    assert code == 201 and got["status"]["allowed"] is True, got


GADGET_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "gadgets.example.com"},
              "spec": {"group": "example.com", "scope": "Namespaced",
                       "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                       "versions": [{"name": "v1", "served": True, "storage": True,
                                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                         "spec": {"type": "object", "description": "GadgetSpec is what a gadget does.",
                                                  "properties": {
                                                      "size": {"type": "integer",
                                                               "description": "How big the gadget is."}}}}}}}]}}


@pytest.mark.parametrize("version", VERSIONS)
def test_explain_custom_kind(hub, tmp_path, version):
    """A CRD's openAPIV3Schema is published in /openapi/v2 (1.20) and v3:
    kubectl explain prints its fields and descriptions."""
    code, body, _ = hub.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", GADGET_CRD)
    assert code == 201, body
    kc = make_kubectl(hub, tmp_path, version)
    # discovery and the OpenAPI documents follow the CRD (poll: kubectl caches)
    import time
    deadline = time.time() + 20
    while True:
        p = kc("explain", "gadget.spec", check=False)
        if p.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "GadgetSpec is what a gadget does." in p.stdout, p.stdout
    assert "size" in p.stdout and "How big the gadget is." in p.stdout, p.stdout
