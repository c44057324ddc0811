"""Server-side apply as Kubernetes does it: managedFields, conflicts between
field managers, force, fields an applier drops, and the same through an
agent to a simulated member (atoll-sim shares the API server code)."""
import json
import urllib.parse

import yaml

from test_agent import (CLUSTER, DEPLOY, applied, env, member_obj, put_work,  # noqa: F401 (env is a fixture)
                        wait_for, work)

assert CLUSTER  # the member's name in the agent fixture

APPLY = "application/apply-patch+yaml"


def deploy(name, replicas=2, labels=None, env_vars=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [dict({"name": "c", "image": "nginx:1.25"},
                                                                **({"env": env_vars} if env_vars else {}))]}}}}


def apply_file(kubectl, tmp_path, obj, *flags, check=True):
    f = tmp_path / ("%s.yaml" % obj["metadata"]["name"])
    f.write_text(yaml.safe_dump(obj))
    return kubectl("apply", "--server-side", "-f", str(f), *flags, check=check)


def managers(obj):
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


def test_apply_conflict_force_and_managed_fields(hub, kubectl, tmp_path, monkeypatch):
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    d = deploy("web", labels={"app": "web", "tier": "front"}, env_vars=[{"name": "A", "value": "1"}])
    apply_file(kubectl, tmp_path, d, "--field-manager=alice")
    got = json.loads(kubectl("get", "deployment", "web", "-o", "json", "--show-managed-fields").stdout)
    alice = managers(got)[("alice", "Apply")]
    assert alice["f:spec"]["f:replicas"] == {}
    c = alice["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert "." in c and c["f:env"]['k:{"name":"A"}'] == {".": {}, "f:name": {}, "f:value": {}}
    assert alice["f:metadata"]["f:labels"] == {"f:app": {}, "f:tier": {}}
    assert got["metadata"]["managedFields"][0]["fieldsType"] == "FieldsV1"
    # The same apply again changes nothing: no new resourceVersion.
    apply_file(kubectl, tmp_path, d, "--field-manager=alice")
    assert hub.get(path)[1]["metadata"]["resourceVersion"] == got["metadata"]["resourceVersion"]

    # bob wants 3 replicas: alice owns the field with another value.
    d3 = json.loads(json.dumps(d))
    d3["spec"]["replicas"] = 3
    p = apply_file(kubectl, tmp_path, d3, "--field-manager=bob", check=False)
    assert p.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas' in p.stderr, p.stderr
    code, st, _ = hub.request("PATCH", path + "?fieldManager=bob", json.dumps(d3).encode(), ctype=APPLY)
    assert code == 409 and st["reason"] == "Conflict", st
    assert st["details"]["causes"] == [{"type": "FieldManagerConflict", "message": 'conflict with "alice"',
                                        "field": ".spec.replicas"}]
    assert hub.get(path)[1]["spec"]["replicas"] == 2  # the refused apply changed nothing

    apply_file(kubectl, tmp_path, d3, "--field-manager=bob", "--force-conflicts")
    got = json.loads(kubectl("get", "deployment", "web", "-o", "json", "--show-managed-fields").stdout)
    assert got["spec"]["replicas"] == 3
    m = managers(got)
    assert "f:replicas" not in m[("alice", "Apply")]["f:spec"]
    assert "f:replicas" in m[("bob", "Apply")]["f:spec"]
    # Same values are shared, not conflicts: both own the image.
    assert "f:image" in m[("alice", "Apply")]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']

    # An Update records its manager (kubectl label sends fieldManager=kubectl-label).
    kubectl("label", "deployment", "web", "team=blue")
    got = hub.get(path)[1]
    assert managers(got)[("kubectl-label", "Update")] == {"f:metadata": {"f:labels": {"f:team": {}}}}
    # kubectl edit (a scripted editor) takes revisionHistoryLimit as kubectl-edit.
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/revisionHistoryLimit: 10/revisionHistoryLimit: 7/' \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    kubectl("edit", "deployment", "web")
    got = hub.get(path)[1]
    assert got["spec"]["revisionHistoryLimit"] == 7
    assert managers(got)[("kubectl-edit", "Update")] == {"f:spec": {"f:revisionHistoryLimit": {}}}

    # alice drops the tier label and the env var, but bob's configuration
    # (a copy of hers) still has them: they stay until bob drops them too.
    d4 = deploy("web", labels={"app": "web"})
    del d4["spec"]["replicas"]
    apply_file(kubectl, tmp_path, d4, "--field-manager=alice")
    got = hub.get(path)[1]
    assert got["metadata"]["labels"] == {"app": "web", "tier": "front", "team": "blue"}  # bob owns tier too
    assert got["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    d5 = deploy("web", replicas=3, labels={"app": "web"})
    apply_file(kubectl, tmp_path, d5, "--field-manager=bob")
    got = hub.get(path)[1]
    assert got["metadata"]["labels"] == {"app": "web", "team": "blue"}
    assert "env" not in got["spec"]["template"]["spec"]["containers"][0]


def test_apply_parameters(hub):
    path = "/apis/apps/v1/namespaces/default/deployments/p"
    body = json.dumps(deploy("p")).encode()
    code, st, _ = hub.request("PATCH", path, body, ctype=APPLY)
    assert code == 422 and st["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'), st
    assert st["reason"] == "Invalid" and st["details"]["kind"] == "PatchOptions", st
    assert st["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "fieldManager",
                                        "message": "Required value: is required for apply patch"}], st
    code, st, _ = hub.request("PATCH", path + "?fieldManager=" + "m" * 129, body, ctype=APPLY)
    assert code == 422 and "fieldManager: Too long: may not be more than 128 bytes" in st["message"], st
    code, st, _ = hub.request("PATCH", path + "?fieldManager=a&force=yes", body, ctype=APPLY)
    assert code == 400, st
    assert hub.get(path)[0] == 404  # nothing was created by refused requests
    code, st, _ = hub.request("PATCH", path + "?fieldManager=" + "m" * 128 + "&force=false", body, ctype=APPLY)
    assert code == 201, st
    code, st, _ = hub.request("PATCH", path + "?force=true", b'{"spec":{"replicas":1}}',
                              ctype="application/merge-patch+json")
    assert code == 422 and "force: Forbidden: may not be specified for non-apply patch" in st["message"], st
    # No fieldManager on an update: the User-Agent's prefix names it.
    code, st, _ = hub.request("PATCH", path, b'{"spec":{"replicas":1}}', ctype="application/merge-patch+json",
                              headers={"User-Agent": "deployer/1.0 (linux)"})
    assert code == 200 and managers(st)[("deployer", "Update")] == {"f:spec": {"f:replicas": {}}}, st
    assert "f:replicas" not in managers(st)[("m" * 128, "Apply")]["f:spec"]


def test_field_dropped_from_template_leaves_member(env):
    """A label and an env var removed from the Work's manifest disappear from
    the member's object; a field another manager owns there survives."""
    hub, member = env.hub, env.member
    ns = "apps"
    path = DEPLOY % (ns, "shop")

    def manifest(labels, env_vars):
        d = deploy("shop", labels=labels, env_vars=env_vars)
        d["metadata"]["namespace"] = ns
        return d

    full = manifest({"app": "shop", "tier": "web", "shared": "yes"},
                    [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    put_work(hub, work("shop", full))
    wait_for("the Work applied", lambda: applied(hub, "shop"), timeout=15)
    wait_for("the member Deployment", lambda: member_obj(member, path))
    # bob, on the member: his own label, and one he shares with the agent.
    bob = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "shop", "namespace": ns, "labels": {"shared": "yes", "team": "blue"}}}
    code, body, _ = member.request("PATCH", path + "?" + urllib.parse.urlencode({"fieldManager": "bob"}),
                                   bob, ctype=APPLY)
    assert code == 200, body

    put_work(hub, work("shop", manifest({"app": "shop"}, [{"name": "A", "value": "1"}])))

    def converged():
        o = member_obj(member, path)
        if not o or "tier" in o["metadata"].get("labels", {}):
            return None
        return o
    o = wait_for("tier gone from the member", converged, timeout=15)
    assert o["metadata"]["labels"].get("shared") == "yes" and o["metadata"]["labels"].get("team") == "blue", o
    assert o["metadata"]["labels"]["app"] == "shop"
    assert o["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}], o
    owners = {e["manager"] for e in o["metadata"]["managedFields"]}
    assert "bob" in owners and len(owners) >= 2, o["metadata"]["managedFields"]


def test_template_field_removed_through_the_hub(env):
    """The whole way: alice server-side applies a Deployment on the hub, a
    PropagationPolicy sends it to the member; she drops a label and an env
    var from her configuration. The hub's template loses them (nobody else
    owns them), and so does the member's object, where bob's label stays."""
    hub, member = env.hub, env.member
    hub_path = "/apis/apps/v1/namespaces/default/deployments/cart"
    path = DEPLOY % ("default", "cart")

    def alice(labels, env_vars):
        d = deploy("cart", labels=labels, env_vars=env_vars)
        code, body, _ = hub.request("PATCH", hub_path + "?fieldManager=alice", json.dumps(d).encode(), ctype=APPLY)
        assert code in (200, 201), body
        return body

    alice({"app": "cart", "tier": "web"}, [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "cart", "namespace": "default"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "cart"}],
                   "placement": {"clusterAffinity": {"clusterNames": [CLUSTER]}}}}
    code, body, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies", pp)
    assert code == 201, body
    o = wait_for("the Deployment on the member", lambda: member_obj(member, path), timeout=20)
    assert o["metadata"]["labels"]["tier"] == "web"
    bob = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "cart", "namespace": "default", "labels": {"team": "blue"}}}
    code, body, _ = member.request("PATCH", path + "?fieldManager=bob", bob, ctype=APPLY)
    assert code == 200, body

    t = alice({"app": "cart"}, [{"name": "A", "value": "1"}])
    assert "tier" not in t["metadata"]["labels"]
    assert t["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]

    def converged():
        o = member_obj(member, path)
        env_vars = o["spec"]["template"]["spec"]["containers"][0].get("env") if o else None
        if not o or "tier" in o["metadata"].get("labels", {}) or env_vars != [{"name": "A", "value": "1"}]:
            return None
        return o
    o = wait_for("tier and B gone from the member", converged, timeout=20)
    assert o["metadata"]["labels"]["team"] == "blue", o["metadata"]["labels"]


ROUTE_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "routes.example.com"},
             "spec": {"group": "example.com", "scope": "Namespaced",
                      "names": {"plural": "routes", "singular": "route", "kind": "Route"},
                      "versions": [{"name": "v1", "served": True, "storage": True,
                                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                        "spec": {"type": "object", "properties": {
                                            "backends": {"type": "array", "x-kubernetes-list-type": "map",
                                                         "x-kubernetes-list-map-keys": ["host"],
                                                         "items": {"type": "object", "properties": {
                                                             "host": {"type": "string"},
                                                             "weight": {"type": "integer"}}}},
                                            "rules": {"type": "array", "items": {"type": "string"}}}}}}}}]}}


