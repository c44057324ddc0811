#!/usr/bin/python3
"""Protobuf vs JSON (issue 11): starts atoll-hub on a free 127.0.0.1 port in a
temporary data dir, creates N Deployments (kubectl-shaped, with the hub's
defaults filled in), then lists them R times asking for JSON and R times
asking for Kubernetes protobuf, over one keep-alive connection, and prints
the hub's answer time (the first list, then median and p90) and bytes for
each. The first protobuf list encodes every item; later ones reuse each
item's cached encoding. Then W watchers per format on one Deployment and
one change: the time until all have the event. Stops the hub.

    /usr/bin/python3 tests/bench/bench_protobuf.py --bin build/bin [--count 1000] [--rounds 20]
        [--client build/bin/bench_pblist]

With --client, bench_pblist (C, libcurl) then measures the client side on
the same hub: fetch and decode times of the list in both formats, and the
decoding of one watch event by every watcher (see its header).
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PB = "application/vnd.kubernetes.protobuf"


def deployment(i):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web-%04d" % i, "labels": {"app": "web", "tier": "front"},
                         "annotations": {"team": "payments"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx:1.25",
                                      "ports": [{"containerPort": 80}],
                                      "env": [{"name": "MODE", "value": "prod"}],
                                      "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                                      "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80}}}]}}}}


def watchers(port, path, n):
    """n watchers per format on one Deployment (fieldSelector), then one change:
    the time until every watcher has its MODIFIED event."""
    import selectors
    print("one change delivered to %d watchers:" % n)
    for name, accept in (("JSON", "application/json"), ("protobuf", PB)):
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(("GET %s?watch=1&fieldSelector=metadata.name%%3Dweb-0000 HTTP/1.1\r\nHost: x\r\n"
                       "Accept: %s\r\n\r\n" % (path, accept)).encode())
            socks.append(s)
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        seen = {s: b"" for s in socks}
        marker = b"MODIFIED"

        def drain(until, want):
            while time.time() < until:
                for key, _ in sel.select(0.2):
                    seen[key.fileobj] += key.fileobj.recv(1 << 20)
                if all(seen[s].count(want) >= 1 for s in socks):
                    return True
            return False

        drain(time.time() + 10, b"ADDED")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t0 = time.perf_counter()
        c.request("PATCH", path + "/web-0000", body=json.dumps({"metadata": {"labels": {"n": name.lower()}}}),
                  headers={"Content-Type": "application/merge-patch+json"})
        r = c.getresponse()
        r.read()
        ok = drain(time.time() + 30, marker)
        dt = time.perf_counter() - t0
        print("  %-8s  %6.1f ms until all %d had it%s" % (name, 1000 * dt, n, "" if ok else " (TIMED OUT)"))
        c.close()
        for s in socks:
            sel.unregister(s)
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="folder with atoll-hub")
    ap.add_argument("--count", type=int, default=1000, help="Deployments to create (default 1000)")
    ap.add_argument("--rounds", type=int, default=20, help="lists per format (default 20)")
    ap.add_argument("--watchers", type=int, default=100, help="watchers per format (default 100)")
    ap.add_argument("--client", help="bench_pblist binary: also measure the client side")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    log = open(os.path.join(tmp, "hub.log"), "ab")
    hub = subprocess.Popen([os.path.join(a.bin, "atoll-hub"), "serve", "--data-dir", tmp, "--insecure-listen",
                            "127.0.0.1:0", "--port-file", tmp + "/port", "--log-level", "warn"], stdout=log, stderr=log)
    try:
        deadline = time.time() + 10
        while not (os.path.exists(tmp + "/port") and open(tmp + "/port").read().strip()):
            if hub.poll() is not None or time.time() > deadline:
                sys.exit("atoll-hub did not start; see " + tmp + "/hub.log")
            time.sleep(0.05)
        c = http.client.HTTPConnection("127.0.0.1", int(open(tmp + "/port").read()), timeout=60)
        path = "/apis/apps/v1/namespaces/default/deployments"
        for i in range(a.count):
            c.request("POST", path, body=json.dumps(deployment(i)), headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 201:
                sys.exit("create failed: %d" % r.status)
        print("list of %d Deployments, %d rounds each, one keep-alive connection:" % (a.count, a.rounds))
        for name, accept in (("JSON", "application/json"), ("protobuf", PB + ",application/json")):
            times, size, first = [], 0, None
            for _ in range(a.rounds):
                t0 = time.perf_counter()
                c.request("GET", path, headers={"Accept": accept})
                r = c.getresponse()
                body = r.read()
                times.append(time.perf_counter() - t0)
                first = times[0] if first is None else first
                size = len(body)
                assert r.status == 200 and (r.getheader("Content-Type") == PB) == (name == "protobuf")
            times.sort()
            print("  %-8s  first %6.1f ms  median %6.1f ms  p90 %6.1f ms  %8d bytes" % (
                name, 1000 * first, 1000 * times[len(times) // 2], 1000 * times[int(len(times) * 0.9)], size))
        watchers(int(open(tmp + "/port").read()), path, a.watchers)
        if a.client:
            c.close()
            subprocess.run([a.client, "--url", "http://127.0.0.1:" + open(tmp + "/port").read().strip(),
                            "--path", path, "--rounds", str(a.rounds), "--watchers", str(a.watchers)], check=True)
    finally:
        hub.terminate()
        hub.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
