"""Bounded chaos for several hubs on etcd (issue 12); `make chaos-ha` runs it
for a few minutes, test_ha.py for ~15 s.

Three hubs on a three-member etcd, three simulated members whose agents know
every hub. While several clients write ConfigMaps (steady, each acknowledged
write recorded with its resourceVersion) and Deployments with a policy (so
agents keep applying Works), the leading hub is killed with SIGKILL every few
seconds and started again, and one etcd member is killed and brought back.
Watchers follow ConfigMaps and ResourceBindings, moving to another hub when
theirs dies and resuming from the last resourceVersion they saw. Afterwards:
- every acknowledged write is present, as written;
- every watcher's history is strictly increasing (no reordering) and holds
  every acknowledged write inside its window (no gap);
- every binding was placed once (its clusters set once, never changed) and
  has exactly one Work per chosen cluster (none duplicated or lost);
- no member object was recreated (uids seen during the run never change);
- the agents converged (every member runs what its Works say).
One hub reaches etcd only through small TCP proxies (CutProxy); once it
leads, its path to etcd is cut (black-holed, as across a partition) until
another hub has taken the Lease over and the isolated one has stepped
down, then restored; afterwards it must have caught up with every
acknowledged write.
Prints the counts; exits non-zero (raises) on any violation."""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ha import MEMBERS, HAFleet, wait_for  # noqa: E402

CM = "/api/v1/namespaces/default/configmaps"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
BINDINGS = "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings"
POLICIES = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"
WORKS = "/apis/work.karmada.io/v1alpha1/works"
NAMES = [m for m, _ in MEMBERS]