def test_custom_kind_list_map(hub):
    """A CRD's x-kubernetes-list-type: map merges two managers' items by
    key; a list without a type stays atomic (the second manager conflicts)."""
    code, body, _ = hub.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", ROUTE_CRD)
    assert code == 201, body
    path = "/apis/example.com/v1/namespaces/default/routes/r"

    def route(backends, rules):
        return json.dumps({"apiVersion": "example.com/v1", "kind": "Route",
                           "metadata": {"name": "r", "namespace": "default"},
                           "spec": {"backends": backends, "rules": rules}}).encode()
    code, body, _ = hub.request("PATCH", path + "?fieldManager=alice", route([{"host": "a", "weight": 1}], ["r1"]),
                                ctype=APPLY)
    assert code == 201, body
    code, body, _ = hub.request("PATCH", path + "?fieldManager=bob", route([{"host": "b", "weight": 2}], ["r1"]),
                                ctype=APPLY)
    assert code == 200, body
    assert body["spec"]["backends"] == [{"host": "a", "weight": 1}, {"host": "b", "weight": 2}]
    bob = managers(body)[("bob", "Apply")]
    assert 'k:{"host":"b"}' in bob["f:spec"]["f:backends"], bob
    code, st, _ = hub.request("PATCH", path + "?fieldManager=bob", route([{"host": "b", "weight": 2}], ["r2"]),
                              ctype=APPLY)
    assert code == 409 and st["details"]["causes"][0]["field"] == ".spec.rules", st


