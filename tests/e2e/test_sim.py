"""atoll-sim, the member-cluster simulator, driven by real kubectl: pods from
Deployments, rolling updates, status as a deployment controller keeps it,
nodes, server-side apply, several clusters in one process, shutdown."""
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, SEED, Kubectl, stop_process, wait_for as poll

SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
POD_RE = re.compile(r"^hello-(%s{1,10})-%s{5}$" % (SAFE, SAFE))


class Sim:
    """One atoll-sim process on loopback; stopped by the fixture."""

    def __init__(self, workdir, args, multi=False):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port_file = os.path.join(self.workdir, "ports")
        self.log_path = os.path.join(self.workdir, "sim.log")
        self.args = list(args)
        self.multi = multi
        self.proc = None
        self.ports = {}

    def start(self, timeout=10, env=None):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "atoll-sim"), "--port-file", self.port_file] + self.args,
                                     stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("atoll-sim exited: " + self.read_log())
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    lines = [l.split() for l in f.read().splitlines() if l.strip()]
                if lines:
                    if self.multi:
                        self.ports = {l[0]: int(l[1]) for l in lines}
                    else:
                        self.ports = {"": int(lines[0][0])}
                    return self
            time.sleep(0.02)
        raise RuntimeError("atoll-sim did not start: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        return stop_process(self.proc, self.log)


class Target:
    """What conftest.Kubectl needs: a kubeconfig and a log to show."""

    def __init__(self, sim, kubeconfig):
        self.sim = sim
        self.kubeconfig = kubeconfig

    def read_log(self):
        return self.sim.read_log()


def http_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.status, r.read().decode()


def wait_for(fn, timeout=15, interval=0.1, what="condition"):
    return poll(what, fn, timeout, interval)


@pytest.fixture
def sim(tmp_path):
    kc = str(tmp_path / "eu.kubeconfig")
    s = Sim(tmp_path / "sim", ["--name", "eu", "--insecure-listen", "127.0.0.1:0", "--kubeconfig-out", kc,
                               "--nodes", "3", "--ready-delay", "200ms", "--region", "eu-west",
                               "--zone", "eu-west-1a,eu-west-1b"])
    s.start()
    s.kubeconfig = kc
    yield s
    assert s.stop() == 0, "atoll-sim did not shut down cleanly: " + s.read_log()


@pytest.fixture
def kubectl(sim, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(Target(sim, sim.kubeconfig), None, str(home))


def pods(kubectl, selector="app=hello"):
    return json.loads(kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]


def running_pods(kubectl, n, hash_=None):
    """The `kubectl get pods` rows once exactly n hello pods are 1/1 Running
    (all with hash_ when given), else None."""
    rows = [re.split(r"\s+", l) for l in kubectl("get", "pods").stdout.strip().splitlines()[1:]]
    rows = [r for r in rows if r and r[0].startswith("hello-")]
    if len(rows) != n or any(r[1] != "1/1" or r[2] != "Running" for r in rows):
        return None
    if hash_ and any(POD_RE.match(r[0]).group(1) != hash_ for r in rows):
        return None
    return rows


def deploy_row(kubectl):
    lines = kubectl("get", "deploy", "hello").stdout.strip().splitlines()
    return re.split(r"\s+", lines[1])


def rolled_out(kubectl):
    """kubectl rollout status's test (polled here: a watch that the client
    closes trips a leak in the shared API server's watch code under ASan)."""
    d = json.loads(kubectl("get", "deploy", "hello", "-o", "json").stdout)
    st, want = d["status"], d["spec"]["replicas"]
    return (st.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and st.get("updatedReplicas", 0) == want and st.get("replicas", 0) == want
            and st.get("availableReplicas", 0) == want)


def test_deployment_pods_scale_roll_delete(sim, kubectl):
    out = kubectl("apply", "-f", os.path.join(SEED, "deployment.yaml")).stdout
    assert "deployment.apps/hello created" in out

    rows = wait_for(lambda: running_pods(kubectl, 3), what="3 running pods")
    hashes = set()
    for r in rows:
        m = POD_RE.match(r[0])
        assert m, r[0]
        hashes.add(m.group(1))
    assert len(hashes) == 1
    first_hash = hashes.pop()
    wait_for(lambda: deploy_row(kubectl)[1:4] == ["3/3", "3", "3"], what="hello 3/3")

    # The pods look like a controller's: labels, owner, node, status.
    nodes = set()
    for p in pods(kubectl):
        assert p["metadata"]["labels"] == {"app": "hello", "pod-template-hash": first_hash}
        ref = p["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "ReplicaSet" and ref["name"] == "hello-" + first_hash and ref["controller"] is True
        assert p["status"]["phase"] == "Running"
        assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"
        assert p["status"]["containerStatuses"][0]["ready"] is True
        assert p["spec"]["containers"][0]["image"] == "stefanprodan/podinfo"
        nodes.add(p["spec"]["nodeName"])
    assert nodes == {"eu-node-0", "eu-node-1", "eu-node-2"}  # spread over the nodes

    rs = json.loads(kubectl("get", "rs", "hello-" + first_hash, "-o", "json").stdout)
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == first_hash
    assert rs["status"]["readyReplicas"] == 3

    dep = json.loads(kubectl("get", "deploy", "hello", "-o", "json").stdout)
    st = dep["status"]
    assert st["observedGeneration"] == dep["metadata"]["generation"] == 1
    for f in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
        assert st[f] == 3, f
    assert "unavailableReplicas" not in st
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Available"]["status"] == "True" and conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    # Events as the deployment controller, scheduler and kubelet record them.
    d = kubectl("describe", "deployment", "hello").stdout
    assert "Scaled up replica set hello-%s to 3" % first_hash in d
    ev = kubectl("get", "events").stdout
    assert "Started container hello" in ev and "Created pod: hello-%s-" % first_hash in ev
    assert "Successfully assigned default/hello-%s-" % first_hash in ev

    # Scale to 5.
    kubectl("scale", "deployment/hello", "--replicas=5")
    wait_for(lambda: running_pods(kubectl, 5, first_hash), what="5 running pods")
    wait_for(lambda: deploy_row(kubectl)[1:4] == ["5/5", "5", "5"], what="hello 5/5")

    # A new image rolls the pods onto a new ReplicaSet.
    kubectl("set", "image", "deployment/hello", "hello=stefanprodan/podinfo:6.5.0")
    wait_for(lambda: rolled_out(kubectl), what="rolled out")
    rows = wait_for(lambda: running_pods(kubectl, 5), what="5 pods after the roll")
    new_hashes = {POD_RE.match(r[0]).group(1) for r in rows}
    assert len(new_hashes) == 1 and first_hash not in new_hashes
    for p in pods(kubectl):
        assert p["spec"]["containers"][0]["image"] == "stefanprodan/podinfo:6.5.0"
    dep = json.loads(kubectl("get", "deploy", "hello", "-o", "json").stdout)
    assert dep["status"]["observedGeneration"] == dep["metadata"]["generation"]
    assert dep["status"]["updatedReplicas"] == 5
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    d = kubectl("describe", "deployment", "hello").stdout
    assert "NewReplicaSet:   hello-%s (5/5 replicas created)" % new_hashes.pop() in d
    assert "hello-%s (0/0 replicas created)" % first_hash in d

    # Deleting the Deployment deletes its ReplicaSets and pods.
    kubectl("delete", "-f", os.path.join(SEED, "deployment.yaml"))
    wait_for(lambda: not pods(kubectl), what="pods gone")
    assert json.loads(kubectl("get", "rs", "-o", "json").stdout)["items"] == []


def test_nodes(sim, kubectl):
    out = kubectl("get", "nodes").stdout.strip().splitlines()
    assert re.split(r"\s+", out[0])[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = [re.split(r"\s+", l) for l in out[1:]]
    assert [r[0] for r in rows] == ["eu-node-0", "eu-node-1", "eu-node-2"]
    assert all(r[1] == "Ready" and r[4] == "v1.23.8" for r in rows)
    items = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    n = items[0]
    assert n["status"]["allocatable"]["cpu"] == "4"
    assert n["status"]["capacity"]["memory"] == "16Gi"
    assert n["status"]["capacity"]["pods"] == "110"
    assert n["status"]["nodeInfo"]["kubeletVersion"] == "v1.23.8"
    assert n["metadata"]["labels"]["kubernetes.io/hostname"] == "eu-node-0"
    assert n["metadata"]["labels"]["topology.kubernetes.io/region"] == "eu-west"
    assert [i["metadata"]["labels"]["topology.kubernetes.io/zone"] for i in items] == [
        "eu-west-1a", "eu-west-1b", "eu-west-1a"]


def test_server_side_apply_and_health(sim, kubectl):
    out = kubectl("apply", "--server-side", "--field-manager=atoll-agent", "-f",
                  os.path.join(SEED, "deployment.yaml")).stdout
    assert "deployment.apps/hello serverside-applied" in out
    wait_for(lambda: running_pods(kubectl, 3), what="3 running pods")
    wait_for(lambda: deploy_row(kubectl)[1:4] == ["3/3", "3", "3"], what="hello 3/3")
    # Re-applying the same manifest changes nothing and keeps the pods.
    before = sorted(p["metadata"]["name"] for p in pods(kubectl))
    kubectl("apply", "--server-side", "--field-manager=atoll-agent", "-f", os.path.join(SEED, "deployment.yaml"))
    time.sleep(0.3)
    assert sorted(p["metadata"]["name"] for p in pods(kubectl)) == before
    svc = json.loads(kubectl("get", "svc", "hello", "-o", "json").stdout)
    assert re.match(r"^10\.96\.\d+\.\d+$", svc["spec"]["clusterIP"])

    # The kubeconfig written by --kubeconfig-out, given on kubectl's command line.
    p = subprocess.run(["kubectl", "get", "pods", "--kubeconfig=" + sim.kubeconfig], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, HOME=kubectl.home, KUBECONFIG="/nonexistent"))
    assert p.returncode == 0, p.stderr
    assert sum(1 for l in p.stdout.splitlines() if POD_RE.match(l.split()[0])) == 3

    port = sim.ports[""]
    assert http_get(port, "/readyz") == (200, "ok")
    assert http_get(port, "/healthz") == (200, "ok")
    code, body = http_get(port, "/version")
    v = json.loads(body)
    assert code == 200 and v["minor"] == "23" and v["gitVersion"] == "v1.23.8"
    ns = json.loads(kubectl("get", "ns", "-o", "json").stdout)["items"]
    assert {"default", "kube-system"} <= {n["metadata"]["name"] for n in ns}


def test_multi_cluster_one_process(tmp_path):
    kdir = tmp_path / "kc"
    kdir.mkdir()
    s = Sim(tmp_path / "sim", ["--cluster", "eu=127.0.0.1:0,region=eu-west",
                               "--cluster", "ap=127.0.0.1:0,region=ap-south,nodes=2",
                               "--cluster", "us=127.0.0.1:0,region=us-west",
                               "--kubeconfig-dir", str(kdir), "--ready-delay", "100ms"], multi=True)
    s.start()
    try:
        assert set(s.ports) == {"eu", "ap", "us"}
        assert len(set(s.ports.values())) == 3
        home = tmp_path / "home"
        home.mkdir()
        kc = {n: Kubectl(Target(s, str(kdir / (n + ".kubeconfig"))), None, str(home)) for n in s.ports}
        for name, region in (("eu", "eu-west"), ("ap", "ap-south"), ("us", "us-west")):
            with open(kdir / (name + ".kubeconfig")) as f:
                text = f.read()
            assert "http://127.0.0.1:%d" % s.ports[name] in text
            assert 'current-context: "%s"' % name in text
            items = json.loads(kc[name]("get", "nodes", "-o", "json").stdout)["items"]
            assert [i["metadata"]["name"] for i in items] == [
                "%s-node-%d" % (name, i) for i in range(2 if name == "ap" else 3)]
            assert items[0]["metadata"]["labels"]["topology.kubernetes.io/region"] == region
        kc["ap"]("apply", "-f", os.path.join(SEED, "deployment.yaml"))
        wait_for(lambda: running_pods(kc["ap"], 3), what="3 pods in ap")
        assert pods(kc["eu"]) == [] and pods(kc["us"]) == []
        # Each member serves what a plain API server would: no Karmada
        # groups, and a CRD applied to one member is served by that member only.
        res = kc["eu"]("api-resources", "-o", "name").stdout.split()
        assert "deployments.apps" in res
        assert not [r for r in res if r.endswith("karmada.io")], res
        crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
               "metadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n"
               "  names: {plural: widgets, singular: widget, kind: Widget}\n"
               "  versions: [{name: v1, served: true, storage: true}]\n")
        kc["eu"]("apply", "-f", "-", input=crd)
        wait_for(lambda: kc["eu"]("get", "widgets", check=False).returncode == 0, what="widgets served in eu")
        r = kc["us"]("get", "widgets", check=False)
        assert r.returncode != 0 and "the server doesn't have a resource type" in r.stderr, r.stderr
        r = kc["us"]("get", "propagationpolicies", check=False)
        assert r.returncode != 0 and "the server doesn't have a resource type" in r.stderr, r.stderr
    finally:
        assert s.stop() == 0, s.read_log()


def test_temporary_data_dir_removed_and_help(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    s = Sim(tmp_path / "sim", ["--name", "solo", "--insecure-listen", "127.0.0.1:0", "--nodes", "1",
                               "--kubeconfig-out", str(tmp_path / "solo.kubeconfig")])
    s.start(env=dict(os.environ, TMPDIR=str(tmp)))
    assert len(os.listdir(tmp)) == 1  # the store lives in a fresh temporary directory
    assert s.stop() == 0
    assert os.listdir(tmp) == []

    p = subprocess.run([os.path.join(BIN, "atoll-sim"), "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and "--ready-delay" in p.stdout and "--cluster" in p.stdout
    p = subprocess.run([os.path.join(BIN, "atoll-sim"), "--name", "x"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "required" in p.stderr
    p = subprocess.run([os.path.join(BIN, "atoll-sim"), "--name", "x", "--insecure-listen", "127.0.0.1:0",
                        "--ready-delay", "soon"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "--ready-delay" in p.stderr


def test_killed_simulators_temporary_dirs_swept(tmp_path):
    """A simulator killed with SIGKILL cannot remove its temporary store;
    the next one started on the same TMPDIR does, and leaves the store of
    a simulator that is still running (and any directory it did not make)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    foreign = tmp / "atoll-sim-notours"
    foreign.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))

    def solo(name):
        return Sim(tmp_path / name, ["--name", name, "--insecure-listen", "127.0.0.1:0", "--nodes", "1",
                                     "--kubeconfig-out", str(tmp_path / (name + ".kubeconfig"))]).start(env=env)

    killed = solo("killed")
    (killed_dir,) = set(os.listdir(tmp)) - {foreign.name}
    killed.proc.kill()
    killed.proc.wait()
    killed.log.close()
    assert os.path.isdir(tmp / killed_dir)  # nothing removed it

    alive = solo("alive")
    (alive_dir,) = set(os.listdir(tmp)) - {foreign.name}
    assert alive_dir != killed_dir and "removed 1 temporary simulator" in alive.read_log()
    third = solo("third")
    assert alive_dir in os.listdir(tmp) and foreign.is_dir()  # alive's store is kept
    assert len(os.listdir(tmp)) == 3
    assert third.stop() == 0 and alive.stop() == 0
    assert os.listdir(tmp) == [foreign.name]


def test_data_dir_survives_restart(tmp_path):
    data = tmp_path / "data"
    kcpath = str(tmp_path / "eu.kubeconfig")
    args = ["--name", "eu", "--insecure-listen", "127.0.0.1:0", "--kubeconfig-out", kcpath,
            "--data-dir", str(data), "--ready-delay", "100ms"]
    home = tmp_path / "home"
    home.mkdir()
    s = Sim(tmp_path / "sim1", args).start()
    k = Kubectl(Target(s, kcpath), None, str(home))
    k("apply", "-f", os.path.join(SEED, "deployment.yaml"))
    names = sorted(r[0] for r in wait_for(lambda: running_pods(k, 3), what="3 pods"))
    assert s.stop() == 0
    s = Sim(tmp_path / "sim2", args).start()
    try:
        k = Kubectl(Target(s, kcpath), None, str(home))
        assert sorted(r[0] for r in wait_for(lambda: running_pods(k, 3), what="3 pods")) == names
        assert len(json.loads(k("get", "nodes", "-o", "json").stdout)["items"]) == 3
    finally:
        assert s.stop() == 0


STS = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
"""


def test_statefulset(sim, kubectl):
    kubectl("apply", "-f", "-", input=STS)

    def web_pods():
        items = pods(kubectl, "app=web")
        return {p["metadata"]["name"]: p for p in items}

    def ready_names():
        return sorted(n for n, p in web_pods().items()
                      if p["status"].get("phase") == "Running"
                      and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]))

    # Ordered: web-1 never exists before web-0 is ready.
    seen_early = False
    deadline = time.time() + 15
    while time.time() < deadline:
        ps = web_pods()
        if "web-1" in ps and "web-0" not in ready_names():
            seen_early = True
        if ready_names() == ["web-0", "web-1", "web-2"]:
            break
        time.sleep(0.05)
    assert not seen_early
    assert ready_names() == ["web-0", "web-1", "web-2"]
    p = web_pods()["web-1"]
    assert p["spec"]["hostname"] == "web-1" and p["spec"]["subdomain"] == "web"
    assert p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert p["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "www-web-1"
    pvcs = json.loads(kubectl("get", "pvc", "-o", "json").stdout)["items"]
    assert sorted(c["metadata"]["name"] for c in pvcs) == ["www-web-0", "www-web-1", "www-web-2"]
    assert all(c["status"]["phase"] == "Bound" for c in pvcs)
    wait_for(lambda: re.split(r"\s+", kubectl("get", "sts", "web").stdout.splitlines()[1])[1] == "3/3",
             what="web 3/3")

    # A new image rolls every pod, highest ordinal first, to the new revision.
    kubectl("set", "image", "statefulset/web", "nginx=nginx:1.26")

    def updated():
        s = json.loads(kubectl("get", "sts", "web", "-o", "json").stdout)["status"]
        return (s.get("updatedReplicas") == 3 and s.get("readyReplicas") == 3
                and s["currentRevision"] == s["updateRevision"] and s)
    st = wait_for(updated, what="web updated")
    for p in web_pods().values():
        assert p["spec"]["containers"][0]["image"] == "nginx:1.26"
        assert p["metadata"]["labels"]["controller-revision-hash"] == st["updateRevision"]

    kubectl("scale", "statefulset/web", "--replicas=1")
    wait_for(lambda: sorted(web_pods()) == ["web-0"], what="scaled to 1")
    kubectl("delete", "statefulset", "web")
    wait_for(lambda: not web_pods(), what="pods gone")
    # Claims are kept (Retain), as Kubernetes does.
    assert len(json.loads(kubectl("get", "pvc", "-o", "json").stdout)["items"]) == 3


def test_watch_sees_controller_writes(sim, kubectl):
    """Pods the controllers create and start reach watchers like any write
    (the server ends the stream after timeoutSeconds)."""
    import threading
    port = sim.ports[""]
    rv = json.loads(http_get(port, "/api/v1/namespaces/default/pods")[1])["metadata"]["resourceVersion"]
    events = []

    def watch():
        url = "http://127.0.0.1:%d/api/v1/namespaces/default/pods?watch=true&resourceVersion=%s&timeoutSeconds=3" % (
            port, rv)
        with urllib.request.urlopen(url, timeout=10) as r:
            for line in r:
                if line.strip():
                    events.append(json.loads(line))

    t = threading.Thread(target=watch)
    t.start()  # from rv: what happens before the stream opens is replayed
    kubectl("apply", "-f", os.path.join(SEED, "deployment.yaml"))
    t.join(15)
    assert not t.is_alive()
    added = {e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"}
    running = {e["object"]["metadata"]["name"] for e in events
               if e["type"] == "MODIFIED" and e["object"]["status"].get("phase") == "Running"}
    assert len(added) == 3 and all(POD_RE.match(n) for n in added)
    assert running == added
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
