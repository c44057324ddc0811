"""The hub's requests to etcd on the wire (hub/store_etcd.c), seen by a
byte-counting TCP proxy between the hub and one etcd member: every Txn
reuses one kept-alive connection (no connection per request), and no
request carries "Expect: 100-continue" (which libcurl adds to POST bodies
over 1 MiB, e.g. a batch Txn of large objects: a round trip more, or a
second's wait behind a proxy that ignores it)."""
import socket
import threading

import pytest

from conftest import E2E_TLS, Hub, wait_for
from etcd import EtcdCluster

pytestmark = pytest.mark.skipif(E2E_TLS, reason="store tests: ran in make e2e")

CM = "/api/v1/namespaces/default/configmaps"


class CountingProxy:
    """127.0.0.1:port -> target; counts accepted connections and the
    requests of the client -> server streams (their header blocks)."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = []  # (request line, lower-cased header block)
        self.stopped = False
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.connections += 1
                self.socks += [c, u]
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, src, dst, upstream):
        buf = b""
        body_left = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if not upstream:
                    continue
                buf += data
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
        with self.lock:
            return [h for l, h in self.requests if l.startswith("POST /v3/kv/txn ")]

    def stop(self):
        self.stopped = True
        self.sock.close()
        with self.lock:
            for s in self.socks:
                s.close()


def test_txns_reuse_one_connection_without_expect(tmp_path):
    etcd = EtcdCluster(str(tmp_path / "etcd")).start()
    proxy = CountingProxy(etcd.client_ports[0])
    d = tmp_path / "hub"
    d.mkdir()
    h = Hub(str(d), extra=["--store", "etcd", "--etcd-servers", "http://127.0.0.1:%d" % proxy.port,
                           "--etcd-prefix", "/wire/"])
    try:
        h.start()
        st, body, _ = h.request("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first"}})
        assert st == 201, body
        # the blocking handle's connection and the live watch's: no more after start
        conns = proxy.connections
        assert 1 <= conns <= 3, conns
        n0 = len(proxy.txns())
        # a Txn body over 1 MiB (a ~0.9 MB object, base64 in the JSON)
        big = "x" * (900 * 1024)
        st, body, _ = h.request("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                                             "data": {"v": big}})
        assert st == 201, body
        big_txns = [t for t in proxy.txns()[n0:] if int(t.get("content-length", "0")) > (1 << 20)]
        assert big_txns, [t.get("content-length") for t in proxy.txns()[n0:]]
        for i in range(30):
            st, body, _ = h.request("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "c%d" % i}})
            assert st == 201, body
        wait_for("the Txns seen by the proxy", lambda: len(proxy.txns()) >= n0 + 31)
        txns = proxy.txns()
        assert [t for t in txns if "expect" in t] == [], [t["expect"] for t in txns if "expect" in t]
        assert proxy.connections == conns, (proxy.connections, conns)
        st, body, _ = h.get(CM + "/big")
        assert st == 200 and body["data"]["v"] == big
    finally:
        h.stop()
        proxy.stop()
        etcd.stop()
