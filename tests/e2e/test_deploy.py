"""deploy/: the Helm chart rendered by deploy/render.py, the plain manifests
it generates, and the systemd units.

- deploy/manifests/ is exactly what the chart renders for its example values;
- those manifests apply with real kubectl to a simulated member (atoll-sim),
  every object is created, and the workloads come up there;
- the containers' commands, taken from the manifests, really run: the hub's
  init and serve (its probes answer), the agent joining with the chart's
  token and CA hash;
- the systemd units pass `systemd-analyze verify` and its offline security
  review, and their command lines really run.
Everything listens on 127.0.0.1 and is stopped at the end."""
import base64
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import urllib.request

import pytest
import yaml

from conftest import BIN, REPO, Hub, Kubectl, stop_process, wait_for as poll

DEPLOY = os.path.join(REPO, "deploy")
RENDER = os.path.join(DEPLOY, "render.py")
MANIFESTS = os.path.join(DEPLOY, "manifests")
UNITS = os.path.join(DEPLOY, "systemd")
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

sys.path.insert(0, DEPLOY)
import render  # noqa: E402  (deploy/render.py)


def run_render(*args, timeout=30):
    return subprocess.run([PYTHON, RENDER] + list(args), capture_output=True, text=True, timeout=timeout)


def docs_of(text):
    return [d for d in yaml.safe_load_all(text) if d]


def rendered(*sets, values="examples/agent-eu.yaml"):
    text = render.render_chart([os.path.join(render.CHART, values)], sets, "atoll", "atoll-system")
    return docs_of(text)


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def container(docs, kind, name, init=False):
    spec = by_kind(docs, kind)[0]["spec"]["template"]["spec"]
    return [c for c in spec["initContainers" if init else "containers"] if c["name"] == name][0]


def wait_for(fn, timeout=15, interval=0.1, what="condition"):
    return poll(what, fn, timeout, interval)


# ------------------------------------------------------------ rendering ----

def test_manifests_are_rendered_from_the_chart():
    p = run_render("--check")
    assert p.returncode == 0, "deploy/manifests/ is stale (run deploy/render.py --write):\n" + p.stdout + p.stderr
    for fname, overlay, release, ns in render.MANIFESTS:
        with open(os.path.join(MANIFESTS, fname)) as f:
            assert f.read() == render.manifest_text(fname, overlay, release, ns)


def test_check_detects_a_stale_manifest(tmp_path):
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    path = copy / "manifests" / "agent-eu.yaml"
    path.write_text(path.read_text().replace("memory: 64Mi", "memory: 65Mi"))
    p = subprocess.run([PYTHON, str(copy / "render.py"), "--check"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert re.search(r"^-\s+memory: 65Mi$", p.stdout, re.M) and re.search(r"^\+\s+memory: 64Mi$", p.stdout, re.M)
    assert "out of date" in p.stderr
    subprocess.run([PYTHON, str(copy / "render.py"), "--write"], check=True, capture_output=True, timeout=30)
    assert subprocess.run([PYTHON, str(copy / "render.py"), "--check"], capture_output=True,
                          timeout=30).returncode == 0


def test_agent_manifest_objects():
    docs = rendered()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["Namespace", "ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding",
                            "Deployment"])
    # Namespace first: kubectl apply -f creates in document order.
    assert docs[0]["kind"] == "Namespace"
    dep = by_kind(docs, "Deployment")[0]
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "atoll-agent"
    c = container(docs, "Deployment", "agent")
    args = c["args"]
    assert "--cluster-name=eu" in args and "--region=eu-west" in args and "--zone=eu-west-1a" in args
    assert "--hub=https://203.0.113.7:32443" in args
    # The token comes from the mounted Secret, never on the command line.
    assert "--token-file=/var/run/secrets/atoll/bootstrap/token" in args and "--ca-cert-hash=$(ATOLL_CA_CERT_HASH)" in args
    assert not any(a.startswith("--token=") for a in args)
    assert not any(a.startswith("--kubeconfig") for a in args), "in-cluster mode: no kubeconfig"
    # The state directory is a volume; everything else is read-only.
    assert "--state-dir=/var/lib/atoll-agent" in args
    assert c["volumeMounts"] == [{"name": "state", "mountPath": "/var/lib/atoll-agent"},
                                 {"name": "bootstrap", "mountPath": "/var/run/secrets/atoll/bootstrap",
                                  "readOnly": True}]
    assert "emptyDir" in pod["volumes"][0]
    assert pod["volumes"][1]["secret"] == {"secretName": "atoll-agent-bootstrap", "defaultMode": 0o400,
                                           "items": [{"key": "token", "path": "token"}]}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    # Sized for the agent's ~10 MiB resident set.
    assert c["resources"]["requests"]["memory"] == "16Mi" and c["resources"]["limits"]["memory"] == "64Mi"
    secret = by_kind(docs, "Secret")[0]
    assert base64.b64decode(secret["data"]["token"]).decode() == "abcdef.0123456789abcdef"
    assert base64.b64decode(secret["data"]["caCertHash"]).decode().startswith("sha256:")
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
    assert env == {"ATOLL_CA_CERT_HASH": {"name": "atoll-agent-bootstrap", "key": "caCertHash"}}
    rules = by_kind(docs, "ClusterRole")[0]["rules"]
    assert {"apiGroups": ["*"], "resources": ["*"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]} in rules
    assert {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]} in rules
    crb = by_kind(docs, "ClusterRoleBinding")[0]
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "atoll-agent", "namespace": "atoll-system"}]


