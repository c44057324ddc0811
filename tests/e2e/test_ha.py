"""Several hubs on one three-member etcd cluster (issue 12), with three
simulated members whose agents know all three hubs:
- the seed walkthrough (steps 2-8) with kubectl on one hub while /status is
  read from another (every hub serves from its own live watch on etcd);
- exactly one hub leads (the Lease kube-system/atoll-controller); after its
  kill -9 another takes over and places a new binding within two lease
  durations, resuming from the store;
- an agent whose hub dies moves to another one without deleting or
  recreating anything in its member (uids unchanged)."""
import os
import re
import time

import pytest

from conftest import E2E_TLS, SEED, Kubectl
from ha import HAFleet, wait_for

# Plain listeners only (the hubs' TLS is not what is tested here).
pytestmark = pytest.mark.skipif(E2E_TLS, reason="HA tests: ran in make e2e")

LEASE_S = 2
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
BINDINGS = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings"
POLICIES = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"


def member_pods(f, m, prefix="hello-"):
    o = f.mget(m, "/api/v1/namespaces/default/pods") or {"items": []}
    return [p for p in o["items"] if p["metadata"]["name"].startswith(prefix)]


def member_uid(f, m, path):
    o = f.mget(m, path)
    return o["metadata"]["uid"] if o else None


def deployment(name, replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def policy(name, target):
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": target}],
                     "placement": {"clusterAffinity": {"clusterNames": ["eu", "ap", "us"]}}}}


def placed(hub, name):
    code, b, _ = hub.get(BINDINGS + "/%s-deployment" % name)
    return code == 200 and len(b.get("spec", {}).get("clusters") or []) > 0


@pytest.fixture
def fleet(tmp_path):
    f = HAFleet(tmp_path, lease_s=LEASE_S)
    try:
        f.start()
    except Exception:
        print(f.logs_text())
        f.stop()
        raise
    yield f
    rcs = f.stop()
    bad = {k: v for k, v in rcs.items() if v not in (0, None)}
    assert not bad, "did not stop cleanly: %r\n%s" % (bad, f.logs_text())


