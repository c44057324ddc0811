"""Karmada fidelity (issue 16), end to end with a real kubectl, two simulated
members (one atoll-sim process) and their agents. The manifests are written
as Karmada's documentation and samples write them:
- deleting a PropagationPolicy leaves the binding and the members' copies;
- every kind propagates: a CRD then its CR (Karmada's guestbook sample),
  Namespaces synced to every member (skip list, skip label) with a
  ClusterOverridePolicy applied, Pods selected by a policy;
- a Cluster that never reported is not schedulable and carries the
  not-ready taint; Push mode is refused;
- the webhooks' validation and defaults;
- ResourceBinding v1alpha1, PriorityClass, tolerations."""
import json
import time

import pytest

from conftest import (LOOKUP_ERRORS, Kubectl, SimFleet, cluster_ready_status, make_kubectl, run_sim_fleet,
                      wait_for as poll)

KUBECTL_VERSION = "1.32"
MEMBERS = ("member1", "member2")
CLUSTER_API = "/apis/cluster.karmada.io/v1alpha1/clusters"
DEPLOY = "/apis/apps/v1/namespaces/%s/deployments/%s"


def wait_for(what, fn, timeout=15.0, interval=0.05):
    return poll(what, fn, timeout, interval, ignore=LOOKUP_ERRORS)


Fleet = SimFleet  # a hub, two simulated members in one atoll-sim, an agent each
ready = cluster_ready_status


@pytest.fixture
def fleet(tmp_path):
    yield from run_sim_fleet(str(tmp_path), members=MEMBERS)


@pytest.fixture
def k(fleet, tmp_path):
    return make_kubectl(fleet.hub, tmp_path, KUBECTL_VERSION)


def apply(k, text):
    return k("apply", "-f", "-", input=text)


# Karmada's README / docs: samples/nginx/deployment.yaml and propagationpolicy.yaml.
NGINX = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - image: nginx
        name: nginx
"""

NGINX_PP = """
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: nginx-propagation
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  placement:
    clusterAffinity:
      clusterNames:
        - member1
        - member2
    replicaScheduling:
      replicaDivisionPreference: Weighted
      replicaSchedulingType: Divided
      weightPreference:
        staticWeightList:
          - targetCluster:
              clusterNames:
                - member1
            weight: 1
          - targetCluster:
              clusterNames:
                - member2
            weight: 1
"""


def test_policy_deletion_keeps_workloads(fleet, k):
    """Item 1: `kubectl delete pp` ends the claim only; the template's deletion
    removes the members' copies."""
    apply(k, NGINX)
    apply(k, NGINX_PP)
    path = DEPLOY % ("default", "nginx")
    uids = {}
    for m in MEMBERS:
        d = wait_for("nginx in " + m, lambda m=m: fleet.mget(m, path))
        assert d["spec"]["replicas"] == 1
        uids[m] = d["metadata"]["uid"]
    k("delete", "propagationpolicy", "nginx-propagation")
    # The claim goes from the template and the binding ...
    wait_for("the template unclaimed", lambda: "propagationpolicy.karmada.io/name" not in
             (fleet.hub.get(path)[1]["metadata"].get("annotations") or {}))
    rb = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings/nginx-deployment"
    wait_for("the binding unclaimed", lambda: "propagationpolicy.karmada.io/permanent-id" not in
             (fleet.hub.get(rb)[1]["metadata"].get("labels") or {}))
    # ... the binding, its placement and the members' copies stay, untouched.
    code, b, _ = fleet.hub.get(rb)
    assert code == 200, b
    assert {c["name"]: c["replicas"] for c in b["spec"]["clusters"]} == {"member1": 1, "member2": 1}
    time.sleep(0.5)  # give a wrong deletion time to reach the members
    for m in MEMBERS:
        d = fleet.mget(m, path)
        assert d is not None, "the Deployment left %s when its policy was deleted" % m
        assert d["metadata"]["uid"] == uids[m], "the Deployment in %s was recreated" % m
    # The template's own deletion takes the binding and the copies.
    k("delete", "deployment", "nginx")
    wait_for("the binding gone with its template", lambda: fleet.hub.get(rb)[0] == 404)
    for m in MEMBERS:
        wait_for("nginx gone from " + m, lambda m=m: fleet.mget(m, path) is None)


