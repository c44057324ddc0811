#!/usr/bin/python3
"""TLS benchmark (figures, not a test): starts `atoll-hub init` + `serve`
with both listeners in a fresh temporary data dir on loopback, stores one
small ConfigMap, and runs build/bin/bench_tls against it:
full and resumed handshakes per second, and p50/p99 of a small GET over an
established TLS connection vs plain HTTP. See docs/benchmarks.md, "TLS"."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "../../build/bin"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.requests = 1, 1000
    d = tempfile.mkdtemp(prefix="atoll-bench-tls-")
    tls, plain = free_port(), free_port()
    hub = None
    try:
        subprocess.run([os.path.join(a.bin, "atoll-hub"), "init", "--data-dir", d, "--hosts", "127.0.0.1",
                        "--port", str(tls)], check=True, capture_output=True)
        log = open(os.path.join(d, "hub.log"), "w")
        hub = subprocess.Popen([os.path.join(a.bin, "atoll-hub"), "serve", "--data-dir", d, "--log-level", "warn",
                                "--listen", "127.0.0.1:%d" % tls, "--insecure-listen", "127.0.0.1:%d" % plain],
                               stdout=log, stderr=log)
        for _ in range(200):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/healthz" % plain, timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "small"}, "data": {"k": "v"}}
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/namespaces/default/configmaps" % plain,
                                     data=json.dumps(cm).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        print("TLS benchmark: hub on 127.0.0.1:%d (TLS) and :%d (plain), %d cores" % (tls, plain, os.cpu_count()))
        sys.stdout.flush()
        rc = subprocess.run([os.path.join(a.bin, "bench_tls"), "--port", str(tls), "--plain-port", str(plain),
                             "--dir", d, "--hub-pid", str(hub.pid), "--seconds", str(a.seconds), "--requests", str(a.requests),
                             "--path", "/api/v1/namespaces/default/configmaps/small"]).returncode
        return rc
    finally:
        if hub:
            hub.send_signal(signal.SIGTERM)
            hub.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