def test_ha_walkthrough_leader_kill_and_agent_failover(fleet, tmp_path):
    f = fleet
    h0, h1, h2 = f.hubs
    home = tmp_path / "home"
    home.mkdir()
    k = Kubectl(h0, None, str(home))
    try:
        # One leader, named by the Lease, and only one.
        lead = wait_for("a leader", f.leader)
        lease = f.lease(h1)
        assert lease["spec"]["leaseDurationSeconds"] == LEASE_S and lease["spec"]["renewTime"]
        transitions = lease["spec"].get("leaseTransitions", 0)
        leading_logs = sum("leading: controllers start" in h.read_log() for h in f.hubs)
        assert leading_logs == 1, f.logs_text()
        # Steps 2-3: the Karmada API on hub 0; three Pull clusters Ready.
        out = k("get", "clusters").stdout
        for m in ("eu", "ap", "us"):
            assert re.search(r"^%s\s+\S+\s+Pull\s+True" % m, out, re.M), out
        # Step 4: no policy → the ApplyPolicyFailed event.
        k("apply", "-f", os.path.join(SEED, "deployment.yaml"))
        wait_for("ApplyPolicyFailed", lambda: "ApplyPolicyFailed" in k("describe", "deployment", "hello").stdout)
        # Step 5: weights 1:1:1 → 3/3, as /status on hub 1 shows.
        k("apply", "-f", os.path.join(SEED, "policy-equal.yaml"))

        def status_ready(n, hub):
            code, s, _ = hub.get("/status")
            return code == 200 and s["totals"]["readyReplicas"] == n and s["totals"]["clustersReady"] == 3
        wait_for("3 ready in /status of hub 1", lambda: status_ready(3, h1))
        assert [len(member_pods(f, m)) for m in ("eu", "ap", "us")] == [1, 1, 1]
        # Step 6: scale to 10 on hub 0.
        k("scale", "deployment/hello", "--replicas=10")
        wait_for("10/10 on hub 0", lambda: re.search(r"\s10/10\s", k("get", "deployment", "hello").stdout))
        # Step 7: re-weight us 2, ap 1, eu 2.
        k("apply", "-f", os.path.join(SEED, "policy-weighted.yaml"))
        wait_for("4/2/4", lambda: [len(member_pods(f, m)) for m in ("us", "ap", "eu")] == [4, 2, 4], timeout=30)
        wait_for("10 ready in /status of hub 2", lambda: status_ready(10, h2))
        # Step 8: the Service's status and events on the hub.
        s = k("describe", "service", "hello").stdout
        for reason in ("SyncSucceed", "ScheduleBindingSucceed"):
            assert reason in s, s
        uids = {m: (member_uid(f, m, "/apis/apps/v1/namespaces/default/deployments/hello"),
                    member_uid(f, m, "/api/v1/namespaces/default/services/hello")) for m in ("eu", "ap", "us")}
        assert all(a and b for a, b in uids.values()), uids

        # kill -9 the leader; another hub places a new binding within two
        # lease durations of the kill.
        lead.kill9()
        t0 = time.time()
        rest = f.alive()
        assert len(rest) == 2
        code, _, _ = rest[0].request("POST", DEPLOYMENTS, deployment("after", 3))
        assert code == 201
        code, _, _ = rest[1].request("POST", POLICIES, policy("after", "after"))
        assert code == 201
        wait_for("the new binding placed", lambda: placed(rest[0], "after"), timeout=4 * LEASE_S)
        took = time.time() - t0
        assert took <= 2 * LEASE_S, "placement %.2fs after the kill" % took
        new = wait_for("a new leader", f.leader)
        assert new is not lead
        lease = f.lease(new)
        assert lease["spec"]["leaseTransitions"] == transitions + 1, lease
        wait_for("after on every member", lambda: all(f.mget(m, "/apis/apps/v1/namespaces/default/deployments/after")
                                                       for m in ("eu", "ap", "us")))

        # Every agent started on hub 0. Kill it (if the leader was not it):
        # the agents move on, and nothing in the members is recreated.
        if h0.proc.poll() is None:
            h0.kill9()
        survivor = f.any_hub()
        code, d, _ = survivor.get(DEPLOYMENTS + "/hello")
        d["spec"]["replicas"] = 5
        code, _, _ = survivor.request("PUT", DEPLOYMENTS + "/hello", d)
        assert code == 200
        wait_for("5 pods in the members", lambda: sum(len(member_pods(f, m)) for m in ("eu", "ap", "us")) == 5,
                 timeout=30)
        for m in ("eu", "ap", "us"):
            assert "trying another hub address" in open(os.path.join(f.tmp, "agent-%s" % m, "agent.log")).read()
        after = {m: (member_uid(f, m, "/apis/apps/v1/namespaces/default/deployments/hello"),
                     member_uid(f, m, "/api/v1/namespaces/default/services/hello")) for m in ("eu", "ap", "us")}
        assert after == uids
        for m in ("eu", "ap", "us"):
            wait_for(m + " still Ready", lambda m=m: f.ready(m, survivor) == "True")
    except Exception:
        print(f.logs_text())
        raise


def test_ha_chaos_smoke(tmp_path):
    """The chaos run of `make chaos-ha`, for ~12 s: leader kill -9 every 3 s,
    the leader stopped once until another leads, one etcd member killed and
    brought back, under steady writes. The hubs split batches into Txns of
    8 operations, so batches that lose to another hub, some after their
    first Txns committed, are part of it (the checks after the run hold
    for them too)."""
    import chaos_ha
    counts, problems, rcs = chaos_ha.run(str(tmp_path), 12, kill_every=3.0,
                                         hub_extra=["--etcd-max-txn-ops", "8"])
    assert not problems, problems
    assert counts["leader_kills"] >= 1 and counts["leader_pauses"] == 1 and counts["etcd_member_kills"] == 1, counts
    assert counts["writes_acknowledged"] > 20 and counts["bindings_placed"] >= 5, counts
    assert all(n > 0 for n in counts["watch_events"]), counts
    # the paused leader learnt it had lost the Lease and stopped its controllers
    assert counts["leaders_stepped_down"] >= 1, counts
