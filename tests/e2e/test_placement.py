"""The hub's controllers end to end, through the API and a real kubectl:
detector (policy matching, ApplyPolicyFailed), scheduler (bindings with the
seed's shares), Work rendering (execution namespaces, replicas, overrides),
status aggregation (Work status written as an agent would -> template
status, binding conditions) and events. Cluster status is written directly
through /status, so no agent or member cluster is needed."""
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, SEED, make_kubectl

KUBECTL_VERSION = "1.32"
CLUSTERS = {"eu": "eu-west", "ap": "ap-south", "us": "us-west"}
PP = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"
RB = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
CLUSTER_API = "/apis/cluster.karmada.io/v1alpha1/clusters"


def seed(name):
    return os.path.join(SEED, name)


def fnv1a32(s):
    h = 2166136261
    for b in s.encode():
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def work_name(kind, name, ns):
    """Karmada's names.GenerateWorkName, written independently."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    lname = name.replace(":", ".").lower()
    text = ("%s-%s-%s" % (ns, lname, kind) if ns else "%s-%s" % (lname, kind)).lower()
    enc = "".join(alphabet[ord(ch) % len(alphabet)] for ch in str(fnv1a32(text)))
    return "%s-%s" % (lname, enc)


def wait_for(fn, timeout=10, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, KeyError, TypeError, IndexError) as e:
            last = e
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def make_cluster(hub, name, region, ready=True):
    body = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"syncMode": "Pull", "region": region}}
    code, obj, _ = hub.request("POST", CLUSTER_API, body)
    assert code == 201, obj
    set_cluster_ready(hub, name, ready)


def set_cluster_ready(hub, name, ready):
    code, obj, _ = hub.get(CLUSTER_API + "/" + name)
    assert code == 200, obj
    obj["status"] = {
        "kubernetesVersion": "v1.23.8",
        "conditions": [{
            "type": "Ready", "status": "True" if ready else "False",
            "reason": "ClusterReady" if ready else "ClusterNotReady",
            "message": "cluster is healthy and ready to accept workloads" if ready
            else "cluster is reachable but health endpoint responded without ok",
            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
    }
    code, out, _ = hub.request("PUT", CLUSTER_API + "/" + name + "/status", obj)
    assert code == 200, out


def binding(hub, name):
    code, obj, _ = hub.get(RB + "/" + name)
    return obj if code == 200 else None


def shares(hub, name):
    b = binding(hub, name)
    if not b:
        return None
    return {c["name"]: c.get("replicas", 0) for c in b["spec"].get("clusters", [])}


def work(hub, cluster, kind, name, ns="default"):
    code, obj, _ = hub.get("/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works/%s"
                           % (cluster, work_name(kind, name, ns)))
    return obj if code == 200 else None


def manifest(w):
    return w["spec"]["workload"]["manifests"][0]


def work_replicas(hub, name="hello"):
    out = {}
    for c in CLUSTERS:
        w = work(hub, c, "deployment", name)
        if w:
            out[c] = manifest(w)["spec"]["replicas"]
    return out


def events_for(hub, kind, name):
    code, lst, _ = hub.get("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D" + name)
    assert code == 200, lst
    return [e for e in lst["items"] if e["involvedObject"]["kind"] == kind]


def tie_winner(uid):
    """Who gets the 10th replica of 1:1:1 (karmada.md a.)."""
    return "us" if uid and fnv1a32(uid) % 2 == 1 else "ap"


def report_status(hub, cluster, kind, name, status, ns="default"):
    """Write a Work's status the way an agent does."""
    w = work(hub, cluster, kind, name, ns)
    assert w, "no Work for %s in %s" % (name, cluster)
    m = manifest(w)
    w["status"] = {
        "conditions": [{"type": "Applied", "status": "True", "reason": "AppliedSuccessful",
                        "message": "Manifest has been successfully applied",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "manifestStatuses": [{
            "identifier": {"ordinal": 0, "group": m["apiVersion"].split("/")[0] if "/" in m["apiVersion"] else "",
                           "version": m["apiVersion"].split("/")[-1], "kind": m["kind"],
                           "resource": kind + "s", "namespace": ns, "name": name},
            "status": status, "health": "Healthy"}],
    }
    code, out, _ = hub.request("PUT", "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works/%s/status"
                               % (cluster, w["metadata"]["name"]), w)
    assert code == 200, out


def plan(hub, tmp_path, policy, with_binding):
    """`atoll-hub plan` on what the hub stores: it must agree with the hub."""
    docs = {"clusters.json": hub.get(CLUSTER_API)[1], "policy.json": hub.get(PP + "/" + policy)[1],
            "deployment.json": hub.get(DEPLOY + "/hello")[1]}
    if with_binding:
        docs["binding.json"] = binding(hub, "hello-deployment")
    args = [os.path.join(BIN, "atoll-hub"), "plan"]
    for name, doc in docs.items():
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        args += ["-f", str(path)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return {c["name"]: c["replicas"] for c in json.loads(p.stdout)["clusters"]}


@pytest.fixture
def k(hub, tmp_path):
    return make_kubectl(hub, tmp_path, KUBECTL_VERSION)


def add_members(hub):
    for name, region in CLUSTERS.items():
        make_cluster(hub, name, region)
    # The hub creates an execution namespace per cluster.
    for name in CLUSTERS:
        wait_for(lambda n=name: hub.get("/api/v1/namespaces/karmada-es-" + n)[0] == 200,
                 what="namespace karmada-es-" + name)
    return CLUSTERS


@pytest.fixture
def members(hub):
    return add_members(hub)


def test_seed_walkthrough(hub, k, members, tmp_path):
    # Step 4: no policy -> 0/3 and ApplyPolicyFailed.
    k("apply", "-f", seed("deployment.yaml"))
    out = k("get", "deployments").stdout
    assert "hello" in out and "0/3" in out, out
    wait_for(lambda: "No policy match for resource" in k("describe", "deployment", "hello").stdout,
             what="ApplyPolicyFailed event")
    d = k("describe", "deployment", "hello").stdout
    assert "ApplyPolicyFailed" in d and "Warning" in d, d
    assert binding(hub, "hello-deployment") is None
    # Emitted once, not on every change of the template.
    k("label", "deployment", "hello", "touch=1")
    time.sleep(0.3)
    ev = [e for e in events_for(hub, "Deployment", "hello") if e["reason"] == "ApplyPolicyFailed"]
    assert len(ev) == 1 and ev[0]["count"] == 1 and ev[0]["type"] == "Warning", ev

    # Step 5: weighted 1:1:1.
    k("apply", "-f", seed("policy-equal.yaml"))
    wait_for(lambda: shares(hub, "hello-deployment") == {"eu": 1, "ap": 1, "us": 1}, what="1/1/1")
    wait_for(lambda: shares(hub, "hello-service") == {"eu": 0, "ap": 0, "us": 0}, what="service binding")
    wait_for(lambda: work_replicas(hub) == {"eu": 1, "ap": 1, "us": 1}, what="Works with 1 replica")
    for c in CLUSTERS:
        assert work(hub, c, "service", "hello"), "no Service Work in " + c
    b = binding(hub, "hello-deployment")
    code, dep, _ = hub.get(DEPLOY + "/hello")
    uid = dep["metadata"]["uid"]
    assert b["spec"]["resource"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default",
                                     "name": "hello", "uid": uid,
                                     "resourceVersion": b["spec"]["resource"]["resourceVersion"]}
    assert b["spec"]["replicas"] == 3
    assert b["spec"]["placement"]["replicaScheduling"]["replicaSchedulingType"] == "Divided"
    assert b["spec"]["conflictResolution"] == "Abort"
    # The template carries the claim.
    assert dep["metadata"]["annotations"]["propagationpolicy.karmada.io/name"] == "hello-propagation"
    assert dep["metadata"]["annotations"]["propagationpolicy.karmada.io/namespace"] == "default"
    assert dep["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
    # Work and manifest metadata.
    w = work(hub, "eu", "deployment", "hello")
    m = manifest(w)
    assert w["metadata"]["annotations"]["resourcebinding.karmada.io/name"] == "hello-deployment"
    assert w["metadata"]["annotations"]["resourcebinding.karmada.io/namespace"] == "default"
    assert w["metadata"]["labels"]["resourcebinding.karmada.io/permanent-id"] == \
        b["metadata"]["labels"]["resourcebinding.karmada.io/permanent-id"]
    assert m["metadata"]["labels"]["karmada.io/managed"] == "true"
    assert m["metadata"]["annotations"]["work.karmada.io/conflict-resolution"] == "abort"
    assert m["metadata"]["annotations"]["resourcetemplate.karmada.io/uid"] == uid
    assert m["metadata"]["annotations"]["work.karmada.io/name"] == w["metadata"]["name"]
    assert m["metadata"]["annotations"]["work.karmada.io/namespace"] == "karmada-es-eu"
    for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
        assert f not in m["metadata"], f
    assert "status" not in m
    assert "kubectl.kubernetes.io/last-applied-configuration" not in m["metadata"]["annotations"]
    svc = manifest(work(hub, "ap", "service", "hello"))
    assert "clusterIP" not in svc["spec"], svc["spec"]
    # kubectl lists bindings and Works with their columns.
    out = k("get", "rb").stdout
    assert "hello-deployment" in out and "hello-service" in out, out
    out = k("get", "works", "-A").stdout
    assert "karmada-es-eu" in out and work_name("deployment", "hello", "default") in out, out
    d = k("describe", "deployment", "hello").stdout
    assert "ApplyPolicySucceed" in d and "ScheduleBindingSucceed" in d, d

    # Step 6: scale to 10 -> 4/3/3, the 4 decided by the UID.
    k("scale", "deployment/hello", "--replicas=10")
    expect = {"eu": 3, "ap": 3, "us": 3}
    expect[tie_winner(uid)] = 4
    wait_for(lambda: shares(hub, "hello-deployment") == expect, what="4/3/3 " + repr(expect))
    wait_for(lambda: work_replicas(hub) == expect, what="Works 4/3/3")
    assert plan(hub, tmp_path, "hello-propagation", False) == expect
    msg = "Binding has been scheduled successfully. Result: {ap:%d, eu:%d, us:%d}" % (
        expect["ap"], expect["eu"], expect["us"])
    wait_for(lambda: any(e["message"] == msg for e in events_for(hub, "ResourceBinding", "hello-deployment")),
             what="ScheduleBindingSucceed with the result")

    # Step 7: re-weight 2:1:2 -> us 4, ap 2, eu 4.
    k("apply", "-f", seed("policy-weighted.yaml"))
    wait_for(lambda: shares(hub, "hello-deployment") == {"us": 4, "ap": 2, "eu": 4}, what="4/2/4")
    wait_for(lambda: work_replicas(hub) == {"us": 4, "ap": 2, "eu": 4}, what="Works 4/2/4")
    assert plan(hub, tmp_path, "hello-propagation", True) == {"us": 4, "ap": 2, "eu": 4}

    # Members report: the hub shows 10/10.
    code, dep, _ = hub.get(DEPLOY + "/hello")
    gen = dep["metadata"]["generation"]
    for c, n in {"us": 4, "ap": 2, "eu": 4}.items():
        report_status(hub, c, "deployment", "hello", {
            "replicas": n, "readyReplicas": n, "updatedReplicas": n, "availableReplicas": n,
            "observedGeneration": 2, "generation": 2, "resourceTemplateGeneration": gen})
        report_status(hub, c, "service", "hello", {})
    wait_for(lambda: "10/10" in k("get", "deployments").stdout, what="10/10")
    code, dep, _ = hub.get(DEPLOY + "/hello")
    st = dep["status"]
    assert st["replicas"] == 10 and st["readyReplicas"] == 10 and st["availableReplicas"] == 10, st
    assert st["updatedReplicas"] == 10 and st["observedGeneration"] == gen, st
    b = wait_for(lambda: (lambda x: x if any(c["type"] == "FullyApplied" and c["status"] == "True"
                                            for c in x["status"]["conditions"]) else None)(
        binding(hub, "hello-deployment")), what="FullyApplied")
    conds = {c["type"]: c for c in b["status"]["conditions"]}
    assert conds["Scheduled"]["status"] == "True" and conds["Scheduled"]["reason"] == "Success"
    assert conds["FullyApplied"]["reason"] == "FullyAppliedSuccess"
    assert conds["FullyApplied"]["message"] == "All works have been successfully applied"
    agg = b["status"]["aggregatedStatus"]
    assert [a["clusterName"] for a in agg] == ["ap", "eu", "us"]
    assert all(a["applied"] and a["health"] == "Healthy" for a in agg), agg
    out = k("get", "rb", "hello-deployment").stdout
    assert "True" in out, out

    # Step 8: describe service hello shows the seed's events.
    def svc_events():
        d = k("describe", "service", "hello").stdout
        for reason in ("SyncSucceed", "AggregateStatusSucceed", "ScheduleBindingSucceed", "SyncWorkSucceed"):
            if reason not in d:
                return None
        return d
    d = wait_for(svc_events, what="service events")
    assert "Successfully applied resource(default/hello) to cluster ap" in d, d
    w = work(hub, "ap", "service", "hello")
    code, lst, _ = hub.get("/api/v1/namespaces/karmada-es-ap/events?fieldSelector=involvedObject.name%3D"
                           + w["metadata"]["name"])
    assert any(e["reason"] == "SyncSucceed" and e["involvedObject"]["kind"] == "Work" and
               e["message"] == "Sync work(karmada-es-ap/%s) to cluster(ap) successful." % w["metadata"]["name"]
               for e in lst["items"]), lst

    # observedGeneration waits for every member.
    k("set", "image", "deployment/hello", "hello=stefanprodan/podinfo:6.0.0")
    code, dep2, _ = hub.get(DEPLOY + "/hello")
    assert dep2["metadata"]["generation"] == gen + 1
    time.sleep(0.3)
    code, dep2, _ = hub.get(DEPLOY + "/hello")
    assert dep2["status"].get("observedGeneration") == gen, dep2["status"]
    wait_for(lambda: manifest(work(hub, "eu", "deployment", "hello"))["spec"]["template"]["spec"]["containers"][0]["image"]
             == "stefanprodan/podinfo:6.0.0", what="new image in the Works")


def test_override_policy(hub, k, members):
    k("apply", "-f", seed("deployment.yaml"))
    k("apply", "-f", seed("policy-equal.yaml"))
    wait_for(lambda: work_replicas(hub) == {"eu": 1, "ap": 1, "us": 1}, what="Works")
    op = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy",
          "metadata": {"name": "eu-registry", "namespace": "default"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}],
                   "overrideRules": [{
                       "targetCluster": {"clusterNames": ["eu"]},
                       "overriders": {
                           "imageOverrider": [{"component": "Registry", "operator": "replace",
                                               "value": "registry.eu.example"}],
                           "labelsOverrider": [{"operator": "add", "value": {"region": "eu"}}],
                           "plaintext": [{"path": "/spec/template/spec/containers/0/args",
                                          "operator": "add", "value": ["--level=debug"]}]}}]}}
    code, out, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/overridepolicies", op)
    assert code == 201, out

    def eu_overridden():
        m = manifest(work(hub, "eu", "deployment", "hello"))
        c = m["spec"]["template"]["spec"]["containers"][0]
        return c["image"] == "registry.eu.example/stefanprodan/podinfo" and c.get("args") == ["--level=debug"] \
            and m["metadata"]["labels"].get("region") == "eu"
    wait_for(eu_overridden, what="override in eu's Work")
    for c in ("ap", "us"):
        m = manifest(work(hub, c, "deployment", "hello"))
        assert m["spec"]["template"]["spec"]["containers"][0]["image"] == "stefanprodan/podinfo"
        assert "region" not in m["metadata"]["labels"]
    w = work(hub, "eu", "deployment", "hello")
    applied = json.loads(w["metadata"]["annotations"]["policy.karmada.io/applied-overrides"])
    assert applied[0]["policyName"] == "eu-registry"
    # The Service is not selected by the OverridePolicy.
    assert "policy.karmada.io/applied-overrides" not in work(hub, "eu", "service", "hello")["metadata"]["annotations"]
    wait_for(lambda: "ApplyOverridePolicySucceed" in k("describe", "deployment", "hello").stdout,
             what="ApplyOverridePolicySucceed")
    # Deleting the OverridePolicy restores eu's manifest.
    code, out, _ = hub.request("DELETE", "/apis/policy.karmada.io/v1alpha1/namespaces/default/overridepolicies/eu-registry")
    assert code == 200, out
    wait_for(lambda: manifest(work(hub, "eu", "deployment", "hello"))["spec"]["template"]["spec"]["containers"][0]["image"]
             == "stefanprodan/podinfo", what="override gone")


def test_field_overrider(hub, k, members):
    # A config file inside a ConfigMap, changed per cluster (Karmada's
    # fieldOverrider), applied with kubectl as users write it.
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "default"},
          "data": {"config.yaml": "server:\n  port: 8080\n  region: any\n"}}
    k("apply", "-f", "-", input=json.dumps(cm))
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "cfg", "namespace": "default"},
          "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config"}],
                   "placement": {"clusterAffinity": {"clusterNames": ["eu", "ap"]}}}}
    op = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy",
          "metadata": {"name": "cfg-eu", "namespace": "default"},
          "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config"}],
                   "overrideRules": [{"targetCluster": {"clusterNames": ["eu"]},
                                      "overriders": {"fieldOverrider": [{
                                          "fieldPath": "/data/config.yaml",
                                          "yaml": [{"subPath": "/server/region", "operator": "replace",
                                                    "value": "eu-west"},
                                                   {"subPath": "/server/port", "operator": "replace",
                                                    "value": 9090}]}]}}]}}
    k("apply", "-f", "-", input=json.dumps(pp))
    k("apply", "-f", "-", input=json.dumps(op))

    def data(cluster):
        w = work(hub, cluster, "configmap", "app-config")
        return manifest(w)["data"]["config.yaml"] if w else None
    wait_for(lambda: data("eu") == "server:\n  port: 9090\n  region: eu-west\n", what="eu's config overridden")
    assert data("ap") == "server:\n  port: 8080\n  region: any\n"
    # A fieldPath that is not a string fails the Work with Karmada's message.
    op["spec"]["overrideRules"][0]["overriders"]["fieldOverrider"][0]["fieldPath"] = "/metadata"
    k("apply", "-f", "-", input=json.dumps(op))
    wait_for(lambda: "is not string" in k("describe", "configmap", "app-config").stdout, what="SyncWorkFailed")


