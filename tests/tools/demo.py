#!/usr/bin/env python3
"""make demo: a hub, three simulated member clusters (eu, ap, us) and their
agents on loopback, then the seed walkthrough (steps 2-10) with real kubectl
and the seed's own manifests, printed as the article prints it.

Trust is set up as a user would: `atoll-hub init` (CA, serving certificate,
admin.kubeconfig), the hub serving HTTPS only, kubectl with the generated
admin.kubeconfig, and every agent joining with a bootstrap token from
`atoll-hub token create --cluster NAME -o json` and the CA's hash."""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SEED = os.path.join(REPO, "tests/data/seed")
MEMBERS = [("eu", "eu-west"), ("ap", "ap-south"), ("us", "us-west")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Demo:
    def __init__(self, bindir, workdir, hub_args=()):
        self.bin = bindir
        self.dir = workdir
        self.hub_args = list(hub_args)  # more `atoll-hub serve` flags (the tests: --store etcd ...)
        self.procs = []
        self.env = dict(os.environ, HOME=os.path.join(workdir, "home"))
        os.makedirs(self.env["HOME"], exist_ok=True)

    def spawn(self, name, args):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen(args, stdout=log, stderr=log, env=self.env)
        self.procs.append((name, p))
        return p

    def wait_file(self, path, what, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path) and open(path).read().strip():
                return open(path).read().strip()
            for name, p in self.procs:
                if p.poll() is not None:
                    sys.exit("demo: %s exited early; see %s/%s.log" % (name, self.dir, name))
            time.sleep(0.05)
        sys.exit("demo: %s did not start" % what)

    def hubcmd(self, *args):
        p = subprocess.run([os.path.join(self.bin, "atoll-hub")] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            sys.exit("demo: atoll-hub %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def start_hub(self):
        """atoll-hub init for 127.0.0.1 and a port, then HTTPS on that port.
        admin.kubeconfig names the port, so it is chosen before init; if
        another process takes it meanwhile, start over with a new one."""
        self.hub_data = os.path.join(self.dir, "hub")
        pf = os.path.join(self.dir, "hub.port")
        for attempt in range(5):
            shutil.rmtree(self.hub_data, ignore_errors=True)
            if os.path.exists(pf):
                os.unlink(pf)
            port = free_port()
            self.hubcmd("init", "--data-dir", self.hub_data, "--hosts", "127.0.0.1", "--port", str(port))
            hub = self.spawn("hub", [os.path.join(self.bin, "atoll-hub"), "serve", "--data-dir", self.hub_data,
                                     "--listen", "127.0.0.1:%d" % port, "--port-file", pf] + self.hub_args)
            deadline = time.time() + 15
            while time.time() < deadline and hub.poll() is None and not (os.path.exists(pf) and open(pf).read().strip()):
                time.sleep(0.05)
            if hub.poll() is None and os.path.exists(pf) and open(pf).read().strip() == str(port):
                break
            self.procs.remove(("hub", hub))
            if hub.poll() is None:
                hub.kill()
            hub.wait()
        else:
            sys.exit("demo: atoll-hub did not start; see %s/hub.log" % self.dir)
        self.hub_url = "https://127.0.0.1:%d" % port
        self.kubeconfig = os.path.join(self.hub_data, "admin.kubeconfig")
        self.step("1. A hub with its own CA, serving HTTPS; kubectl uses the generated admin.kubeconfig")
        print("$ atoll-hub init --data-dir hub --hosts 127.0.0.1 --port %d" % port)
        print("$ atoll-hub serve --data-dir hub --listen 127.0.0.1:%d &" % port)
        print()

    def join_token(self, cluster):
        """A bootstrap token that may join only this cluster, and the CA hash."""
        return json.loads(self.hubcmd("token", "create", "--data-dir", self.hub_data, "--cluster", cluster,
                                      "--ttl", "1h", "-o", "json"))

    def start_members(self):
        self.member_kc = {}
        for name, region in MEMBERS:
            kc = os.path.join(self.dir, name + ".kubeconfig")
            pf = os.path.join(self.dir, name + ".port")
            self.spawn("sim-" + name, [os.path.join(self.bin, "atoll-sim"), "--name", name,
                                       "--insecure-listen", "127.0.0.1:0", "--port-file", pf,
                                       "--kubeconfig-out", kc, "--nodes", "3", "--ready-delay", "300ms",
                                       "--region", region])
            self.wait_file(pf, "atoll-sim " + name)
            self.member_kc[name] = kc
        for name, region in MEMBERS:
            tok = self.join_token(name)
            print("$ atoll-hub token create --data-dir hub --cluster %s -o json" % name)
            print(json.dumps(tok, separators=(",", ":")))
            print("$ atoll-agent --hub %s --token %s --ca-cert-hash %s --cluster-name %s --kubeconfig %s.kubeconfig "
                  "--state-dir agent-%s &" % (self.hub_url, tok["token"], tok["caCertHash"], name, name, name))
            print()
            self.spawn("agent-" + name, [os.path.join(self.bin, "atoll-agent"), "--hub", self.hub_url,
                                         "--token", tok["token"], "--ca-cert-hash", tok["caCertHash"],
                                         "--cluster-name", name, "--kubeconfig", self.member_kc[name],
                                         "--region", region, "--state-dir", os.path.join(self.dir, "agent-" + name)])

    def kubectl(self, *args, kubeconfig=None, show=True, check=True):
        kc = kubeconfig or self.kubeconfig
        shown = "$ kubectl " + " ".join(args) + " --kubeconfig=%s" % os.path.basename(kc)
        p = subprocess.run(["kubectl"] + list(args) + ["--kubeconfig=" + kc], env=self.env,
                           capture_output=True, text=True, timeout=60)
        if show:
            print(shown)
            sys.stdout.write(p.stdout + p.stderr)
            print()
        if check and p.returncode != 0:
            sys.exit("demo: command failed: " + shown + "\n" + p.stderr)
        return p.stdout

    def wait_until(self, what, fn, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if fn():
                return
            time.sleep(0.1)
        sys.exit("demo: timed out waiting for " + what)

    def ready_pods(self, member):
        out = self.kubectl("get", "pods", "--no-headers", kubeconfig=self.member_kc[member], show=False, check=False)
        return len([l for l in out.splitlines() if l.startswith("hello-") and "Running" in l and " 1/1 " in l])

    def hub_ready(self, want):
        out = self.kubectl("get", "deployment", "hello", "--no-headers", show=False, check=False)
        return re.search(r"\s%d/%d\s" % (want, want), out) is not None

    def pods_per_member(self):
        for name, _ in MEMBERS:
            print("# member %s" % name)
            self.kubectl("get", "pods", kubeconfig=self.member_kc[name])

    def step(self, title):
        print("=" * 72)
        print(title)
        print("=" * 72)

    def walk(self):
        self.step("2. The Karmada API replaces the Kubernetes API")
        self.kubectl("get", "clusters,deployments")
        self.step("3. Member clusters eu, ap and us join in Pull mode (a bootstrap token each)")
        self.start_members()
        self.wait_until("three Ready clusters", lambda: self.kubectl(
            "get", "clusters", "--no-headers", show=False, check=False).count(" True") >= 3)
        self.kubectl("get", "clusters")
        self.step("4. A workload with no policy")
        self.kubectl("apply", "-f", os.path.join(SEED, "deployment.yaml"))
        self.kubectl("get", "deployments")
        self.wait_until("the ApplyPolicyFailed event", lambda: "ApplyPolicyFailed" in self.kubectl(
            "describe", "deployment", "hello", show=False, check=False))
        d = self.kubectl("describe", "deployment", "hello", show=False)
        print("$ kubectl describe deployment hello --kubeconfig=%s | tail" % os.path.basename(self.kubeconfig))
        print("\n".join(d.splitlines()[-4:]) + "\n")
        self.step("5. A PropagationPolicy: weights 1:1:1")
        self.kubectl("apply", "-f", os.path.join(SEED, "policy-equal.yaml"))
        self.wait_until("3/3 on the hub", lambda: self.hub_ready(3))
        self.kubectl("get", "deployments")
        self.pods_per_member()
        self.step("6. Scale on the hub to 10")
        self.kubectl("scale", "deployment/hello", "--replicas=10")
        self.wait_until("10/10 on the hub", lambda: self.hub_ready(10))
        self.kubectl("get", "deployments")
        self.pods_per_member()
        self.step("7. Re-weight: us 2, ap 1, eu 2")
        self.kubectl("apply", "-f", os.path.join(SEED, "policy-weighted.yaml"))
        self.wait_until("ap down to 2 pods", lambda: self.ready_pods("ap") == 2 and self.hub_ready(10))
        self.pods_per_member()
        self.step("8. Service status on the hub")
        s = self.kubectl("describe", "service", "hello", show=False)
        print("$ kubectl describe service hello --kubeconfig=%s" % os.path.basename(self.kubeconfig))
        print(s)
        for name, _ in MEMBERS:
            self.kubectl("get", "service", "hello", kubeconfig=self.member_kc[name])

    def remote_secrets(self):
        """Each member holds istio-remote-secret-<other> for the two others; a
        reader token reads the other member (200) and cannot write there (403)."""
        sel = "istio/multiCluster=true"
        self.wait_until("remote secrets in every member", lambda: all(len(self.kubectl(
            "get", "secrets", "-n", "istio-system", "-l", sel, "-o", "name", kubeconfig=self.member_kc[n],
            show=False, check=False).split()) == len(MEMBERS) - 1 for n, _ in MEMBERS))
        for name, _ in MEMBERS:
            print("# member %s" % name)
            self.kubectl("get", "secrets", "-n", "istio-system", "-l", sel, "-o",
                         "custom-columns=NAME:.metadata.name,CLUSTER:.metadata.annotations.networking\\.istio\\.io/cluster",
                         kubeconfig=self.member_kc[name])
        src, dst = MEMBERS[0][0], MEMBERS[1][0]
        sec = json.loads(self.kubectl("get", "secret", "istio-remote-secret-" + dst, "-n", "istio-system", "-o",
                                      "json", kubeconfig=self.member_kc[src], show=False))
        kc = base64.b64decode(sec["data"][dst]).decode()
        server = re.search(r'server: "?([^"\n]+)', kc).group(1)
        token = re.search(r'token: "?([^"\n]+)', kc).group(1)
        print("# with the token in %s's istio-remote-secret-%s (as istiod there uses it), against %s:" % (src, dst, dst))
        import urllib.request
        import urllib.error
        for method, path, body in (("GET", "/api/v1/endpoints", None),
                                   ("POST", "/api/v1/namespaces/default/configmaps",
                                    b'{"metadata":{"name":"x"}}')):
            req = urllib.request.Request(server + path, data=body, method=method,
                                         headers={"Authorization": "Bearer <token>".replace("<token>", token),
                                                  "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    code, out = r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                code, out = e.code, json.loads(e.read() or b"{}")
            print("  %s %s -> %d %s" % (method, path, code, out.get("kind") if code < 300 else out.get("message")))
        print()

    def mesh_steps(self):
        self.step("9. Connecting the clusters: one Mesh object (CAs, cacerts, network labels, gateways, values, remote secrets)")
        self.kubectl("apply", "-f", os.path.join(REPO, "examples/mesh/mesh.yaml"))
        self.wait_until("mesh1 Ready", lambda: self.kubectl(
            "get", "mesh", "mesh1", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            show=False, check=False) == "True")
        self.kubectl("get", "meshes", "-o", "wide")
        for name, _ in MEMBERS:
            kc = self.member_kc[name]
            print("# member %s" % name)
            self.kubectl("get", "namespace", "istio-system", "-L", "topology.istio.io/network", kubeconfig=kc)
            sec = json.loads(self.kubectl("get", "secret", "cacerts", "-n", "istio-system", "-o", "json",
                                          kubeconfig=kc, show=False))
            d = os.path.join(self.dir, name + "-cacerts")
            os.makedirs(d, exist_ok=True)
            for k, v in sec["data"].items():
                with open(os.path.join(d, k), "wb") as f:
                    f.write(base64.b64decode(v))
            print("$ kubectl get secret cacerts -n istio-system -o json | (save each key to %s-cacerts/)" % name)
            print("  " + " ".join(sorted(sec["data"])))
            for cmd in (["verify", "-CAfile", "root-cert.pem", "cert-chain.pem"],
                        ["x509", "-in", "ca-cert.pem", "-noout", "-subject", "-issuer", "-enddate",
                         "-ext", "basicConstraints,keyUsage"]):
                p = subprocess.run(["openssl"] + cmd, cwd=d, capture_output=True, text=True)
                print("$ openssl " + " ".join(cmd))
                sys.stdout.write(p.stdout + p.stderr)
            print()
        print("$ atoll-hub mesh values --data-dir hub --mesh mesh1 --cluster ap")
        print(self.hubcmd("mesh", "values", "--data-dir", self.hub_data, "--mesh", "mesh1", "--cluster", "ap"))
        self.remote_secrets()
        self.step("10. The sleep Deployment, placed with weights us 2, ap 2, eu 1")
        self.kubectl("apply", "-f", os.path.join(SEED, "sleep.yaml"))
        self.kubectl("apply", "-f", os.path.join(SEED, "policy-with-sleep.yaml"))
        self.wait_until("sleep 1/1 on the hub", lambda: re.search(r"\s1/1\s", self.kubectl(
            "get", "deployment", "sleep", "--no-headers", show=False, check=False)) is not None)
        self.kubectl("get", "deployments")
        self.pods_per_member()

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def interrupt(*_):
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--once", action="store_true", help="exit after the walkthrough")
    ap.add_argument("--bin", default=os.path.join(REPO, "build/bin"), help="where the Atoll binaries are")
    ap.add_argument("--dir", help="working directory, kept on exit (default: a new temporary one, removed on exit)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory on exit")
    args = ap.parse_args()
    # SIGTERM and SIGHUP end the demo as Ctrl-C does: processes stopped, files removed.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    workdir = args.dir or tempfile.mkdtemp(prefix="atoll-demo-")
    os.makedirs(workdir, exist_ok=True)
    keep = bool(args.dir) or args.keep
    print("Atoll demo: %s. Files (hub CA key included) in %s; %s." % (
        "walks the seed, then exits" if args.once else "walks the seed, then runs until you press Ctrl-C",
        workdir, "kept on exit" if keep else "removed on exit (--keep keeps them)"))
    sys.stdout.flush()
    demo = Demo(args.bin, workdir)
    failed = True
    try:
        demo.start_hub()
        demo.walk()
        demo.mesh_steps()
        print("=" * 72)
        viewer = json.loads(demo.hubcmd("token", "create", "--data-dir", demo.hub_data, "--user", "dashboard",
                                        "--group", "system:atoll:viewers", "--ttl", "24h", "-o", "json"))
        print("Hub:          %s (CA: %s/ca.crt)" % (demo.hub_url, demo.hub_data))
        print("Dashboard:    %s/dashboard?token=%s" % (demo.hub_url, viewer["token"]))
        print("Kubeconfigs:  hub %s" % demo.kubeconfig)
        for name, _ in MEMBERS:
            print("              %s  %s" % (name, demo.member_kc[name]))
        print("Logs:         %s/*.log" % workdir)
        failed = False
        if not args.once:
            print("Running; press Ctrl-C to stop (then the processes stop and %s)." % (
                "the files stay" if keep else "these files are removed"))
            sys.stdout.flush()
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        failed = False
        print("\nStopping.")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not leave processes behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.stop()
        if failed and not keep:
            print("demo: logs kept in %s for a look; remove it when done (it holds the hub's CA key)" % workdir,
                  file=sys.stderr)
        elif not keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
