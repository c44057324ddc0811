"""Shared fixtures for end-to-end tests: real atoll-hub processes on free
loopback ports, and the real kubectl binaries installed on this machine."""
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