def test_policy_and_template_deletion(hub, k, members):
    k("apply", "-f", seed("deployment.yaml"))
    k("apply", "-f", seed("policy-equal.yaml"))
    wait_for(lambda: work_replicas(hub) == {"eu": 1, "ap": 1, "us": 1}, what="Works")
    # Deleting the policy ends its claim only (Karmada: a binding lives as
    # long as its template): bindings and Works stay, the template is unclaimed.
    k("delete", "propagationpolicy", "hello-propagation")
    wait_for(lambda: "propagationpolicy.karmada.io/name" not in
             (hub.get(DEPLOY + "/hello")[1]["metadata"].get("annotations") or {}), what="template unclaimed")
    wait_for(lambda: "propagationpolicy.karmada.io/permanent-id" not in
             binding(hub, "hello-deployment")["metadata"]["labels"], what="binding unclaimed")
    assert binding(hub, "hello-service") is not None
    assert work_replicas(hub) == {"eu": 1, "ap": 1, "us": 1}
    assert all(work(hub, c, "service", "hello") for c in CLUSTERS)
    # A new policy claims it again; deleting the template removes everything.
    k("apply", "-f", seed("policy-equal.yaml"))
    wait_for(lambda: "propagationpolicy.karmada.io/permanent-id" in
             binding(hub, "hello-deployment")["metadata"]["labels"], what="claimed again")
    wait_for(lambda: work_replicas(hub) == {"eu": 1, "ap": 1, "us": 1}, what="Works again")
    k("delete", "deployment", "hello")
    wait_for(lambda: binding(hub, "hello-deployment") is None, what="binding removed with template")
    wait_for(lambda: work_replicas(hub) == {}, what="Works removed with template")
    assert binding(hub, "hello-service") is not None


