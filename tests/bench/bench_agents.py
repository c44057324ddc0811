#!/usr/bin/env python3
"""Benchmark: a write on the hub -> applied in every member, with real
agents. For each cluster count N (3, 30, 100 by default): one atoll-hub,
one atoll-sim process hosting N member clusters (--sims K: K processes
sharing them), N atoll-agent processes. A ConfigMap template is propagated
to all N clusters (Duplicated policy); each round merge-patches its data on
the hub and waits until every member's watch has shown the new data. The
member watches run in tests/bench/bench_watch.c (build/bin/bench_watch),
which prints when a version was seen everywhere; this driver only writes
and correlates (CLOCK_MONOTONIC on both sides).

Latency = the hub's answer to the write -> the last member's watch event,
and from the write's send. The hub answers a write once the commit it
joined is durable, and its controllers' Works join that commit, so
send -> answer is the hub's share (controllers + commit) and answer -> last
member the delivery (long-poll answers, agents, members' server-side
apply, their watches). --hub-watch adds a watch of every Work on the hub
(when all N were seen). Also: agent RSS (VmRSS, PSS) and CPU while idle
and while the rounds run, and the CPU of the hub and the simulator(s)
during the rounds. --store etcd: the hub keeps its objects in one etcd
member (Debian's /usr/bin/etcd, started by tests/e2e/etcd.py in a directory
beside the hub's data dir, so on the same file system) instead of SQLite. Prints figures; not a pass/fail test. 127.0.0.1 only
(every port picked by the kernel: port 0 + port files); stops everything
it starts, also on errors, SIGINT and SIGTERM."""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HUB_LOG_LEVEL = "warn"  # --hub-log-level
ETCD_API = None  # --etcd-api


class BenchError(Exception):
    pass


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


def cpu_busy():
    """Busy and total jiffies of the whole machine (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def _ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def read_ports(path):
    """NAME PORT lines (or one PORT) of a port file; {} while absent."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
        elif len(parts) == 1 and parts[0].isdigit():
            out[""] = int(parts[0])
    return out


