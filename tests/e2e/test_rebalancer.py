"""Karmada's WorkloadRebalancer and priority-based scheduling (issue 16, items 6
and 7), end to end with a real kubectl and two simulated members, with the
manifests of Karmada's documentation (tutorials/workload-rebalancer.md,
userguide/scheduling/priority-scheduling.md)."""
import calendar
import json
import os
import time

import pytest

from conftest import Hub, Kubectl, make_kubectl
from test_kinds import KUBECTL_VERSION, Fleet, apply, wait_for

RB = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings/"
WR = "/apis/apps.karmada.io/v1alpha1/workloadrebalancers/"

# tutorials/workload-rebalancer.md, step 1 (the policy first lists member2
# only, standing in for the tutorial's NoExecute taint on member1, which
# leaves all replicas in member2).
FOO = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: foo
  labels:
    app: test
spec:
  replicas: 3
  selector:
    matchLabels:
      app: foo
  template:
    metadata:
      labels:
        app: foo
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - image: nginx
          name: foo
          resources:
            limits:
              cpu: 10m
              memory: 10Mi
"""

FOO_PP = """
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: default-pp
spec:
  placement:
    clusterAffinity:
      clusterNames:
%s
    replicaScheduling:
      replicaDivisionPreference: Weighted
      replicaSchedulingType: Divided
      weightPreference:
        dynamicWeight: AvailableReplicas
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: foo
      namespace: default
"""

DEMO = """
apiVersion: apps.karmada.io/v1alpha1
kind: WorkloadRebalancer
metadata:
  name: demo
spec:
%s  workloads:
    - apiVersion: apps/v1
      kind: Deployment
      name: foo
      namespace: default
"""


def members(names):
    return "".join("        - %s\n" % n for n in names)


def epoch(ts):
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture
def fleet(tmp_path, request):
    f = Fleet(str(tmp_path))
    extra = getattr(request, "param", ())
    if extra:
        f.hub = Hub(os.path.join(str(tmp_path), "hub"), extra=extra)
        os.makedirs(f.hub.data_dir, exist_ok=True)
    try:
        f.start()
        yield f
    except Exception:
        print(f.logs_text())
        print("hub log:\n" + f.hub.read_log())
        raise
    finally:
        rcs = f.stop()
    assert all(rc == 0 for rc in rcs), "a process did not stop cleanly: %r\n%s" % (rcs, f.logs_text())


@pytest.fixture
def k(fleet, tmp_path):
    return make_kubectl(fleet.hub, tmp_path, KUBECTL_VERSION)


def binding(fleet, name):
    code, b, _ = fleet.hub.get(RB + name)
    return b if code == 200 else None


def placed(fleet, name):
    b = binding(fleet, name) or {}
    return {c["name"]: c.get("replicas", 0) for c in b.get("spec", {}).get("clusters") or []}


def test_workload_rebalancer_tutorial(fleet, k):
    """Karmada's tutorial: the scheduling result is inert (a wider placement
    keeps all replicas in member2) until a WorkloadRebalancer triggers a fresh
    rescheduling; its status records each workload's result (a missing one as
    Failed/ReferencedBindingNotFound) and ttlSecondsAfterFinished deletes it."""
    apply(k, FOO)
    apply(k, FOO_PP % members(["member2"]))
    wait_for("all 3 in member2", lambda: placed(fleet, "foo-deployment") == {"member2": 3})
    # The gate is off: no priority on the binding.
    assert "schedulePriority" not in binding(fleet, "foo-deployment")["spec"]
    apply(k, FOO_PP % members(["member1", "member2"]))

    def rescheduled():
        b = binding(fleet, "foo-deployment")
        return b["status"].get("schedulerObservedGeneration") == b["metadata"]["generation"] and \
            b["spec"]["placement"]["clusterAffinity"]["clusterNames"] == ["member1", "member2"] and b
    b = wait_for("the wider placement scheduled", rescheduled)
    assert placed(fleet, "foo-deployment") == {"member2": 3}, b  # inert, as in Karmada
    # rescheduleTriggeredAt must be after lastScheduledTime (both in seconds).
    last = epoch(b["status"]["lastScheduledTime"])
    wait_for("the next second", lambda: time.time() >= last + 1, interval=0.02)

    out = apply(k, DEMO % "").stdout
    assert "workloadrebalancer.apps.karmada.io/demo created" in out, out
    wr = wait_for("demo finished", lambda: fleet.hub.get(WR + "demo")[1].get("status", {}).get("finishTime") and
                  fleet.hub.get(WR + "demo")[1])
    assert wr["status"]["observedGeneration"] == 1
    assert wr["status"]["observedWorkloads"] == [{"result": "Successful", "workload": {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "foo", "namespace": "default"}}], wr
    b = binding(fleet, "foo-deployment")
    assert b["spec"]["rescheduleTriggeredAt"] == wr["metadata"]["creationTimestamp"], b["spec"]
    # A fresh placement: member1 gets replicas back (weights: what each can
    # run, member2's counting its 3 running replicas).
    now = wait_for("member1 has replicas again", lambda: placed(fleet, "foo-deployment").get("member1") and
                   placed(fleet, "foo-deployment"))
    assert sum(now.values()) == 3 and now.get("member2", 0) > 0, now
    wait_for("member1 runs its share", lambda: (fleet.mget("member1", "/apis/apps/v1/namespaces/default/deployments/foo")
                                                or {}).get("spec", {}).get("replicas") == now["member1"])
    ev = k("get", "events", "--field-selector", "involvedObject.name=foo", "-o", "json").stdout
    msgs = [e["message"] for e in json.loads(ev)["items"] if e["reason"] == "ScheduleBindingSucceed"]
    assert any("member1:%d" % now["member1"] in m for m in msgs), msgs

    # kubectl prints it as Karmada's CRD does (no extra columns).
    lines = k("get", "workloadrebalancer").stdout.splitlines()
    assert lines[0].split() == ["NAME", "AGE"] and lines[1].split()[0] == "demo", lines

    # A workload without a binding: Failed with Karmada's reason.
    apply(k, DEMO.replace("name: demo", "name: missing").replace("name: foo", "name: nope") % "")
    wr2 = wait_for("missing finished", lambda: fleet.hub.get(WR + "missing")[1].get("status", {}).get("finishTime")
                   and fleet.hub.get(WR + "missing")[1])
    assert wr2["status"]["observedWorkloads"] == [{"result": "Failed", "reason": "ReferencedBindingNotFound",
                                                   "workload": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                                "name": "nope", "namespace": "default"}}], wr2

    # Step 6: setting ttlSecondsAfterFinished deletes it that long after it
    # finishes (again: the spec changed); the other one, without, stays.
    apply(k, DEMO % "  ttlSecondsAfterFinished: 1\n")
    wait_for("demo deleted by its TTL", lambda: fleet.hub.get(WR + "demo")[0] == 404, timeout=10)
    assert fleet.hub.get(WR + "missing")[0] == 200
    # The rebalancer is gone; the binding keeps its trigger and is not
    # rescheduled again.
    assert binding(fleet, "foo-deployment")["spec"]["rescheduleTriggeredAt"] == wr["metadata"]["creationTimestamp"]

    # Validation as Karmada's CRD schema.
    p = k("apply", "-f", "-", input="apiVersion: apps.karmada.io/v1alpha1\nkind: WorkloadRebalancer\n"
          "metadata:\n  name: empty\nspec:\n  workloads: []\n", check=False)
    assert p.returncode != 0 and "spec.workloads in body should have at least 1 items" in p.stderr, p.stderr
    assert fleet.hub.get(WR + "empty")[0] == 404


PRIO = """
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: %s
value: %d
"""

# userguide/scheduling/priority-scheduling.md, with a cluster label that no
# member has yet, so the three bindings wait for the same cluster change.
PRIO_APP = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %(name)s
  template:
    metadata:
      labels:
        app: %(name)s
    spec:
      containers:
      - image: nginx
        name: nginx
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: %(name)s
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: %(name)s
  schedulePriority:
    priorityClassSource: KubePriorityClass
    priorityClassName: %(class)s
  placement:
    clusterAffinity:
      labelSelector:
        matchLabels:
          tier: batch
"""