def test_cluster_not_ready_keeps_its_share(hub, k, members):
    """Karmada's TaintToleration filter skips clusters already in a binding's
    placement: a NotReady cluster (NoSchedule taint) keeps its replicas and
    its Service; only new placements avoid it."""
    k("apply", "-f", seed("deployment.yaml"))
    k("apply", "-f", seed("policy-weighted.yaml"))
    wait_for(lambda: shares(hub, "hello-deployment") is not None and
             sum(shares(hub, "hello-deployment").values()) == 3, what="scheduled")
    wait_for(lambda: work(hub, "ap", "service", "hello") is not None, what="the Service on ap")
    set_cluster_ready(hub, "ap", False)
    k("scale", "deployment/hello", "--replicas=10")
    # Weights us:ap:eu = 2:1:2 over the clusters of the placement, ap included.
    wait_for(lambda: shares(hub, "hello-deployment") == {"us": 4, "ap": 2, "eu": 4}, what="ap keeps its share")
    wait_for(lambda: work_replicas(hub) == {"us": 4, "ap": 2, "eu": 4}, what="ap keeps its Work")
    time.sleep(0.5)
    assert work(hub, "ap", "service", "hello") is not None, "the NotReady cluster lost the Service"
    # A new placement does not go to the NotReady cluster.
    code, out, _ = hub.request("POST", DEPLOY, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fresh", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "fresh"}},
                 "template": {"metadata": {"labels": {"app": "fresh"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    assert code == 201, out
    code, out, _ = hub.request("POST", PP, {
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
        "metadata": {"name": "fresh", "namespace": "default"},
        "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "fresh"}],
                 "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                     "replicaDivisionPreference": "Weighted"}}}})
    assert code == 201, out
    wait_for(lambda: shares(hub, "fresh-deployment") == {"us": 2, "eu": 2}, what="the new placement avoids ap")


def test_no_cluster_fits(hub, k, members):
    k("apply", "-f", seed("deployment.yaml"))
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "nowhere", "namespace": "default"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}],
                   "placement": {"clusterAffinity": {"clusterNames": ["mars"]}}}}
    code, out, _ = hub.request("POST", PP, pp)
    assert code == 201, out

    def failed():
        b = binding(hub, "hello-deployment")
        conds = {c["type"]: c for c in (b or {}).get("status", {}).get("conditions", [])}
        s = conds.get("Scheduled")
        return s if s and s["status"] == "False" else None
    s = wait_for(failed, what="Scheduled=False")
    assert s["reason"] == "NoClusterFit", s
    assert s["message"].startswith("0/3 clusters are available"), s
    wait_for(lambda: "ScheduleBindingFailed" in k("describe", "deployment", "hello").stdout,
             what="ScheduleBindingFailed event")
    assert work_replicas(hub) == {}


@pytest.fixture
def preempt_hub(tmp_path):
    """A hub with Karmada's PolicyPreemption feature gate on."""
    from conftest import Hub
    h = Hub(str(tmp_path / "phub"), extra=["--feature-gates", "PolicyPreemption=true"])
    os.makedirs(h.data_dir, exist_ok=True)
    h.start()
    yield h
    assert h.stop() == 0, h.read_log()


def test_preemption_needs_its_feature_gate(hub, k, members):
    """Karmada's PolicyPreemption gate is off by default: `preemption: Always`
    takes nothing over."""
    k("apply", "-f", seed("deployment.yaml"))
    cpp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "ClusterPropagationPolicy",
           "metadata": {"name": "everything"},
           "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                    "placement": {"clusterAffinity": {"clusterNames": ["eu"]}}}}
    code, out, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/clusterpropagationpolicies", cpp)
    assert code == 201, out
    wait_for(lambda: shares(hub, "hello-deployment") == {"eu": 3}, what="CPP placement")
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "mine", "namespace": "default"},
          "spec": {"preemption": "Always",
                   "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}],
                   "placement": {"clusterAffinity": {"clusterNames": ["us"]}}}}
    code, out, _ = hub.request("POST", PP, pp)
    assert code == 201, out
    time.sleep(0.5)
    assert shares(hub, "hello-deployment") == {"eu": 3}
    code, dep, _ = hub.get(DEPLOY + "/hello")
    assert dep["metadata"]["annotations"]["clusterpropagationpolicy.karmada.io/name"] == "everything"


