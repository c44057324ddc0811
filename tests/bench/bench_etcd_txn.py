#!/usr/bin/env python3
"""Where an etcd Txn's time goes through etcd's v3 JSON gateway: one etcd
member (Debian's /usr/bin/etcd, the flags of tests/e2e/etcd.py plus
--metrics extensive) in a temporary directory on the same disk as /tmp,
N Txns of K puts of S-byte values sent one after the other on one
keep-alive HTTP/1.1 connection (--gap S: S seconds idle before each),
optionally with a watcher on the prefix
(as the hub's live watch: --watch prev, with prev_kv; plain; none).
Prints the client-side latency, etcd's own gRPC handling time of Txn
(grpc_server_handling_seconds: the time after the gateway), its WAL fsync
time and etcd's CPU per Txn. 127.0.0.1 only; stops what it starts."""
import argparse
import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from etcd import EtcdCluster  # noqa: E402  (the tests' etcd member, same flags)


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def metrics(mp):
    out = {}
    t = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mp, timeout=5).read().decode()
    for line in t.splitlines():
        for key, prefix in (("txn_sum", 'grpc_server_handling_seconds_sum{grpc_method="Txn"'),
                            ("txn_n", 'grpc_server_handling_seconds_count{grpc_method="Txn"'),
                            ("fs_sum", "etcd_disk_wal_fsync_duration_seconds_sum"),
                            ("fs_n", "etcd_disk_wal_fsync_duration_seconds_count"),
                            ("cpu", "process_cpu_seconds_total")):
            if line.startswith(prefix):
                out[key] = float(line.split()[-1])
    return out


def run(k, size, n, watch, gap=0.0):
    d = tempfile.mkdtemp(prefix="bench-etcd-txn-")
    etcd = EtcdCluster(d, extra_args=["--metrics", "extensive"])
    cp, mp = etcd.client_ports[0], etcd.metrics_ports[0]
    stop = threading.Event()
    got = [0]
    try:
        try:
            etcd.start()
        except RuntimeError as e:
            raise SystemExit("etcd did not start: %s" % e)

        def watcher(prev):
            c = http.client.HTTPConnection("127.0.0.1", cp)
            req = {"key": b64("/p/"), "range_end": b64("/p0")}
            if prev:
                req["prev_kv"] = True
            c.request("POST", "/v3/watch", json.dumps({"create_request": req}))
            r = c.getresponse()
            while not stop.is_set():
                line = r.fp.readline()
                if not line:
                    break
                got[0] += len(line)

        if watch != "none":
            threading.Thread(target=watcher, args=(watch == "prev",), daemon=True).start()
            time.sleep(0.3)
        c = http.client.HTTPConnection("127.0.0.1", cp)
        val = b64("v" * size)
        lat = []
        for i in range(n + 3):  # 3 warm-up Txns
            if i == 3:
                m0, g0 = metrics(mp), got[0]
            body = json.dumps({"compare": [], "success": [{"request_put": {"key": b64("/p/k%d" % j), "value": val}}
                                                          for j in range(k)]})
            if gap:
                time.sleep(gap)  # etcd idle in between, as between the rounds of a closed loop with a gap
            t = time.perf_counter()
            c.request("POST", "/v3/kv/txn", body, {"Content-Type": "application/json"})
            c.getresponse().read()
            if i >= 3:
                lat.append((time.perf_counter() - t) * 1000)
        time.sleep(0.5)
        m1 = metrics(mp)
        lat.sort()
        dn = max(1, m1["txn_n"] - m0["txn_n"])
        print("gap %.2f s, " % gap if gap else "", end="")
        print("watch %-5s %3d x %5d B (body %4d KB): client p50 %6.1f mean %6.1f ms | etcd gRPC Txn mean %5.1f ms | "
              "WAL fsync mean %4.1f ms | etcd CPU %5.1f ms per Txn | watch %4d KB per Txn" % (
                  watch, k, size, len(body) // 1024, lat[len(lat) // 2], sum(lat) / len(lat),
                  1000 * (m1["txn_sum"] - m0["txn_sum"]) / dn,
                  1000 * (m1["fs_sum"] - m0["fs_sum"]) / max(1, m1["fs_n"] - m0["fs_n"]),
                  1000 * (m1["cpu"] - m0["cpu"]) / n, (got[0] - g0) / 1024 / n))
    finally:
        stop.set()
        etcd.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--puts", type=int, default=100, help="puts per Txn (default 100, a batch of Works)")
    ap.add_argument("--size", type=int, default=2800, help="bytes per value (default 2800, a Work)")
    ap.add_argument("--txns", type=int, default=40, help="Txns measured (default 40)")
    ap.add_argument("--gap", type=float, default=0.0,
                    help="seconds of idle before each Txn (default 0: back to back)")
    ap.add_argument("--watch", default="none,prev,plain",
                    help="comma-separated watcher modes to run: none, prev (prev_kv), plain")
    a = ap.parse_args()
    for w in a.watch.split(","):
        if w not in ("none", "prev", "plain"):
            ap.error("--watch: none, prev or plain")
        run(a.puts, a.size, a.txns, w, a.gap)


if __name__ == "__main__":
    main()
