"""Kubernetes protobuf on the hub: kubectl 1.32 and 1.33 send built-in kinds
as application/vnd.kubernetes.protobuf; get, list and watch answer in
protobuf when the client prefers it; custom kinds and CBOR get 415."""
import base64
import datetime
import json
import os
import socket
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import REPO, make_kubectl

PB = "application/vnd.kubernetes.protobuf"
DATA = os.path.join(REPO, "tests/data/protobuf")


@pytest.fixture(params=["1.32", "1.33"])
def kc(request, hub, tmp_path):
    return make_kubectl(hub, tmp_path, request.param)


def obj(hub, path):
    code, body, _ = hub.get(path)
    assert code == 200, (path, body)
    return body


def self_signed(tmp_path):
    """A throwaway key and self-signed certificate for `create secret tls`."""
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e2e")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(k, hashes.SHA256()))
    key, crt = tmp_path / "tls.key", tmp_path / "tls.crt"
    key.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, crt


def test_every_create_subcommand(kc, hub, tmp_path):
    key, crt = self_signed(tmp_path)
    kc("create", "namespace", "demo")
    assert obj(hub, "/api/v1/namespaces/demo")["status"]["phase"] == "Active"

    kc("create", "configmap", "cm", "-n", "demo", "--from-literal=a=b", "--from-literal=empty=")
    assert obj(hub, "/api/v1/namespaces/demo/configmaps/cm")["data"] == {"a": "b", "empty": ""}

    kc("create", "secret", "generic", "s", "-n", "demo", "--from-literal=x=y")
    s = obj(hub, "/api/v1/namespaces/demo/secrets/s")
    assert s["type"] == "Opaque" and base64.b64decode(s["data"]["x"]) == b"y"
    kc("create", "secret", "tls", "t", "-n", "demo", "--cert", str(crt), "--key", str(key))
    s = obj(hub, "/api/v1/namespaces/demo/secrets/t")
    assert s["type"] == "kubernetes.io/tls" and base64.b64decode(s["data"]["tls.crt"]) == crt.read_bytes()
    kc("create", "secret", "docker-registry", "reg", "-n", "demo", "--docker-server=r.example.com",
       "--docker-username=u", "--docker-password=p")
    s = obj(hub, "/api/v1/namespaces/demo/secrets/reg")
    assert s["type"] == "kubernetes.io/dockerconfigjson"
    assert json.loads(base64.b64decode(s["data"][".dockerconfigjson"]))["auths"]["r.example.com"]["username"] == "u"

    kc("create", "serviceaccount", "sa", "-n", "demo")
    assert obj(hub, "/api/v1/namespaces/demo/serviceaccounts/sa")["metadata"]["name"] == "sa"

    kc("create", "deployment", "web", "-n", "demo", "--image=nginx", "--replicas=3", "--port=80")
    d = obj(hub, "/apis/apps/v1/namespaces/demo/deployments/web")
    assert d["spec"]["replicas"] == 3
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx" and c["ports"][0]["containerPort"] == 80
    assert d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    kc("create", "deployment", "zero", "-n", "demo", "--image=nginx", "--replicas=0")
    assert obj(hub, "/apis/apps/v1/namespaces/demo/deployments/zero")["spec"]["replicas"] == 0

    kc("create", "service", "clusterip", "svc", "-n", "demo", "--tcp=80:8080", "--tcp=443:https")
    ports = obj(hub, "/api/v1/namespaces/demo/services/svc")["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in ports] == [(80, 8080), (443, "https")]
    kc("create", "service", "nodeport", "np", "-n", "demo", "--tcp=80:8080", "--node-port=30080")
    sv = obj(hub, "/api/v1/namespaces/demo/services/np")
    assert sv["spec"]["type"] == "NodePort" and sv["spec"]["ports"][0]["nodePort"] == 30080
    kc("create", "service", "loadbalancer", "lb", "-n", "demo", "--tcp=80:8080")
    assert obj(hub, "/api/v1/namespaces/demo/services/lb")["spec"]["type"] == "LoadBalancer"
    kc("create", "service", "externalname", "ext", "-n", "demo", "--external-name=example.com")
    assert obj(hub, "/api/v1/namespaces/demo/services/ext")["spec"]["externalName"] == "example.com"

    kc("create", "job", "job", "-n", "demo", "--image=busybox", "--", "echo", "hi")
    j = obj(hub, "/apis/batch/v1/namespaces/demo/jobs/job")
    assert j["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    kc("create", "cronjob", "cj", "-n", "demo", "--image=busybox", "--schedule=*/5 * * * *", "--", "date")
    cj = obj(hub, "/apis/batch/v1/namespaces/demo/cronjobs/cj")
    assert cj["spec"]["schedule"] == "*/5 * * * *"
    # Reads the CronJob back (in protobuf from 1.32 on) and sends a Job.
    kc("create", "job", "from-cj", "-n", "demo", "--from=cronjob/cj")
    j = obj(hub, "/apis/batch/v1/namespaces/demo/jobs/from-cj")
    assert j["metadata"]["ownerReferences"][0]["name"] == "cj"
    assert j["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]

    kc("create", "ingress", "ing", "-n", "demo", "--class=nginx", "--rule=foo.com/bar=svc:80",
       "--rule=tls.com/*=svc:https,tls=t")
    ing = obj(hub, "/apis/networking.k8s.io/v1/namespaces/demo/ingresses/ing")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"] == 80
    assert ing["spec"]["rules"][1]["http"]["paths"][0]["backend"]["service"]["port"]["name"] == "https"
    assert ing["spec"]["tls"] == [{"hosts": ["tls.com"], "secretName": "t"}]

    kc("create", "role", "r", "-n", "demo", "--verb=get,list", "--resource=pods")
    assert obj(hub, "/apis/rbac.authorization.k8s.io/v1/namespaces/demo/roles/r")["rules"][0]["verbs"] == ["get", "list"]
    kc("create", "rolebinding", "rb", "-n", "demo", "--role=r", "--user=alice", "--serviceaccount=demo:sa")
    rb = obj(hub, "/apis/rbac.authorization.k8s.io/v1/namespaces/demo/rolebindings/rb")
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}
    assert {s["kind"] for s in rb["subjects"]} == {"User", "ServiceAccount"}
    kc("create", "clusterrole", "cr", "--verb=get", "--resource=nodes", "--non-resource-url=/logs")
    kc("create", "clusterrole", "agg", "--aggregation-rule=example.com/aggregate=true")
    agg = obj(hub, "/apis/rbac.authorization.k8s.io/v1/clusterroles/agg")
    assert agg["aggregationRule"]["clusterRoleSelectors"] == [{"matchLabels": {"example.com/aggregate": "true"}}]
    kc("create", "clusterrolebinding", "crb", "--clusterrole=cr", "--group=devs")
    crb = obj(hub, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/crb")
    assert crb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"}]

    # The other verbs of the brief, on the same objects.
    kc("expose", "deployment", "web", "-n", "demo", "--port=80", "--target-port=8080", "--name=websvc")
    assert obj(hub, "/api/v1/namespaces/demo/services/websvc")["spec"]["ports"][0]["targetPort"] == 8080
    kc("run", "pod1", "-n", "demo", "--image=nginx", "--labels=a=b", "--env=X=1")
    p = obj(hub, "/api/v1/namespaces/demo/pods/pod1")
    assert p["metadata"]["labels"] == {"a": "b"} and p["spec"]["containers"][0]["env"] == [{"name": "X", "value": "1"}]
    kc("set", "image", "deployment/web", "-n", "demo", "nginx=nginx:1.25")
    kc("label", "deployment", "web", "-n", "demo", "tier=front")
    kc("annotate", "deployment", "web", "-n", "demo", "note=hi")
    kc("scale", "deployment", "web", "-n", "demo", "--replicas=5")
    d = obj(hub, "/apis/apps/v1/namespaces/demo/deployments/web")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert d["metadata"]["labels"]["tier"] == "front" and d["metadata"]["annotations"]["note"] == "hi"
    assert d["spec"]["replicas"] == 5
    kc("rollout", "restart", "deployment/web", "-n", "demo")
    d = obj(hub, "/apis/apps/v1/namespaces/demo/deployments/web")
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]
    # describe reads the Deployment, its events and ReplicaSets in protobuf.
    out = kc("describe", "deployment", "web", "-n", "demo").stdout
    assert "nginx:1.25" in out and "Replicas:" in out
    out = kc("describe", "service", "svc", "-n", "demo").stdout
    assert "8080/TCP" in out


def read_pb(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def fields(buf):
    """(number, value) of each field of one protobuf message (varints and
    length-delimited only, which is all a watch event uses)."""
    out, i = [], 0
    while i < len(buf):
        key, i = varint(buf, i)
        if key & 7 == 0:
            v, i = varint(buf, i)
        else:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        out.append((key >> 3, v))
    return out


def varint(buf, i):
    shift = v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def test_raw_protobuf_get_list_watch(hub):
    code, body, _ = hub.request("POST", "/api/v1/namespaces/default/configmaps", body=read_pb("configmap.pb"), ctype=PB)
    assert code == 201, body
    assert body["data"] == {"a": "b", "c": "d"}

    # get: protobuf when preferred, JSON otherwise, Table stays JSON
    code, body, h = hub.get("/api/v1/namespaces/default/configmaps/cm1",
                            headers={"Accept": PB + ",application/json"})
    assert code == 200 and h["Content-Type"] == PB
    assert body[:4] == b"k8s\x00" and b"ConfigMap" in body and b"cm1" in body
    code, body, h = hub.get("/api/v1/namespaces/default/configmaps/cm1",
                            headers={"Accept": "application/json," + PB})
    assert h["Content-Type"] == "application/json" and body["data"]["c"] == "d"
    code, body, h = hub.get("/api/v1/namespaces/default/configmaps",
                            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io," + PB})
    assert body["kind"] == "Table"

    # list; the hub caches each item's encoding by revision: a change shows
    code, body, h = hub.get("/api/v1/namespaces/default/configmaps", headers={"Accept": PB})
    assert code == 200 and h["Content-Type"] == PB
    assert b"ConfigMapList" in body and b"cm1" in body and b"value-two" not in body
    code, _, _ = hub.request("PATCH", "/api/v1/namespaces/default/configmaps/cm1", body={"data": {"c": "value-two"}},
                             ctype="application/merge-patch+json")
    assert code == 200
    code, body, h = hub.get("/api/v1/namespaces/default/configmaps", headers={"Accept": PB})
    assert b"value-two" in body
    code, body, h = hub.get("/api/v1/namespaces/default/configmaps?labelSelector=none%3Dhere", headers={"Accept": PB})
    assert h["Content-Type"] == PB and b"cm1" not in body

    # watch: length-prefixed WatchEvent frames, in HTTP chunks
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    try:
        s.sendall(b"GET /api/v1/namespaces/default/configmaps?watch=1 HTTP/1.1\r\nHost: x\r\nAccept: "
                  + PB.encode() + b"\r\n\r\n")
        buf = [b""]

        def more():
            data = s.recv(65536)
            assert data, "the hub closed the watch"
            buf[0] += data

        while b"\r\n\r\n" not in buf[0]:
            more()
        head, _, buf[0] = buf[0].partition(b"\r\n\r\n")
        assert b"application/vnd.kubernetes.protobuf;stream=watch" in head

        def next_event():
            while b"\r\n" not in buf[0]:
                more()
            size_line, _, rest = buf[0].partition(b"\r\n")
            size = int(size_line, 16)
            while len(rest) < size + 2:
                more()
                size_line, _, rest = buf[0].partition(b"\r\n")
            frame, buf[0] = rest[:size], rest[size + 2:]
            assert int.from_bytes(frame[:4], "big") == len(frame) - 4
            ev = dict(fields(frame[4:]))
            raw = dict(fields(ev[2]))[1]
            assert raw[:4] == b"k8s\x00"
            return ev[1], raw

        typ, raw = next_event()
        assert typ == b"ADDED" and b"cm1" in raw and b"value-two" in raw
        code, _, _ = hub.request("PATCH", "/api/v1/namespaces/default/configmaps/cm1",
                                 body={"data": {"c": "value-three"}}, ctype="application/merge-patch+json")
        assert code == 200
        typ, raw = next_event()
        assert typ == b"MODIFIED" and b"value-three" in raw
    finally:
        s.close()


def test_custom_kind_and_cbor_get_415(hub):
    code, body, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies",
                                body=read_pb("configmap.pb"), ctype=PB)
    assert code == 415
    assert body["reason"] == "UnsupportedMediaType"
    assert body["message"] == ("the body of the request was in an unknown format - accepted media types include: "
                               "application/json, application/yaml")
    code, body, _ = hub.request("POST", "/api/v1/namespaces/default/configmaps", body=b"\xa0", ctype="application/cbor")
    assert code == 415
    assert body["message"].endswith("application/json, application/yaml, " + PB)
    # Protobuf is no patch format.
    code, body, _ = hub.request("PATCH", "/api/v1/namespaces/default/configmaps/x", body=read_pb("configmap.pb"),
                                ctype=PB)
    assert code == 415
    # A broken body is a 400 and stores nothing.
    code, body, _ = hub.request("POST", "/api/v1/namespaces/default/configmaps", body=b"k8s\x00\x0a\xff", ctype=PB)
    assert code == 400 and body["reason"] == "BadRequest"
    code, body, _ = hub.get("/api/v1/namespaces/default/configmaps")
    assert body["items"] == []
