#!/usr/bin/env python3
"""Captures the protobuf bodies kubectl (1.32+) sends for `kubectl create`
into tests/data/protobuf/: NAME.pb is the body as sent, NAME.json what
kubectl meant (the same command with --dry-run=client -o json).

    tests/tools/capture_protobuf.py [--kubectl kubectl.1.33] [--out DIR]

Starts build/bin/atoll-hub and tests/tools/capture_proxy.py on loopback
ports and stops both at the end."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))

COMMANDS = [
    ("namespace", ["create", "namespace", "demo"]),
    ("configmap", ["create", "configmap", "cm1", "--from-literal=a=b", "--from-literal=c=d"]),
    ("secret-generic", ["create", "secret", "generic", "s1", "--from-literal=x=y", "--from-literal=empty="]),
    ("secret-docker", ["create", "secret", "docker-registry", "reg1", "--docker-server=r.example.com",
                       "--docker-username=u", "--docker-password=p", "--docker-email=u@example.com"]),
    ("serviceaccount", ["create", "serviceaccount", "sa1"]),
    ("deployment", ["create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=80"]),
    ("deployment-zero", ["create", "deployment", "zero", "--image=nginx", "--replicas=0"]),
    ("deployment-command", ["create", "deployment", "cmd", "--image=busybox", "--", "sleep", "100"]),
    ("service-clusterip", ["create", "service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:https"]),
    ("service-headless", ["create", "service", "clusterip", "headless", "--clusterip=None"]),
    ("service-nodeport", ["create", "service", "nodeport", "svc2", "--tcp=80:8080", "--node-port=30080"]),
    ("service-loadbalancer", ["create", "service", "loadbalancer", "svc3", "--tcp=80:8080"]),
    ("service-externalname", ["create", "service", "externalname", "svc4", "--external-name=example.com"]),
    ("job", ["create", "job", "job1", "--image=busybox", "--", "echo", "hi"]),
    ("cronjob", ["create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *", "--restart=Never",
                 "--", "echo", "hi"]),
    ("job-from-cronjob", ["create", "job", "job2", "--from=cronjob/cj1"]),
    ("ingress", ["create", "ingress", "ing1", "--class=nginx", "--rule=foo.com/bar=svc1:80",
                 "--rule=tls.com/*=svc1:http,tls=tls1", "--default-backend=svc1:80", "--annotation=a=b"]),
    ("role", ["create", "role", "r1", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=x"]),
    ("rolebinding", ["create", "rolebinding", "rb1", "--role=r1", "--user=alice", "--serviceaccount=default:sa1",
                     "--group=g"]),
    ("clusterrole", ["create", "clusterrole", "cr1", "--verb=get", "--resource=nodes", "--non-resource-url=/logs"]),
    ("clusterrole-aggregate", ["create", "clusterrole", "agg",
                               "--aggregation-rule=rbac.example.com/aggregate-to-monitoring=true"]),
    ("clusterrolebinding", ["create", "clusterrolebinding", "crb1", "--clusterrole=cr1", "--group=devs"]),
    ("poddisruptionbudget", ["create", "poddisruptionbudget", "pdb1", "--selector=app=web", "--min-available=1"]),
    ("priorityclass", ["create", "priorityclass", "hi", "--value=1000", "--description=high"]),
    ("quota", ["create", "quota", "q1", "--hard=cpu=1,pods=2"]),
]

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster: {server: "http://127.0.0.1:%d"}
  name: a
contexts:
- context: {cluster: a, user: u}
  name: a
current-context: a
users:
- name: u
  user: {}
"""


def wait_file(path, proc):
    deadline = time.time() + 10
    while time.time() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read())
        if proc.poll() is not None:
            sys.exit("%s exited" % proc.args[0])
        time.sleep(0.05)
    sys.exit("timed out waiting for " + path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kdir = os.path.dirname(os.path.realpath(shutil.which("kubectl") or "/usr/bin/kubectl"))
    ap.add_argument("--kubectl", default=os.path.join(kdir, "kubectl.1.33"))
    ap.add_argument("--out", default=os.path.join(REPO, "tests/data/protobuf"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    procs = []
    try:
        os.makedirs(os.path.join(tmp, "hub"))
        hub = subprocess.Popen([os.path.join(REPO, "build/bin/atoll-hub"), "serve", "--data-dir", tmp + "/hub",
                                "--port-file", tmp + "/hub/port", "--insecure-listen", "127.0.0.1:0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(hub)
        hport = wait_file(tmp + "/hub/port", hub)
        proxy = subprocess.Popen([sys.executable, os.path.join(REPO, "tests/tools/capture_proxy.py"),
                                  "--upstream", "http://127.0.0.1:%d" % hport, "--out", tmp + "/bodies",
                                  "--port-file", tmp + "/pport"])
        procs.append(proxy)
        pport = wait_file(tmp + "/pport", proxy)
        with open(tmp + "/kc", "w") as f:
            f.write(KUBECONFIG % pport)
        env = dict(os.environ, KUBECONFIG=tmp + "/kc", HOME=tmp)
        os.makedirs(a.out, exist_ok=True)
        for name, args in COMMANDS:
            dry = subprocess.run([a.kubectl, args[0], "--dry-run=client", "-o", "json"] + args[1:], env=env,
                                 capture_output=True, text=True)
            if dry.returncode != 0 or not dry.stdout.strip():
                sys.exit("%s: %s%s" % (name, dry.stdout, dry.stderr))
            before = set(glob.glob(tmp + "/bodies/*.pb"))
            subprocess.run([a.kubectl] + args, env=env, capture_output=True, text=True)
            new = sorted(set(glob.glob(tmp + "/bodies/*.pb")) - before)
            if len(new) != 1:
                sys.exit("%s: expected one protobuf body, got %d" % (name, len(new)))
            shutil.copy(new[0], os.path.join(a.out, name + ".pb"))
            with open(os.path.join(a.out, name + ".json"), "w") as f:
                try:
                    obj = json.loads(dry.stdout)
                except ValueError:
                    sys.exit("%s: not JSON: %r" % (name, dry.stdout[:300]))
                json.dump(obj, f, indent=1, sort_keys=True)
                f.write("\n")
            print(name)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