class Watcher:
    """bench_watch as a child: reads its lines into dicts."""

    def __init__(self, argv, logf):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logf)
        self.cond = threading.Condition()
        self.all = {}     # version -> (t_first_member, t_last_member)
        self.works = {}   # version -> (t_first_work, t_last_work)
        self.ready = None
        self.errors = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            f = raw.decode(errors="replace").split()
            if not f:
                continue
            with self.cond:
                if f[0] == "all" and len(f) == 4:
                    self.all.setdefault(f[1], (float(f[2]), float(f[3])))
                elif f[0] == "works" and len(f) == 4:
                    self.works.setdefault(f[1], (float(f[2]), float(f[3])))
                elif f[0] == "ready":
                    self.ready = float(f[1])
                elif f[0] == "error":
                    self.errors.append(" ".join(f[1:]))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    return pred()
                self.cond.wait(min(left, 0.5))

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write(b"q\n")
                self.p.stdin.flush()
            except OSError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def etcd_probe(etcd):
    """etcd's revision and its WAL fsync count and total seconds (the
    client port serves /metrics)."""
    rev = int(etcd.call("/v3/kv/range", {"key": "AA=="})["header"]["revision"])
    cnt = tot = 0.0
    with urllib.request.urlopen(etcd.urls[0] + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("etcd_disk_wal_fsync_duration_seconds_count"):
                cnt = float(line.split()[-1])
            elif line.startswith("etcd_disk_wal_fsync_duration_seconds_sum"):
                tot = float(line.split()[-1])
    return rev, cnt, tot


def run(n, rounds, bindir, keep, idle_s, gap, hub_dir, nsims, hub_watch, agent_extra, store="sqlite"):
    work = tempfile.mkdtemp(prefix="atoll-bench-agents-")
    procs = []
    logs = []
    watcher = None
    etcd = None

    def spawn(name, argv, **kw):
        lf = open(os.path.join(work, name + ".log"), "wb")
        logs.append(lf)
        p = subprocess.Popen(argv, stdout=lf, stderr=lf, stdin=subprocess.DEVNULL, **kw)
        p.bench_name = name
        procs.append(p)
        return p

    def fail(what):
        """Names dead processes and shows the end of their logs."""
        msg = ["bench_agents (%d clusters): %s" % (n, what)]
        dead = [p for p in procs if p.poll() is not None]
        if len(dead) > 5:
            msg.append("  %d processes exited; the first 5:" % len(dead))
        for p in dead[:5]:
            msg.append("  %s exited with %s; end of %s.log:" % (p.bench_name, p.returncode, p.bench_name))
            try:
                with open(os.path.join(work, p.bench_name + ".log"), "rb") as f:
                    tail = f.read()[-1500:].decode(errors="replace")
                msg.extend("    " + ln for ln in tail.splitlines())
            except OSError:
                pass
        msg.append("  (working directory %s%s)" % (work, " kept" if keep else ", removed; --keep keeps it"))
        raise BenchError("\n".join(msg))

    def wait(what, fn, timeout, watch=None):
        """Polls fn until true, for at most timeout seconds; fails early when
        one of the processes it depends on (default: all) has exited."""
        end = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            for p in (watch if watch is not None else procs):
                if p.poll() is not None:
                    fail("%s exited while waiting for %s" % (p.bench_name, what))
            if time.monotonic() >= end:
                fail("timed out after %.0f s waiting for %s" % (timeout, what))
            time.sleep(0.05)

    try:
        hub_data = os.path.join(hub_dir or work, os.path.basename(work) + "-hub")
        hub_pf = os.path.join(work, "hub.port")
        store_args = []
        if store == "etcd":
            sys.path.insert(0, os.path.join(HERE, "../e2e"))
            from etcd import EtcdCluster
            try:
                etcd = EtcdCluster(os.path.join(hub_dir or work, os.path.basename(work) + "-etcd")).start()
            except RuntimeError as e:
                fail("etcd did not start: %s" % e)
            store_args = etcd.hub_args()
            if ETCD_API:
                store_args += ["--etcd-api", ETCD_API]
        # Every agent connects from 127.0.0.1: lift the per-address quota
        # (256 established connections) so that hundreds of agents fit.
        hub_p = spawn("hub", [os.path.join(bindir, "atoll-hub"), "serve", "--data-dir", hub_data,
                              "--insecure-listen", "127.0.0.1:0", "--port-file", hub_pf, "--log-level", HUB_LOG_LEVEL,
                              "--max-connections-per-client", "100000"] + store_args)
        hport = wait("the hub's port file", lambda: read_ports(hub_pf).get(""), 30)
        hub = "http://127.0.0.1:%d" % hport
        wait("the hub's /readyz", lambda: _ok(hub + "/readyz"), 30)

        names = ["m%03d" % i for i in range(n)]
        # The members: one atoll-sim process (default) or several, each with
        # a share of the clusters (one event loop per process).
        sims = []
        sim_pfs = []
        k = max(1, min(nsims, n))
        for j in range(k):
            share = names[j::k]
            spf = os.path.join(work, "sim%d.ports" % j)
            argv = [os.path.join(bindir, "atoll-sim"), "--kubeconfig-dir", work, "--nodes", "1", "--ready-delay",
                    "100ms", "--no-events", "--log-level", "warn", "--port-file", spf]
            for nm in share:
                argv += ["--cluster", "%s=127.0.0.1:0" % nm]
            sims.append(spawn("sim%d" % j if k > 1 else "sim", argv))
            sim_pfs.append((spf, len(share)))

        def sim_ports():
            d = {}
            for spf, cnt in sim_pfs:
                got = read_ports(spf)
                if len(got) < cnt:
                    return None
                d.update(got)
            return d

        ports = wait("the %d simulated members' port files" % n, sim_ports, 60 + 2 * n)
        pf = os.path.join(work, "members.ports")
        with open(pf, "w") as f:
            f.write("".join("%s %d\n" % (nm, ports[nm]) for nm in names))

        def members_ready():
            return all(_ok("http://127.0.0.1:%d/readyz" % ports[nm]) for nm in names)

        wait("every member's /readyz", members_ready, 60 + n)

        t_join = time.monotonic()
        agents = []
        for nm in names:
            agents.append(spawn("agent-" + nm, [os.path.join(bindir, "atoll-agent"), "--hub", hub, "--cluster-name", nm,
                                                "--kubeconfig", os.path.join(work, nm + ".kubeconfig"),
                                                "--log-level", "warn"] + agent_extra))

        def ready_count():
            code, lst = req(hub + "/apis/cluster.karmada.io/v1alpha1/clusters")
            ready = set()
            for c in (lst or {}).get("items", []):
                for cond in c.get("status", {}).get("conditions", []):
                    if cond["type"] == "Ready" and cond["status"] == "True":
                        ready.add(c["metadata"]["name"])
            return ready

        last = [set()]

        def all_ready():
            last[0] = ready_count()
            return len(last[0]) == n

        try:
            wait("%d Ready clusters" % n, all_ready, 120 + 2 * n)
        except BenchError as e:
            missing = sorted(set(names) - last[0])
            raise BenchError("%s\n  not Ready: %s" % (e, " ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")))
        join_s = time.monotonic() - t_join

        wlog = open(os.path.join(work, "watch.log"), "wb")
        logs.append(wlog)
        wargv = [os.path.join(bindir, "bench_watch"), "--members", pf,
                 "--path", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dbench"]
        if hub_watch:
            wargv += ["--hub-port", str(hport), "--hub-path", "/apis/work.karmada.io/v1alpha1/works"]
        watcher = Watcher(wargv, wlog)
        watcher.p.bench_name = "watch"
        if not watcher.wait_for(lambda: watcher.ready, 30 + n):
            fail("bench_watch did not open its %d watches (errors: %s)" % (n + hub_watch, watcher.errors[:5]))

        policy = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
                  "metadata": {"name": "bench", "namespace": "default"},
                  "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "bench"}],
                           "placement": {"clusterAffinity": {"clusterNames": names},
                                         "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}}}
        code, body = req(hub + "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies", "POST", policy)
        if code != 201:
            fail("creating the PropagationPolicy answered %d: %s" % (code, body))
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench", "namespace": "default"},
              "data": {"v": "0"}}
        code, body = req(hub + "/api/v1/namespaces/default/configmaps", "POST", cm)
        if code != 201:
            fail("creating the ConfigMap answered %d: %s" % (code, body))
        if not watcher.wait_for(lambda: watcher.all.get("0"), 60 + n):
            fail("the ConfigMap did not reach every member within %d s (watch errors: %s)" % (
                60 + n, watcher.errors[:5]))
        time.sleep(2)

        # Idle figures.
        load_before = open("/proc/loadavg").read().split()[:3]
        t0 = {p.pid: proc_stat(p.pid) for p in agents}
        time.sleep(idle_s)
        idle_ticks = [proc_stat(p.pid) - t0[p.pid] for p in agents]
        mem_idle = [proc_mem(p.pid) for p in agents]

        # Rounds: merge-patch the template on one keep-alive connection.
        conn = http.client.HTTPConnection("127.0.0.1", hport, timeout=30)
        lat, lat_send, first, render, deliver, work_first, acks = [], [], [], [], [], [], []
        t0 = {p.pid: proc_stat(p.pid) for p in agents}
        hub0, sim0 = proc_stat(hub_p.pid), sum(proc_stat(p.pid) for p in sims)
        etcd_pids = [p.pid for p in etcd.procs] if etcd else []
        etcd0 = sum(proc_stat(pid) for pid in etcd_pids)
        probe0 = etcd_probe(etcd) if etcd else None
        mine = [hub_p.pid, watcher.p.pid, os.getpid()] + [p.pid for p in sims] + [p.pid for p in agents] + etcd_pids
        mine0, mach0 = sum(proc_stat(pid) for pid in mine), cpu_busy()
        start = time.monotonic()
        for i in range(1, rounds + 1):
            if gap:
                time.sleep(gap)
            v = str(i)
            body = json.dumps({"data": {"v": v}})
            t_write = time.perf_counter()
            conn.request("PATCH", "/api/v1/namespaces/default/configmaps/bench", body,
                         {"Content-Type": "application/merge-patch+json"})
            resp = conn.getresponse()
            data = resp.read()
            t_ack = time.perf_counter()
            if resp.status != 200:
                fail("round %d: the write answered %d: %s" % (i, resp.status, data[:300]))
            got = watcher.wait_for(lambda: watcher.all.get(v), 30)
            if not got:
                fail("round %d did not reach every member within 30 s (watch errors: %s)" % (i, watcher.errors[:5]))
            t_first, t_last = got
            acks.append((t_ack - t_write) * 1000.0)
            lat.append(max(0.0, t_last - t_ack) * 1000.0)
            lat_send.append((t_last - t_write) * 1000.0)
            first.append(max(0.0, t_first - t_ack) * 1000.0)
            # The Works' watch event may trail the members' (same loop turn).
            w = watcher.wait_for(lambda: watcher.works.get(v), 1) if hub_watch else None
            if w:
                work_first.append((w[0] - t_write) * 1000.0)
                render.append((w[1] - t_write) * 1000.0)
                deliver.append(max(0.0, t_last - w[1]) * 1000.0)
        busy_s = time.monotonic() - start
        busy_ticks = [proc_stat(p.pid) - t0[p.pid] for p in agents]
        hub_ticks, sim_ticks = proc_stat(hub_p.pid) - hub0, sum(proc_stat(p.pid) for p in sims) - sim0
        etcd_ticks = sum(proc_stat(pid) for pid in etcd_pids) - etcd0
        probe1 = etcd_probe(etcd) if etcd else None
        mach1 = cpu_busy()
        mine_ticks = sum(proc_stat(pid) for pid in mine) - mine0
        ncpu = os.cpu_count() or 1
        other_cpu = 100.0 * ((mach1[0] - mach0[0]) - mine_ticks) / max(1, mach1[1] - mach0[1]) * ncpu
        mem_after = [proc_mem(p.pid) for p in agents]
        conn.close()
        hz = os.sysconf("SC_CLK_TCK")
        res = {
            "store": store, "clusters": n, "rounds": rounds, "sims": k, "gap_s": gap, "join_s": join_s, "rounds_s": busy_s,
            "loadavg_before": load_before,
            "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99), "max_ms": max(lat),
            "from_send_p50_ms": pct(lat_send, 50), "from_send_p90_ms": pct(lat_send, 90),
            "from_send_p99_ms": pct(lat_send, 99), "from_send_max_ms": max(lat_send),
            "ack_p50_ms": pct(acks, 50), "ack_p90_ms": pct(acks, 90), "ack_p99_ms": pct(acks, 99),
            "first_member_p50_ms": pct(first, 50), "first_member_p99_ms": pct(first, 99),
            "split_rounds": len(render),
            "first_work_p50_ms": pct(work_first, 50) if work_first else None,
            "works_written_p50_ms": pct(render, 50) if render else None,
            "works_written_p90_ms": pct(render, 90) if render else None,
            "works_written_p99_ms": pct(render, 99) if render else None,
            "delivered_p50_ms": pct(deliver, 50) if deliver else None,
            "delivered_p90_ms": pct(deliver, 90) if deliver else None,
            "delivered_p99_ms": pct(deliver, 99) if deliver else None,
            "agent_rss_kib_max": max(m[0] for m in mem_idle), "agent_rss_kib_median": pct([m[0] for m in mem_idle], 50),
            "agent_pss_kib_median": pct([m[1] for m in mem_idle], 50),
            "agent_rss_kib_max_after": max(m[0] for m in mem_after),
            "agent_pss_kib_median_after": pct([m[1] for m in mem_after], 50),
            "agent_idle_cpu_pct_max": 100.0 * max(idle_ticks) / hz / idle_s,
            "agent_idle_cpu_pct_median": 100.0 * pct(idle_ticks, 50) / hz / idle_s,
            "agent_busy_cpu_pct_median": 100.0 * pct(busy_ticks, 50) / hz / busy_s,
            "agent_busy_cpu_pct_max": 100.0 * max(busy_ticks) / hz / busy_s,
            "agents_busy_cpu_pct_sum": 100.0 * sum(busy_ticks) / hz / busy_s,
            "hub_busy_cpu_pct": 100.0 * hub_ticks / hz / busy_s,
            "sim_busy_cpu_pct": 100.0 * sim_ticks / hz / busy_s,
            "etcd_busy_cpu_pct": 100.0 * etcd_ticks / hz / busy_s if etcd else None,
            # etcd revisions (= write Txns) per round and WAL fsyncs during the rounds.
            "etcd_revs_per_round": (probe1[0] - probe0[0]) / rounds if etcd else None,
            "etcd_fsyncs": probe1[1] - probe0[1] if etcd else None,
            "etcd_fsync_mean_ms": 1000.0 * (probe1[2] - probe0[2]) / max(1, probe1[1] - probe0[1]) if etcd else None,
            "watch_errors": watcher.errors[:10],
            # CPU the rest of the machine used during the rounds (% of one core; other users' work).
            "other_cpu_pct": max(0.0, other_cpu),
        }
        return res
    finally:
        if watcher:
            watcher.stop()
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in reversed(procs):
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if etcd:
            etcd.stop()
        for lf in logs:
            lf.close()
        if keep:
            print("kept", work, flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
            if hub_dir:
                shutil.rmtree(os.path.join(hub_dir, os.path.basename(work) + "-hub"), ignore_errors=True)
                shutil.rmtree(os.path.join(hub_dir, os.path.basename(work) + "-etcd"), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(HERE, "../../build/bin"))
    ap.add_argument("--clusters", default="3,30,100", help="comma-separated cluster counts")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--idle", type=float, default=10, help="seconds of idle CPU measurement")
    ap.add_argument("--sims", type=int, default=1,
                    help="atoll-sim processes sharing the clusters (default 1: every member in one event loop)")
    ap.add_argument("--hub-watch", action="store_true",
                    help="also watch every Work on the hub (when the N Works were seen: a split of the latency, but "
                    "the hub's watch stream trails its long-poll answers, and serving it costs the hub CPU)")
    ap.add_argument("--gap", type=float, default=0,
                    help="seconds of pause before each write (default 0: each write follows the last one's arrival)")
    ap.add_argument("--hub-dir", help="parent of the hub's data directory (default: the working directory in $TMPDIR; "
                    "the hub fsyncs each commit, so the file system matters)")
    ap.add_argument("--store", choices=("sqlite", "etcd"), default="sqlite",
                    help="the hub's store (default sqlite); etcd: one etcd member (/usr/bin/etcd) started beside "
                    "the hub's data dir, the hub run with --store etcd")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (logs)")
    ap.add_argument("--hub-log-level", default="warn",
                    help="the hub's --log-level (default warn); debug on --store etcd logs every etcd call's time "
                    "and size (with --keep: in the kept hub.log)")
    ap.add_argument("--etcd-api", choices=("grpc", "json"),
                    help="the hub's --etcd-api on --store etcd (default: not passed, the hub's default; a build "
                    "older than the flag does not know it)")
    a = ap.parse_args()
    global HUB_LOG_LEVEL, ETCD_API
    HUB_LOG_LEVEL = a.hub_log_level
    ETCD_API = a.etcd_api
    bindir = os.path.abspath(a.bin)
    for b in ("atoll-hub", "atoll-sim", "atoll-agent", "bench_watch"):
        if not os.access(os.path.join(bindir, b), os.X_OK):
            sys.exit("bench_agents: %s/%s missing (make all build/bin/bench_watch)" % (bindir, b))

    # SIGTERM/SIGINT unwind through run()'s finally, which stops every child.
    def on_signal(sig, frame):
        raise SystemExit("bench_agents: interrupted by signal %d" % sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = []
    for n in [int(x) for x in a.clusters.split(",")]:
        try:
            r = run(n, a.rounds, bindir, a.keep, a.idle, a.gap, a.hub_dir, a.sims, a.hub_watch, [], a.store)
        except BenchError as e:
            sys.exit(str(e))
        out.append(r)
        print("%3d clusters (%s): write -> applied in every member p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms"
              "  (first member p50 %.2f ms; %d agents Ready in %.1f s; load before %s)" % (
                  n, r["store"], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"], r["first_member_p50_ms"], n, r["join_s"],
                  " ".join(r["loadavg_before"])))
        print("              from sending the write: p50 %.2f p90 %.2f p99 %.2f max %.2f ms; the write's answer "
              "took p50 %.2f p90 %.2f p99 %.2f ms" % (r["from_send_p50_ms"], r["from_send_p90_ms"],
                                                     r["from_send_p99_ms"], r["from_send_max_ms"], r["ack_p50_ms"],
                                                     r["ack_p90_ms"], r["ack_p99_ms"]))
        if r["works_written_p50_ms"] is not None:
            print("              send -> all Works seen on a hub watch p50 %.2f p90 %.2f p99 %.2f ms; "
                  "last Work seen -> applied everywhere p50 %.2f p90 %.2f p99 %.2f ms (%d of %d rounds)" % (
                      r["works_written_p50_ms"], r["works_written_p90_ms"], r["works_written_p99_ms"],
                      r["delivered_p50_ms"], r["delivered_p90_ms"], r["delivered_p99_ms"], r["split_rounds"],
                      r["rounds"]))
        print("              agent RSS median %d KiB (max %d, PSS %d; after rounds max %d, PSS %d); agent CPU idle "
              "median %.2f%% max %.2f%%, during rounds median %.2f%% max %.2f%% (all agents %.0f%%); "
              "hub %.0f%%, sim %.0f%% of a core during rounds (%d sim process(es))" % (
                  r["agent_rss_kib_median"], r["agent_rss_kib_max"], r["agent_pss_kib_median"],
                  r["agent_rss_kib_max_after"], r["agent_pss_kib_median_after"], r["agent_idle_cpu_pct_median"],
                  r["agent_idle_cpu_pct_max"], r["agent_busy_cpu_pct_median"], r["agent_busy_cpu_pct_max"],
                  r["agents_busy_cpu_pct_sum"], r["hub_busy_cpu_pct"], r["sim_busy_cpu_pct"], r["sims"]), flush=True)
        if r["etcd_busy_cpu_pct"] is not None:
            print("              etcd %.0f%% of a core during rounds; %.1f etcd revisions (write Txns) per round; "
                  "%d WAL fsyncs, mean %.2f ms" % (r["etcd_busy_cpu_pct"], r["etcd_revs_per_round"],
                                                    r["etcd_fsyncs"], r["etcd_fsync_mean_ms"]))
        print("              other processes on the machine used %.0f%% of a core during the rounds (%d cores)" % (
            r["other_cpu_pct"], os.cpu_count() or 1))
        if r["watch_errors"]:
            print("              watch errors: %s" % r["watch_errors"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