def call(url, method="GET", body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except (OSError, ValueError):
        return 0, None


class CutProxy:
    """A TCP proxy on a free loopback port to one etcd member. cut():
    nothing passes any more, in either direction, on open or new
    connections (a partition: the hub's calls time out); restore(): the
    held connections are reset and new ones pass again."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.cut_ev = threading.Event()
        self.lock = threading.Lock()
        self.socks = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                self.socks.append(c)
            if self.cut_ev.is_set():
                continue  # held, never answered
            try:
                u = socket.create_connection(self.target, timeout=2)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            with self.lock:
                self.socks.append(u)
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a, b):
        while True:
            try:
                data = a.recv(65536)
            except OSError:
                break
            if not data:
                break
            while self.cut_ev.is_set() and not self.closed:
                time.sleep(0.05)  # black-holed
            try:
                b.sendall(data)
            except OSError:
                break
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _reset_all(self):
        with self.lock:
            socks, self.socks = self.socks, []
        for x in socks:
            try:
                # shutdown first: close() alone does not wake a thread
                # blocked in recv() on it, and the connection would live on
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def cut(self):
        self.cut_ev.set()

    def restore(self):
        self._reset_all()
        self.cut_ev.clear()

    def close(self):
        self.closed = True
        self.cut_ev.clear()
        self.ls.close()
        self._reset_all()


class Chaos:
    def __init__(self, tmp, duration, kill_every=4.0, lease_s=2, writers=3, cut_off=False, hub_extra=()):
        self.f = HAFleet(tmp, lease_s=lease_s, hub_extra=hub_extra)
        # cut_off: the last hub reaches etcd through proxies it is cut off by.
        self.proxies = [CutProxy(int(u.rsplit(":", 1)[1])) for u in self.f.etcd.servers.split(",")] if cut_off else []
        self.isolated = self.f.hubs[-1] if cut_off else None
        if cut_off:
            x = self.isolated.extra
            x[x.index("--etcd-servers") + 1] = ",".join("http://127.0.0.1:%d" % p.port for p in self.proxies)
        self.isolations = 0
        self.isolation_report = None
        self.duration = duration
        self.kill_every = kill_every
        self.nwriters = writers
        self.stop_ev = threading.Event()       # watchers
        self.stop_writes = threading.Event()   # clients and faults
        self.lock = threading.Lock()
        self.acked = {}        # configmap name -> (rv, value)
        self.attempts = 0
        self.failed = 0
        self.fail_codes = {}
        self.histories = []    # per watcher: [(rv, type, name, value)]
        self.binding_hist = []  # [(rv, type, name, clusters)]
        self.member_uids = {}  # (member, name) -> uid
        self.recreated = []
        self.kills = 0
        self.pauses = 0
        self.paused = None
        self.etcd_kills = 0
        self.deployments = []
        self.watch_moves = 0
        self.errors = []

    def isolate(self):
        """Cuts the proxied hub off etcd while it leads; checks that another
        hub takes the Lease over and that the isolated one steps down."""
        h = self.isolated
        logf = os.path.join(h.data_dir, "hub.log")

        def stepped():
            with open(logf, errors="replace") as lf:
                return lf.read().count("no longer leading")
        before = stepped()
        t0 = time.time()
        for p in self.proxies:
            p.cut()
        self.paused = h  # clients leave it alone meanwhile
        try:
            others = [o for o in self.f.alive() if o is not h]
            wait_for("another leader while %s is cut off etcd" % h.url,
                     lambda: self.f.leader(others[0]) not in (None, h), timeout=4 * self.f.lease_s + 10)
            took = time.time() - t0
            # its loop may sit in blocking etcd calls (3 x 10 s, then they
            # fail at once for 2 s) before its lease check runs
            wait_for("the isolated hub stepping down", lambda: stepped() > before, timeout=4 * self.f.lease_s + 75)
            self.isolation_report = {"new_leader_s": round(took, 1), "stepped_down_s": round(time.time() - t0, 1)}
        except AssertionError as e:
            self.errors.append(str(e))
        finally:
            for p in self.proxies:
                p.restore()
            self.paused = None
        self.isolations += 1

    def urls(self):
        return [h.url for h in self.f.alive() if h is not self.paused]

    # ---- clients ----
    def writer(self, t):
        i = 0
        while not self.stop_writes.is_set():
            name = "w%d-%d" % (t, i)
            value = "%d.%d.%f" % (t, i, random.random())
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
            for attempt in range(40):
                urls = self.urls()
                if not urls:
                    time.sleep(0.1)
                    continue
                code, o = call(random.choice(urls) + CM, "POST", body)
                with self.lock:
                    self.attempts += 1
                if code == 201:
                    with self.lock:
                        self.acked[name] = (int(o["metadata"]["resourceVersion"]), value)
                    break
                if code == 409:  # an earlier attempt went through unacknowledged
                    break
                with self.lock:
                    self.failed += 1
                    self.fail_codes[str(code)] = self.fail_codes.get(str(code), 0) + 1
                time.sleep(0.05)
            i += 1
            time.sleep(0.02)

    def watcher(self, path, hist, since, binding=False):
        rv = since
        while not self.stop_ev.is_set():
            urls = self.urls()
            if not urls:
                time.sleep(0.1)
                continue
            url = random.choice(urls) + path + "?watch=1&resourceVersion=%d&timeoutSeconds=30" % rv
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    for line in r:
                        if self.stop_ev.is_set():
                            return
                        if not line.strip():
                            continue
                        ev = json.loads(line)
                        if ev["type"] == "ERROR":
                            self.errors.append("watch ERROR from %d: %r" % (rv, ev))
                            return
                        o = ev["object"]
                        erv = int(o["metadata"]["resourceVersion"])
                        if binding:
                            cl = sorted(c["name"] for c in (o.get("spec", {}).get("clusters") or []))
                            hist.append((erv, ev["type"], o["metadata"]["name"], cl))
                        else:
                            hist.append((erv, ev["type"], o["metadata"]["name"], (o.get("data") or {}).get("v")))
                        rv = erv
            except (OSError, ValueError, http.client.HTTPException):
                pass
            with self.lock:
                self.watch_moves += 1
            time.sleep(0.05)

    def workloads(self):
        i = 0
        while not self.stop_writes.is_set():
            urls = self.urls()
            if urls:
                name = "c%d" % i
                d = {"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": name, "labels": {"chaos": "yes", "app": name}},
                     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                              "template": {"metadata": {"labels": {"app": name}},
                                           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
                code, _ = call(random.choice(urls) + DEPLOYMENTS, "POST", d)
                if code in (201, 409):
                    self.deployments.append(name)
                    i += 1
            self.stop_writes.wait(1.0)

    def member_watch(self):
        while not self.stop_ev.is_set():
            for m in NAMES:
                o = self.f.mget(m, "/apis/apps/v1/namespaces/default/deployments")
                for d in (o or {}).get("items", []):
                    key = (m, d["metadata"]["name"])
                    uid = d["metadata"]["uid"]
                    old = self.member_uids.setdefault(key, uid)
                    if old != uid:
                        self.recreated.append(key)
                        self.member_uids[key] = uid
            self.stop_ev.wait(0.5)

    # ---- faults ----
    def faults(self):
        """kill -9 the leader every kill_every seconds (and start it again);
        one etcd member killed after the first leader kill, back once it
        has been down for a quarter of the run."""
        t_end = time.time() + self.duration
        etcd_victim = random.randrange(3)
        down_since = None
        while time.time() < t_end:
            self.stop_writes.wait(self.kill_every)
            lead = self.f.leader()
            if self.isolated and self.pauses and not self.isolations and len(self.f.alive()) > 1 and lead is not None:
                if lead is self.isolated:
                    self.isolate()
                else:
                    # A restarted hub takes its own Lease back at once: keep
                    # the leader down until another hub has taken over, so
                    # the proxied one gets its turn.
                    lead.kill9()
                    self.kills += 1
                    try:
                        wait_for("a new leader", lambda: self.f.leader() not in (None, lead), timeout=4 * self.f.lease_s + 5)
                    except AssertionError:
                        pass
                    lead.start()
            elif lead is not None and len(self.f.alive()) > 1 and self.kills == 1 and not self.pauses:
                # Cut the leader off (SIGSTOP) until another hub has taken
                # the Lease over, then let it run on: it still believes it
                # leads, and its first writes must be fenced.
                other = [h for h in self.f.alive() if h is not lead][0]
                lead.proc.send_signal(signal.SIGSTOP)
                self.pauses += 1
                self.paused = lead
                try:
                    wait_for("another leader", lambda: self.f.leader(other) not in (None, lead),
                             timeout=4 * self.f.lease_s + 5)
                finally:
                    lead.proc.send_signal(signal.SIGCONT)
                    self.paused = None
            elif lead is not None and len(self.f.alive()) > 1:
                lead.kill9()
                self.kills += 1
                time.sleep(0.5)
                lead.start()
            if self.etcd_kills == 0:
                self.f.etcd.stop_member(etcd_victim, sig=9)
                self.etcd_kills += 1
                down_since = time.time()
            elif down_since and time.time() - down_since >= self.duration / 4:
                self.f.etcd.start_member(etcd_victim)
                down_since = None
        if down_since:
            self.f.etcd.start_member(etcd_victim)

    # ---- run and check ----
    def run(self):
        f = self.f
        f.start()
        hub = f.any_hub()
        code, _ = call(hub.url + POLICIES, "POST", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "chaos"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                            "labelSelector": {"matchLabels": {"chaos": "yes"}}}],
                     "placement": {"clusterAffinity": {"clusterNames": NAMES},
                                   "replicaScheduling": {"replicaSchedulingType": "Duplicated"}}}})
        assert code == 201
        code, lst = call(hub.url + CM)
        since = int(lst["metadata"]["resourceVersion"])
        self.start_rv = since
        threads = []
        for _ in range(3):
            h = []
            self.histories.append(h)
            threads.append(threading.Thread(target=self.watcher, args=(CM, h, since)))
        threads.append(threading.Thread(target=self.watcher, args=(BINDINGS, self.binding_hist, since, True)))
        threads += [threading.Thread(target=self.writer, args=(t,)) for t in range(self.nwriters)]
        threads += [threading.Thread(target=self.workloads), threading.Thread(target=self.member_watch)]
        for t in threads:
            t.daemon = True
            t.start()
        t0 = time.time()
        self.faults()
        self.stop_writes.set()
        for t in threads[len(self.histories) + 1:-1]:
            t.join(35)
        self.elapsed = time.time() - t0
        # The watchers catch up with the last acknowledged write and the
        # last binding placed; then they stop.
        top = max([rv for rv, _ in self.acked.values()] or [0])
        try:
            wait_for("watchers at revision %d" % top,
                     lambda: all(h and h[-1][0] >= top for h in self.histories), timeout=20)
            wait_for("every binding placed and watched", lambda: len(
                {n for _, t, n, cl in self.binding_hist if cl}) >= len(self.deployments), timeout=30)
        except AssertionError as e:
            self.errors.append(str(e))
        self.stop_ev.set()
        for t in threads:
            t.join(35)
        return self.check()

    def check(self):
        f = self.f
        problems = list(self.errors)
        hub = f.any_hub()
        # every acknowledged write present, as written: once this hub's
        # watch on etcd has caught up with the newest acknowledged write
        top = max([rv for rv, _ in self.acked.values()] or [0])
        deadline = time.time() + 20
        while True:
            code, lst = call(hub.url + CM, timeout=15)
            if code == 200 and int(lst["metadata"]["resourceVersion"]) >= top or time.time() > deadline:
                break
            time.sleep(0.1)
        if int(lst["metadata"]["resourceVersion"]) < top:
            problems.append("hub at revision %s, never reached %d" % (lst["metadata"]["resourceVersion"], top))
        if self.isolated and not self.isolations:
            problems.append("the proxied hub never led: it was not cut off etcd")
        elif self.isolated and self.isolated in f.alive():
            deadline = time.time() + 30
            while True:
                code, il = call(self.isolated.url + CM, timeout=15)
                if code == 200 and int(il["metadata"]["resourceVersion"]) >= top or time.time() > deadline:
                    break
                time.sleep(0.2)
            ihave = {o["metadata"]["name"]: (o.get("data") or {}).get("v") for o in (il or {}).get("items", [])}
            imissing = [n for n, (_, v) in self.acked.items() if ihave.get(n) != v]
            if code != 200 or imissing:
                problems.append("the hub cut off etcd did not catch up: %s, missing %r" % (code, imissing[:5]))
        have = {o["metadata"]["name"]: (o.get("data") or {}).get("v") for o in lst["items"]}
        missing = [n for n, (_, v) in self.acked.items() if have.get(n) != v]
        if missing:
            where = {}
            for n in missing[:5]:
                where[n] = [(h.url, call(h.url + CM + "/" + n)[0]) for h in f.alive()]
            problems.append("acknowledged writes missing or changed: %r (per hub: %r, list from %s at %s)" % (
                missing[:10], where, hub.url, lst["metadata"]["resourceVersion"]))
            if os.environ.get("CHAOS_DEBUG"):
                for h in f.hubs:
                    with open(os.path.join(h.data_dir, "hub.log"), errors="replace") as lf:
                        for line in lf:
                            if any(n in line for n in missing) or "etcd watch" in line or "store: loaded" in line:
                                print("DEBUG %s %s" % (h.url, line.rstrip()))
                print("DEBUG acked %r" % {n: self.acked[n] for n in missing})
                import base64
                for n in missing[:3]:
                    k = base64.b64encode(("/atoll-ha/r/core/configmaps/default/" + n).encode()).decode()
                    for i in range(3):
                        try:
                            r = f.etcd.call("/v3/kv/range", {"key": k}, i)
                            print("DEBUG etcd member %d: %s %r" % (i, n, [(x.get("create_revision"), x.get("mod_revision")) for x in r.get("kvs") or []]))
                        except Exception as ex:  # noqa
                            print("DEBUG etcd member %d: %r" % (i, ex))
        # watch histories: ordered, no gap inside each window
        acked_rvs = sorted(rv for rv, _ in self.acked.values())
        for i, h in enumerate(self.histories):
            rvs = [e[0] for e in h]
            if any(b <= a for a, b in zip(rvs, rvs[1:])):
                problems.append("watcher %d: history out of order" % i)
            last = rvs[-1] if rvs else self.start_rv
            seen = set(rvs)
            gap = [r for r in acked_rvs if self.start_rv < r <= last and r not in seen]
            if gap:
                problems.append("watcher %d: %d acknowledged writes missing from its history (e.g. %r)"
                                % (i, len(gap), gap[:5]))
            byname = {e[2]: e[3] for e in h if e[1] == "ADDED"}
            wrong = [n for n, (rv, v) in self.acked.items() if rv <= last and byname.get(n) != v]
            if wrong:
                problems.append("watcher %d: wrong values for %r" % (i, wrong[:5]))
        # bindings: placed once; one Work per chosen cluster
        deadline = time.time() + 30
        while True:
            code, bl = call(hub.url + BINDINGS, timeout=15)
            chaos_b = [b for b in bl["items"] if b["spec"]["resource"]["name"] in self.deployments]
            unplaced = [b["metadata"]["name"] for b in chaos_b
                        if sorted(c["name"] for c in b["spec"].get("clusters") or []) != sorted(NAMES)]
            code, wl = call(hub.url + WORKS, timeout=15)
            works = {}
            for w in wl["items"]:
                labels = w["metadata"].get("labels") or {}
                bname = labels.get("resourcebinding.karmada.io/name") or \
                    (w["metadata"].get("annotations") or {}).get("resourcebinding.karmada.io/name")
                cl = w["metadata"]["namespace"].replace("karmada-es-", "")
                works.setdefault((bname, cl), []).append(w["metadata"]["name"])
            dup = {k: v for k, v in works.items() if len(v) > 1}
            lost = [(b["metadata"]["name"], c) for b in chaos_b for c in NAMES if (b["metadata"]["name"], c) not in works]
            converged = self.converged()
            if (not unplaced and not lost and len(chaos_b) == len(self.deployments) and converged) \
                    or time.time() > deadline:
                break
            time.sleep(0.5)
        if len(chaos_b) != len(self.deployments):
            problems.append("%d deployments but %d bindings" % (len(self.deployments), len(chaos_b)))
        if unplaced:
            problems.append("bindings not placed: %r" % unplaced[:10])
        if dup:
            problems.append("duplicate Works: %r" % list(dup.items())[:5])
        if lost:
            problems.append("lost Works: %r" % lost[:10])
        placements = {}
        for rv, typ, name, cl in self.binding_hist:
            if typ == "DELETED":
                continue
            p = placements.setdefault(name, [])
            if cl and (not p or p[-1] != cl):
                p.append(cl)
        replaced = {n: p for n, p in placements.items() if len(p) > 1}
        if replaced:
            problems.append("bindings placed more than once: %r" % list(replaced.items())[:5])
        # members: nothing recreated, everything converged
        self.member_watch_once()
        if self.recreated:
            problems.append("member objects recreated: %r" % self.recreated[:10])
        if not converged:
            problems.append("agents did not converge: %s" % self.converged(report=True))
        counts = {
            "seconds": round(self.elapsed, 1), "leader_kills": self.kills, "leader_pauses": self.pauses, "etcd_member_kills": self.etcd_kills,
            "write_attempts": self.attempts, "writes_acknowledged": len(self.acked), "write_failures": self.failed, "write_failure_codes": self.fail_codes,
            "watch_events": [len(h) for h in self.histories], "watch_reconnects": self.watch_moves,
            "deployments": len(self.deployments), "bindings_placed": len(chaos_b) - len(unplaced),
            "works": sum(len(v) for v in works.values()), "member_objects_tracked": len(self.member_uids),
            "member_objects_recreated": len(self.recreated),
            "lease_transitions": (f.lease() or {}).get("spec", {}).get("leaseTransitions"),
            "hub_cut_off_etcd": self.isolations, "cut_off": self.isolation_report,
        }
        stepped = fenced = lost = partial = 0
        for h in f.hubs:
            with open(os.path.join(h.data_dir, "hub.log"), errors="replace") as lf:
                text = lf.read()
            stepped += text.count("no longer leading")
            fenced += text.count("fenced:")
            lost += text.count("store: commit of a batch of")
            partial += text.count("(the writes before it are committed)")
        counts["leaders_stepped_down"] = stepped
        counts["fenced_writes"] = fenced
        # etcd batches rolled back (their requests run again), and of those
        # split ones whose earlier Txns had committed
        counts["batches_lost"] = lost
        counts["batches_partly_committed"] = partial
        print("chaos-ha: " + json.dumps(counts))
        return counts, problems

    def member_watch_once(self):
        for m in NAMES:
            o = self.f.mget(m, "/apis/apps/v1/namespaces/default/deployments")
            for d in (o or {}).get("items", []):
                key = (m, d["metadata"]["name"])
                old = self.member_uids.setdefault(key, d["metadata"]["uid"])
                if old != d["metadata"]["uid"]:
                    self.recreated.append(key)

    def converged(self, report=False):
        missing = []
        for m in NAMES:
            o = self.f.mget(m, "/apis/apps/v1/namespaces/default/deployments") or {"items": []}
            have = {d["metadata"]["name"]: d["spec"].get("replicas") for d in o["items"]}
            for n in self.deployments:
                if have.get(n) != 2:
                    missing.append((m, n, have.get(n)))
        return missing if report else not missing

    def stop(self):
        rcs = self.f.stop()
        for p in self.proxies:
            p.close()
        return rcs


def run(tmp, duration, kill_every=4.0, cut_off=False, hub_extra=()):
    c = Chaos(tmp, duration, kill_every, cut_off=cut_off, hub_extra=hub_extra)
    try:
        counts, problems = c.run()
    except Exception:
        print(c.f.logs_text())
        c.stop()
        raise
    rcs = c.stop()
    if problems:
        print(c.f.logs_text())
    return counts, problems, rcs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--kill-every", type=float, default=4.0)
    ap.add_argument("--no-cut-off", action="store_true",
                    help="do not cut one hub off etcd through its proxies (CutProxy)")
    ap.add_argument("--etcd-max-txn-ops", type=int, default=0,
                    help="the hubs split batches into etcd Txns of this many operations (small: many "
                         "batches split, and later parts failing)")
    a = ap.parse_args()
    extra = ["--etcd-max-txn-ops", str(a.etcd_max_txn_ops)] if a.etcd_max_txn_ops else []
    tmp = tempfile.mkdtemp(prefix="atoll-chaos-ha-")
    try:
        counts, problems, _ = run(tmp, a.duration, a.kill_every, cut_off=not a.no_cut_off, hub_extra=extra)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print("FAIL: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
