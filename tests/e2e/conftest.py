"""Shared fixtures for end-to-end tests: real atoll-hub processes on free
loopback ports, and the real kubectl binaries installed on this machine."""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
import urllib.error

import pytest

BIN = os.environ.get("ATOLL_BIN") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../build/bin"))
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SEED = os.path.join(REPO, "tests/data/seed")


def kubectl_dir():
    k = shutil.which("kubectl")
    if not k:
        return None
    return os.path.dirname(os.path.realpath(k))


def kubectl_path(version=None):
    """The kubectl binary for a minor version ("1.27"), or the one on PATH."""
    if version is None:
        return shutil.which("kubectl")
    d = kubectl_dir()
    if d:
        p = os.path.join(d, "kubectl." + version)
        if os.access(p, os.X_OK):
            return p
    if version == "1.20":
        # make kubectl-1.20 unpacks Debian's kubernetes-client there.
        for p in (os.path.join(REPO, "build/kubectl-1.20/usr/bin/kubectl"),
                  "/usr/bin/kubectl.1.20", "/usr/lib/kubernetes-client/kubectl"):
            if os.access(p, os.X_OK):
                return p
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ATOLL_E2E_TLS=1 runs every test's hub with TLS: `atoll-hub init`, an HTTPS
# listener, kubectl with the generated admin.kubeconfig and hub.request()
# over HTTPS with the admin client certificate. The plain listener stays
# (hub.port, hub.url) for raw-socket tests and agents.
E2E_TLS = os.environ.get("ATOLL_E2E_TLS") == "1"

# The TLS pass (make e2e-tls) runs only the tests whose outcome can depend
# on the hub's transport. The modules below are transport-independent and run
# in the plain pass only; docs/benchmarks.md ("The test suite's wall time")
# gives the argument and the coverage measurement behind it. New tests run in
# both passes unless listed here or marked
# @pytest.mark.transport_independent("why").
#  - "same": starts no hub whose transport follows ATOLL_E2E_TLS (its hubs
#    are TLS or plain by choice, or it starts none): both passes would run
#    exactly the same test. Checked: such a test starting a hub with the
#    default transport fails (Hub.start).
#  - "plain-peers": hub behaviour (controllers, scheduler, failover, agents,
#    members, store) observed through plain requests; its agents, members
#    and etcd speak to the hub over plain HTTP in both passes, so TLS would
#    change only the test's own GETs and kubectl calls, whose verbs, streams
#    and identities the tests left in the TLS pass exercise.
TRANSPORT_INDEPENDENT = {
    "test_checksrc.py": "same", "test_firsthour.py": "same", "test_fleet.py": "plain-peers",
    "test_netns_smoke.py": "same", "test_plan.py": "same", "test_schema_tags.py": "same",
    "test_sim.py": "same", "test_sim_endpoints.py": "same", "test_tls.py": "same",
    "test_seed_walkthrough.py": "same",  # tests/tools/demo.py: HTTPS and joined agents in both passes
    "test_agent.py": "plain-peers", "test_agent_retry.py": "plain-peers", "test_crash.py": "plain-peers",
    "test_deploy.py": "plain-peers", "test_failover.py": "plain-peers", "test_karmada_cases.py": "plain-peers",
    "test_kinds.py": "plain-peers", "test_mcs.py": "plain-peers", "test_mcs_hub.py": "plain-peers",
    "test_mesh.py": "plain-peers", "test_placement.py": "plain-peers", "test_rebalancer.py": "plain-peers",
    "test_remotesecret.py": "plain-peers", "test_store_check.py": "plain-peers",
}


def transport_independent(item):
    """Why item runs in the plain pass only ("same", "plain-peers", a
    marker's reason), or None when it runs in both."""
    m = item.get_closest_marker("transport_independent")
    if m:
        return m.args[0] if m.args else "marked"
    return TRANSPORT_INDEPENDENT.get(os.path.basename(str(item.fspath)))


def pytest_configure(config):
    config.addinivalue_line("markers", "transport_independent(reason): run in the plain pass only, not with "
                            "ATOLL_E2E_TLS=1 (conftest.py, TRANSPORT_INDEPENDENT)")


