"""One connection per agent (issue 15, docs/protocol.md "One connection"):
the long-poll carries the heartbeat (POST works with the Heartbeat as its
body), status reports go between polls on the same connection, and the
hub holds a heartbeat-carrying poll at most a quarter of the Lease. Runs
in both passes: over TLS the agent joins with a token and its one
connection is a TLS one."""
import json
import os
import subprocess
import time

from conftest import BIN, Hub, stop_process, wait_for
from test_agent import (CLUSTER, CM, DEPLOY, EXEC_NS, WORKS, Member, cluster_ready, deployment_manifest,
                        member_obj, put_work, serve_proxy, send_body, proxy_forward, work)

import pytest

PROTO = "/apis/atoll.io/v1alpha1/clusters/%s/"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/karmada-cluster/leases/"


def start_agent(tmp, hub, member, hub_url=None, interval=1):
    """atoll-agent for CLUSTER: over TLS with a joined certificate when the
    hub has TLS (and no other hub_url is given), else over plain HTTP;
    heartbeats every interval seconds, Lease 4 intervals."""
    d = os.path.join(str(tmp), "agent")
    os.makedirs(d, exist_ok=True)
    argv = [os.path.join(BIN, "atoll-agent"), "--cluster-name", CLUSTER, "--kubeconfig", member.kubeconfig,
            "--state-dir", os.path.join(d, "state"), "--heartbeat-interval", "%ds" % interval,
            "--lease-duration", "%ds" % (4 * interval), "--poll-timeout", "30s", "--log-level", "debug"]
    if hub_url is None and hub.tls:
        p = subprocess.run([os.path.join(BIN, "atoll-hub"), "token", "create", "--data-dir", hub.data_dir,
                            "-o", "json", "--cluster", CLUSTER], check=True, capture_output=True, text=True)
        tok = json.loads(p.stdout)
        argv += ["--hub", hub.https_url, "--token", tok["token"], "--ca-cert-hash", tok["caCertHash"]]
        port = hub.tls_port
    else:
        url = hub_url or hub.url
        argv += ["--hub", url]
        port = int(url.rsplit(":", 1)[1])
    log = open(os.path.join(d, "agent.log"), "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=log)
    a = type("AgentProc", (), {})()
    a.proc, a.log, a.hub_port, a.logpath = proc, log, port, os.path.join(d, "agent.log")
    return a


def read_agent_log(a):
    with open(a.logpath, errors="replace") as f:
        return f.read()[-6000:]


def hub_connections(pid, port):
    """Local ports of pid's established TCP connections to 127.0.0.1:port."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            t = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = []
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
            if state == "01" and inode in inodes and int(remote.rsplit(":", 1)[1], 16) == port:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


def lease_renew_time(hub):
    code, lease, _ = hub.get(LEASE + CLUSTER)
    return lease["spec"]["renewTime"] if code == 200 else None


def make_env(tmp_path, interval):
    hub = Hub(str(tmp_path / "hub"), extra=["--log-level", "debug"])
    os.makedirs(hub.data_dir, exist_ok=True)
    hub.start()
    member = Member(str(tmp_path)).start()
    code, _, _ = hub.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": EXEC_NS}})
    agent = start_agent(tmp_path, hub, member, interval=interval)
    e = type("Env", (), {})()
    e.hub, e.member, e.agent = hub, member, agent
    try:
        wait_for("the cluster to be Ready", lambda: cluster_ready(hub) == "True", timeout=20)
        yield e
    except Exception:
        print("agent log:\n" + read_agent_log(agent))
        print("hub log:\n" + hub.read_log())
        raise
    finally:
        rc = stop_process(agent.proc, agent.log)
        member_rc = member.stop()
        hub_rc = hub.stop()
    assert rc == 0 and hub_rc == 0 and member_rc == 0


@pytest.fixture
def oneconn(tmp_path):
    """Heartbeats every second, Lease 4 s."""
    yield from make_env(tmp_path, 1)


@pytest.fixture
def oneconn_slow(tmp_path):
    """Heartbeats every 10 s (the default), Lease 40 s: polls held ~10 s."""
    yield from make_env(tmp_path, 10)


def stable_connection(pid, port, hold=1.0, timeout=15):
    """Waits until pid has one connection to port that stays the same for
    hold seconds; returns its local port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = hub_connections(pid, port)
        t_end = time.time() + hold
        while len(c) == 1 and time.time() < t_end and hub_connections(pid, port) == c:
            time.sleep(0.05)
        if len(c) == 1 and time.time() >= t_end:
            return c
        time.sleep(0.05)
    raise AssertionError("no steady single connection to the hub: %r" % hub_connections(pid, port))


def protocol_requests(hub, since):
    """(method, operation) of every agent-protocol request in the hub's
    debug log after offset since."""
    with open(os.path.join(hub.data_dir, "hub.log"), errors="replace") as f:
        f.seek(since)
        text = f.read()
    out = []
    for line in text.splitlines():
        if "request" not in line or "/apis/atoll.io/v1alpha1/clusters/" not in line:
            continue
        m = line.split("method=", 1)[1].split()[0] if "method=" in line else "?"
        p = line.split("path=", 1)[1].split()[0] if "path=" in line else "?"
        out.append((m.strip('"'), p.strip('"').split("?")[0].rsplit("/", 1)[-1]))
    return out


def quiet_since(hub, req, hold, timeout=15):
    """Waits until the hub's log shows no req for hold seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at = os.path.getsize(os.path.join(hub.data_dir, "hub.log"))
        time.sleep(hold)
        if req not in protocol_requests(hub, at):
            return
    raise AssertionError("%r kept coming for %d s" % (req, timeout))


def test_agent_keeps_one_connection_and_heartbeats_on_the_poll(oneconn):
    hub, member, agent = oneconn.hub, oneconn.member, oneconn.agent
    pid = agent.proc.pid
    # A Deployment: applied, then its status changes in the member while the
    # agent's poll is held (the simulator makes it ready after 200 ms), so
    # reports end held polls; never a second connection meanwhile.
    log_at = os.path.getsize(os.path.join(hub.data_dir, "hub.log"))
    put_work(hub, work("web", deployment_manifest("web", replicas=2)))
    seen = []

    def available():
        seen.append(len(hub_connections(pid, agent.hub_port)))
        code, w, _ = hub.get(WORKS + "/web")
        ms = (w.get("status") or {}).get("manifestStatuses") or [] if code == 200 else []
        return ms and (ms[0].get("status") or {}).get("availableReplicas") == 2

    wait_for("the Deployment's status reported as available", available, timeout=20, interval=0.02)
    assert member_obj(member, DEPLOY % ("apps", "web"))
    assert max(seen) <= 1, seen
    # Idle: one connection, the same one throughout (no reconnects), for
    # longer than the Lease (4 s) lasts; the Cluster stays Ready and its
    # Lease keeps being renewed, with no heartbeat request of its own.
    # The member may still settle the Deployment's status (conditions) after
    # it is available; the agent reports that too. The idle window starts
    # once no report has come for 1.5 s.
    quiet_since(hub, ("POST", "workstatuses"), 1.5)
    first = stable_connection(pid, agent.hub_port)
    rt0 = lease_renew_time(hub)
    log_at = os.path.getsize(os.path.join(hub.data_dir, "hub.log"))
    deadline = time.time() + 5
    while time.time() < deadline:
        assert hub_connections(pid, agent.hub_port) == first
        assert cluster_ready(hub) == "True"
        time.sleep(0.05)
    assert lease_renew_time(hub) != rt0
    reqs = protocol_requests(hub, log_at)
    assert ("PUT", "heartbeat") not in reqs, reqs
    # A poll at least once per heartbeat interval (1 s), each a POST that renews the Lease.
    assert reqs.count(("POST", "works")) >= 4, reqs
    assert all(r == ("POST", "works") for r in reqs), reqs


def held_polls(hub):
    """How many heartbeat-polls the hub has held so far (its debug log)."""
    with open(os.path.join(hub.data_dir, "hub.log"), errors="replace") as f:
        return sum(1 for line in f if "method=POST" in line and "/clusters/%s/works" % CLUSTER in line
                   and "code=deferred" in line)


def test_status_report_ends_a_held_poll(oneconn_slow):
    """With the default 10 s interval a poll is held 7.5-10 s. A report that
    becomes ready meanwhile goes out at once: the poll ends (its connection
    is closed and opened again, resuming TLS) and is asked again from the
    same revision. Here the member's Deployment is scaled by hand just
    after a poll began to be held: the agent puts the Work's replicas back
    (drift), the Deployment's generation moves, and that report reaches the
    hub within a few seconds, not at the poll's end; the next change
    through the hub still arrives at once."""
    hub, member, agent = oneconn_slow.hub, oneconn_slow.member, oneconn_slow.agent
    pid = agent.proc.pid
    put_work(hub, work("web", deployment_manifest("web", replicas=2)))

    def reported_generation():
        code, w, _ = hub.get(WORKS + "/web")
        ms = (w.get("status") or {}).get("manifestStatuses") or [] if code == 200 else []
        return ((ms[0].get("status") or {}) if ms else {}).get("generation")

    wait_for("the Deployment's report", lambda: reported_generation() == 1, timeout=15)
    # A change through the hub answers the held poll; the poll after its
    # report is the one held while the member changes.
    n = held_polls(hub)
    put_work(hub, work("pre", {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "pre", "namespace": "apps"}, "data": {"k": "1"}}))
    wait_for("pre applied", lambda: member_obj(member, CM % ("apps", "pre")), timeout=15)
    wait_for("a new poll held", lambda: held_polls(hub) > n, timeout=15, interval=0.01)
    # ... and nothing else left to send: the same single connection for 1 s
    # (pre's own report, late on a loaded machine, would end that poll; the
    # drift's report could then go between polls instead).
    conn = stable_connection(pid, agent.hub_port)
    t0 = time.time()
    code, d, _ = member.request("PATCH", DEPLOY % ("apps", "web"), {"spec": {"replicas": 3}},
                                ctype="application/merge-patch+json")
    assert code == 200, d
    seen = []

    def moved():
        seen.append(hub_connections(pid, agent.hub_port))
        g = (member_obj(member, DEPLOY % ("apps", "web")) or {}).get("metadata", {}).get("generation")
        return g and g >= 3 and reported_generation() == g

    wait_for("the report of the drift's generation", moved, timeout=15, interval=0.02)
    took = time.time() - t0
    assert took < 4, "the report waited for the held poll (%.1f s)" % took
    assert member_obj(member, DEPLOY % ("apps", "web"))["spec"]["replicas"] == 2
    assert max(len(c) for c in seen) <= 1, seen
    assert stable_connection(pid, agent.hub_port) != conn  # the held poll's connection was ended
    # The poll went out again: the next change arrives at once.
    t1 = time.time()
    put_work(hub, work("cfg", {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "cfg", "namespace": "apps"}, "data": {"k": "1"}}))
    wait_for("cfg applied", lambda: member_obj(member, CM % ("apps", "cfg")), timeout=15)
    assert time.time() - t1 < 4
    assert "revision too old" not in read_agent_log(agent)


def test_next_poll_follows_the_report_at_once(oneconn):
    """After a poll delivers a change the agent waits for the change's
    status report before polling again (one connection), at most 300 ms.
    Once that report is answered and nothing else is left to report, the
    poll goes at once, not at the end of the 300 ms: here each change is
    written as soon as the member shows the previous one (a closed loop,
    as tests/bench/bench_agents.py does), so with the poll held back every
    round takes at least ~270 ms; the fastest of 8 must take under 200 ms."""
    hub, member = oneconn.hub, oneconn.member

    def cm(v):
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "loop", "namespace": "apps"},
                "data": {"v": str(v)}}

    def shows(v):
        return lambda: ((member_obj(member, CM % ("apps", "loop")) or {}).get("data") or {}).get("v") == str(v)

    put_work(hub, work("loop", cm(0)))
    wait_for("the first version applied", shows(0), timeout=15, interval=0.005)
    took = []
    for v in range(1, 9):
        t0 = time.monotonic()
        put_work(hub, work("loop", cm(v)))
        wait_for("version %d applied" % v, shows(v), timeout=15, interval=0.005)
        took.append(time.monotonic() - t0)
    assert min(took) < 0.2, "every change waited for the poll's settle window: %s" % [
        "%.0f ms" % (t * 1000) for t in took]


def register(hub, name):
    code, ans, _ = hub.request("PUT", PROTO % name + "registration", {
        "apiVersion": "atoll.io/v1alpha1", "kind": "Registration", "cluster": name})
    assert code in (200, 201), ans


def beat_body(name, lease_s=4, health="Healthy"):
    return {"apiVersion": "atoll.io/v1alpha1", "kind": "Heartbeat", "cluster": name,
            "leaseDurationSeconds": lease_s, "health": health}


def test_old_and_new_style_protocol(hub):
    """The separate heartbeat stays (older agents), and POST works is the
    poll that heartbeats: it renews the Lease and sets the status as PUT
    heartbeat does, is held at most a quarter of the Lease, and bad input
    is refused before anything is renewed."""
    # Old style: PUT heartbeat, GET works.
    register(hub, "old1")
    code, ans, _ = hub.request("PUT", PROTO % "old1" + "heartbeat", beat_body("old1"))
    assert code == 200 and ans["kind"] == "HeartbeatResult" and ans["renewTime"]
    wait_for("old1 Ready", lambda: cluster_ready_of(hub, "old1") == "True", timeout=5)
    code, full, _ = hub.get(PROTO % "old1" + "works")
    assert code == 200 and full["full"] is True
    code, ans, _ = hub.get(PROTO % "old1" + "works?revision=%s&timeoutSeconds=0" % full["revision"])
    assert code == 200 and ans["full"] is False

    # New style: the first POST works is the full list and the heartbeat.
    register(hub, "new1")
    assert lease_of(hub, "new1") is None
    code, full, _ = hub.request("POST", PROTO % "new1" + "works", beat_body("new1"))
    assert code == 200 and full["kind"] == "WorkEvents" and full["full"] is True, full
    rt = lease_of(hub, "new1")["spec"]["renewTime"]
    assert lease_of(hub, "new1")["spec"]["leaseDurationSeconds"] == 4
    wait_for("new1 Ready", lambda: cluster_ready_of(hub, "new1") == "True", timeout=5)
    # Held at most leaseDurationSeconds / 4 = 1 s although 30 s were asked.
    t0 = time.time()
    code, ans, _ = hub.request("POST", PROTO % "new1" + "works?revision=%s&timeoutSeconds=30" % full["revision"],
                               beat_body("new1"), timeout=30)
    took = time.time() - t0
    assert code == 200 and ans["events"] == [] and 0.8 < took < 4, (code, ans, took)
    # The stored Lease is written through after half a lease (2 s).
    time.sleep(2.1)
    code, _, _ = hub.request("POST", PROTO % "new1" + "works?revision=%s&timeoutSeconds=0" % full["revision"],
                             beat_body("new1"))
    assert code == 200
    assert lease_of(hub, "new1")["spec"]["renewTime"] != rt

    # Refused before anything is renewed: a heartbeat with another
    # leaseDurationSeconds would be written through at once (the last row
    # shows it), but a bad query refuses the request first.
    for path, body in [
        ("works?revision=abc", beat_body("new1", lease_s=8)),
        ("works?revision=1&timeoutSeconds=9999", beat_body("new1", lease_s=8)),
        ("works", {"apiVersion": "atoll.io/v1alpha1", "kind": "Heartbeat", "cluster": "other",
                   "leaseDurationSeconds": 8}),
        ("works", {"apiVersion": "atoll.io/v2", "kind": "Heartbeat", "cluster": "new1", "leaseDurationSeconds": 8}),
    ]:
        code, st, _ = hub.request("POST", PROTO % "new1" + path, body)
        assert code == 400 and st["kind"] == "Status", (path, code, st)
        assert lease_of(hub, "new1")["spec"]["leaseDurationSeconds"] == 4, path
    code, _, _ = hub.request("POST", PROTO % "new1" + "works?revision=%s&timeoutSeconds=0" % full["revision"],
                             beat_body("new1", lease_s=8))
    assert code == 200 and lease_of(hub, "new1")["spec"]["leaseDurationSeconds"] == 8
    # A cluster never registered: 404, so the agent registers.
    code, st, _ = hub.request("POST", PROTO % "ghost" + "works", beat_body("ghost"))
    assert code == 404 and "register the cluster first" in st["message"]
    # Another method on works: 405.
    code, st, _ = hub.request("PATCH", PROTO % "new1" + "works", beat_body("new1"))
    assert code == 405


def cluster_ready_of(hub, name):
    code, c, _ = hub.get("/apis/cluster.karmada.io/v1alpha1/clusters/" + name)
    for cond in (c or {}).get("status", {}).get("conditions", []) if code == 200 else []:
        if cond.get("type") == "Ready":
            return cond.get("status")
    return None


def lease_of(hub, name):
    code, lease, _ = hub.get(LEASE + name)
    return lease if code == 200 else None


class OldHubProxy:
    """A plain HTTP proxy in front of the hub that answers POST works as a
    hub before this change did (405), so the agent must fall back."""

    def __init__(self, upstream_url):
        self.upstream = upstream_url.split("://", 1)[1]
        self.refused = 0
        self.heartbeats = 0
        self.server = serve_proxy(self, 0)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def forward(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else None
        op = h.path.split("?")[0].rsplit("/", 1)[-1]
        if h.command == "POST" and op == "works":
            self.refused += 1
            send_body(h, 405, "application/json", json.dumps({
                "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "MethodNotAllowed",
                "message": "the server does not allow this method on the requested resource",
                "code": 405}).encode())
            return
        if op == "heartbeat":
            self.heartbeats += 1
        proxy_forward(h, self.upstream, body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.transport_independent("a plain HTTP proxy stands in for the older hub")
def test_agent_falls_back_on_an_older_hub(tmp_path):
    hub = Hub(str(tmp_path / "hub"), tls=False)
    os.makedirs(hub.data_dir, exist_ok=True)
    hub.start()
    proxy = OldHubProxy(hub.url)
    member = Member(str(tmp_path)).start()
    agent = start_agent(tmp_path, hub, member, hub_url=proxy.url)
    try:
        wait_for("the cluster to be Ready", lambda: cluster_ready(hub) == "True", timeout=20)
        put_work(hub, work("w1", {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "one", "namespace": "apps"}}))
        wait_for("w1 applied", lambda: member_obj(member, CM % ("apps", "one")), timeout=15)
        n = proxy.heartbeats
        wait_for("separate heartbeats", lambda: proxy.heartbeats >= n + 2, timeout=10)
        assert proxy.refused == 1  # asked once, then the older protocol
        assert "heartbeats go apart" in read_agent_log(agent)
    except Exception:
        print("agent log:\n" + read_agent_log(agent))
        raise
    finally:
        rc = stop_process(agent.proc, agent.log)
        proxy.stop()
        member.stop()
        hub.stop()
    assert rc == 0