def test_karmada_policy_two_managers(hub, kubectl, tmp_path):
    """A Karmada kind reads the schema table too: two managers own different
    finalizers (a set) of one PropagationPolicy; its own lists are atomic,
    as Karmada's CRDs declare (another clusterNames list is a conflict)."""
    def pp(finalizer, clusters=None):
        spec = {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]}
        if clusters:
            spec["placement"] = {"clusterAffinity": {"clusterNames": clusters}}
        meta = {"name": "pp-ssa", "namespace": "default"}
        if finalizer:
            meta["finalizers"] = [finalizer]
        return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": meta,
                "spec": spec}
    path = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies/pp-ssa"
    apply_file(kubectl, tmp_path, pp("alice.io/f", ["m1"]), "--field-manager=alice")
    bob = pp("bob.io/f")
    del bob["spec"]
    apply_file(kubectl, tmp_path, bob, "--field-manager=bob")
    got = hub.get(path)[1]
    assert {"alice.io/f", "bob.io/f"} <= set(got["metadata"]["finalizers"]), got["metadata"]
    m = managers(got)
    assert 'v:"bob.io/f"' in m[("bob", "Apply")]["f:metadata"]["f:finalizers"]
    assert 'v:"alice.io/f"' not in m[("bob", "Apply")]["f:metadata"]["f:finalizers"]
    assert m[("alice", "Apply")]["f:spec"]["f:placement"]["f:clusterAffinity"]["f:clusterNames"] == {}
    # alice drops her finalizer: it goes, bob's stays.
    apply_file(kubectl, tmp_path, pp(None, ["m1"]), "--field-manager=alice")
    fins = hub.get(path)[1]["metadata"]["finalizers"]
    assert "bob.io/f" in fins and "alice.io/f" not in fins, fins
    # clusterNames is atomic: bob's list conflicts with alice's whole list.
    carol = pp(None, ["m2"])
    del carol["spec"]["resourceSelectors"]
    p = apply_file(kubectl, tmp_path, carol, "--field-manager=bob", check=False)
    assert p.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice": .spec.placement.clusterAffinity.clusterNames' \
        in p.stderr, p.stderr