# The longest tests (10-30 s each, docs/benchmarks.md) start first, so that
# parallel workers do not end the run waiting on one of them.
SLOW_FIRST = ("test_seed_walkthrough.py", "test_agent_retry.py", "test_ha.py", "test_failover.py",
              "test_netns_smoke.py", "test_protobuf.py", "test_karmada_cases.py", "test_kubectl_versions.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda it: os.path.basename(str(it.fspath)) not in SLOW_FIRST)  # stable
    if not E2E_TLS:
        return
    drop = [it for it in items if transport_independent(it)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [it for it in items if not transport_independent(it)]


_current_test = [None]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _current_test[0] = item


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    _current_test[0] = None


def _check_transport_default():
    """A test listed as "same" must not start a hub whose transport follows
    ATOLL_E2E_TLS: the TLS pass skips it on the grounds that it would not."""
    item = _current_test[0]
    if item is not None and transport_independent(item) == "same":
        raise AssertionError("%s is listed as transport-independent (\"same\") in conftest.py but starts a hub "
                             "with the default transport: pass tls=False/True, or list it as \"plain-peers\" "
                             "with a reason, or remove it from TRANSPORT_INDEPENDENT" % item.nodeid)


# ATOLL_E2E_STORE=etcd runs every hub on etcd (`--store etcd`): one etcd
# member for the whole session (tests/e2e/etcd.py), a key prefix per data
# directory so hubs do not see each other's objects and a restarted hub
# finds its own.
E2E_STORE = os.environ.get("ATOLL_E2E_STORE", "sqlite")
_session_etcd = []


def session_etcd():
    if not _session_etcd:
        from etcd import EtcdCluster
        d = tempfile.mkdtemp(prefix="atoll-e2e-etcd-")
        _session_etcd.append(EtcdCluster(d).start())
        import atexit
        atexit.register(shutil.rmtree, d, True)
    return _session_etcd[0]


def store_args(data_dir):
    if E2E_STORE != "etcd":
        return []
    import hashlib
    return session_etcd().hub_args(prefix="/atoll-e2e/%s/" % hashlib.sha1(data_dir.encode()).hexdigest()[:16])


def stop_process(proc, log=None, sig=signal.SIGTERM):
    """Signals proc (SIGTERM unless told otherwise) if it still runs, kills it
    after 10 s, closes its log file; returns its exit status (None: never
    started)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if log and not log.closed:
        log.close()
    return proc.returncode


class Hub:
    def __init__(self, data_dir, extra=(), tls=None, insecure=True, preexec_fn=None):
        self.data_dir = data_dir
        self.extra = list(extra)
        self.preexec_fn = preexec_fn  # e.g. resource limits for the hub process
        self.proc = None
        self.port = None
        self.log = None
        self.tls = E2E_TLS if tls is None else tls
        self.tls_by_default = tls is None
        self.insecure = insecure or not self.tls
        self.tls_port = None

    def init_tls(self):
        """atoll-hub init once per data dir, for a port chosen now and kept
        across restarts, so admin.kubeconfig is usable as written."""
        if self.tls_port is None:
            self.tls_port = free_port()
        subprocess.run([os.path.join(BIN, "atoll-hub"), "init", "--data-dir", self.data_dir,
                        "--hosts", "127.0.0.1,localhost", "--port", str(self.tls_port)],
                       check=True, capture_output=True)

    def ssl_context(self, cert=None, key=None, ca=None):
        ctx = ssl.create_default_context(cafile=ca or os.path.join(self.data_dir, "ca.crt"))
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def start(self, timeout=10):
        if self.tls_by_default:
            _check_transport_default()
        port_file = os.path.join(self.data_dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [os.path.join(BIN, "atoll-hub"), "serve", "--data-dir", self.data_dir, "--port-file", port_file]
        if self.insecure:
            args += ["--insecure-listen", "127.0.0.1:0"]
        if self.tls:
            self.init_tls()
            args += ["--listen", "127.0.0.1:%d" % self.tls_port]
        log_start = os.path.getsize(os.path.join(self.data_dir, "hub.log")) \
            if os.path.exists(os.path.join(self.data_dir, "hub.log")) else 0
        if "--store" not in self.extra:
            args += store_args(os.path.abspath(self.data_dir))
        self.log = open(os.path.join(self.data_dir, "hub.log"), "ab")
        self.proc = subprocess.Popen(args + self.extra, stdout=self.log, stderr=self.log, preexec_fn=self.preexec_fn)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                if self._tls_port_taken(log_start):
                    # Another test (parallel workers) took the HTTPS port between
                    # free_port() and the bind: init again for a new one.
                    self.log.close()
                    self.tls_port = None
                    self._port_retries = getattr(self, "_port_retries", 0) + 1
                    return self.start(timeout)
                raise RuntimeError("atoll-hub exited: " + self.read_log())
            try:
                with open(port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        else:
            raise RuntimeError("atoll-hub did not start")
        self._started = True
        self.url = "http://127.0.0.1:%d" % self.port
        self.kubeconfig = os.path.join(self.data_dir, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            f.write(KUBECONFIG % self.url)
        if self.tls:
            if not self.insecure:
                self.url = None
            self.https_url = "https://127.0.0.1:%d" % self.tls_port
            self.kubeconfig = os.path.join(self.data_dir, "admin.kubeconfig")
            self.admin_ctx = self.ssl_context(os.path.join(self.data_dir, "admin.crt"),
                                              os.path.join(self.data_dir, "admin.key"))
        return self

    def _tls_port_taken(self, log_start):
        """The first start of a TLS hub failed because its chosen port is in use."""
        if not self.tls or getattr(self, "_started", False) or getattr(self, "_port_retries", 0) >= 3:
            return False
        try:
            with open(os.path.join(self.data_dir, "hub.log"), errors="replace") as f:
                f.seek(log_start)
                return "cannot listen on 127.0.0.1:%d: Address already in use" % self.tls_port in f.read()
        except OSError:
            return False

    def read_log(self):
        try:
            with open(os.path.join(self.data_dir, "hub.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        rc = stop_process(self.proc, self.log, sig)
        self.log = None
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    # --- raw HTTP -------------------------------------------------------
    def request(self, method, path, body=None, ctype="application/json", headers=None, timeout=10, context=None):
        """Over HTTPS as admin on a TLS hub (context= picks another client
        identity), else plain HTTP."""
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        tls = self.tls or context is not None
        req = urllib.request.Request((self.https_url if tls else self.url) + path, data=data, method=method)
        if data is not None and ctype:
            req.add_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout,
                                        context=(context or self.admin_ctx) if tls else None) as r:
                raw = r.read()
                return r.status, _decode(raw), r.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, _decode(raw), e.headers

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def connection(self, timeout=10):
        """One keep-alive connection (HTTPS as admin on a TLS hub) for many
        requests in a row: urllib opens one per request, a TLS handshake each."""
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.tls_port, context=self.admin_ctx, timeout=timeout)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)


def _decode(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    server: %s
  name: atoll
contexts:
- context:
    cluster: atoll
    user: admin
  name: atoll
current-context: atoll
users:
- name: admin
  user: {}
"""


class Kubectl:
    def __init__(self, hub, version=None, home=None):
        self.hub = hub
        self.binary = kubectl_path(version)
        self.home = home

    def __call__(self, *args, check=True, input=None, timeout=60, env=None):
        env = dict(os.environ, HOME=self.home, KUBECONFIG=self.hub.kubeconfig, **(env or {}))
        p = subprocess.run([self.binary] + list(args), env=env, capture_output=True, text=True,
                           input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s failed (rc %d):\nstdout: %s\nstderr: %s\nhub log: %s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr, self.hub.read_log()[-1500:]))
        return p


@pytest.fixture
def hub(tmp_path):
    h = Hub(str(tmp_path / "hub")).__class__(str(tmp_path))
    os.makedirs(h.data_dir, exist_ok=True)
    h.start()
    yield h
    rc = h.stop()
    assert rc == 0, "hub did not shut down cleanly: " + h.read_log()


@pytest.fixture
def tls_hub(tmp_path):
    """A hub after `atoll-hub init`, serving HTTPS only (no plain listener)."""
    d = tmp_path / "tlshub"
    d.mkdir()
    h = Hub(str(d), tls=True, insecure=False)
    h.start()
    yield h
    rc = h.stop()
    assert rc == 0, "hub did not shut down cleanly: " + h.read_log()


@pytest.fixture
def kubectl(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(hub, None, str(home))


def make_kubectl(hub, tmp_path, version):
    home = tmp_path / ("home-" + version)
    home.mkdir(exist_ok=True)
    k = Kubectl(hub, version, str(home))
    if not k.binary:
        pytest.skip("kubectl %s is not installed here" % version)
    return k


# ---- polling and a small fleet (hub + members in one atoll-sim + an agent
# each), shared by the multi-member tests ----

# What a poll may raise while an object is not there yet or not filled in.
LOOKUP_ERRORS = (KeyError, TypeError, IndexError, ValueError)
CLUSTER_API = "/apis/cluster.karmada.io/v1alpha1/clusters"


def wait_for(what, fn, timeout=10.0, interval=0.05, ignore=()):
    """Calls fn() until it returns something true and returns that; an
    exception of a type in ignore counts as "not yet". Fails naming what and
    the last answer after timeout seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except ignore as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def read_stripped(path):
    """A file's text without surrounding white space; None when it is missing or empty."""
    try:
        with open(path) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def cluster_ready_status(hub, name):
    """The status ("True", "False", "Unknown") of Cluster name's Ready condition, or None."""
    code, c, _ = hub.get(CLUSTER_API + "/" + name)
    for cond in (c or {}).get("status", {}).get("conditions", []) if code == 200 else []:
        if cond.get("type") == "Ready":
            return cond.get("status")
    return None


class SimFleet:
    """A hub (with hub_extra flags), the members simulated by one atoll-sim,
    and an agent each; start() returns once every member is Ready."""

    def __init__(self, tmp, members=("member1", "member2"), hub_extra=()):
        self.tmp = tmp
        self.members = tuple(members)
        self.hub = Hub(os.path.join(tmp, "hub"), extra=hub_extra)
        os.makedirs(self.hub.data_dir, exist_ok=True)
        self.sim = None
        self.agents = {}
        self.logs = []
        self.ports = {}

    def _wait(self, what, fn):
        return wait_for(what, fn, timeout=15.0, ignore=LOOKUP_ERRORS)

    def start(self):
        self.hub.start()
        simdir = os.path.join(self.tmp, "sim")
        os.makedirs(simdir, exist_ok=True)
        pf = os.path.join(simdir, "ports")
        log = open(os.path.join(simdir, "sim.log"), "ab")
        self.logs.append(log)
        args = [os.path.join(BIN, "atoll-sim"), "--kubeconfig-dir", simdir, "--port-file", pf,
                "--nodes", "2", "--ready-delay", "100ms", "--no-events"]
        for m in self.members:
            args += ["--cluster", "%s=127.0.0.1:0" % m]
        self.sim = subprocess.Popen(args, stdout=log, stderr=log)
        txt = self._wait("atoll-sim to listen",
                         lambda: (read_stripped(pf) or "").count("\n") >= len(self.members) - 1 and read_stripped(pf))
        for line in txt.splitlines():
            name, port = line.split()
            self.ports[name] = int(port)
        for m in self.members:
            kc = os.path.join(simdir, m + ".kubeconfig")
            self._wait("kubeconfig of " + m, lambda kc=kc: read_stripped(kc))
            adir = os.path.join(self.tmp, "agent-" + m)
            os.makedirs(adir, exist_ok=True)
            alog = open(os.path.join(adir, "agent.log"), "ab")
            self.logs.append(alog)
            self.agents[m] = (subprocess.Popen(
                [os.path.join(BIN, "atoll-agent"), "--hub", self.hub.url, "--cluster-name", m, "--kubeconfig", kc,
                 "--state-dir", os.path.join(adir, "state"), "--heartbeat-interval", "1s", "--poll-timeout", "5s"],
                stdout=alog, stderr=alog), alog)
        for m in self.members:
            self._wait(m + " Ready", lambda m=m: cluster_ready_status(self.hub, m) == "True")
        return self

    def stop(self):
        rcs = [stop_process(p, log) for p, log in self.agents.values()]
        rcs.append(stop_process(self.sim, self.logs[0]))
        rcs.append(self.hub.stop())
        return rcs

    def member(self, name, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.ports[name], path), data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def mget(self, name, path):
        code, o = self.member(name, "GET", path)
        return o if code == 200 else None

    def logs_text(self):
        out = []
        for p in [os.path.join(self.tmp, "agent-%s" % m, "agent.log") for m in self.members] + \
                 [os.path.join(self.tmp, "sim", "sim.log")]:
            try:
                with open(p, errors="replace") as f:
                    out.append("== %s\n%s" % (p, f.read()[-3000:]))
            except OSError:
                pass
        return "\n".join(out)


def run_sim_fleet(tmp, **kw):
    """For a fixture (`yield from run_sim_fleet(str(tmp_path))`): a started
    SimFleet; logs printed when it fails, every process stopped after, and a
    test failure if one did not stop cleanly."""
    f = SimFleet(tmp, **kw)
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