# Karmada's samples/guestbook: the CRD with a ClusterPropagationPolicy, then a CR.
GUESTBOOK_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: guestbooks.webapp.my.domain
spec:
  group: webapp.my.domain
  names:
    kind: Guestbook
    listKind: GuestbookList
    plural: guestbooks
    singular: guestbook
  scope: Namespaced
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    served: true
    storage: true
    subresources:
      status: {}
"""

GUESTBOOK_CPP = """
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata:
  name: example-policy
spec:
  resourceSelectors:
    - apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      name: guestbooks.webapp.my.domain
  placement:
    clusterAffinity:
      clusterNames:
        - member1
"""

GUESTBOOK_CR = """
apiVersion: webapp.my.domain/v1
kind: Guestbook
metadata:
  name: guestbook-sample
spec:
  size: 2
  configMapName: test
  alias: Name
"""

GUESTBOOK_PP = """
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: example-policy
spec:
  resourceSelectors:
    - apiVersion: webapp.my.domain/v1
      kind: Guestbook
  placement:
    clusterAffinity:
      clusterNames:
        - member1
"""


def test_guestbook_crd_then_cr(fleet, k):
    """Item 2: a CRD propagates (cluster-scoped) and its CR follows once the
    member serves the kind; both applied in one go, CR first."""
    # Worst order: the CR's Work may reach the member before the CRD's.
    apply(k, GUESTBOOK_CRD)
    wait_for("the hub serves guestbooks", lambda: k("get", "guestbooks", check=False).returncode == 0)
    apply(k, GUESTBOOK_CR + "\n---\n" + GUESTBOOK_PP)
    works = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-member1/works"

    def cr_failed():
        for w in fleet.hub.get(works)[1]["items"]:
            for c in w.get("status", {}).get("conditions", []):
                if c["type"] == "Applied" and c["status"] == "False" and \
                        "does not serve webapp.my.domain/v1" in c.get("message", ""):
                    return True
        return False
    wait_for("the CR's Work to fail: member1 does not serve the kind yet", cr_failed)
    # Its retries back off (1 s, 2 s, ...); the CRD's apply wakes it at once.
    time.sleep(1.2)
    apply(k, GUESTBOOK_CPP)
    crd = wait_for("the CRD in member1", lambda: fleet.mget(
        "member1", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/guestbooks.webapp.my.domain"))
    assert crd["metadata"]["labels"]["karmada.io/managed"] == "true"
    cr = wait_for("the CR in member1 right after its CRD", lambda: fleet.mget(
        "member1", "/apis/webapp.my.domain/v1/namespaces/default/guestbooks/guestbook-sample"), timeout=0.8)
    assert cr["spec"] == {"size": 2, "configMapName": "test", "alias": "Name"}
    # Not where the policies do not send them.
    assert fleet.mget("member2", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/guestbooks.webapp.my.domain") \
        is None
    crb = "/apis/work.karmada.io/v1alpha2/clusterresourcebindings/guestbooks.webapp.my.domain-customresourcedefinition"
    code, b, _ = fleet.hub.get(crb)
    assert code == 200, b
    assert [c["name"] for c in b["spec"]["clusters"]] == ["member1"]


COP_NS = """
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterOverridePolicy
metadata:
  name: ns-label
spec:
  resourceSelectors:
    - apiVersion: v1
      kind: Namespace
  overrideRules:
    - targetCluster:
        clusterNames:
          - member2
      overriders:
        labelsOverrider:
          - operator: add
            value:
              env: prod
