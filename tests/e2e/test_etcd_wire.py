"""The hub's requests to etcd on the wire (hub/store_etcd.c), seen by a
counting TCP proxy between the hub and one etcd member:
- every Txn goes to etcd's gRPC server (HTTP/2, /etcdserverpb.KV/Txn) on
  ONE kept connection, over http:// (h2c: libcurl 7.88 needs a workaround
  for that, see store_etcd.c) and over https:// (h2 by ALPN), also after
  the connection was cut; the JSON gateway (reads, the live watch) keeps
  its own kept-alive HTTP/1.1 connections;
- where HTTP/2 is not passed (a proxy that only speaks HTTP/1.1), or with
  --etcd-api json, every Txn goes through the JSON gateway on its kept
  connection, and none carries "Expect: 100-continue" (libcurl adds it to
  POST bodies over 1 MiB: a round trip more, or a second's wait behind a
  proxy that ignores it)."""
import re
import socket
import struct
import threading
import time

import pytest

from conftest import E2E_TLS, Hub, wait_for
from etcd import EtcdCluster

pytestmark = pytest.mark.skipif(E2E_TLS, reason="store tests: ran in make e2e")

CM = "/api/v1/namespaces/default/configmaps"
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class CountingProxy:
    """127.0.0.1:port -> target; counts accepted connections, the HTTP/1
    requests of the client -> server streams (their header blocks) and, on
    connections that start with the HTTP/2 preface, the requests (HEADERS
    frames that open a stream) per connection. refuse_h2: such a connection
    is closed at once (a proxy that only speaks HTTP/1.1). Plain TCP only:
    over TLS it counts connections."""

    def __init__(self, target_port, refuse_h2=False, tls=False):
        self.target = target_port
        self.refuse_h2 = refuse_h2
        self.tls = tls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.h2 = []        # per HTTP/2 connection: the streams opened
        self.requests = []  # HTTP/1: (request line, lower-cased header block)
        self.stopped = False
        self.socks = []
        self.h2_socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            for x in (c, u):  # no Nagle here either: HTTP/2 sends a request in several small frames
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self.socks += [c, u]
            threading.Thread(target=self._pump, args=(c, u, not self.tls), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, src, dst, upstream):
        buf = b""
        body_left = 0
        h2 = None  # index in self.h2 once this is an HTTP/2 connection
        first = True
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                start, first = first, False
                if upstream and start and data.startswith(H2_PREFACE[:8]):
                    if self.refuse_h2:
                        break
                    with self.lock:
                        self.h2.append(0)
                        self.h2_socks.append((src, dst))
                        h2 = len(self.h2) - 1
                    data_h2 = data[len(H2_PREFACE):]
                    dst.sendall(data)
                    buf = data_h2
                    data = b""
                else:
                    dst.sendall(data)
                if not upstream:
                    continue
                buf += data
                if h2 is not None:
                    while len(buf) >= 9:  # frames: length(3) type(1) flags(1) stream(4)
                        n = int.from_bytes(buf[:3], "big")
                        if len(buf) < 9 + n:
                            break
                        ftype, sid = buf[3], struct.unpack(">I", buf[5:9])[0] & 0x7fffffff
                        if ftype == 1 and sid:  # HEADERS: a request (no trailers from a client here)
                            with self.lock:
                                self.h2[h2] += 1
                        buf = buf[9 + n:]
                    continue
                while True:  # split the stream into header blocks and bodies
                    if body_left:
                        n = min(body_left, len(buf))
                        buf, body_left = buf[n:], body_left - n
                        if body_left:
                            break
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head = buf[:end].decode("latin-1")
                    buf = buf[end + 4:]
                    lines = head.split("\r\n")
                    hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                            for l in lines[1:] if ":" in l}
                    with self.lock:
                        self.requests.append((lines[0], hdrs))
                    body_left = int(hdrs.get("content-length", "0"))
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def txns(self):
        """The Txns sent through the JSON gateway."""
        with self.lock:
            return [h for l, h in self.requests if l.startswith("POST /v3/kv/txn ")]

    def grpc(self):
        """Requests over HTTP/2, per connection."""
        with self.lock:
            return list(self.h2)

    def cut_h2(self):
        """Closes every HTTP/2 connection (as a restarted etcd or a proxy would)."""
        with self.lock:
            socks = list(self.h2_socks)
        for pair in socks:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.stopped = True
        self.sock.close()
        with self.lock:
            for s in self.socks:
                s.close()


def start(tmp_path, refuse_h2=False, api=None):
    etcd = EtcdCluster(str(tmp_path / "etcd")).start()
    proxy = CountingProxy(etcd.client_ports[0], refuse_h2)
    d = tmp_path / "hub"
    d.mkdir()
    extra = ["--store", "etcd", "--etcd-servers", "http://127.0.0.1:%d" % proxy.port, "--etcd-prefix", "/wire/"]
    if api:
        extra += ["--etcd-api", api]
    return etcd, proxy, Hub(str(d), extra=extra), d


def create(h, name, data=None):
    o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    if data:
        o["data"] = data
    st, body, _ = h.request("POST", CM, o, timeout=20)
    assert st == 201, body


def summary(d):
    """The hub's etcd summary at exit: (Txns, of them over gRPC, their connections)."""
    log = open(d / "hub.log").read()
    m = re.search(r"\((\d+) Txns, mean [\d.]+ ms; (\d+) of them over gRPC on (\d+) connections\)", log)
    assert m, log[-2000:]
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), log