def test_agent_values_switches():
    docs = rendered("agent.rbac.broad=false", "agent.persistence.enabled=true", "agent.labels.tier=gold",
                    "agent.labels.env=prod", "agent.provider=aws", "agent.bootstrap.existingSecret=eu-join",
                    "agent.hubURLs={https://a:32443,https://b:32443}", "agent.extraArgs={--poll-timeout=60s}",
                    "createNamespace=false")
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["ServiceAccount", "PersistentVolumeClaim", "ClusterRole", "ClusterRoleBinding",
                            "Deployment"])
    rules = by_kind(docs, "ClusterRole")[0]["rules"]
    assert not any("*" in r.get("resources", []) for r in rules)
    assert {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]} in rules
    c = container(docs, "Deployment", "agent")
    # labels in key order; several hubs comma-separated
    assert "--labels=env=prod" in c["args"] and "--labels=tier=gold" in c["args"]
    assert c["args"].index("--labels=env=prod") < c["args"].index("--labels=tier=gold")
    assert "--provider=aws" in c["args"] and c["args"][-1] == "--poll-timeout=60s"
    assert "--hub=https://a:32443,https://b:32443" in c["args"]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"]} == {"eu-join"}
    vol = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["volumes"][0]
    assert vol == {"name": "state", "persistentVolumeClaim": {"claimName": "atoll-agent-state"}}
    assert by_kind(docs, "PersistentVolumeClaim")[0]["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_hub_manifest_objects():
    docs = rendered(values="examples/hub.yaml")
    assert sorted(d["kind"] for d in docs) == sorted(["Namespace", "ServiceAccount", "Service", "StatefulSet"])
    svc = by_kind(docs, "Service")[0]["spec"]
    assert svc["type"] == "NodePort" and svc["ports"][0]["nodePort"] == 32443 and svc["ports"][0]["port"] == 6443
    sts = by_kind(docs, "StatefulSet")[0]["spec"]
    assert sts["replicas"] == 1
    assert sts["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    init = container(docs, "StatefulSet", "init", init=True)
    assert init["command"] == ["/usr/local/bin/atoll-hub", "init"]
    assert "--hosts=203.0.113.7,atoll-hub.atoll-system.svc,atoll-hub.atoll-system.svc.cluster.local,atoll-hub" \
        in init["args"]
    assert "--port=32443" in init["args"]
    hub = container(docs, "StatefulSet", "hub")
    assert hub["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
    assert hub["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"name": "data", "mountPath": "/var/lib/atoll"} in hub["volumeMounts"]
    # ClusterIP: the kubeconfig gets the service port
    docs = rendered("hub.service.type=ClusterIP", values="examples/hub.yaml")
    assert "nodePort" not in by_kind(docs, "Service")[0]["spec"]["ports"][0]
    assert "--port=6443" in container(docs, "StatefulSet", "init", init=True)["args"]


def test_hub_replicas_on_etcd():
    """installMode=hub with hub.replicas=3: on an etcd started by the chart
    (three members) or an external one with client certificates; one CA for
    every replica; refused without etcd or without the shared CA."""
    base = ["hub.replicas=3", "hub.pki.existingSecret=atoll-ca"]
    docs = rendered(*(base + ["hub.etcd.mode=chart"]), values="examples/hub.yaml")
    sts = {d["metadata"]["name"]: d for d in by_kind(docs, "StatefulSet")}
    assert sts["atoll-hub"]["spec"]["replicas"] == 3 and sts["atoll-etcd"]["spec"]["replicas"] == 3
    hub = [c for c in sts["atoll-hub"]["spec"]["template"]["spec"]["containers"] if c["name"] == "hub"][0]
    servers = [a for a in hub["args"] if a.startswith("--etcd-servers=")][0]
    assert servers.count("atoll-etcd-") == 3 and "--store=etcd" in hub["args"]
    assert "--leader-elect-lease-duration=15s" in hub["args"]
    inits = [c["name"] for c in sts["atoll-hub"]["spec"]["template"]["spec"]["initContainers"]]
    assert inits == ["ca", "init"]
    docs = rendered(*(base + ["hub.etcd.mode=external", "hub.etcd.endpoints={https://e1:2379,https://e2:2379}",
                              "hub.etcd.clientSecret=etcd-client"]), values="examples/hub.yaml")
    assert [d["metadata"]["name"] for d in by_kind(docs, "StatefulSet")] == ["atoll-hub"]
    hub = container(docs, "StatefulSet", "hub")
    assert "--etcd-servers=https://e1:2379,https://e2:2379" in hub["args"]
    assert "--etcd-certfile=/var/run/secrets/atoll/etcd/tls.crt" in hub["args"]
    assert not [a for a in hub["args"] if a.startswith("--etcd-api")]  # the hub's default, gRPC
    docs = rendered(*(base + ["hub.etcd.mode=external", "hub.etcd.endpoints={https://e1:2379}", "hub.etcd.api=json"]),
                    values="examples/hub.yaml")
    assert "--etcd-api=json" in container(docs, "StatefulSet", "hub")["args"]
    for sets, message in ((["hub.replicas=3"], "needs hub.etcd.mode"),
                          (base + ["hub.etcd.mode=chart", "hub.etcd.api=http2"], "hub.etcd.api must be grpc or json"),
                          (["hub.replicas=3", "hub.etcd.mode=chart"], "needs hub.pki.existingSecret"),
                          (base + ["hub.etcd.mode=external"], "needs hub.etcd.endpoints")):
        args = ["-f", os.path.join(render.CHART, "examples/hub.yaml")]
        for x in sets:
            args += ["--set", x]
        p = run_render(*args)
        assert p.returncode == 2 and message in p.stderr, p.stderr
    # agents: hub.urls is the default of agent.hubURLs
    docs = rendered("agent.hubURLs={}", "hub.urls={https://h1:32443,https://h2:32443}",
                    values="examples/agent-eu.yaml")
    assert "--hub=https://h1:32443,https://h2:32443" in container(docs, "Deployment", "agent")["args"]


@pytest.mark.parametrize("sets,message", [
    (["agent.clusterName="], "agent.clusterName is required"),
    (["agent.hubURLs={}"], "agent.hubURLs is required"),
    (["agent.bootstrap.token="], "agent.bootstrap.token is required"),
    (["installMode=host"], 'installMode must be "hub" or "agent"'),
])
def test_render_refuses_incomplete_values(sets, message):
    args = ["-f", os.path.join(render.CHART, "examples/agent-eu.yaml")]
    for s in sets:
        args += ["--set", s]
    p = run_render(*args)
    assert p.returncode == 2 and message in p.stderr, p.stderr
    assert p.stdout == ""


def test_template_subset():
    """render.py's evaluator on the constructs the chart uses, with the
    results Go's text/template (and Helm's functions) give."""
    def r(src, values=None, **kw):
        nodes, defines = render.parse(src, "t")
        root = {"Values": values or {}, "Release": {"Name": "rel", "Namespace": "ns"}}
        return render.Renderer(root, defines, "t").render(nodes, root, [])
    assert r("a  {{- 1 -}}  b") == "a1b"
    assert r("a\n  {{- /* c */}}\nb") == "a\nb"
    assert r('{{ if .Values.x }}x{{ else if eq .Values.y "b" }}y{{ else }}z{{ end }}', {"y": "b"}) == "y"
    assert r("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}", {"m": {"b": 2, "a": 1}}) == "a=1;b=2;"
    assert r("{{ range .Values.l }}[{{ . }}]{{ else }}none{{ end }}", {"l": []}) == "none"
    assert r('{{ .Values.x | default "d" }}/{{ .Values.y | default "d" }}', {"y": "v"}) == "d/v"
    assert r('{{ .Values.s | quote }}', {"s": 'a"b\\'}) == '"a\\"b\\\\"'
    assert r("{{ .Values.m | toYaml | nindent 2 }}", {"m": {"b": [1, 2], "a": "x"}}) == "\n  a: x\n  b:\n  - 1\n  - 2"
    assert r('{{ define "n" }}<{{ .Release.Name }}>{{ end }}{{ include "n" . | indent 1 }}') == " <rel>"
    assert r('{{ $s := printf "%s.svc" .Release.Namespace }}{{ $s }}') == "ns.svc"
    assert r('{{ join "," .Values.l }}|{{ .Values.n }}|{{ .Values.big }}', {"l": ["a", "b"], "n": 32443,
                                                                           "big": 1000000}) == "a,b|32443|1e+06"
    assert r("{{ .Values.missing }}") == ""
    with pytest.raises(render.TemplateError, match=r"nil pointer evaluating \.Values\.missing\.x"):
        r("{{ .Values.missing.x }}")
    with pytest.raises(render.TemplateError, match="incompatible types"):
        r('{{ if eq .Values.n "1" }}{{ end }}', {"n": 1})
    with pytest.raises(render.TemplateError, match="not implemented"):
        r("{{ .Values.x | upper }}")
    with pytest.raises(render.TemplateError, match="does not implement"):
        r("{{ with .Values }}{{ end }}")


# ------------------------------------------------ applied to a member ----

class Sim:
    def __init__(self, workdir):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.kubeconfig = os.path.join(self.dir, "eu.kubeconfig")
        self.port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "sim.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "atoll-sim"), "--name", "eu", "--insecure-listen",
                                      "127.0.0.1:0", "--kubeconfig-out", self.kubeconfig, "--port-file",
                                      self.port_file, "--ready-delay", "200ms"],
                                     stdout=self.log, stderr=self.log)
        wait_for(lambda: self.proc.poll() is not None or (os.path.exists(self.port_file) and
                                                          open(self.port_file).read().strip()),
                 timeout=10, what="atoll-sim")
        assert self.proc.poll() is None, self.read_log()

    def read_log(self):
        with open(os.path.join(self.dir, "sim.log"), errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        return stop_process(self.proc, self.log)


@pytest.fixture
def sim(tmp_path):
    s = Sim(tmp_path / "sim")
    yield s
    assert s.stop() == 0, "atoll-sim did not stop cleanly: " + s.read_log()


@pytest.fixture
def kubectl(sim, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(sim, None, str(home))


def apply_and_get(kubectl, path):
    out = kubectl("apply", "-f", path).stdout
    with open(path) as f:
        want = docs_of(f.read())
    assert len(out.strip().splitlines()) == len(want), out
    got = json.loads(kubectl("get", "-f", path, "-o", "json").stdout)
    items = got["items"] if got.get("kind") == "List" else [got]
    assert [(i["kind"], i["metadata"]["name"]) for i in items] == \
        [(d["kind"], d["metadata"]["name"]) for d in want]
    for have, spec in zip(items, want):
        assert have["metadata"].get("namespace") == spec["metadata"].get("namespace")
        assert have["metadata"]["labels"]["app.kubernetes.io/part-of"] == "atoll"
    again = kubectl("apply", "-f", path).stdout
    assert all(l.endswith("unchanged") for l in again.strip().splitlines()), again
    return want, items


def test_agent_manifests_apply_to_a_member(kubectl):
    path = os.path.join(MANIFESTS, "agent-eu.yaml")
    want, items = apply_and_get(kubectl, path)
    assert {i["kind"] for i in items} == {"Namespace", "ServiceAccount", "Secret", "ClusterRole",
                                          "ClusterRoleBinding", "Deployment"}
    role = [i for i in items if i["kind"] == "ClusterRole"][0]
    assert role["rules"] == by_kind(want, "ClusterRole")[0]["rules"]
    secret = [i for i in items if i["kind"] == "Secret"][0]
    assert secret["data"] == by_kind(want, "Secret")[0]["data"]
    # The member runs the agent's Deployment (the simulator starts its pod).
    wait_for(lambda: "1/1" in kubectl("get", "deployment", "atoll-agent", "-n", "atoll-system",
                                      "--no-headers").stdout, what="atoll-agent 1/1")
    pods = json.loads(kubectl("get", "pods", "-n", "atoll-system", "-l", "app.kubernetes.io/name=atoll-agent",
                              "-o", "json").stdout)["items"]
    assert len(pods) == 1 and pods[0]["spec"]["serviceAccountName"] == "atoll-agent"
    kubectl("delete", "-f", path, "--wait=false", "--ignore-not-found")
    wait_for(lambda: "atoll-agent" not in kubectl("get", "clusterroles", "-o", "name").stdout,
             what="ClusterRole deleted")


def test_hub_manifests_apply_to_a_cluster(kubectl):
    path = os.path.join(MANIFESTS, "hub.yaml")
    want, items = apply_and_get(kubectl, path)
    assert {i["kind"] for i in items} == {"Namespace", "ServiceAccount", "Service", "StatefulSet"}
    svc = [i for i in items if i["kind"] == "Service"][0]
    assert svc["spec"]["ports"][0]["nodePort"] == 32443
    wait_for(lambda: "1/1" in kubectl("get", "statefulset", "atoll-hub", "-n", "atoll-system",
                                      "--no-headers").stdout, what="atoll-hub 1/1")
    assert "data-atoll-hub-0" in kubectl("get", "pvc", "-n", "atoll-system", "-o", "name").stdout
    pod = json.loads(kubectl("get", "pod", "atoll-hub-0", "-n", "atoll-system", "-o", "json").stdout)
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["init"]


# ---------------------------------------- the containers' commands run ----

def https_get(port, path, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen("https://127.0.0.1:%d%s" % (port, path), context=ctx, timeout=5) as r:
        return r.status, r.read().decode()


def start_hub_from(serve_argv, data_dir, log_path, port_file):
    log = open(log_path, "ab")
    proc = subprocess.Popen(serve_argv, stdout=log, stderr=log)
    try:
        wait_for(lambda: proc.poll() is not None or (os.path.exists(port_file) and open(port_file).read().strip()),
                 timeout=10, what="hub port file")
        assert proc.poll() is None, open(log_path, errors="replace").read()
        port = int(open(port_file).read())
    except BaseException:
        proc.kill()
        proc.wait()
        log.close()
        raise
    return proc, log, port


def local_argv(c, subst):
    argv = []
    for a in c["command"] + c.get("args", []):
        for old, new in subst:
            a = a.replace(old, new)
        argv.append(a)
    return argv


def test_hub_container_commands_run(tmp_path):
    """The StatefulSet's init and hub containers, run as written (paths and
    the listen address moved to a temporary directory and loopback)."""
    with open(os.path.join(MANIFESTS, "hub.yaml")) as f:
        docs = docs_of(f.read())
    data = str(tmp_path / "data")
    port_file = str(tmp_path / "port")
    subst = [("/usr/local/bin/", BIN + "/"), ("/var/lib/atoll", data), ("0.0.0.0:6443", "127.0.0.1:0")]
    init = local_argv(container(docs, "StatefulSet", "init", init=True), subst)
    p = subprocess.run(init, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(data, "admin.kubeconfig")) as f:
        assert yaml.safe_load(f)["clusters"][0]["cluster"]["server"] == "https://203.0.113.7:32443"
    hub = container(docs, "StatefulSet", "hub")
    serve = local_argv(hub, subst) + ["--tls-port-file", port_file]
    proc, log, port = start_hub_from(serve, data, str(tmp_path / "hub.log"), port_file)
    try:
        ca = os.path.join(data, "ca.crt")
        for probe in ("readinessProbe", "livenessProbe"):
            get = hub[probe]["httpGet"]
            assert get["scheme"] == "HTTPS" and get["port"] == hub["ports"][0]["name"]
            assert https_get(port, get["path"], ca) == (200, "ok")
        # Re-running init on restart keeps the CA.
        before = open(ca).read()
        assert subprocess.run(init, capture_output=True, timeout=60).returncode == 0
        assert open(ca).read() == before
    finally:
        assert stop_process(proc, log) == 0


def test_agent_container_joins_with_the_charts_credentials(tmp_path, sim):
    """The agent Deployment's command, with the Secret's token and CA hash
    expanded as the kubelet does ($(VAR)), joins a TLS hub and registers
    the cluster. Only --kubeconfig is added: there is no service account
    here."""
    d = tmp_path / "hub"
    d.mkdir()
    hub = Hub(str(d), tls=True, insecure=False).start()
    agent = None
    try:
        tok = json.loads(subprocess.run([os.path.join(BIN, "atoll-hub"), "token", "create", "--data-dir", str(d),
                                         "--cluster", "eu", "-o", "json"], check=True, capture_output=True,
                                        text=True, timeout=30).stdout)
        docs = rendered("agent.bootstrap.token=" + tok["token"], "agent.bootstrap.caCertHash=" + tok["caCertHash"],
                        "agent.hubURLs={%s}" % hub.https_url)
        secret = by_kind(docs, "Secret")[0]["data"]
        c = container(docs, "Deployment", "agent")
        env = {e["name"]: base64.b64decode(secret[e["valueFrom"]["secretKeyRef"]["key"]]).decode()
               for e in c["env"]}
        # The Secret volume, as the kubelet mounts it.
        [vol] = [v for v in by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["volumes"]
                 if v["name"] == "bootstrap"]
        [mount] = [m for m in c["volumeMounts"] if m["name"] == "bootstrap"]
        secret_dir = tmp_path / "bootstrap"
        secret_dir.mkdir()
        for item in vol["secret"]["items"]:
            (secret_dir / item["path"]).write_bytes(base64.b64decode(secret[item["key"]]))
        state = str(tmp_path / "state")
        argv = local_argv(c, [("/usr/local/bin/", BIN + "/"), ("/var/lib/atoll-agent", state),
                              (mount["mountPath"], str(secret_dir))])
        argv = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in argv]
        argv += ["--kubeconfig", sim.kubeconfig]
        assert tok["token"] not in " ".join(argv)
        log = open(str(tmp_path / "agent.log"), "ab")
        agent = subprocess.Popen(argv, stdout=log, stderr=log)

        def ready():
            st, body, _ = hub.get("/apis/cluster.karmada.io/v1alpha1/clusters/eu")
            if st != 200:
                return None
            conds = {c["type"]: c["status"] for c in body.get("status", {}).get("conditions", [])}
            return body if conds.get("Ready") == "True" else None
        cl = wait_for(ready, timeout=20, what="cluster eu Ready on the hub")
        assert cl["spec"]["syncMode"] == "Pull" and cl["spec"]["region"] == "eu-west"
        assert os.path.exists(os.path.join(state, "agent.crt")) and os.path.exists(os.path.join(state, "agent.key"))
        assert stop_process(agent, log) == 0
    finally:
        if agent and agent.poll() is None:
            agent.kill()
            agent.wait()
        assert hub.stop() == 0


# ------------------------------------------------------------- systemd ----

def parse_unit(path):
    """[Service] settings of a unit file: {key: [values]}."""
    out = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            k, v = line.split("=", 1)
            out.setdefault((section, k), []).append(v)
    return out


def env_assignments(text):
    env = {}
    for word in shlex.split(text):
        k, v = word.split("=", 1)
        env[k] = v
    return env


def env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v
    return env


def exec_argv(line, env, specifiers):
    """systemd's expansion of an Exec line: specifiers, then ${VAR} as one
    word and $VAR split at whitespace."""
    line = re.sub(r"%(.)", lambda m: "%" if m.group(1) == "%" else specifiers[m.group(1)], line)
    argv = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$(\w+)", word)
        if m:
            argv += env.get(m.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return argv


needs_systemd_analyze = pytest.mark.skipif(not shutil.which("systemd-analyze"),
                                           reason="systemd-analyze is not installed")


def local_units(tmp_path):
    """The units with their binaries pointed at build/bin (verify checks
    that ExecStart is executable), and an instance of the template."""
    d = tmp_path / "units"
    d.mkdir()
    for name in ("atoll-hub.service", "atoll-agent@.service"):
        with open(os.path.join(UNITS, name)) as f:
            text = f.read().replace("/usr/local/bin/", BIN + "/")
        (d / name).write_text(text)
    shutil.copy(str(d / "atoll-agent@.service"), str(d / "atoll-agent@eu.service"))
    return [str(d / "atoll-hub.service"), str(d / "atoll-agent@eu.service")]


@needs_systemd_analyze
def test_systemd_units_verify(tmp_path):
    units = local_units(tmp_path)
    p = subprocess.run(["systemd-analyze", "verify"] + units, capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "atoll" not in out, "warnings about the units:\n" + out


@needs_systemd_analyze
@pytest.mark.parametrize("unit", [0, 1])
def test_systemd_units_are_hardened(tmp_path, unit):
    path = local_units(tmp_path)[unit]
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20", path],
                       capture_output=True, text=True, timeout=60)
    if "--offline" in p.stderr and "unrecognized" in p.stderr:
        pytest.skip("systemd-analyze too old for --offline")
    assert p.returncode == 0, "exposure above 2.0:\n" + p.stdout[-1500:] + p.stderr
    s = parse_unit(path)
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("CapabilityBoundingSet", "")]:
        assert s[("[Service]", key)] == [value], key


def test_systemd_sysusers(tmp_path):
    if not shutil.which("systemd-sysusers"):
        pytest.skip("systemd-sysusers is not installed")
    (tmp_path / "etc").mkdir()
    p = subprocess.run(["systemd-sysusers", "--root", str(tmp_path), os.path.join(UNITS, "atoll.sysusers")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^atoll:x:\d+:\d+:Atoll hub:/var/lib/atoll:", (tmp_path / "etc/passwd").read_text(), re.M)


def test_systemd_hub_command_lines_run(tmp_path):
    """atoll-hub.service's ExecStartPre and ExecStart, expanded as systemd
    does with hub.env.example (state directory and listener moved to a
    temporary directory and loopback), really initialise and serve."""
    s = parse_unit(os.path.join(UNITS, "atoll-hub.service"))
    env = {}
    for e in s[("[Service]", "Environment")]:
        env.update(env_assignments(e))
    assert s[("[Service]", "EnvironmentFile")] == ["-/etc/atoll/hub.env"]
    assert s[("[Service]", "StateDirectory")] == ["atoll"]
    env.update(env_file(os.path.join(UNITS, "hub.env.example")))
    port_file = str(tmp_path / "port")
    env["ATOLL_HUB_LISTEN"] = "127.0.0.1:0"
    env["ATOLL_HUB_ARGS"] += " --tls-port-file " + port_file
    data = str(tmp_path / "state")

    def argv(key):
        [line] = s[("[Service]", key)]
        return [a.replace("/usr/local/bin/", BIN + "/").replace("/var/lib/atoll", data)
                for a in exec_argv(line, env, {"i": "", "S": "/var/lib"})]
    p = subprocess.run(argv("ExecStartPre"), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(data, "admin.kubeconfig")) as f:
        assert yaml.safe_load(f)["clusters"][0]["cluster"]["server"] == "https://hub.example.com:6443"
    proc, log, port = start_hub_from(argv("ExecStart"), data, str(tmp_path / "hub.log"), port_file)
    try:
        assert https_get(port, "/readyz", os.path.join(data, "ca.crt")) == (200, "ok")
    finally:
        assert stop_process(proc, log) == 0


def test_systemd_agent_command_line_runs(tmp_path, sim):
    """atoll-agent@eu.service's ExecStart with agent.env.example's keys
    (pointing at a TLS hub and a fresh token) and the kubeconfig handed over
    as a credential (%d) joins and registers cluster eu."""
    s = parse_unit(os.path.join(UNITS, "atoll-agent@.service"))
    assert s[("[Service]", "EnvironmentFile")] == ["/etc/atoll/agent-%i.env"]
    assert s[("[Service]", "LoadCredential")] == ["kubeconfig:/etc/atoll/agent-%i.kubeconfig",
                                                  "token:/etc/atoll/agent-%i.token"]
    d = tmp_path / "hub"
    d.mkdir()
    hub = Hub(str(d), tls=True, insecure=False).start()
    agent = None
    try:
        tok = json.loads(subprocess.run([os.path.join(BIN, "atoll-hub"), "token", "create", "--data-dir", str(d),
                                         "--cluster", "eu", "-o", "json"], check=True, capture_output=True,
                                        text=True, timeout=30).stdout)
        env = {}
        for e in s[("[Service]", "Environment")]:
            env.update(env_assignments(e))
        env.update(env_file(os.path.join(UNITS, "agent.env.example")))
        env.update(ATOLL_HUB=hub.https_url, ATOLL_CA_CERT_HASH=tok["caCertHash"])
        env["ATOLL_AGENT_ARGS"] += " --heartbeat-interval 1s"
        creds = tmp_path / "creds"
        creds.mkdir()
        shutil.copy(sim.kubeconfig, str(creds / "kubeconfig"))
        (creds / "token").write_text(tok["token"] + "\n")  # as installed: echo TOKEN > /etc/atoll/agent-eu.token
        statedir = tmp_path / "lib"
        [line] = s[("[Service]", "ExecStart")]
        argv = [a.replace("/usr/local/bin/", BIN + "/")
                for a in exec_argv(line, env, {"i": "eu", "d": str(creds), "S": str(statedir)})]
        assert tok["token"] not in " ".join(argv)
        statedir.mkdir()
        (statedir / "atoll-agent").mkdir()
        log = open(str(tmp_path / "agent.log"), "ab", buffering=0)
        agent = subprocess.Popen(argv, stdout=log, stderr=log)

        def ready():
            st, body, _ = hub.get("/apis/cluster.karmada.io/v1alpha1/clusters/eu")
            return st == 200 and body.get("spec", {}).get("region") == "eu-west" and body
        wait_for(ready, timeout=20, what="cluster eu registered with region eu-west")
        assert os.path.exists(str(statedir / "atoll-agent" / "eu" / "agent.crt"))
        assert stop_process(agent) == 0

        # The unit always passes the token; once it is gone (expired or
        # deleted) a restart carries on with the stored certificate.
        subprocess.run([os.path.join(BIN, "atoll-hub"), "token", "delete", "--data-dir", str(d),
                        tok["token"].split(".")[0]], check=True, capture_output=True, timeout=30)

        def renew_time():
            st, body, _ = hub.get("/apis/coordination.k8s.io/v1/namespaces/karmada-cluster/leases/eu")
            return body["spec"]["renewTime"] if st == 200 else None
        before = renew_time()
        agent = subprocess.Popen(argv, stdout=log, stderr=log)
        wait_for(lambda: agent.poll() is not None or renew_time() != before, timeout=15,
                 what="heartbeat after a restart without a valid token")
        assert agent.poll() is None, open(str(tmp_path / "agent.log"), errors="replace").read()[-2000:]
        assert stop_process(agent) == 0
        log.close()
    finally:
        if agent and agent.poll() is None:
            agent.kill()
            agent.wait()
        assert hub.stop() == 0