def test_cluster_propagation_policy_and_priority(preempt_hub, tmp_path):
    hub = preempt_hub
    k = make_kubectl(hub, tmp_path, KUBECTL_VERSION)
    add_members(hub)
    k("apply", "-f", seed("deployment.yaml"))
    cpp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "ClusterPropagationPolicy",
           "metadata": {"name": "everything"},
           "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                    "placement": {"clusterAffinity": {"clusterNames": ["eu"]}}}}
    code, out, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/clusterpropagationpolicies", cpp)
    assert code == 201, out
    wait_for(lambda: shares(hub, "hello-deployment") == {"eu": 3}, what="CPP placement (Duplicated)")
    code, dep, _ = hub.get(DEPLOY + "/hello")
    assert dep["metadata"]["annotations"]["clusterpropagationpolicy.karmada.io/name"] == "everything"
    # A PropagationPolicy (preemption Always) takes it over.
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "mine", "namespace": "default"},
          "spec": {"preemption": "Always",
                   "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}],
                   "placement": {"clusterAffinity": {"clusterNames": ["us"]}}}}
    code, out, _ = hub.request("POST", PP, pp)
    assert code == 201, out
    wait_for(lambda: shares(hub, "hello-deployment") == {"us": 3}, what="PP preempts CPP")
    wait_for(lambda: work_replicas(hub) == {"us": 3}, what="eu's Work removed")
    code, dep, _ = hub.get(DEPLOY + "/hello")
    assert "clusterpropagationpolicy.karmada.io/name" not in dep["metadata"]["annotations"]
    assert dep["metadata"]["annotations"]["propagationpolicy.karmada.io/name"] == "mine"