"""


def test_namespaces_synced_to_every_member(fleet, k):
    """Item 2: Karmada's namespace sync: every member gets a Namespace with no
    policy (not default, kube-*, karmada-*, nor one labelled
    skip-auto-propagation), ClusterOverridePolicies apply, and deleting it
    on the hub removes it from the members."""
    apply(k, COP_NS)
    # (kubectl create namespace sends protobuf, which the hub does not take)
    apply(k, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\n"
          "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-quiet\n  labels:\n"
          "    namespace.karmada.io/skip-auto-propagation: \"true\"\n")
    for m in MEMBERS:
        ns = wait_for("team-a in " + m, lambda m=m: fleet.mget(m, "/api/v1/namespaces/team-a"))
        assert ns["metadata"]["labels"]["karmada.io/managed"] == "true"
        assert ns["metadata"]["labels"].get("env") == ("prod" if m == "member2" else None)
    # A Deployment in the synced namespace lands beside it.
    apply(k, NGINX.replace("  name: nginx\n", "  name: nginx\n  namespace: team-a\n", 1))
    apply(k, NGINX_PP.replace("  name: nginx-propagation\n", "  name: nginx-propagation\n  namespace: team-a\n"))
    for m in MEMBERS:
        wait_for("nginx in team-a of " + m, lambda m=m: fleet.mget(m, DEPLOY % ("team-a", "nginx")))
    for m in MEMBERS:
        assert fleet.mget(m, "/api/v1/namespaces/team-quiet") is None
        assert "karmada.io/managed" not in (fleet.mget(m, "/api/v1/namespaces/default")["metadata"].get("labels") or {})
    crbs = fleet.hub.get("/apis/work.karmada.io/v1alpha2/clusterresourcebindings")[1]["items"]
    names = {b["metadata"]["name"] for b in crbs}
    assert "team-a-namespace" in names and "team-quiet-namespace" not in names and "default-namespace" not in names
    assert not any(n.startswith("kube-") or n.startswith("karmada-") for n in names), names
    k("delete", "namespace", "team-a")
    for m in MEMBERS:
        wait_for("team-a gone from " + m, lambda m=m: fleet.mget(m, "/api/v1/namespaces/team-a") is None)


POD = """
apiVersion: v1
kind: Pod
metadata:
  name: busybox
  labels:
    app: busybox
spec:
  containers:
  - name: busybox
    image: busybox
    command: ["sleep", "3600"]
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: busybox-propagation
spec:
  resourceSelectors:
    - apiVersion: v1
      kind: Pod
      name: busybox
  placement:
    clusterAffinity:
      clusterNames:
        - member2
"""


def test_pod_propagates_when_selected(fleet, k):
    """Item 2: a Pod a policy selects reaches its member."""
    apply(k, POD)
    pod = wait_for("busybox in member2", lambda: fleet.mget("member2", "/api/v1/namespaces/default/pods/busybox"))
    assert pod["spec"]["containers"][0]["image"] == "busybox"
    assert fleet.mget("member1", "/api/v1/namespaces/default/pods/busybox") is None


def test_unreported_cluster_not_schedulable_and_push_refused(fleet, k):
    """Item 4: a Cluster created by hand that never reported carries the
    not-ready taint and gets nothing; Push mode is refused with a 422."""
    apply(k, """
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata:
  name: member3
spec:
  syncMode: Pull
""")
    code, c, _ = fleet.hub.get(CLUSTER_API + "/member3")
    assert code == 200, c
    assert {"key": "cluster.karmada.io/not-ready", "effect": "NoSchedule"} in c["spec"]["taints"]
    # Not Ready: kubectl shows READY Unknown (no condition).
    out = k("get", "clusters").stdout
    assert [l.split()[2] for l in out.splitlines() if l.startswith("member3")] == ["Unknown"], out
    apply(k, NGINX)
    apply(k, NGINX_PP.replace("        - member2\n", "        - member3\n", 1)
          .replace("                - member2\n", "                - member3\n"))
    rb = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings/nginx-deployment"
    b = wait_for("scheduled", lambda: fleet.hub.get(rb)[1].get("spec", {}).get("clusters"))
    assert [(c["name"], c["replicas"]) for c in b] == [("member1", 2)]
    d = wait_for("nginx in member1", lambda: fleet.mget("member1", DEPLOY % ("default", "nginx")))
    assert d["spec"]["replicas"] == 2
    # Push mode: Karmada's own sample, refused with a clear message.
    p = apply_fail(k, """
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata:
  name: member4
spec:
  apiEndpoint: https://172.18.0.4:6443
  secretRef:
    name: member4
    namespace: karmada-cluster
  syncMode: Push