@pytest.mark.parametrize("fleet", [("--feature-gates", "PriorityBasedScheduling=true")], indirect=True)
def test_priority_based_scheduling(fleet, k):
    """With Karmada's PriorityBasedScheduling gate: bindings carry their
    PriorityClass's value in spec.schedulePriority.priority (a missing class
    fails the policy's application until it exists), and bindings waiting
    for the same change are scheduled highest priority first, not in name
    order."""
    apply(k, PRIO % ("low", 1) + "---" + PRIO % ("mid", 100))
    apps = [("a-low", "low"), ("b-mid", "mid"), ("c-high", "high")]
    for name, cls in apps:
        apply(k, PRIO_APP % {"name": name, "class": cls})
    # PriorityClass "high" does not exist yet: no binding, Karmada's event.
    wait_for("ApplyPolicyFailed", lambda: 'priorityclasses.scheduling.k8s.io "high" not found' in
             k("describe", "deployment", "c-high").stdout)
    assert binding(fleet, "c-high-deployment") is None
    apply(k, PRIO % ("high", 1000))
    for (name, _), prio in zip(apps, (1, 100, 1000)):
        wait_for(name + " priority", lambda name=name, prio=prio: (binding(fleet, name + "-deployment") or {})
                 .get("spec", {}).get("schedulePriority") == {"priority": prio})
        wait_for(name + " unschedulable", lambda name=name: any(
            c["type"] == "Scheduled" and c["status"] == "False"
            for c in (binding(fleet, name + "-deployment") or {}).get("status", {}).get("conditions", [])))
    k("label", "cluster", "member1", "tier=batch")
    for name, _ in apps:
        wait_for(name + " placed", lambda name=name: placed(fleet, name + "-deployment") == {"member1": 1})

    def succeeded():
        items = json.loads(k("get", "events", "-o", "json").stdout)["items"]
        evs = [e for e in items if e["reason"] == "ScheduleBindingSucceed" and
               e["involvedObject"]["kind"] == "ResourceBinding"]
        return len(evs) == 3 and evs
    evs = wait_for("three ScheduleBindingSucceed events", succeeded)
    order = [e["involvedObject"]["name"] for e in sorted(evs, key=lambda e: int(e["metadata"]["resourceVersion"]))]
    assert order == ["c-high-deployment", "b-mid-deployment", "a-low-deployment"], order
