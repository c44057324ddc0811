#!/usr/bin/python3
"""API server benchmark (issue 2): starts atoll-hub on a free 127.0.0.1 port
in a temporary data dir, drives it with build/bin/bench_api and prints
figures next to their targets. Bounded in count and time; stops the hub.

    make bench
    /usr/bin/python3 tests/bench/bench_api.py --bin build/bin [--quick] [--json FILE]
"""
import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


class Hub:
    def __init__(self, bindir, data_dir, extra=()):
        self.bindir, self.data_dir = bindir, data_dir
        port_file = os.path.join(data_dir, "port")
        self.log = open(os.path.join(data_dir, "hub.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "atoll-hub"), "serve", "--data-dir", data_dir, "--insecure-listen", "127.0.0.1:0",
             "--port-file", port_file, "--log-level", "warn"] + list(extra), stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise SystemExit("atoll-hub exited at start; see " + data_dir + "/hub.log")
            try:
                with open(port_file) as f:
                    txt = f.read().strip()
                self.port = int(txt) if txt else None
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise SystemExit("atoll-hub did not start")
        self.url = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def must(self, method, path, body=None, ctype="application/json"):
        code, out = self.request(method, path, body, ctype)
        if code // 100 != 2:
            raise SystemExit("%s %s answered %d: %s" % (method, path, code, out))
        return out

    def status(self, field):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])  # kB
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def bench(bindir, mode, port, **kw):
    cmd = [os.path.join(bindir, "bench_api"), mode, "--port", str(port)]
    for k, v in kw.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        raise SystemExit("bench_api failed (rc %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr + p.stdout))
    return json.loads(p.stdout)


def cm(name, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": "v"}}


CREATE_BODY = ('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s-{N}","labels":{"app":"bench"}},'
               '"data":{"index":"{N}","payload":"0123456789abcdef0123456789abcdef"}}')

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "hello", "labels": {"app": "hello"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello"}},
             "template": {"metadata": {"labels": {"app": "hello"}},
                          "spec": {"containers": [{"name": "hello", "image": "nginx:1.25",
                                                   "ports": [{"containerPort": 80}]}]}}},
}


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../build/bin"))
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    ap.add_argument("--store", choices=("sqlite", "etcd"), default="sqlite",
                    help="the hub's store; etcd: one etcd member started in the temporary dir")
    args = ap.parse_args()
    q = 10 if args.quick else 1
    tmp = tempfile.mkdtemp(prefix="atoll-bench-")
    etcd, extra = None, []
    if args.store == "etcd":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../e2e"))
        from etcd import EtcdCluster
        etcd = EtcdCluster(os.path.join(tmp, "etcd")).start()
        extra = etcd.hub_args()
    hub = Hub(os.path.abspath(args.bin), tmp, extra)
    res = {"machine": machine()}
    try:
        port = hub.port
        B = lambda mode, **kw: bench(args.bin, mode, port, **kw)  # noqa: E731
        for ns in ("bench-list", "bench-create", "bench-watch", "bench-rss"):
            hub.must("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        hub.must("POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT)
        hub.must("POST", "/api/v1/namespaces/default/configmaps", cm("patched", v="0"))
        res["rss_start_kib"] = hub.status("VmRSS")

        # (a) GET of one Deployment.
        dpath = "/apis/apps/v1/namespaces/default/deployments/hello"
        B("req", path=dpath, requests=500)  # warm-up
        res["get_c1"] = B("req", path=dpath, requests=20000 // q, conns=1)
        res["get_c8"] = B("req", path=dpath, requests=40000 // q, conns=8)

        # (b) list of 1,000 ConfigMaps, JSON and Table.
        B("req", method="POST", path="/api/v1/namespaces/bench-list/configmaps", body=CREATE_BODY % "cm",
          requests=1000, conns=8)
        lpath = "/api/v1/namespaces/bench-list/configmaps"
        n_list = len(hub.must("GET", lpath)["items"])
        assert n_list == 1000, n_list
        res["list_json"] = B("req", path=lpath, requests=300 // q, conns=1)
        res["list_table"] = B("req", path=lpath, accept=TABLE, requests=300 // q, conns=1)

        # (c) durable creates from 8 concurrent clients.
        res["create_c8"] = B("req", method="POST", path="/api/v1/namespaces/bench-create/configmaps",
                             body=CREATE_BODY % "c", requests=6000 // q, conns=8, seconds=20)
        res["create_c1"] = B("req", method="POST", path="/api/v1/namespaces/bench-create/configmaps",
                             body=CREATE_BODY % "s", requests=1000 // q, conns=1, seconds=10)

        # (d) JSON merge patch of one object (each patch changes it).
        res["patch_c1"] = B("req", method="PATCH", path="/api/v1/namespaces/default/configmaps/patched",
                            ctype="application/merge-patch+json", body='{"data":{"v":"p{N}"}}',
                            requests=3000 // q, conns=1, seconds=10)

        # (e) one change delivered to 100 concurrent watchers.
        hub.must("POST", "/api/v1/namespaces/bench-watch/configmaps", cm("w", v="0"))
        rv = hub.must("GET", "/api/v1/namespaces/bench-watch/configmaps")["metadata"]["resourceVersion"]
        res["watch_100"] = B("watch", watch_path="/api/v1/namespaces/bench-watch/configmaps", rv=rv, watchers=100,
                             method="PATCH", path="/api/v1/namespaces/bench-watch/configmaps/w",
                             ctype="application/merge-patch+json", body='{"data":{"v":"w{N}"}}',
                             requests=max(50, 200 // q))

        # (f) RSS with 10,000 stored objects.
        stored = 0
        for path in ("/api/v1/configmaps", "/apis/apps/v1/deployments", "/api/v1/namespaces"):
            stored += len(hub.must("GET", path)["items"])
        if stored < 10000:
            B("req", method="POST", path="/api/v1/namespaces/bench-rss/configmaps", body=CREATE_BODY % "r",
              requests=10000 - stored, conns=8, seconds=60)
        stored = 0
        for path in ("/api/v1/configmaps", "/apis/apps/v1/deployments", "/api/v1/namespaces"):
            stored += len(hub.must("GET", path)["items"])
        res["objects"] = stored
        res["rss_10k_kib"] = hub.status("VmRSS")
        res["hwm_10k_kib"] = hub.status("VmHWM")
        res["db_bytes"] = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp) if f.startswith("atoll.db"))
        if etcd:
            res["db_bytes"] = int(etcd.call("/v3/maintenance/status", {})["dbSize"])
    finally:
        hub.stop()
        if etcd:
            etcd.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


def report(r):
    m = r["machine"]
    print("atoll-hub API benchmark — %d CPU(s), %s, Linux %s" % (m["nproc"], m["cpu"], m["kernel"]))
    rows = []

    def lat(name, x, target=None, ok=None):
        l = x["latency"]
        rows.append((name, "%9.0f" % x["rps"], "%7.3f" % l["p50_ms"], "%7.3f" % l["p99_ms"], target or "",
                     "" if ok is None else ("meets" if ok else "MISSES")))

    lat("(a) GET deployment, 1 conn", r["get_c1"], "p99 <= 1 ms", r["get_c1"]["latency"]["p99_ms"] <= 1)
    lat("(a) GET deployment, 8 conns", r["get_c8"])
    lat("(b) list 1,000 cm JSON", r["list_json"], "p99 <= 20 ms", r["list_json"]["latency"]["p99_ms"] <= 20)
    lat("(b) list 1,000 cm Table", r["list_table"], "p99 <= 20 ms", r["list_table"]["latency"]["p99_ms"] <= 20)
    lat("(c) create, 8 conns", r["create_c8"], ">= 2,000 creates/s", r["create_c8"]["rps"] >= 2000)
    lat("(c) create, 1 conn", r["create_c1"])
    lat("(d) merge PATCH one object", r["patch_c1"])
    print("%-30s %9s %7s %7s  %-20s %s" % ("figure", "req/s", "p50 ms", "p99 ms", "target", ""))
    for row in rows:
        print("%-30s %9s %7s %7s  %-20s %s" % row)
    w = r["watch_100"]
    ok = w["from_ack"]["p99_ms"] <= 10
    print("(e) 1 change -> 100 watchers: %d writes, %d deliveries (%d before the write-ack); from write-ack p50 %.3f ms "
          "p99 %.3f ms (from send p50 %.3f p99 %.3f; write p50 %.3f)  target p99 <= 10 ms  %s" % (
              w["writes"], w["deliveries"], w["before_ack"], w["from_ack"]["p50_ms"], w["from_ack"]["p99_ms"],
              w["from_send"]["p50_ms"], w["from_send"]["p99_ms"], w["write"]["p50_ms"], "meets" if ok else "MISSES"))
    rss = r["rss_10k_kib"] / 1024
    print("(f) RSS with %d objects: %.1f MiB (peak %.1f MiB; %.1f MiB at start; db %.1f MiB)  target <= 64 MiB  %s" % (
        r["objects"], rss, r["hwm_10k_kib"] / 1024, r["rss_start_kib"] / 1024, r["db_bytes"] / 1048576,
        "meets" if rss <= 64 else "MISSES"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