""")
    assert "spec.syncMode: Invalid value: \"Push\": Push mode is not supported by Atoll" in p.stderr, p.stderr
    assert fleet.hub.get(CLUSTER_API + "/member4")[0] == 404


def apply_fail(k, text):
    p = k("apply", "-f", "-", input=text, check=False)
    assert p.returncode != 0, p.stdout
    return p


def test_policy_webhook_validation_and_defaults(fleet, k):
    """Item 5: what Karmada's webhooks refuse and default."""
    p = apply_fail(k, """
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: grab-all
spec:
  preemption: Always
  priority: 10
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
  placement:
    clusterAffinity:
      clusterNames:
        - member1
""")
    assert "spec.resourceSelectors[0].name: Invalid value: \"\": name cannot be empty if preemption is Always, " \
           "the empty name may cause unexpected resources preemption" in p.stderr, p.stderr
    p = apply_fail(k, NGINX_PP.replace("spec:\n", "spec:\n  failover:\n    application:\n      decisionConditions:\n"
                                       "        tolerationSeconds: 120\n      purgeMode: Directly\n", 1))
    assert "spec.propagateDeps: Invalid value: false: application failover is set, propagateDeps must be true" \
        in p.stderr, p.stderr
    apply(k, NGINX_PP)
    pp = json.loads(k("get", "pp", "nginx-propagation", "-o", "json").stdout)
    assert pp["spec"]["priority"] == 0
    assert pp["spec"]["preemption"] == "Never"
    assert pp["spec"]["conflictResolution"] == "Abort"
    assert pp["spec"]["schedulerName"] == "default-scheduler"
    assert pp["spec"]["resourceSelectors"][0]["namespace"] == "default"
    pid = pp["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
    assert len(pid) == 36 and pid != pp["metadata"]["uid"]
    # The id survives an update that does not carry it (kubectl replace).
    body = dict(pp)
    body["metadata"] = {k2: v for k2, v in pp["metadata"].items() if k2 != "labels"}
    k("replace", "-f", "-", input=json.dumps(body))
    pp2 = json.loads(k("get", "pp", "nginx-propagation", "-o", "json").stdout)
    assert pp2["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"] == pid
    # The template carries the policy's permanent id.
    apply(k, NGINX)
    wait_for("the template claimed", lambda: fleet.hub.get(DEPLOY % ("default", "nginx"))[1]["metadata"]
             .get("labels", {}).get("propagationpolicy.karmada.io/permanent-id") == pid)


def test_binding_v1alpha1_priorityclass_and_tolerations(fleet, k):
    """Item 7: bindings served at work.karmada.io/v1alpha1 too;
    `kubectl create priorityclass`; a toleration with an empty key and
    operator Exists tolerates every taint of its effect; an untolerated taint
    is named {key:Effect} as Karmada's scheduler names it."""
    # kubectl on PATH: kubectl.1.32.5's typed `create` sends protobuf, which
    # the hub does not read (415); the dispatcher's sends JSON.
    kj = Kubectl(fleet.hub, None, k.home)
    kj("create", "priorityclass", "high-priority", "--value=1000", "--description=for the important ones")
    out = k("get", "priorityclass", "high-priority").stdout.split("\n")
    assert out[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"], out
    assert out[1].split()[:3] == ["high-priority", "1000", "false"], out
    assert out[1].split()[-1] == "PreemptLowerPriority", out
    p = kj("create", "priorityclass", "system-mine", "--value=1", check=False)
    assert p.returncode != 0 and "'system-' prefix are reserved" in p.stderr, p.stderr
    # member2 gets a NoSchedule taint; a policy tolerating every NoSchedule
    # taint still reaches it, one tolerating nothing does not.
    k("patch", "cluster", "member2", "--type=merge", "-p",
      json.dumps({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}))
    apply(k, NGINX)
    apply(k, NGINX_PP.replace("  placement:\n", "  placement:\n    clusterTolerations:\n"
                              "      - operator: Exists\n        effect: NoSchedule\n", 1))
    rb = "/apis/work.karmada.io/v1alpha1/namespaces/default/resourcebindings/nginx-deployment"
    b = wait_for("scheduled", lambda: fleet.hub.get(rb)[1].get("spec", {}).get("clusters"))
    assert sorted(c["name"] for c in b) == ["member1", "member2"]
    out = k("get", "resourcebindings.v1alpha1.work.karmada.io").stdout
    assert "nginx-deployment" in out, out
    svc = """
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  selector:
    app: nginx
  ports:
  - port: 80
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: svc
spec:
  resourceSelectors:
    - apiVersion: v1
      kind: Service
      name: nginx
  placement:
    clusterAffinity:
      clusterNames:
        - member2
"""
    apply(k, svc)
    wait_for("ScheduleBindingFailed", lambda: "cluster(s) had untolerated taint {dedicated=gpu:NoSchedule}"
             in k("describe", "service", "nginx").stdout)


def test_finalizers_and_deletion_order(fleet, k):
    """Item 5: Karmada's finalizers are on policies, bindings and Works, and the
    hub removes them so deletions complete: `kubectl delete` of a policy,
    a binding and a Work returns once the object is gone; deleting a binding
    removes its Works (and the members' copies) first."""
    apply(k, NGINX)
    apply(k, NGINX_PP)
    pp = json.loads(k("get", "pp", "nginx-propagation", "-o", "json").stdout)
    assert pp["metadata"]["finalizers"] == ["karmada.io/propagation-policy-controller"]
    rb = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings/nginx-deployment"
    b = wait_for("the binding", lambda: fleet.hub.get(rb)[1] if fleet.hub.get(rb)[0] == 200 else None)
    assert b["metadata"]["finalizers"] == ["karmada.io/binding-controller"]
    for m in MEMBERS:
        wait_for("nginx in " + m, lambda m=m: fleet.mget(m, DEPLOY % ("default", "nginx")))
    works = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-member1/works"
    w = [x for x in fleet.hub.get(works)[1]["items"]
         if x["metadata"].get("annotations", {}).get("resourcebinding.karmada.io/name") == "nginx-deployment"]
    assert len(w) == 1 and w[0]["metadata"]["finalizers"] == ["karmada.io/execution-controller"]
    cpp = """
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata:
  name: cluster-wide
spec:
  resourceSelectors:
    - apiVersion: v1
      kind: ConfigMap
  placement:
    clusterAffinity:
      clusterNames:
        - member2
"""
    apply(k, cpp)
    c = json.loads(k("get", "cpp", "cluster-wide", "-o", "json").stdout)
    assert c["metadata"]["finalizers"] == ["karmada.io/cluster-propagation-policy-controller"]
    # kubectl waits for the deletion to complete: each returns with it gone.
    k("delete", "cpp", "cluster-wide", timeout=30)
    assert k("get", "cpp", "cluster-wide", check=False).returncode != 0
    # A binding deleted by hand: its Works (and so the members' copies) go
    # with it; its template, still claimed, gets a new binding at once.
    old_uid = b["metadata"]["uid"]
    old_work_uid = w[0]["metadata"]["uid"]
    k("delete", "rb", "nginx-deployment", timeout=30)
    b2 = wait_for("a new binding", lambda: fleet.hub.get(rb)[0] == 200 and
                  fleet.hub.get(rb)[1]["metadata"]["uid"] != old_uid and fleet.hub.get(rb)[1])
    assert b2["metadata"]["finalizers"] == ["karmada.io/binding-controller"]
    w2 = wait_for("a new Work", lambda: [x for x in fleet.hub.get(works)[1]["items"]
                                         if x["metadata"]["name"] == w[0]["metadata"]["name"]])
    assert w2[0]["metadata"]["uid"] != old_work_uid, "the Work was not deleted with its binding"
    # (whether the member's copy is deleted and recreated or kept depends on
    # whether the agent saw the Work gone between the two commits)
    for m in MEMBERS:
        wait_for("nginx in %s again" % m, lambda m=m: (fleet.mget(m, DEPLOY % ("default", "nginx")) or {})
                 .get("spec", {}).get("replicas") == 1)
    k("delete", "pp", "nginx-propagation", timeout=30)
    assert k("get", "pp", "nginx-propagation", check=False).returncode != 0
    # A Work deleted by hand completes too (its binding writes it again).
    apply(k, NGINX_PP)
    wname = wait_for("a Work again", lambda: [x["metadata"]["name"] for x in fleet.hub.get(works)[1]["items"]
                                              if x["metadata"]["name"].startswith("nginx-")])[0]
    k("delete", "work", "-n", "karmada-es-member1", wname, timeout=30)


def test_suspension_per_cluster(fleet, k):
    """Item 6: `suspension.dispatchingOnClusters`: the suspended cluster's Work
    gets suspendDispatching and a Dispatching=False condition, and nothing of
    a new version reaches that member until dispatching resumes."""
    apply(k, NGINX)
    apply(k, NGINX_PP)
    path = DEPLOY % ("default", "nginx")
    for m in MEMBERS:
        wait_for("nginx in " + m, lambda m=m: fleet.mget(m, path))
    apply(k, NGINX_PP + "  suspension:\n    dispatchingOnClusters:\n      clusterNames:\n        - member2\n")
    k("scale", "deployment", "nginx", "--replicas=4")
    wait_for("member1 scaled", lambda: fleet.mget("member1", path)["spec"]["replicas"] == 2)
    works = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-member2/works"

    def suspended_work():
        for w in fleet.hub.get(works)[1]["items"]:
            if w["metadata"]["name"].startswith("nginx-") and w["spec"].get("suspendDispatching"):
                conds = {c["type"]: c for c in w.get("status", {}).get("conditions", [])}
                d = conds.get("Dispatching")
                if d and d["status"] == "False" and d["reason"] == "SuspendDispatching":
                    return w
        return None
    w = wait_for("member2's Work suspended", suspended_work)
    assert w["spec"]["workload"]["manifests"][0]["spec"]["replicas"] == 2
    time.sleep(0.5)  # give a wrong apply time to reach member2
    assert fleet.mget("member2", path)["spec"]["replicas"] == 1
    # Resumed: the latest version reaches member2.
    apply(k, NGINX_PP)
    wait_for("member2 scaled after resume", lambda: fleet.mget("member2", path)["spec"]["replicas"] == 2)
    for w in fleet.hub.get(works)[1]["items"]:
        if w["metadata"]["name"].startswith("nginx-"):
            assert not w["spec"].get("suspendDispatching")
            conds = {c["type"]: c for c in w.get("status", {}).get("conditions", [])}
            assert conds["Dispatching"]["status"] == "True", conds


def test_activation_lazy_and_dependent_overrides(hub, tmp_path):
    """Item 6: activationPreference Lazy (a policy change reaches a template
    with the template's next change) and dependentOverrides (the policy
    applies once the named OverridePolicy exists). Clusters are written
    directly (no members needed)."""
    from test_karmada_cases import make_cluster, binding, placement, work_manifest, events
    for m in ("member1", "member2"):
        make_cluster(hub, {"name": m})
    k = make_kubectl(hub, tmp_path, KUBECTL_VERSION)
    lazy = NGINX_PP.replace("spec:\n", "spec:\n  activationPreference: Lazy\n", 1)
    apply(k, NGINX)
    apply(k, lazy)
    time.sleep(0.5)
    assert binding(hub, "nginx-deployment") is None, "a Lazy policy claimed an unchanged template"
    k("label", "deployment", "nginx", "touch=1")
    wait_for("claimed on the template's change", lambda: placement(binding(hub, "nginx-deployment")) ==
             {"member1": 1, "member2": 1})
    # A change of the Lazy policy waits ...
    apply(k, lazy.replace("        - member2\n", "", 1).replace(
        "            - targetCluster:\n                clusterNames:\n                  - member2\n              weight: 1\n", ""))
    time.sleep(0.5)
    assert placement(binding(hub, "nginx-deployment")) == {"member1": 1, "member2": 1}
    # ... for the template's next change.
    k("label", "deployment", "nginx", "touch=2", "--overwrite")
    wait_for("the policy change applied", lambda: placement(binding(hub, "nginx-deployment")) == {"member1": 2})

    # dependentOverrides: nothing until the OverridePolicy exists.
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  color: blue\n"
    pp = """
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: app
spec:
  dependentOverrides:
    - app-override
  resourceSelectors:
    - apiVersion: v1
      kind: ConfigMap
      name: app
  placement:
    clusterAffinity:
      clusterNames:
        - member1
"""
    op = """
apiVersion: policy.karmada.io/v1alpha1
kind: OverridePolicy
metadata:
  name: app-override
spec:
  resourceSelectors:
    - apiVersion: v1
      kind: ConfigMap
      name: app
  overrideRules:
    - targetCluster:
        clusterNames:
          - member1
      overriders:
        plaintext:
          - path: /data/color
            operator: replace
            value: green
"""
    apply(k, cm + "---\n" + pp)
    wait_for("ApplyPolicyFailed waiting", lambda: any(
        r == "ApplyPolicyFailed" and "waiting for dependent overrides" in msg for r, msg in events(hub, "configmap/app")))
    assert binding(hub, "app-configmap") is None
    apply(k, op)
    wait_for("propagated with the override", lambda: (work_manifest(hub, "member1", "configmap/app", True) or {})
             .get("data", {}).get("color") == "green")
