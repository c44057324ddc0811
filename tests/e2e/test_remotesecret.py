"""Issue 13, remote secrets: atoll-sim accepts ServiceAccount tokens and
enforces RBAC for them; the agents of a Mesh's members report reader
kubeconfigs and the hub delivers istio-remote-secret-<cluster> to every
OTHER member; a cluster that leaves loses its secrets everywhere and its
reader token stops working. Three simulated members (test_mesh's Fleet)."""
import base64
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml

from conftest import make_kubectl, stop_process
from test_mesh import KUBECTL_VERSION, MEMBERS, apply, mesh, run_fleet, wait_for

RS_LABEL = "istio/multiCluster"


def call(server, path, token, method="GET", body=None):
    """(code, parsed body) of a request to a member with a bearer token."""
    req = urllib.request.Request(server + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    yield from run_fleet(tmp_path_factory, "remotesecret")


@pytest.fixture
def k(fleet, tmp_path):
    return make_kubectl(fleet.hub, tmp_path, KUBECTL_VERSION)


def admin(fleet, member, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (fleet.ports[member], path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def sa_token(fleet, member, ns, secret):
    s = fleet.mget(member, "/api/v1/namespaces/%s/secrets/%s" % (ns, secret))
    t = (s or {}).get("data", {}).get("token")
    return base64.b64decode(t).decode() if t else None


def test_sim_serviceaccount_tokens_and_rbac(fleet):
    m, srv = "ap", "http://127.0.0.1:%d" % fleet.ports["ap"]
    assert admin(fleet, m, "POST", "/api/v1/namespaces", {"metadata": {"name": "rbt"}}) == 201
    assert admin(fleet, m, "POST", "/api/v1/namespaces/rbt/serviceaccounts", {"metadata": {"name": "viewer"}}) == 201
    tok_secret = {"metadata": {"name": "viewer-token", "annotations": {
        "kubernetes.io/service-account.name": "viewer"}}, "type": "kubernetes.io/service-account-token"}
    assert admin(fleet, m, "POST", "/api/v1/namespaces/rbt/secrets", tok_secret) == 201
    tok = wait_for("the token filled in", lambda: sa_token(fleet, m, "rbt", "viewer-token"))
    s = fleet.mget(m, "/api/v1/namespaces/rbt/secrets/viewer-token")
    sa = fleet.mget(m, "/api/v1/namespaces/rbt/serviceaccounts/viewer")
    assert s["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == sa["metadata"]["uid"]
    assert base64.b64decode(s["data"]["namespace"]).decode() == "rbt"
    # Authenticated, but no binding yet: 403 in Kubernetes' words.
    code, st = call(srv, "/api/v1/namespaces/rbt/pods", tok)
    assert code == 403 and st["reason"] == "Forbidden", st
    assert st["message"] == ('pods is forbidden: User "system:serviceaccount:rbt:viewer" cannot list resource '
                             '"pods" in API group "" in the namespace "rbt"'), st
    assert call(srv, "/api/v1/pods", "atoll-sa.bogus.00")[0] == 401
    assert call(srv, "/api/v1/pods", tok[:-2] + ("00" if not tok.endswith("00") else "11"))[0] == 401
    # A Role and RoleBinding in rbt: read pods there, nothing else.
    assert admin(fleet, m, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/rbt/roles", {
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}) == 201
    assert admin(fleet, m, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/rbt/rolebindings", {
        "metadata": {"name": "viewer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": "rbt"}]}) == 201
    code, lst = call(srv, "/api/v1/namespaces/rbt/pods", tok)
    assert code == 200 and lst["kind"] == "PodList"
    assert call(srv, "/api/v1/namespaces/default/pods", tok)[0] == 403      # another namespace
    assert call(srv, "/api/v1/pods", tok)[0] == 403                        # cluster scope
    assert call(srv, "/api/v1/namespaces/rbt/configmaps", tok)[0] == 403    # another resource
    code, st = call(srv, "/api/v1/namespaces/rbt/pods", tok, "POST",
                    {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert code == 403 and "cannot create resource" in st["message"]
    assert call(srv, "/version", tok)[0] == 200                             # discovery is open
    assert fleet.mget(m, "/api/v1/namespaces/rbt/pods/p") is None          # the write changed nothing
    # TokenRequest, as kubectl create token does it: a token bound to the ServiceAccount.
    kc = os.path.join(fleet.tmp, "sim", "ap.kubeconfig")
    r = subprocess.run(["kubectl", "--kubeconfig", kc, "-n", "rbt", "create", "token", "viewer"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    bound = r.stdout.strip()
    assert bound and bound != tok and call(srv, "/api/v1/namespaces/rbt/pods", bound)[0] == 200
    assert call(srv, "/api/v1/pods", bound)[0] == 403
    req = urllib.request.Request(srv + "/api/v1/namespaces/rbt/serviceaccounts/viewer/token", method="POST",
                                 data=b'{"spec":{"expirationSeconds":60}}',
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as short:
        urllib.request.urlopen(req, timeout=10)
    assert short.value.code == 422
    assert call(srv, "/api/v1/namespaces/rbt/serviceaccounts/nope/token", bound, "POST", {})[0] == 403
    # Revoked: the token Secret deleted, then (a new token) the ServiceAccount.
    assert admin(fleet, m, "DELETE", "/api/v1/namespaces/rbt/secrets/viewer-token") == 200
    assert call(srv, "/api/v1/namespaces/rbt/pods", tok)[0] == 401
    assert admin(fleet, m, "POST", "/api/v1/namespaces/rbt/secrets", tok_secret) == 201
    tok2 = wait_for("a new token", lambda: sa_token(fleet, m, "rbt", "viewer-token"))
    assert tok2 != tok and call(srv, "/api/v1/namespaces/rbt/pods", tok2)[0] == 200
    assert admin(fleet, m, "DELETE", "/api/v1/namespaces/rbt/serviceaccounts/viewer") == 200
    assert call(srv, "/api/v1/namespaces/rbt/pods", tok2)[0] == 401
    assert call(srv, "/api/v1/namespaces/rbt/pods", bound)[0] == 401
    wait_for("the token Secret deleted with its ServiceAccount",
             lambda: fleet.mget(m, "/api/v1/namespaces/rbt/secrets/viewer-token") is None)


MESHRS = """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata:
  name: meshrs
spec:
  clusters:
    names: [ap, us, eu]
"""


def remote_secrets(fleet, member):
    lst = fleet.mget(member, "/api/v1/namespaces/istio-system/secrets?labelSelector=istio%2FmultiCluster%3Dtrue")
    return {s["metadata"]["name"]: s for s in (lst or {}).get("items", [])}


def kubeconfig_of(secret, cluster):
    return yaml.safe_load(base64.b64decode(secret["data"][cluster]).decode())


def ready_addresses(eps):
    """Ready endpoint addresses of one Endpoints object (None: not there)."""
    if not eps:
        return 0
    return sum(len(ss.get("addresses") or []) for ss in eps.get("subsets") or [])


def test_remote_secrets_between_three_members(fleet, k, tmp_path):
    # The seed's hello, divided over the three members, for the endpoint
    # check below (what istiod's endpoint discovery would see).
    seed = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "seed")
    k("apply", "-f", os.path.join(seed, "deployment.yaml"), "-f", os.path.join(seed, "policy-equal.yaml"))
    k("scale", "deployment/hello", "--replicas=10")
    apply(k, MESHRS)
    want = {m: {"istio-remote-secret-" + o for o in MEMBERS if o != m} for m in MEMBERS}
    for m in MEMBERS:
        wait_for("the remote secrets of the others in " + m, lambda m=m: set(remote_secrets(fleet, m)) == want[m],
                 timeout=30)
    tokens = {}
    for m in MEMBERS:
        for name, s in remote_secrets(fleet, m).items():
            other = name[len("istio-remote-secret-"):]
            assert other != m
            assert s["metadata"]["labels"][RS_LABEL] == "true"
            assert s["metadata"]["annotations"]["networking.istio.io/cluster"] == other
            assert list(s["data"]) == [other]
            kc = kubeconfig_of(s, other)
            assert kc["current-context"] == other and kc["clusters"][0]["name"] == other
            server = kc["clusters"][0]["cluster"]["server"]
            assert server == "http://127.0.0.1:%d" % fleet.ports[other]
            tok = kc["users"][0]["user"]["token"]
            tokens.setdefault(other, set()).add(tok)
            # It reaches the other member and reads what istiod reads there; writes are refused.
            code, eps = call(server, "/api/v1/endpoints", tok)
            assert code == 200 and eps["kind"] == "EndpointsList"
            assert call(server, "/api/v1/pods", tok)[0] == 200
            assert call(server, "/api/v1/namespaces/istio-system/services", tok)[0] == 200
            code, st = call(server, "/api/v1/namespaces/default/configmaps", tok, "POST",
                            {"metadata": {"name": "x"}})
            assert code == 403, st
            assert call(server, "/apis/apps/v1/deployments", tok)[0] == 403
    assert all(len(t) == 1 for t in tokens.values())  # one reader token per cluster, the same in both copies
    # Through the remote secrets each cluster sees hello's endpoints in the
    # other two; with its own they add up to the replicas the hub placed.
    def placed():
        code, rb, _ = fleet.hub.get("/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings/hello-deployment")
        return code == 200 and sum(c.get("replicas", 0) for c in rb["spec"].get("clusters", []))
    wait_for("hello placed", lambda: placed() == 10, timeout=30)
    for m in MEMBERS:
        def seen(m=m):
            total = ready_addresses(fleet.mget(m, "/api/v1/namespaces/default/endpoints/hello"))
            for name, sec in remote_secrets(fleet, m).items():
                other = name[len("istio-remote-secret-"):]
                kc = kubeconfig_of(sec, other)
                code, eps = call(kc["clusters"][0]["cluster"]["server"], "/api/v1/namespaces/default/endpoints/hello",
                                 kc["users"][0]["user"]["token"])
                total += ready_addresses(eps) if code == 200 else 0
            return total
        wait_for("hello's endpoints seen from " + m + " add up to 10", lambda: seen() == 10, timeout=30)
    # Mesh status: the remote secrets each cluster holds.
    st = wait_for("status lists the remote secrets", lambda: {
        c["name"]: set(c.get("remoteSecrets", [])) for c in mesh(fleet, "meshrs")["status"]["clusters"]} == want
        and mesh(fleet, "meshrs"))
    # The tokens are secrets: not in the Mesh status, Events or any log.
    events = json.dumps(fleet.hub.get("/api/v1/events")[1])
    logs = fleet.all_logs()
    for t in [next(iter(v)) for v in tokens.values()]:
        assert t not in json.dumps(st) and t not in events and t not in logs
    eu_token = next(iter(tokens["eu"]))
    eu_server = "http://127.0.0.1:%d" % fleet.ports["eu"]

    # eu leaves: its secrets disappear from ap and us, its token is revoked in eu.
    k("patch", "mesh", "meshrs", "--type=merge", "-p", '{"spec":{"clusters":{"names":["ap","us"]}}}')
    for m in ("ap", "us"):
        wait_for("eu's secret gone from " + m, lambda m=m: set(remote_secrets(fleet, m)) ==
                 {"istio-remote-secret-" + o for o in ("ap", "us") if o != m}, timeout=20)
    wait_for("eu's reader token revoked", lambda: call(eu_server, "/api/v1/endpoints", eu_token)[0] == 401)
    wait_for("eu holds no remote secret", lambda: remote_secrets(fleet, "eu") == {})
    wait_for("eu's reader gone from the hub", lambda: fleet.hub.get(
        "/api/v1/namespaces/karmada-system/secrets/atoll-reader-eu")[0] == 404)
    # ap's reader still works in ap.
    ap_kc = kubeconfig_of(remote_secrets(fleet, "us")["istio-remote-secret-ap"], "ap")
    assert call(ap_kc["clusters"][0]["cluster"]["server"], "/api/v1/pods", ap_kc["users"][0]["user"]["token"])[0] == 200
    k("delete", "mesh", "meshrs")
    for m in MEMBERS:
        wait_for("no remote secret left in " + m, lambda m=m: remote_secrets(fleet, m) == {}, timeout=20)


def test_meshreader_protocol_hostile_input(fleet):
    """Bad MeshReader reports get a clear 4xx and store nothing."""
    path = "/apis/atoll.io/v1alpha1/clusters/ap/meshreader"
    stored = "/api/v1/namespaces/karmada-system/secrets/atoll-reader-ap"
    good_kc = "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: 'http://127.0.0.1:1'}\n  name: zz\n" \
              "contexts:\n- context: {cluster: zz, user: zz}\n  name: zz\ncurrent-context: zz\n" \
              "users:\n- name: zz\n  user: {token: abc}\n"
    cases = [
        (b"", 400),
        (b"{not json", 400),
        ({"apiVersion": "atoll.io/v1alpha1", "kind": "Other", "kubeconfig": good_kc}, 400),
        ({"apiVersion": "atoll.io/v1alpha1", "kind": "MeshReader"}, 400),
        ({"apiVersion": "atoll.io/v1alpha1", "kind": "MeshReader", "kubeconfig": "::: not yaml"}, 422),
        ({"apiVersion": "atoll.io/v1alpha1", "kind": "MeshReader",
          "kubeconfig": good_kc.replace("  user: {token: abc}\n", "  user: {}\n")}, 422),   # no token
        (b"x" * (64 * 1024 + 1), 413),
    ]
    for body, want in cases:
        code, st, _ = fleet.hub.request("PUT", path, body)
        assert code == want, (body if len(body) < 200 else "big", code, st)
        assert st["kind"] == "Status" and st["message"]
        assert "abc" not in json.dumps(st)
        assert fleet.hub.get(stored)[0] == 404
    assert fleet.hub.request("POST", path, {})[0] == 405
    code, st, _ = fleet.hub.request("PUT", "/apis/atoll.io/v1alpha1/clusters/zz/meshreader",
                                    {"apiVersion": "atoll.io/v1alpha1", "kind": "MeshReader", "kubeconfig": good_kc})
    assert code == 404 and "register the cluster first" in st["message"], st
    # A good one is stored (and, ap being in no Mesh now, dropped again by the Mesh controller).
    code, st, _ = fleet.hub.request("PUT", path, {"apiVersion": "atoll.io/v1alpha1", "kind": "MeshReader",
                                                   "kubeconfig": good_kc})
    assert code == 200, st
    assert fleet.hub.request("DELETE", path)[0] == 200
    wait_for("no reader of ap", lambda: fleet.hub.get(stored)[0] == 404)


def test_cluster_leaving_the_hub_loses_its_remote_secrets(fleet, k):
    """A Mesh over every cluster; eu leaves the hub (its agent stopped, its
    Cluster deleted): ap and us lose istio-remote-secret-eu, the hub its copy."""
    apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata:
  name: meshall
spec: {}
""")
    for m in MEMBERS:
        wait_for("the remote secrets in " + m, lambda m=m: len(remote_secrets(fleet, m)) == 2, timeout=30)
    proc, log = fleet.agents.pop("eu")
    assert stop_process(proc, log) == 0
    code, _, _ = fleet.hub.request("DELETE", "/apis/cluster.karmada.io/v1alpha1/clusters/eu")
    assert code == 200
    for m in ("ap", "us"):
        wait_for("eu's secret gone from " + m, lambda m=m: "istio-remote-secret-eu" not in remote_secrets(fleet, m)
                 and len(remote_secrets(fleet, m)) == 1, timeout=20)
    wait_for("eu's reader gone from the hub", lambda: fleet.hub.get(
        "/api/v1/namespaces/karmada-system/secrets/atoll-reader-eu")[0] == 404)
    k("delete", "mesh", "meshall")
    for m in ("ap", "us"):
        wait_for("no remote secret left in " + m, lambda m=m: remote_secrets(fleet, m) == {}, timeout=20)
