#!/usr/bin/env python3
"""Benchmark: a write on the hub -> applied in every member, with real
agents. For each cluster count N (3, 30, 100 by default): one atoll-hub,
one atoll-sim process hosting N member clusters, N atoll-agent processes.
A ConfigMap template is propagated to all N clusters (Duplicated policy);
each round changes its data on the hub and waits until every member's
watch has shown the new data. Latency = the hub's answer to the write ->
the last member's watch event, split where a hub watch of every Work saw
the last Work written (controllers vs delivery by the agents). Also: agent RSS (VmRSS, PSS) and CPU while
idle and while the rounds run. Prints figures; not a pass/fail test.
127.0.0.1 only; stops what it starts."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def req(url, method="GET", body=None, ctype="application/json", timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        r.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait(what, fn, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    sys.exit("bench_agents: timed out waiting for " + what)


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_mem(pid):
    rss = pss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Watch(threading.Thread):
    """A member watch on the benchmark ConfigMap; records when each data
    version is first seen."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.seen = {}
        self.cond = threading.Condition()
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                r = urllib.request.urlopen(self.url + "/api/v1/namespaces/default/configmaps?watch=true"
                                           "&fieldSelector=metadata.name%3Dbench", timeout=600)
                for line in r:
                    if self.stop:
                        return
                    line = line.strip()
                    if not line:
                        continue
                    ev = json.loads(line)
                    v = ((ev.get("object") or {}).get("data") or {}).get("v")
                    if v is not None:
                        now = time.perf_counter()
                        with self.cond:
                            self.seen.setdefault(v, now)
                            self.cond.notify_all()
            except Exception:
                time.sleep(0.1)


