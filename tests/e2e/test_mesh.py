"""Issue 13, the seed's step 9: one Mesh object wires three simulated members
(ap, us, eu; one atoll-sim, an agent each) into an Istio multi-primary,
multi-network mesh. Checked in the members themselves:
- every cacerts' cert-chain.pem verifies against root-cert.pem with openssl;
  each intermediate is a CA (critical basicConstraints, pathlen 0, keyCertSign)
  and differs from the others; istio-system carries the network label; the
  east-west gateway and the values ConfigMap are there; `atoll-hub mesh values`;
- a cluster removed from the Mesh loses its cacerts;
- renewal: with a short lifetime, a new intermediate reaches the member before
  the old one expires;
- hostile input: unknown clusters, two meshes claiming one cluster, a network
  that is not a label value; nothing half-applied;
- no private key in the hub's status, events or any process's log."""
import base64
import calendar
import json
import os
import subprocess
import time

import pytest

import conftest
from conftest import BIN, LOOKUP_ERRORS, Hub, cluster_ready_status, make_kubectl, stop_process
from conftest import read_stripped as _read

KUBECTL_VERSION = "1.32"
MEMBERS = {"ap": "asia", "us": "america", "eu": "europe"}
MESH_API = "/apis/mesh.atoll.io/v1alpha1/meshes"
CLUSTER_API = "/apis/cluster.karmada.io/v1alpha1/clusters"
CACERTS = "/api/v1/namespaces/istio-system/secrets/cacerts"


def wait_for(what, fn, timeout=15.0, interval=0.05):
    """conftest.wait_for with this file's default timeout, a missing field counting as "not yet"."""
    return conftest.wait_for(what, fn, timeout=timeout, interval=interval, ignore=LOOKUP_ERRORS)


class Fleet:
    def __init__(self, tmp):
        self.tmp = tmp
        self.hub = Hub(os.path.join(tmp, "hub"))
        os.makedirs(self.hub.data_dir, exist_ok=True)
        self.sim = None
        self.agents = {}
        self.logs = []
        self.ports = {}
        self.sim_extra = []  # more atoll-sim options (test_mcs_hub: --zone)

    def start(self):
        self.hub.start()
        simdir = os.path.join(self.tmp, "sim")
        os.makedirs(simdir, exist_ok=True)
        pf = os.path.join(simdir, "ports")
        log = open(os.path.join(simdir, "sim.log"), "ab")
        self.logs.append(log)
        args = [os.path.join(BIN, "atoll-sim"), "--kubeconfig-dir", simdir, "--port-file", pf,
                "--nodes", "1", "--ready-delay", "100ms", "--no-events"]
        for m in MEMBERS:
            args += ["--cluster", "%s=127.0.0.1:0" % m]
        args += self.sim_extra
        self.sim = subprocess.Popen(args, stdout=log, stderr=log)
        txt = wait_for("atoll-sim to listen", lambda: (_read(pf) or "").count("\n") >= len(MEMBERS) - 1 and _read(pf))
        for line in txt.splitlines():
            name, port = line.split()
            self.ports[name] = int(port)
        for m, region in MEMBERS.items():
            kc = os.path.join(simdir, m + ".kubeconfig")
            wait_for("kubeconfig of " + m, lambda kc=kc: _read(kc))
            adir = os.path.join(self.tmp, "agent-" + m)
            os.makedirs(adir, exist_ok=True)
            alog = open(os.path.join(adir, "agent.log"), "ab")
            self.logs.append(alog)
            self.agents[m] = (subprocess.Popen(
                [os.path.join(BIN, "atoll-agent"), "--hub", self.hub.url, "--cluster-name", m, "--kubeconfig", kc,
                 "--region", region, "--state-dir", os.path.join(adir, "state"), "--heartbeat-interval", "1s",
                 "--poll-timeout", "5s"], stdout=alog, stderr=alog), alog)
        for m in MEMBERS:
            wait_for(m + " Ready", lambda m=m: self.ready(m) == "True")
        return self

    def ready(self, name):
        return cluster_ready_status(self.hub, name)

    def stop(self):
        rcs = [stop_process(p, log) for p, log in self.agents.values()]
        rcs.append(stop_process(self.sim, self.logs[0]))
        rcs.append(self.hub.stop())
        return rcs

    def mget(self, name, path):
        import urllib.request
        import urllib.error
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.ports[name], path), timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError:
            return None

    def mpost(self, name, path, body):
        import urllib.request
        import urllib.error
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.ports[name], path),
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def all_logs(self):
        out = []
        for p in [os.path.join(self.tmp, "agent-%s" % m, "agent.log") for m in MEMBERS] + \
                 [os.path.join(self.tmp, "sim", "sim.log"), os.path.join(self.hub.data_dir, "hub.log")]:
            try:
                with open(p, errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "\n".join(out)


def run_fleet(tmp_path_factory, name, sim_extra=()):
    """Body of a module-scoped fleet fixture (`yield from run_fleet(...)`): a
    started Fleet in a fresh directory; its logs printed if it fails; every
    process must stop cleanly."""
    f = Fleet(str(tmp_path_factory.mktemp(name)))
    f.sim_extra = list(sim_extra)
    try:
        f.start()
        yield f
    except Exception:
        print(f.all_logs()[-6000:])
        raise
    finally:
        rcs = f.stop()
    assert all(rc == 0 for rc in rcs), "a process did not stop cleanly: %r" % (rcs,)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    yield from run_fleet(tmp_path_factory, "mesh")


@pytest.fixture
def k(fleet, tmp_path):
    return make_kubectl(fleet.hub, tmp_path, KUBECTL_VERSION)


def apply(k, text, check=True):
    return k("apply", "-f", "-", input=text, check=check)


def cond(obj, typ="Ready"):
    for c in (obj or {}).get("status", {}).get("conditions", []):
        if c.get("type") == typ:
            return c
    return {}


def mesh(fleet, name):
    code, m, _ = fleet.hub.get(MESH_API + "/" + name)
    return m if code == 200 else None


def cacerts(fleet, member):
    s = fleet.mget(member, CACERTS)
    return {k: base64.b64decode(v).decode() for k, v in s["data"].items()} if s else None


def openssl(*args, input=None):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, input=input)


