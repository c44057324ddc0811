"""Field validation (fieldValidation=Strict|Warn|Ignore) on a built-in kind,
a Karmada kind and a custom kind, through the API and through kubectl."""
import pytest

from conftest import SEED, make_kubectl  # noqa: F401

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "typo"},
          "spec": {"replcias": 3, "selector": {"matchLabels": {"app": "t"}},
                   "template": {"metadata": {"labels": {"app": "t"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx", "imagee": "x"}]}}}}
DEPLOY_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replcias: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
"""
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
PPS = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"

PP_MISINDENTED = """apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: nginx
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  clusterAffinity:
    clusterNames: [member1]
  placement:
    replicaScheduling:
      replicaSchedulingType: Duplicated
"""

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                  "spec": {"type": "object", "properties": {
                                      "size": {"type": "integer"},
                                      "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                      "tags": {"type": "array", "items": {"type": "object", "properties": {
                                          "k": {"type": "string"}}}}}}}}}}]}}
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def warnings(headers):
    return headers.get_all("Warning") or []


def test_builtin_strict_warn_ignore(hub):
    st, body, _ = hub.request("POST", DEPLOYS + "?fieldValidation=Strict", DEPLOY)
    assert st == 400, body
    assert body["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "spec.replcias"' in body["message"]
    assert 'unknown field "spec.template.spec.containers[0].imagee"' in body["message"]
    assert hub.get(DEPLOYS + "/typo")[0] == 404

    st, body, h = hub.request("POST", DEPLOYS, DEPLOY)  # Warn is the default
    assert st == 201, body
    # Stored without the unknown fields, as Kubernetes' decoding drops them.
    assert "replcias" not in body["spec"] and body["spec"]["replicas"] == 1
    assert "imagee" not in body["spec"]["template"]["spec"]["containers"][0]
    assert "replcias" not in hub.get(DEPLOYS + "/typo")[1]["spec"]
    assert sorted(warnings(h)) == ['299 - "unknown field \\"spec.replcias\\""',
                                   '299 - "unknown field \\"spec.template.spec.containers[0].imagee\\""']
    st, _, h = hub.request("DELETE", DEPLOYS + "/typo")
    st, body, h = hub.request("POST", DEPLOYS + "?fieldValidation=Ignore", DEPLOY)
    assert st == 201 and warnings(h) == []

    # Patches: merge patch and strategic merge patch bodies, directives allowed.
    st, body, _ = hub.request("PATCH", DEPLOYS + "/typo?fieldValidation=Strict", {"spec": {"paused": True, "pasued": 1}},
                              ctype="application/merge-patch+json")
    assert st == 400 and 'unknown field "spec.pasued"' in body["message"], body
    smp = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "c"}],
                                          "containers": [{"name": "c", "image": "nginx:2"}]}}}}
    st, body, h = hub.request("PATCH", DEPLOYS + "/typo?fieldValidation=Strict", smp,
                              ctype="application/strategic-merge-patch+json")
    assert st == 200, body
    # A JSON patch: each add/replace operation's path and value.
    jp = [{"op": "add", "path": "/spec/paused", "value": True},
          {"op": "add", "path": "/spec/pasued", "value": True}]
    st, body, _ = hub.request("PATCH", DEPLOYS + "/typo?fieldValidation=Strict", jp,
                              ctype="application/json-patch+json")
    assert st == 400 and 'unknown field "spec.pasued"' in body["message"], body
    assert hub.get(DEPLOYS + "/typo")[1]["spec"].get("paused") is not True
    st, body, h = hub.request("PATCH", DEPLOYS + "/typo", jp, ctype="application/json-patch+json")
    assert st == 200 and body["spec"]["paused"] is True and "pasued" not in body["spec"], body
    assert warnings(h) == ['299 - "unknown field \\"spec.pasued\\""']
    # Update with a duplicated key (raw JSON): the last one wins, reported.
    cur = hub.get(DEPLOYS + "/typo")[1]
    raw = ('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"typo","resourceVersion":"%s"},'
           '"spec":{"replicas":2,"replicas":4,"selector":{"matchLabels":{"app":"t"}},'
           '"template":{"metadata":{"labels":{"app":"t"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}'
           % cur["metadata"]["resourceVersion"])
    st, body, _ = hub.request("PUT", DEPLOYS + "/typo?fieldValidation=Strict", raw.encode())
    assert st == 400 and 'duplicate field "spec.replicas"' in body["message"], body
    st, body, h = hub.request("PUT", DEPLOYS + "/typo", raw.encode())
    assert st == 200, body
    assert body["spec"]["replicas"] == 4
    assert warnings(h) == ['299 - "duplicate field \\"spec.replicas\\""']

    st, body, _ = hub.request("POST", DEPLOYS + "?fieldValidation=Maybe", DEPLOY)
    assert st == 400 and "fieldValidation" in body["message"]


def test_karmada_kind_misindented_policy(hub):
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "p"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                   "placement": {"clusterAfinity": {"clusterNames": ["m1"]}}}}
    st, body, _ = hub.request("POST", PPS + "?fieldValidation=Strict", pp)
    assert st == 400 and 'unknown field "spec.placement.clusterAfinity"' in body["message"], body
    pp["spec"]["placement"] = {"clusterAffinity": {"clusterNames": ["m1"]},
                               "replicaScheduling": {"replicaSchedulingType": "Divided",
                                                     "weightPreference": {"staticWeightList": [
                                                         {"targetCluster": {"clusterNames": ["m1"]}, "weight": 1}]}}}
    st, body, h = hub.request("POST", PPS + "?fieldValidation=Strict", pp)
    assert st == 201 and warnings(h) == [], body


def test_custom_kind_pruning(hub):
    assert hub.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)[0] == 201
    w = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
         "spec": {"size": 2, "colour": "red", "free": {"any": {"thing": 1}}, "tags": [{"k": "a", "v": "b"}]},
         "extra": 1}
    import time
    deadline = time.time() + 10
    while hub.get(WIDGETS)[0] != 200 and time.time() < deadline:
        time.sleep(0.1)
    st, body, _ = hub.request("POST", WIDGETS + "?fieldValidation=Strict", w)
    assert st == 400, body
    for f in ("spec.colour", "spec.tags[0].v", "extra"):
        assert 'unknown field "%s"' % f in body["message"]
    st, body, h = hub.request("POST", WIDGETS, w)
    assert st == 201, body
    assert len(warnings(h)) == 3
    st, got, _ = hub.get(WIDGETS + "/w")
    assert got["spec"] == {"size": 2, "free": {"any": {"thing": 1}}, "tags": [{"k": "a"}]}
    assert "extra" not in got


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_kubectl_typos(hub, tmp_path, version):
    kc = make_kubectl(hub, tmp_path, version)
    f = tmp_path / "pp.yaml"
    f.write_text(PP_MISINDENTED)
    p = kc("apply", "-f", str(f), check=False)
    assert p.returncode != 0
    assert 'unknown field "spec.clusterAffinity"' in p.stderr, p.stderr
    cm = tmp_path / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nfoo: bar\ndata:\n  a: b\n")
    p = kc("create", "-f", str(cm), check=False)
    assert p.returncode != 0 and 'unknown field "foo"' in p.stderr, p.stderr
    p = kc("create", "--validate=warn", "-f", str(cm))
    assert 'unknown field "foo"' in p.stderr, p.stderr
    assert kc("get", "configmap", "c", "-o", "jsonpath={.data.a}").stdout == "b"
    assert "foo" not in hub.get("/api/v1/namespaces/default/configmaps/c")[1]

    # The Deployment: replcias on create, on a client-side apply over
    # an existing object (a strategic merge patch) and on a server-side apply.
    good = DEPLOY_YAML.replace("replcias", "replicas")
    d = tmp_path / "d.yaml"
    d.write_text(DEPLOY_YAML)
    p = kc("apply", "-f", str(d), check=False)
    assert p.returncode != 0 and 'unknown field "spec.replcias"' in p.stderr, p.stderr
    d.write_text(good)
    kc("apply", "-f", str(d))
    d.write_text(good.replace("replicas: 3", "replicas: 3\n  paused: false\n  replcias: 5"))
    p = kc("apply", "-f", str(d), check=False)
    assert p.returncode != 0 and 'unknown field "spec.replcias"' in p.stderr, p.stderr
    p = kc("apply", "--server-side", "-f", str(d), check=False)
    assert p.returncode != 0 and 'unknown field "spec.replcias"' in p.stderr, p.stderr
    assert kc("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    # Applied with the typo once (--validate=false: dropped, but kept in the
    # last-applied annotation), the fixed manifest's patch deletes it with
    # a null: that is no unknown field.
    d.write_text(DEPLOY_YAML.replace("name: web", "name: web2").replace("app: web", "app: web2"))
    kc("apply", "--validate=false", "-f", str(d))
    d.write_text(good.replace("name: web", "name: web2").replace("app: web", "app: web2"))
    out = kc("apply", "-f", str(d)).stdout
    assert "deployment.apps/web2 configured" in out
    assert kc("get", "deployment", "web2", "-o", "jsonpath={.spec.replicas}").stdout == "3"
