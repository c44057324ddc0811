"""Members in their own network namespaces, on region-like links (issue 15).

eu 20 ms, us 80 ms, ap 150 ms round trip with 1% loss (and jitter), plus
"lo", a namespace with no delay, as the baseline. Each member (atoll-sim
and atoll-agent) runs in its region's namespace and reaches the hub only
through its region's link (netem when the kernel has it, else netlab's
FaultProxy). Needs root and iproute2; skips with the reason otherwise.
`make netns-test` runs this file; every namespace, link and process is
removed at the end, also on failure."""
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "../tools"))
sys.path.insert(0, os.path.join(HERE, "../e2e"))
import netlab  # noqa: E402
import demo as demo_mod  # noqa: E402
from conftest import BIN, SEED  # noqa: E402

REGIONS = [("lo", 0, 0, 0.0), ("eu", 20, 2, 0.0), ("us", 80, 5, 0.0), ("ap", 150, 10, 0.01)]
LEASE_S = 4

_why = netlab.why_unavailable()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


class NetDemo(demo_mod.Demo):
    """The seed walkthrough's Demo with every member in its region's namespace."""

    def __init__(self, bindir, workdir, lab):
        super().__init__(bindir, workdir)
        self.lab = lab
        self.regions = {}

    def hubcmd(self, *args):
        if args and args[0] == "init":  # the serving certificate also names the regions' link addresses
            a = list(args)
            i = a.index("--hosts")
            a[i + 1] += "," + ",".join(self.lab.host_ip(n + 1) for n in range(len(REGIONS)))
            args = tuple(a)
        return super().hubcmd(*args)

    def start_members(self, regions=None):
        regions = regions or REGIONS
        self.member_kc, self.member_url = {}, {}
        port = int(self.hub_url.rsplit(":", 1)[1])
        for name, rtt, jit, loss in regions:
            r = self.lab.add_region(name, rtt, jit, loss)
            self.regions[name] = r
            self.lab.proxy(r, ("127.0.0.1", port))
            kc = os.path.join(self.dir, name + ".kubeconfig")
            pf = os.path.join(self.dir, name + ".port")
            log = open(os.path.join(self.dir, "sim-%s.log" % name), "ab")
            p = r.popen([os.path.join(self.bin, "atoll-sim"), "--name", name, "--insecure-listen", r.ns_ip + ":0",
                         "--port-file", pf, "--kubeconfig-out", kc, "--nodes", "3", "--ready-delay", "300ms",
                         "--region", name], stdout=log, stderr=log)
            self.procs.append(("sim-" + name, p))
            self.wait_file(pf, "atoll-sim " + name)
            self.member_kc[name] = kc
            self.member_url[name] = "http://%s:%s" % (r.ns_ip, open(pf).read().strip())
        for name, _, _, _ in regions:
            r = self.regions[name]
            tok = self.join_token(name)
            log = open(os.path.join(self.dir, "agent-%s.log" % name), "ab")
            p = r.popen([os.path.join(self.bin, "atoll-agent"), "--hub", "https://%s:%d" % (r.host_ip, r.proxies[0].port),
                         "--token", tok["token"], "--ca-cert-hash", tok["caCertHash"], "--cluster-name", name,
                         "--kubeconfig", self.member_kc[name], "--region", name,
                         "--state-dir", os.path.join(self.dir, "agent-" + name),
                         "--heartbeat-interval", "1s", "--lease-duration", "%ds" % LEASE_S, "--poll-timeout", "10s"],
                        stdout=log, stderr=log)
            self.procs.append(("agent-" + name, p))
        # every region Ready before the walkthrough goes on (ap's link is the slowest)
        wait("%d Ready clusters" % len(regions), lambda: self.kubectl(
            "get", "clusters", "--no-headers", show=False, check=False).count(" True") >= len(regions),
            timeout=60, step=0.2)

    def member_get(self, name, path):
        try:
            with urllib.request.urlopen(self.member_url[name] + path, timeout=5) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return None if e.code == 404 else {"error": e.code}
        except OSError:
            return None