def test_grpc_txns_on_one_kept_h2c_connection(tmp_path):
    etcd, proxy, h, d = start(tmp_path)
    try:
        h.start()
        create(h, "first")
        http1 = proxy.connections - len(proxy.grpc())
        assert 1 <= http1 <= 3, http1  # the gateway's reads and the live watch
        assert len(proxy.grpc()) == 1, proxy.grpc()
        for i in range(30):
            create(h, "c%d" % i)
        # a Txn of ~0.9 MB (it was over 1 MiB as JSON with base64)
        big = "x" * (900 * 1024)
        create(h, "big", {"v": big})
        g = proxy.grpc()
        assert len(g) == 1 and g[0] >= 32, g
        assert proxy.txns() == []  # no Txn through the gateway
        assert proxy.connections - len(g) == http1
        # the connection cut (etcd restarted, a proxy's idle timeout): the
        # next Txns open ONE new connection and keep it, still over gRPC
        # (plus one HTTP/1.1 try that etcd's HTTP/1 side does not run: the
        # libcurl 7.88 workaround in store_etcd.c)
        conns = proxy.connections
        proxy.cut_h2()
        for i in range(5):
            create(h, "after%d" % i)
        g = proxy.grpc()
        assert len(g) == 2 and g[1] >= 5, g
        assert proxy.connections - conns <= 2, (proxy.connections, conns)
        assert proxy.txns() == []
        st, body, _ = h.get(CM + "/big")
        assert st == 200 and body["data"]["v"] == big
    finally:
        h.stop()
        proxy.stop()
        etcd.stop()
    txns, grpc, conns, log = summary(d)
    assert grpc >= 37 and 2 <= conns <= 3, (txns, grpc, conns)
    assert "Txns go through etcd's JSON gateway" not in log


@pytest.mark.parametrize("how", ["gateway-only-proxy", "etcd-api-json"])
def test_txns_through_the_gateway_without_expect(tmp_path, how, monkeypatch):
    """A proxy that does not pass HTTP/2: the first Txn finds out, every
    Txn then goes through the gateway (said once in the log) until gRPC is
    tried again (every 60 s; 2 s here), which finds out again; or
    --etcd-api json: the gateway from the start, HTTP/2 never tried."""
    monkeypatch.setenv("ATOLL_ETCD_GRPC_RETRY_MS", "2000")
    etcd, proxy, h, d = start(tmp_path, refuse_h2=how == "gateway-only-proxy",
                              api="json" if how == "etcd-api-json" else None)
    try:
        h.start()
        create(h, "first")
        conns = proxy.connections
        n0 = len(proxy.txns())
        assert n0 >= 1
        # a Txn body over 1 MiB as JSON (a ~0.9 MB object, base64 in the JSON)
        big = "x" * (900 * 1024)
        create(h, "big", {"v": big})
        big_txns = [t for t in proxy.txns()[n0:] if int(t.get("content-length", "0")) > (1 << 20)]
        assert big_txns, [t.get("content-length") for t in proxy.txns()[n0:]]
        for i in range(30):
            create(h, "c%d" % i)
        wait_for("the Txns seen by the proxy", lambda: len(proxy.txns()) >= n0 + 31)
        txns = proxy.txns()
        assert [t for t in txns if "expect" in t] == [], [t["expect"] for t in txns if "expect" in t]
        assert proxy.connections == conns, (proxy.connections, conns)
        assert proxy.grpc() == []
        st, body, _ = h.get(CM + "/big")
        assert st == 200 and body["data"]["v"] == big
        time.sleep(2.2)
        create(h, "after")  # gRPC tried again, refused again: through the gateway
    finally:
        h.stop()
        proxy.stop()
        etcd.stop()
    txns, grpc, conns, log = summary(d)
    if how == "etcd-api-json":
        assert grpc == 0 and "txns=JSON gateway" in log
    else:
        assert grpc == 2, grpc  # the one that found out, and the one tried again 2 s later
        assert log.count("Txns go through etcd's JSON gateway") == 1
        assert log.count("Txns through etcd's JSON gateway again") == 1


def test_grpc_over_tls_keeps_its_connection(tmp_path):
    """Over https:// (HTTP/2 by ALPN, client certificates) every Txn goes
    over gRPC on one kept connection."""
    etcd = EtcdCluster(str(tmp_path / "etcd"), tls=True).start()
    proxy = CountingProxy(etcd.client_ports[0], tls=True)
    d = tmp_path / "hub"
    d.mkdir()
    args = etcd.hub_args("/wire/")
    args[args.index("--etcd-servers") + 1] = "https://127.0.0.1:%d" % proxy.port
    h = Hub(str(d), extra=args)
    try:
        h.start()
        create(h, "first")
        conns = proxy.connections  # the gateway's, the live watch's, the gRPC one
        for i in range(1, 11):
            create(h, "c%d" % i, {"v": "x" * (i * 10000)})
        assert proxy.connections == conns, (proxy.connections, conns)
    finally:
        h.stop()
        proxy.stop()
        etcd.stop()
    txns, grpc, conns, log = summary(d)
    assert grpc >= 11 and grpc == txns and conns == 1, (txns, grpc, conns)
    assert "Txns go through etcd's JSON gateway" not in log


