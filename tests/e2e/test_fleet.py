"""The fleet smoke (issue 15): build/bin/bench_fleet with a few hundred
stand-in agents against a hub it starts (TLS; joined client certificates
and per-cluster bearer tokens), a PropagationPolicy over all of them and
one template change. Correctness only, not time: every cluster connected,
every long-poll answered with each round's Work, every status report folded
into the ResourceBinding, one connection per agent at the hub (checked by bench_fleet, which exits non-zero and
says why otherwise); then a hub restart: every agent heartbeats and resumes
its long-poll from its revision (no re-list), every reconnect resuming its
TLS session by ticket (the ticket keys are kept in the data directory).
The hub writes each fan-out in slices of two Works (ATOLL_BIND_SLICE), so
the first agents' status reports arrive while slices remain: they are held
behind the fan-out (counted by the hub) and none is lost (all folded).
The 10,000-cluster run is `make bench-fleet`."""
import json
import os
import subprocess

import pytest

from conftest import BIN

CLUSTERS = 120


def test_fleet_smoke(tmp_path):
    exe = os.path.join(BIN, "bench_fleet")
    if not os.access(exe, os.X_OK):
        pytest.fail("%s is missing: make builds it" % exe)
    # slices of 2 Works, each committed and answered before the next
    env = dict(os.environ, TMPDIR=str(tmp_path), ATOLL_BIND_SLICE="0,2")
    p = subprocess.run([exe, "--clusters", str(CLUSTERS), "--bearer-every", "2", "--idle", "0", "--rounds", "2",
                        "--restart", "--heartbeat-interval", "3", "--budget", "100"],
                       capture_output=True, text=True, timeout=140, env=env)
    lines = p.stdout.strip().splitlines()
    assert lines, "no output; stderr:\n" + p.stderr[-3000:]
    res = json.loads(lines[-1])
    assert p.returncode == 0 and res["ok"], "bench_fleet failed: %s\n%s" % (res.get("error"), p.stderr[-3000:])
    assert res["clusters_connected"] == CLUSTERS
    # both identities: joined certificates and bearer tokens
    assert 0 < res["bearer_clusters"] < CLUSTERS
    # creation and one change, each reached every long-poll and was folded back
    assert res["rounds"] == 3  # and one more after the restart
    assert res["status_items_reported"] >= 3 * CLUSTERS
    # reports that came during a fan-out waited behind it (and were folded)
    assert res["hub_reports_held"] > 0
    assert res["fanout_p99_ms"] > 0
    assert res["hub_rss_mib"] > 0
    # the restart: everyone back from its revision, over resumed TLS sessions
    assert res["restart_resumed"] == CLUSTERS
    assert res["restart_relists"] == 0
    assert res["restart_tls_full"] == 0
    assert res["restart_tls_resumed"] >= CLUSTERS
    # one connection per agent (the long-poll carries the heartbeat, reports
    # go between polls): the hub's open HTTPS connections, read while every
    # agent's poll was held, are the agents' and the admin request's own
    assert CLUSTERS <= res["hub_connections"] <= CLUSTERS + 2
    # the temporary hub was stopped and its directory removed
    assert not any(n.startswith("bench_fleet.") for n in os.listdir(tmp_path))


def test_lease_renewals_kept_off_the_store(hub):
    """Heartbeats renew the Lease in memory and write it when this hub has
    not written it for half its duration (or the duration changed): a fleet
    of heartbeats is not a fleet of durable writes, and the stored renewTime
    is never older than half a lease while the agent heartbeats."""
    import datetime
    import time
    base = "/apis/atoll.io/v1alpha1/clusters/hb1"
    code, _, _ = hub.request("PUT", base + "/registration", {
        "apiVersion": "atoll.io/v1alpha1", "kind": "Registration", "cluster": "hb1"})
    assert code in (200, 201)

    def beat(lease_s):
        code, ans, _ = hub.request("PUT", base + "/heartbeat", {
            "apiVersion": "atoll.io/v1alpha1", "kind": "Heartbeat", "cluster": "hb1",
            "leaseDurationSeconds": lease_s, "health": "Healthy"})
        assert code == 200, ans
        return ans["renewTime"]

    def lease():
        code, l, _ = hub.get("/apis/coordination.k8s.io/v1/namespaces/karmada-cluster/leases/hb1")
        assert code == 200, l
        return l

    def age(rt):
        t = datetime.datetime.strptime(rt, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        return time.time() - t.timestamp()

    beat(4)
    rvs = {lease()["metadata"]["resourceVersion"]}
    t0 = time.time()
    n = 0
    while time.time() - t0 < 3.2:
        answered = beat(4)
        n += 1
        assert age(answered) < 1.0  # the answer carries this renewal
        l = lease()
        rvs.add(l["metadata"]["resourceVersion"])
        assert age(l["spec"]["renewTime"]) < 2.0 + 0.6, l["spec"]  # never older than half the lease (+ a beat)
        time.sleep(0.2)
    assert n >= 10
    assert 2 <= len(rvs) <= 3, "the Lease was written %d times for %d heartbeats" % (len(rvs), n)
    # another duration is written at once
    beat(8)
    assert lease()["spec"]["leaseDurationSeconds"] == 8
