"""Real etcd members (Debian's etcd-server, /usr/bin/etcd) for tests: one
member or a cluster, on free loopback ports in a directory of the test's,
optionally with TLS and client certificates. Every cluster started is
stopped by stop() or, at the latest, when the Python process exits."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
_running = []


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_certs(d):
    """A CA, a serving certificate for 127.0.0.1 and a client certificate,
    with openssl; returns dict of paths."""
    os.makedirs(d, exist_ok=True)
    p = {n: os.path.join(d, n) for n in ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt",
                                         "client.key", "ext.cnf")}

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=test-etcd-ca", "-keyout", p["ca.key"], "-out", p["ca.crt"])
    with open(p["ext.cnf"], "w") as f:
        f.write("[s]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
                "[c]\nextendedKeyUsage=clientAuth\n")
    for name, ext, cn in (("server", "s", "etcd"), ("client", "c", "atoll-hub")):
        csr = os.path.join(d, name + ".csr")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + cn,
            "-keyout", p[name + ".key"], "-out", csr)
        run("x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial",
            "-days", "2", "-extfile", p["ext.cnf"], "-extensions", ext, "-out", p[name + ".crt"])
    return p


class EtcdCluster:
    def __init__(self, base_dir, members=1, tls=False, extra_args=()):
        self.dir = base_dir
        self.extra_args = list(extra_args)  # more etcd flags for every member
        self.n = members
        self.tls = tls
        self.certs = make_certs(os.path.join(base_dir, "certs")) if tls else None
        self.client_ports = [_free_port() for _ in range(members)]
        self.peer_ports = [_free_port() for _ in range(members)]
        self.metrics_ports = [_free_port() for _ in range(members)]
        self.procs = [None] * members
        self.logs = [None] * members
        scheme = "https" if tls else "http"
        self.urls = ["%s://127.0.0.1:%d" % (scheme, p) for p in self.client_ports]
        self.initial = ",".join("m%d=http://127.0.0.1:%d" % (i, self.peer_ports[i]) for i in range(members))

    @property
    def servers(self):
        return ",".join(self.urls)

    def hub_args(self, prefix=None):
        a = ["--store", "etcd", "--etcd-servers", self.servers]
        if self.tls:
            a += ["--etcd-cafile", self.certs["ca.crt"], "--etcd-certfile", self.certs["client.crt"],
                  "--etcd-keyfile", self.certs["client.key"]]
        if prefix:
            a += ["--etcd-prefix", prefix]
        return a

    def start_member(self, i):
        d = os.path.join(self.dir, "m%d" % i)
        os.makedirs(d, exist_ok=True)
        args = [ETCD, "--name", "m%d" % i, "--data-dir", os.path.join(d, "data"),
                "--listen-client-urls", self.urls[i], "--advertise-client-urls", self.urls[i],
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer_ports[i],
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer_ports[i],
                "--initial-cluster", self.initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "atoll-test-%d" % self.peer_ports[0],
                "--listen-metrics-urls", "http://127.0.0.1:%d" % self.metrics_ports[i],
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--snapshot-count", "100000", "--quota-backend-bytes", str(512 << 20)] + self.extra_args
        if self.tls:
            args += ["--cert-file", self.certs["server.crt"], "--key-file", self.certs["server.key"],
                     "--trusted-ca-file", self.certs["ca.crt"], "--client-cert-auth"]
        self.logs[i] = open(os.path.join(d, "etcd.log"), "ab")
        self.procs[i] = subprocess.Popen(args, stdout=self.logs[i], stderr=self.logs[i])

    def start(self, timeout=30):
        for i in range(self.n):
            self.start_member(i)
        _running.append(self)
        self.wait_healthy(range(self.n), timeout)
        return self

    def _get(self, i, path, body=None):
        ctx = None
        if self.tls:
            import ssl
            ctx = ssl.create_default_context(cafile=self.certs["ca.crt"])
            ctx.load_cert_chain(self.certs["client.crt"], self.certs["client.key"])
        req = urllib.request.Request(self.urls[i] + path, data=json.dumps(body).encode() if body is not None else None,
                                     method="POST" if body is not None else "GET")
        with urllib.request.urlopen(req, timeout=3, context=ctx) as r:
            return json.loads(r.read())

    def wait_healthy(self, members, timeout=30):
        deadline = time.time() + timeout
        for i in members:
            while True:
                if self.procs[i].poll() is not None:
                    raise RuntimeError("etcd m%d exited: %s" % (i, self.read_log(i)))
                try:
                    if self._get(i, "/health").get("health") == "true":
                        break
                except Exception:
                    pass
                if time.time() > deadline:
                    raise RuntimeError("etcd m%d not healthy: %s" % (i, self.read_log(i)))
                time.sleep(0.1)

    def call(self, path, body, member=0):
        """A v3 gateway call (e.g. /v3/kv/compaction) on one member."""
        return self._get(member, path, body)

    def read_log(self, i):
        try:
            with open(os.path.join(self.dir, "m%d" % i, "etcd.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop_member(self, i, sig=signal.SIGTERM):
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.logs[i] and not self.logs[i].closed:
            self.logs[i].close()

    def stop(self):
        for i in range(self.n):
            self.stop_member(i)
        if self in _running:
            _running.remove(self)


@atexit.register
def _stop_all():
    for c in list(_running):
        c.stop()