def wait(what, fn, timeout=30, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def net(tmp_path):
    lab = netlab.Lab()
    d = NetDemo(BIN, str(tmp_path), lab)
    try:
        d.start_hub()
        yield d
    finally:
        d.stop()
        lab.close()
        for name, p in d.procs:
            assert p.returncode in (0, -9, -15), "%s exited with %s" % (name, p.returncode)


def propagate_configmap(d, name, clusters):
    d.kubectl("create", "configmap", name, "--from-literal=n=0", show=False)
    pol = """apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: %s}
spec:
  resourceSelectors: [{apiVersion: v1, kind: ConfigMap, name: %s}]
  placement:
    clusterAffinity: {clusterNames: [%s]}
    replicaScheduling: {replicaSchedulingType: Duplicated}
""" % (name, name, ",".join(clusters))
    p = os.path.join(d.dir, name + "-policy.yaml")
    with open(p, "w") as f:
        f.write(pol)
    d.kubectl("apply", "-f", p, show=False)


def cm_n(d, region, name):
    o = d.member_get(region, "/api/v1/namespaces/default/configmaps/" + name)
    if not o or "data" not in o:
        return None
    return int(o["data"].get("n", -1)), o["metadata"]["uid"], int(o["metadata"]["resourceVersion"])


def set_n(d, name, n):
    d.kubectl("patch", "configmap", name, "--type=merge", "-p", json.dumps({"data": {"n": str(n)}}), show=False)


def test_seed_walkthrough_and_write_to_applied_per_region(net, capsys):
    d = net
    d.walk()  # the seed walkthrough, every member behind its region's link
    out = capsys.readouterr().out
    for name in ("eu", "ap", "us"):
        assert re.search(r"^%s\s+v1\.23\.8\s+Pull\s+True" % name, out, re.M), out
    wait("4/2/4", lambda: [d.ready_pods(m) for m in ("us", "ap", "eu")] == [4, 2, 4], timeout=60, step=0.2)
    # write -> applied in every member, per region, against its round trip
    names = [r[0] for r in REGIONS]
    propagate_configmap(d, "probe", names)
    for m in names:
        wait("probe in " + m, lambda m=m: cm_n(d, m, "probe"), timeout=30)
    lat = {m: [] for m in names}
    for k in range(1, 11):
        t0 = time.time()
        set_n(d, "probe", k)
        seen = {}
        while len(seen) < len(names) and time.time() - t0 < 20:
            for m in names:
                if m not in seen:
                    v = cm_n(d, m, "probe")
                    if v and v[0] >= k:
                        seen[m] = time.time() - t0
            time.sleep(0.003)
        assert len(seen) == len(names), "round %d reached only %s" % (k, seen)
        for m in names:
            lat[m].append(seen[m] * 1000)
    med = {m: sorted(v)[len(v) // 2] for m, v in lat.items()}
    with capsys.disabled():
        print("\nwrite -> applied (kubectl patch sent -> member shows it), median of 10, netem=%s" % d.lab.netem)
        for name, rtt, jit, loss in REGIONS:
            print("  %-3s rtt %3d ms jitter %2d ms loss %4.1f%%: median %6.0f ms, max %6.0f ms, over loopback %+5.0f ms"
                  % (name, rtt, jit, loss * 100, med[name], max(lat[name]), med[name] - med["lo"]))
    # The agent's share is one long-poll answer and one status report: the
    # extra over loopback is about the round trip (the target: <= RTT + 20 ms);
    # checked loosely here (the machine is shared), printed exactly above.
    for name, rtt, _, _ in REGIONS[1:]:
        assert med[name] - med["lo"] < 3 * rtt + 500, (name, med)
    assert med["ap"] > med["eu"]


def test_partition_and_heal(net, capsys):
    d = net
    d.start_members()
    propagate_configmap(d, "steady", ["eu", "ap"])
    for m in ("eu", "ap"):
        wait("steady in " + m, lambda m=m: cm_n(d, m, "steady"), timeout=30)
    uid0 = cm_n(d, "ap", "steady")[1]
    # Steady changes on the hub: n = 1, 2, 3, ... every 300 ms.
    state = {"n": 0, "stop": False}
    trace = []  # (time, n, uid, resourceVersion) of ap's ConfigMap, polled

    def writer():
        while not state["stop"]:
            state["n"] += 1
            set_n(d, "steady", state["n"])
            time.sleep(0.3)

    def watcher():
        while not state["stop"]:
            v = cm_n(d, "ap", "steady")
            if v and (not trace or trace[-1][1:] != v):
                trace.append((time.time(),) + v)
            time.sleep(0.02)

    threads = [threading.Thread(target=writer), threading.Thread(target=watcher)]
    for t in threads:
        t.start()
    events = []
    t_start = time.time()

    def note(what):
        events.append((time.time() - t_start, what))

    def ready(name):
        c = json.loads(d.kubectl("get", "cluster", name, "-o", "json", show=False))
        cond = [x for x in (c.get("status", {}).get("conditions") or []) if x["type"] == "Ready"]
        taints = [t["key"] for t in (c.get("spec", {}).get("taints") or [])]
        return (cond[0]["status"] if cond else None), taints

    try:
        time.sleep(1.5)
        ap = d.regions["ap"]
        # shorter than the lease: link down (bytes held); longer: black-holed (connections lost)
        for cut_s, longer, mode in ((2.0, False, "hold"), (LEASE_S + 10.0, True, "blackhole")):
            note("cut ap (%s) for %.0f s (lease %d s)" % (mode, cut_s, LEASE_S))
            ap.cut(True, mode)
            time.sleep(0.5)  # what was in flight lands
            frozen = cm_n(d, "ap", "steady")
            unknown_at = None
            t_cut = time.time()
            while time.time() - t_cut < cut_s:
                v = cm_n(d, "ap", "steady")
                # the member keeps running untouched while cut off
                assert v == frozen, "ap changed while cut off: %s -> %s" % (frozen, v)
                st, taints = ready("ap")
                if st == "Unknown" and unknown_at is None:
                    unknown_at = time.time() - t_cut
                    note("hub: ap Ready=Unknown, taints %s" % taints)
                    assert "cluster.karmada.io/unreachable" in taints
                time.sleep(0.2)
            if longer:
                assert unknown_at is not None, "the hub never marked ap unreachable"
            else:
                assert unknown_at is None, "a cut shorter than the lease made ap Unknown"
            ap.cut(False, mode)
            note("healed at n=%d (ap held n=%d)" % (state["n"], frozen[0]))
            t_heal = time.time()
            target = state["n"]
            wait("ap to catch up", lambda: (cm_n(d, "ap", "steady") or (0,))[0] >= target, timeout=60)
            note("ap caught up to n>=%d after %.2f s" % (target, time.time() - t_heal))
            if longer:
                wait("ap Ready again", lambda: ready("ap")[0] == "True", timeout=30, step=0.2)
                note("hub: ap Ready=True, taints %s" % ready("ap")[1])
    finally:
        state["stop"] = True
        for t in threads:
            t.join()
    # No delete and recreate: one uid throughout; versions only move forward.
    assert {x[2] for x in trace} == {uid0}
    ns = [x[1] for x in trace]
    rvs = [x[3] for x in trace]
    assert ns == sorted(ns), "ap applied an older change after a newer one: %s" % ns
    assert rvs == sorted(rvs)
    # eu, never cut, kept up all along
    assert cm_n(d, "eu", "steady")[0] >= target
    with capsys.disabled():
        print("\npartition and heal of ap (netem=%s):" % d.lab.netem)
        for t, what in events:
            print("  %6.2f s  %s" % (t, what))


def test_agents_behind_a_forward_proxy(net, capsys):
    """A namespace whose only way to the hub is a forward proxy: one agent
    with --proxy-url, one with HTTPS_PROXY; both join, heartbeat and apply."""
    d = net
    port = int(d.hub_url.rsplit(":", 1)[1])
    r = d.lab.add_region("px", 0)
    fp = d.lab.connect_proxy(r, [("127.0.0.1", port)])
    # From inside, the hub's address leads nowhere: only the proxy reaches it.
    probe = r.exec_("python3", "-c", "import socket; socket.create_connection(('127.0.0.1', %d), 2)" % port,
                    check=False)
    assert probe.returncode != 0
    d.member_kc, d.member_url = {}, {}
    proxy = "http://%s:%d" % (r.host_ip, fp.port)
    for name, how in (("pxflag", "flag"), ("pxenv", "env")):
        kc = os.path.join(d.dir, name + ".kubeconfig")
        pf = os.path.join(d.dir, name + ".port")
        log = open(os.path.join(d.dir, "sim-%s.log" % name), "ab")
        p = r.popen([os.path.join(BIN, "atoll-sim"), "--name", name, "--insecure-listen", r.ns_ip + ":0",
                     "--port-file", pf, "--kubeconfig-out", kc, "--nodes", "1"], stdout=log, stderr=log)
        d.procs.append(("sim-" + name, p))
        d.wait_file(pf, "atoll-sim " + name)
        d.member_kc[name] = kc
        d.member_url[name] = "http://%s:%s" % (r.ns_ip, open(pf).read().strip())
        tok = d.join_token(name)
        args = [os.path.join(BIN, "atoll-agent"), "--hub", d.hub_url, "--token", tok["token"],
                "--ca-cert-hash", tok["caCertHash"], "--cluster-name", name, "--kubeconfig", kc,
                "--state-dir", os.path.join(d.dir, "agent-" + name), "--heartbeat-interval", "1s"]
        env = dict(os.environ, NO_PROXY=r.ns_ip)
        if how == "flag":
            args += ["--proxy-url", proxy]
        else:
            env["HTTPS_PROXY"] = proxy
        log = open(os.path.join(d.dir, "agent-%s.log" % name), "ab")
        p = r.popen(args, stdout=log, stderr=log, env=env)
        d.procs.append(("agent-" + name, p))
    wait("both clusters Ready", lambda: d.kubectl("get", "clusters", "--no-headers", show=False,
                                                  check=False).count(" True") >= 2, timeout=60, step=0.2)
    propagate_configmap(d, "viaproxy", ["pxflag", "pxenv"])
    for m in ("pxflag", "pxenv"):
        wait("viaproxy in " + m, lambda m=m: cm_n(d, m, "viaproxy"), timeout=30)
    assert fp.tunnels >= 2 and fp.refused == 0
    with capsys.disabled():
        print("\nforward proxy: %d CONNECT tunnels to the hub, %d refused" % (fp.tunnels, fp.refused))