def delete_mesh(fleet, k, name):
    k("delete", "mesh", name, "--ignore-not-found")
    wait_for("mesh %s gone" % name, lambda: mesh(fleet, name) is None)


MESH1 = """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata:
  name: mesh1
spec:
  meshID: mesh1
  clusters:
    names: [ap, us, eu]
  networks:
    ap: network1
    us: network2
    eu: network3
  istioVersion: "1.14.1"
"""


def test_mesh_wires_three_members(fleet, k, tmp_path):
    apply(k, MESH1)
    m = wait_for("mesh1 Ready", lambda: cond(mesh(fleet, "mesh1")).get("status") == "True" and mesh(fleet, "mesh1"))
    nets = {c["name"]: c["network"] for c in m["status"]["clusters"]}
    assert nets == {"ap": "network1", "us": "network2", "eu": "network3"}
    roots, inters, keys = set(), set(), []
    for member, net in nets.items():
        cc = wait_for("cacerts in " + member, lambda member=member: cacerts(fleet, member))
        assert set(cc) == {"ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"}
        assert cc["cert-chain.pem"] == cc["ca-cert.pem"] + cc["root-cert.pem"]  # intermediate then root
        d = tmp_path / member
        d.mkdir()
        for name, pem in cc.items():
            (d / name).write_text(pem)
        r = openssl("verify", "-CAfile", str(d / "root-cert.pem"), str(d / "cert-chain.pem"))
        assert r.returncode == 0 and ": OK" in r.stdout, r.stdout + r.stderr
        text = openssl("x509", "-noout", "-text", "-in", str(d / "ca-cert.pem")).stdout
        assert "X509v3 Basic Constraints: critical" in text and "CA:TRUE, pathlen:0" in text, text
        assert "X509v3 Key Usage: critical" in text and "Certificate Sign" in text, text
        assert "DNS:istiod.istio-system.svc" in text and "L = %s" % member in text, text
        rtext = openssl("x509", "-noout", "-text", "-in", str(d / "root-cert.pem")).stdout
        assert "CA:TRUE" in rtext and "pathlen" not in rtext and "CN = Root CA" in rtext
        # The key in the Secret is the intermediate's.
        pub_c = openssl("x509", "-noout", "-pubkey", "-in", str(d / "ca-cert.pem")).stdout
        pub_k = openssl("pkey", "-pubout", "-in", str(d / "ca-key.pem")).stdout
        assert pub_c and pub_c == pub_k
        keys.append(cc["ca-key.pem"])
        roots.add(cc["root-cert.pem"])
        inters.add(cc["ca-cert.pem"])
        ns = fleet.mget(member, "/api/v1/namespaces/istio-system")
        assert ns["metadata"]["labels"]["topology.istio.io/network"] == net
        cm = wait_for("values in " + member, lambda member=member: fleet.mget(
            member, "/api/v1/namespaces/istio-system/configmaps/atoll-mesh-values"))
        assert "  meshID: mesh1\n  multiCluster:\n    clusterName: %s\n  network: %s\n" % (member, net) \
            in cm["data"]["values.yaml"]
        svc = wait_for("east-west gateway in " + member, lambda member=member: fleet.mget(
            member, "/api/v1/namespaces/istio-system/services/istio-eastwestgateway"))
        assert sorted(p["port"] for p in svc["spec"]["ports"]) == [15012, 15017, 15021, 15443]
        assert svc["metadata"]["labels"]["topology.istio.io/network"] == net
        dep = fleet.mget(member, "/apis/apps/v1/namespaces/istio-system/deployments/istio-eastwestgateway")
        env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["ISTIO_META_REQUESTED_NETWORK_VIEW"] == net
        code, gw, _ = fleet.hub.get("/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works/"
                                    "atoll-mesh-gateway" % member)
        g = gw["spec"]["workload"]["manifests"][0]
        assert code == 200 and g["kind"] == "Gateway" and g["metadata"]["name"] == "cross-network-gateway"
        assert g["spec"]["servers"][0]["tls"]["mode"] == "AUTO_PASSTHROUGH"
    assert len(roots) == 1 and len(inters) == 3

    # The Gateway waits for Istio's CRDs (istio-base); once ap serves them it applies.
    assert not [c for c in mesh(fleet, "mesh1")["status"]["clusters"] if c["gatewayApplied"]]
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gateways.networking.istio.io"},
           "spec": {"group": "networking.istio.io", "scope": "Namespaced",
                    "names": {"plural": "gateways", "singular": "gateway", "kind": "Gateway", "shortNames": ["gw"]},
                    "versions": [{"name": "v1alpha3", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}
    assert fleet.mpost("ap", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd) == 201
    wait_for("the Gateway applied in ap", lambda: [c for c in mesh(fleet, "mesh1")["status"]["clusters"]
                                                   if c["name"] == "ap" and c["gatewayApplied"]], timeout=20)
    g = fleet.mget("ap", "/apis/networking.istio.io/v1alpha3/namespaces/istio-system/gateways/cross-network-gateway")
    assert g["spec"]["servers"][0]["port"]["number"] == 15443

    # Helm values, from the CLI, as from the ConfigMap.
    out = subprocess.run([os.path.join(BIN, "atoll-hub"), "mesh", "values", "--mesh", "mesh1", "--cluster", "ap",
                          "--kubeconfig", fleet.hub.kubeconfig], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "global:\n  meshID: mesh1\n  multiCluster:\n    clusterName: ap\n  network: network1\n" in out.stdout
    bad = subprocess.run([os.path.join(BIN, "atoll-hub"), "mesh", "values", "--mesh", "mesh1", "--cluster", "xx",
                          "--kubeconfig", fleet.hub.kubeconfig], capture_output=True, text=True)
    assert bad.returncode == 1 and "not (yet) in mesh" in bad.stderr

    table = k("get", "meshes").stdout
    assert table.split("\n")[0].split()[:4] == ["NAME", "MESH-ID", "CLUSTERS", "READY"]
    assert table.split("\n")[1].split()[:4] == ["mesh1", "mesh1", "3", "True"]

    # (Positive control for assert_no_private_key: the needles do find the key where it is.)
    work = json.dumps(fleet.hub.get("/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-ap/works/atoll-mesh")[1])
    needles = key_needles([cacerts(fleet, "ap")["ca-key.pem"]])
    assert needles[1] in work and needles[3] in work  # the Secret's base64: header, and this key

    # eu leaves: its cacerts goes; the others keep theirs, unchanged.
    ap_before = cacerts(fleet, "ap")["ca-cert.pem"]
    k("patch", "mesh", "mesh1", "--type=merge", "-p", '{"spec":{"clusters":{"names":["ap","us"]},'
      '"networks":{"ap":"network1","us":"network2","eu":null}}}')
    wait_for("eu's cacerts removed", lambda: cacerts(fleet, "eu") is None)
    assert cacerts(fleet, "ap")["ca-cert.pem"] == ap_before
    wait_for("two clusters", lambda: len(mesh(fleet, "mesh1")["status"]["clusters"]) == 2)
    # eu's intermediate key leaves the hub too; ap's stays.
    pki = "/api/v1/namespaces/karmada-system/secrets/atoll-mesh-mesh1-ca"
    wait_for("eu's key gone from the hub", lambda: fleet.hub.get(pki + "-eu")[0] == 404)
    assert fleet.hub.get(pki + "-ap")[0] == 200 and fleet.hub.get(pki)[0] == 200
    delete_mesh(fleet, k, "mesh1")
    wait_for("every cacerts removed", lambda: all(cacerts(fleet, x) is None for x in MEMBERS))
    wait_for("the mesh's keys gone from the hub", lambda: fleet.hub.get(pki)[0] == 404 and
             fleet.hub.get(pki + "-ap")[0] == 404)
    assert_no_private_key(fleet, keys)


def test_mesh_renewal_reaches_member_before_expiry(fleet, k):
    apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata:
  name: short
spec:
  clusters:
    labelSelector:
      matchLabels: {}
  certificates:
    intermediateLifetimeSeconds: 6
""")
    first = wait_for("cacerts in ap", lambda: cacerts(fleet, "ap"))
    m = mesh(fleet, "short")
    # Default network: the Cluster's region.
    assert {c["name"]: c["network"] for c in m["status"]["clusters"]} == \
        {"ap": "asia", "us": "america", "eu": "europe"}
    # The namespace's own Work may land after the Secret's (whose apply
    # creates the namespace bare), and in eu after ap.
    wait_for("the network label on istio-system in eu",
             lambda: fleet.mget("eu", "/api/v1/namespaces/istio-system")["metadata"]["labels"]
             ["topology.istio.io/network"] == "europe")
    end = openssl("x509", "-noout", "-enddate", input=first["ca-cert.pem"]).stdout.strip().split("=", 1)[1]
    expiry = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y %Z"))
    renewed = wait_for("a renewed intermediate in ap",
                       lambda: (cacerts(fleet, "ap") or {}).get("ca-cert.pem", first["ca-cert.pem"])
                       != first["ca-cert.pem"] and cacerts(fleet, "ap"), timeout=10)
    assert time.time() < expiry, "the new intermediate arrived after the old one expired"
    assert renewed["root-cert.pem"] == first["root-cert.pem"]
    # Renewed at 2/3 of the lifetime (4 s), not over and over.
    deadline = time.time() + 1.0
    while time.time() < deadline:
        assert cacerts(fleet, "ap")["ca-cert.pem"] == renewed["ca-cert.pem"]
        time.sleep(0.1)
    assert renewed["cert-chain.pem"] == renewed["ca-cert.pem"] + renewed["root-cert.pem"]
    delete_mesh(fleet, k, "short")
    wait_for("every cacerts removed", lambda: all(cacerts(fleet, x) is None for x in MEMBERS))


def test_mesh_hostile_input(fleet, k):
    # A network that is not a label value: 422, nothing stored.
    r = apply(k, MESH1.replace("network2", "not a label!"), check=False)
    assert r.returncode != 0 and "spec.networks.us" in r.stderr and "Invalid value" in r.stderr, r.stderr
    assert mesh(fleet, "mesh1") is None
    r = apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata: {name: both}
spec:
  clusters:
    names: [ap]
    labelSelector: {matchLabels: {a: b}}
  certificates: {rootLifetimeSeconds: 100, intermediateLifetimeSeconds: 1000}
""", check=False)
    assert r.returncode != 0 and "mutually exclusive" in r.stderr and "must not exceed" in r.stderr, r.stderr

    # A default network (the Cluster's region) that is not a label value: a condition.
    code, body, _ = fleet.hub.request("POST", CLUSTER_API, {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "odd"},
        "spec": {"syncMode": "Pull", "region": "far away!"}})
    assert code == 201, body
    apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata: {name: oddmesh}
spec:
  clusters: {names: [odd]}
""")
    c = wait_for("InvalidNetwork", lambda: cond(mesh(fleet, "oddmesh")).get("reason") == "InvalidNetwork"
                 and cond(mesh(fleet, "oddmesh")))
    assert c["status"] == "False" and "odd" in c["message"]
    assert fleet.hub.get("/api/v1/namespaces/karmada-system/secrets/atoll-mesh-oddmesh-ca")[0] == 404
    delete_mesh(fleet, k, "oddmesh")
    assert fleet.hub.request("DELETE", CLUSTER_API + "/odd")[0] == 200

    # Unknown clusters: a condition, and nothing applied anywhere.
    apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata: {name: ghost}
spec:
  clusters: {names: [ap, nowhere]}
""")
    c = wait_for("UnknownClusters", lambda: cond(mesh(fleet, "ghost")).get("reason") == "UnknownClusters"
                 and cond(mesh(fleet, "ghost")))
    assert c["status"] == "False" and "nowhere" in c["message"]
    # ghost is not applied but still claims ap (the one it names that exists);
    # second takes us and eu; a newer mesh claiming eu conflicts.
    apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata: {name: second}