class WorkWatch(threading.Thread):
    """A hub watch on every Work: when the n-th Work carrying data version v
    was written (the controllers' share of the latency)."""

    def __init__(self, hub, n):
        super().__init__(daemon=True)
        self.hub = hub
        self.n = n
        self.count = {}
        self.done = {}
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                r = urllib.request.urlopen(self.hub + "/apis/work.karmada.io/v1alpha1/works?watch=true", timeout=600)
                for line in r:
                    if self.stop:
                        return
                    line = line.strip()
                    if not line:
                        continue
                    ev = json.loads(line)
                    for m in ev.get("object", {}).get("spec", {}).get("workload", {}).get("manifests", []):
                        v = (m.get("data") or {}).get("v")
                        if v is None or m.get("metadata", {}).get("name") != "bench":
                            continue
                        names = self.count.setdefault(v, set())
                        names.add(ev["object"]["metadata"]["namespace"])
                        if len(names) == self.n and v not in self.done:
                            self.done[v] = time.perf_counter()
            except Exception as e:
                self.error = repr(e)
                time.sleep(0.1)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def run(n, rounds, bindir, keep):
    work = tempfile.mkdtemp(prefix="atoll-bench-agents-")
    procs = []
    logs = []

    def spawn(name, argv):
        lf = open(os.path.join(work, name + ".log"), "wb")
        logs.append(lf)
        p = subprocess.Popen(argv, stdout=lf, stderr=lf)
        procs.append(p)
        return p

    try:
        hport = free_port()
        hub = "http://127.0.0.1:%d" % hport
        spawn("hub", [os.path.join(bindir, "atoll-hub"), "serve", "--data-dir", os.path.join(work, "hub"),
                      "--insecure-listen", "127.0.0.1:%d" % hport, "--log-level", "warn"])
        wait("the hub", lambda: _ok(hub + "/readyz"), 20)
        names = ["m%03d" % i for i in range(n)]
        ports = {nm: free_port() for nm in names}
        pf = os.path.join(work, "sim.ports")
        argv = [os.path.join(bindir, "atoll-sim"), "--kubeconfig-dir", work, "--nodes", "1", "--ready-delay", "100ms",
                "--no-events", "--log-level", "warn", "--port-file", pf]
        for nm in names:
            argv += ["--cluster", "%s=127.0.0.1:%d" % (nm, ports[nm])]
        spawn("sim", argv)
        wait("the simulated members", lambda: os.path.exists(pf) and len(open(pf).read().split()) >= 2 * n, 60 + n)
        for nm in names:
            wait("member " + nm, lambda nm=nm: _ok("http://127.0.0.1:%d/readyz" % ports[nm]), 30)
        agents = []
        for nm in names:
            agents.append(spawn("agent-" + nm, [os.path.join(bindir, "atoll-agent"), "--hub", hub, "--cluster-name", nm,
                                                "--kubeconfig", os.path.join(work, nm + ".kubeconfig"),
                                                "--log-level", "warn"]))

        def all_ready():
            code, lst = req(hub + "/apis/cluster.karmada.io/v1alpha1/clusters")
            ready = 0
            for c in (lst or {}).get("items", []):
                for cond in c.get("status", {}).get("conditions", []):
                    if cond["type"] == "Ready" and cond["status"] == "True":
                        ready += 1
            return ready == n

        wait("%d Ready clusters" % n, all_ready, 60 + n)
        watches = [Watch("http://127.0.0.1:%d" % ports[nm]) for nm in names]
        for w in watches:
            w.start()
        ww = WorkWatch(hub, n)
        ww.start()
        policy = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
                  "metadata": {"name": "bench", "namespace": "default"},
                  "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "bench"}],
                           "placement": {"clusterAffinity": {"clusterNames": names},
                                         "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}}}
        code, body = req(hub + "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies", "POST", policy)
        assert code == 201, body
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench", "namespace": "default"},
              "data": {"v": "0"}}
        code, body = req(hub + "/api/v1/namespaces/default/configmaps", "POST", cm)
        assert code == 201, body

        def everywhere(v, timeout):
            end = time.time() + timeout
            for w in watches:
                with w.cond:
                    while v not in w.seen:
                        left = end - time.time()
                        if left <= 0:
                            return None
                        w.cond.wait(left)
            return max(w.seen[v] for w in watches)

        if everywhere("0", 60 + n) is None:
            sys.exit("bench_agents: the ConfigMap did not reach every member")
        time.sleep(2)
        # Idle figures.
        t0 = {p.pid: proc_stat(p.pid) for p in agents}
        time.sleep(10)
        idle_ticks = [proc_stat(p.pid) - t0[p.pid] for p in agents]
        mem = [proc_mem(p.pid) for p in agents]
        # Rounds.
        lat, render, deliver = [], [], []
        t0 = {p.pid: proc_stat(p.pid) for p in agents}
        start = time.time()
        for i in range(1, rounds + 1):
            v = str(i)
            t_write = time.perf_counter()
            code, body = req(hub + "/api/v1/namespaces/default/configmaps/bench", "PATCH", {"data": {"v": v}},
                             ctype="application/merge-patch+json")
            t_ack = time.perf_counter()
            assert code == 200, body
            done = everywhere(v, 30)
            if done is None:
                sys.exit("bench_agents: round %d did not reach every member" % i)
            lat.append((done - t_ack) * 1000.0)
            if v in ww.done:
                render.append((ww.done[v] - t_ack) * 1000.0)
                deliver.append((done - ww.done[v]) * 1000.0)
        busy_s = time.time() - start
        busy_ticks = [proc_stat(p.pid) - t0[p.pid] for p in agents]
        for w in watches:
            w.stop = True
        ww.stop = True
        hz = os.sysconf("SC_CLK_TCK")
        res = {
            "clusters": n, "rounds": rounds,
            "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99), "max_ms": max(lat),
            "works_written_p50_ms": pct(render, 50) if render else None,
            "works_written_p99_ms": pct(render, 99) if render else None,
            "delivered_p50_ms": pct(deliver, 50) if deliver else None,
            "delivered_p99_ms": pct(deliver, 99) if deliver else None,
            "agent_rss_kib_max": max(m[0] for m in mem), "agent_rss_kib_median": pct([m[0] for m in mem], 50),
            "agent_pss_kib_median": pct([m[1] for m in mem], 50),
            "agent_idle_cpu_pct_max": 100.0 * max(idle_ticks) / hz / 10.0,
            "agent_busy_cpu_pct_median": 100.0 * pct(busy_ticks, 50) / hz / busy_s,
        }
        return res
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for lf in logs:
            lf.close()
        if keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default=os.path.join(HERE, "../../build/bin"))
    ap.add_argument("--clusters", default="3,30,100", help="comma-separated cluster counts")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (logs)")
    a = ap.parse_args()
    out = []
    for n in [int(x) for x in a.clusters.split(",")]:
        r = run(n, a.rounds, os.path.abspath(a.bin), a.keep)
        out.append(r)
        print("%3d clusters: write -> applied in every member p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms" % (
            n, r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"]))
        if r["works_written_p50_ms"] is None:
            print("              (the split at the hub's Works was not measured: this Python harness's watch of "
                  "every Work fell behind)")
        else:
            print("              of which write -> all Works written p50 %.2f ms p99 %.2f ms; "
                  "last Work written -> applied everywhere p50 %.2f ms p99 %.2f ms" % (
                      r["works_written_p50_ms"], r["works_written_p99_ms"], r["delivered_p50_ms"],
                      r["delivered_p99_ms"]))
        print("              agent RSS median %d KiB (max %d, PSS %d); agent CPU idle max %.2f%%, "
              "during rounds median %.2f%%" % (r["agent_rss_kib_median"], r["agent_rss_kib_max"],
                                               r["agent_pss_kib_median"], r["agent_idle_cpu_pct_max"],
                                               r["agent_busy_cpu_pct_median"]), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