def test_propagate_deps(hub, k, members):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hello-config"}, "data": {"a": "b"}}
    code, out, _ = hub.request("POST", "/api/v1/namespaces/default/configmaps", cm)
    assert code == 201, out
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "app", "namespace": "default"},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "app"}},
                    "template": {"metadata": {"labels": {"app": "app"}},
                                 "spec": {"containers": [{"name": "c", "image": "busybox",
                                                          "envFrom": [{"configMapRef": {"name": "hello-config"}}]}]}}}}
    code, out, _ = hub.request("POST", DEPLOY, dep)
    assert code == 201, out
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "app", "namespace": "default"},
          "spec": {"propagateDeps": True,
                   "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}],
                   "placement": {"clusterAffinity": {"clusterNames": ["eu", "us"]},
                                 "replicaScheduling": {"replicaSchedulingType": "Divided"}}}}
    code, out, _ = hub.request("POST", PP, pp)
    assert code == 201, out
    wait_for(lambda: shares(hub, "app-deployment") == {"eu": 1, "us": 1}, what="app scheduled")
    wait_for(lambda: work(hub, "eu", "configmap", "hello-config") and work(hub, "us", "configmap", "hello-config"),
             what="ConfigMap follows the Deployment")
    assert work(hub, "ap", "configmap", "hello-config") is None
    cb = binding(hub, "hello-config-configmap")
    assert cb["spec"]["requiredBy"][0]["name"] == "app-deployment"
    # The dependency is not a policy-less template: no ApplyPolicyFailed noise needed, and
    # dropping the Deployment drops the attached binding.
    k("delete", "deployment", "app")
    wait_for(lambda: binding(hub, "hello-config-configmap") is None, what="attached binding removed")
    wait_for(lambda: work(hub, "eu", "configmap", "hello-config") is None, what="dependency Works removed")