spec:
  clusters: {names: [us, eu]}
""")
    wait_for("second Ready", lambda: cond(mesh(fleet, "second")).get("status") == "True")
    apply(k, """
apiVersion: mesh.atoll.io/v1alpha1
kind: Mesh
metadata: {name: third}
spec:
  clusters: {names: [eu]}
""")
    c = wait_for("third conflicts", lambda: cond(mesh(fleet, "third")).get("reason") == "ClusterConflict"
                 and cond(mesh(fleet, "third")))
    assert "eu (in mesh second)" in c["message"]
    time.sleep(0.3)
    assert cacerts(fleet, "ap") is None  # ghost: nothing half-applied
    assert fleet.hub.get("/api/v1/namespaces/karmada-system/secrets/atoll-mesh-ghost-ca")[0] == 404
    assert fleet.hub.get("/api/v1/namespaces/karmada-system/secrets/atoll-mesh-third-ca")[0] == 404
    works = fleet.hub.get("/apis/work.karmada.io/v1alpha1/works")[1]["items"]
    assert not [w for w in works if (w["metadata"].get("labels") or {}).get("mesh.atoll.io/mesh") in ("ghost", "third")]
    # The conflict ends when the older mesh goes: third takes eu.
    for n in ("second", "ghost"):
        delete_mesh(fleet, k, n)
    wait_for("third Ready", lambda: cond(mesh(fleet, "third")).get("status") == "True", timeout=20)
    wait_for("us's cacerts removed", lambda: cacerts(fleet, "us") is None)
    assert cacerts(fleet, "eu") is not None
    delete_mesh(fleet, k, "third")
    wait_for("every cacerts removed", lambda: all(cacerts(fleet, x) is None for x in MEMBERS))
    assert_no_private_key(fleet)


def key_needles(keys=()):
    needles = ["PRIVATE KEY", base64.b64encode(b"-----BEGIN EC PRIVATE KEY-----").decode()[:32]]
    for k in keys:
        body = "".join(k.strip().splitlines()[1:-1])
        needles += [body[8:48], base64.b64encode(k.encode()).decode()[40:80]]
    return needles


def assert_no_private_key(fleet, keys=()):
    """No key, as PEM or as the base64 a Secret holds, in the Meshes, Events,
    the hub's /status document or any process's log."""
    needles = key_needles(keys)
    texts = {"logs": fleet.all_logs()}
    for path in (MESH_API, "/api/v1/events", "/status"):
        code, body, _ = fleet.hub.get(path)
        assert code == 200, path
        texts[path] = body if isinstance(body, str) else json.dumps(body)
    for where, text in texts.items():
        for n in needles:
            assert n not in text, (where, n)
