"""Bad and hostile input: each gets a clear Kubernetes-style error with the
right code, and changes nothing that is stored."""
import http.client
import json
import socket
import time

import pytest

from conftest import E2E_STORE, Hub


CM = "/api/v1/namespaces/default/configmaps"


def revision(hub):
    """The list's revision and its ConfigMaps (name, resourceVersion). On
    etcd the list's revision is etcd's, which the hub's own leader Lease
    renewals move every few seconds (as kube-apiserver's does): there the
    objects themselves must not move."""
    code, body, _ = hub.get(CM)
    assert code == 200
    items = sorted((o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in body["items"])
    return (body["metadata"]["resourceVersion"] if E2E_STORE != "etcd" else None), items


def assert_status(code, body, want_code, want_reason=None):
    assert code == want_code, body
    if want_reason is not None:
        assert isinstance(body, dict) and body.get("kind") == "Status", body
        assert body["reason"] == want_reason, body
        assert body["code"] == want_code
        assert body["message"]


@pytest.fixture
def before(hub):
    return revision(hub)


def unchanged(hub, before):
    assert revision(hub) == before


def cm(name, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": "v"}}


def test_body_over_3mib_is_413(hub, before):
    # The answer comes as soon as the declared length is over the limit;
    # the body is never read.
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    s.sendall(b"POST " + CM.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (3 * 1024 * 1024 + 1))
    s.sendall(b"{" + b" " * 65536)
    data = s.recv(4096)
    s.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    unchanged(hub, before)


def test_stored_object_over_limit_is_rejected(hub, before):
    # ConfigMap data has its own 1 MiB limit (422, as Kubernetes); any
    # object over 1.5 MiB is refused by the store limit (413).
    code, body, _ = hub.request("POST", CM, cm("big", {"k": "x" * (2 * 1024 * 1024)}))
    assert_status(code, body, 422, "Invalid")
    work = {"apiVersion": "work.karmada.io/v1alpha1", "kind": "Work", "metadata": {"name": "big"},
            "spec": {"workload": {"manifests": [cm("big", {"k": "x" * (2 * 1024 * 1024)})]}}}
    code, body, _ = hub.request("POST", "/apis/work.karmada.io/v1alpha1/namespaces/default/works", work)
    assert_status(code, body, 413, "RequestEntityTooLarge")
    code, _, _ = hub.get("/apis/work.karmada.io/v1alpha1/namespaces/default/works/big")
    assert code == 404
    unchanged(hub, before)


def test_deep_json_is_400(hub, before):
    deep = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"data":' + b"[" * 5000 + b"]" * 5000 + b"}"
    code, body, _ = hub.request("POST", CM, deep)
    assert_status(code, body, 400, "BadRequest")
    assert "nesting" in body["message"]
    unchanged(hub, before)


def test_deep_yaml_is_400(hub, before):
    y = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: " + "[" * 5000 + "]" * 5000 + "\n"
    code, body, _ = hub.request("POST", CM, y.encode(), ctype="application/yaml")
    assert_status(code, body, 400, "BadRequest")
    unchanged(hub, before)


def test_yaml_alias_bomb_is_400(hub, before):
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append("a%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * 9)))
    t0 = time.time()
    code, body, _ = hub.request("POST", CM, ("\n".join(lines) + "\n").encode(), ctype="application/yaml")
    assert time.time() - t0 < 2
    assert_status(code, body, 400, "BadRequest")
    unchanged(hub, before)


def test_yaml_body_accepted(hub):
    y = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromyaml\ndata:\n  a: b\n"
    code, body, _ = hub.request("POST", CM, y.encode(), ctype="application/yaml")
    assert code == 201, body
    assert body["data"] == {"a": "b"}


def test_invalid_utf8_is_400(hub, before):
    raw = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"data":{"k":"\xff\xfe"}}'
    code, body, _ = hub.request("POST", CM, raw)
    assert_status(code, body, 400, "BadRequest")
    code, body, _ = hub.request("POST", CM, raw, ctype="application/yaml")
    assert_status(code, body, 400, "BadRequest")
    unchanged(hub, before)


def test_malformed_json_is_400(hub, before):
    for raw in (b'{"apiVersion":"v1",', b"", b"[]", b'"str"', b'{"metadata": 5}', b"1" * 100):
        code, body, _ = hub.request("POST", CM, raw)
        assert_status(code, body, 400, "BadRequest")
    unchanged(hub, before)


def test_wrong_or_missing_content_type_is_415(hub, before):
    code, body, _ = hub.request("POST", CM, json.dumps(cm("t")).encode(), ctype="text/plain")
    assert_status(code, body, 415, "UnsupportedMediaType")
    # urllib would add a form Content-Type: send these with http.client.
    def no_ctype(method, path, obj):
        c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
        c.putrequest(method, path)
        data = json.dumps(obj).encode()
        c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        out = r.status, json.loads(r.read())
        c.close()
        return out
    code, body = no_ctype("PATCH", CM + "/t", {"data": {}})
    assert_status(code, body, 415, "UnsupportedMediaType")
    unchanged(hub, before)
    # A create or update without Content-Type is JSON, as on kube-apiserver
    # (its first media type); kubectl 1.20's create configmap sends none.
    code, body = no_ctype("POST", CM, cm("t"))
    assert code == 201, body


def test_patch_media_types(hub):
    code, _, _ = hub.request("POST", CM, cm("p"))
    assert code == 201
    _, before = None, revision(hub)
    code, body, _ = hub.request("PATCH", CM + "/p", {"data": {"k": "w"}}, ctype="application/x-unknown-patch")
    assert_status(code, body, 415, "UnsupportedMediaType")
    # Strategic merge is only for built-in kinds.
    code, body, _ = hub.request("PATCH", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies/x",
                                {"spec": {}}, ctype="application/strategic-merge-patch+json")
    assert code == 415
    unchanged(hub, before)
    code, body, _ = hub.request("PATCH", CM + "/p", [{"op": "test", "path": "/data/k", "value": "nope"}],
                                ctype="application/json-patch+json")
    assert code == 422, body
    code, body, _ = hub.request("PATCH", CM + "/p", [{"op": "replace", "path": "/data/k", "value": "w"}],
                                ctype="application/json-patch+json")
    assert code == 200 and body["data"]["k"] == "w"


def test_validation_is_422_with_causes(hub, before):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "Bad_Name"},
           "spec": {"replicas": -1, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    code, body, _ = hub.request("POST", "/apis/apps/v1/namespaces/default/deployments", dep)
    assert_status(code, body, 422, "Invalid")
    fields = [c["field"] for c in body["details"]["causes"]]
    assert "metadata.name" in fields and "spec.replicas" in fields
    pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "pp"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                   "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                       "replicaDivisionPreference": "Weighted",
                                                       "weightPreference": {"staticWeightList": [
                                                           {"targetCluster": {"clusterNames": ["eu"]}, "weight": -1}],
                                                           "dynamicWeight": "Bogus"}}}}}
    code, body, _ = hub.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies", pp)
    assert_status(code, body, 422, "Invalid")
    fields = [c["field"] for c in body["details"]["causes"]]
    assert any("weight" in f for f in fields) and any("dynamicWeight" in f for f in fields)
    unchanged(hub, before)


def test_not_found_and_method_not_allowed(hub, before):
    code, body, _ = hub.get(CM + "/nothere")
    assert_status(code, body, 404, "NotFound")
    assert body["message"] == 'configmaps "nothere" not found'
    code, body, _ = hub.get("/apis/nope.example.com/v1/things")
    assert code == 404
    code, body, _ = hub.request("PUT", CM, cm("x"))
    assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = hub.request("POST", "/api/v1/namespaces/nope/configmaps", cm("x"))
    assert_status(code, body, 404, "NotFound")
    unchanged(hub, before)


def test_conflicts(hub):
    code, body, _ = hub.request("POST", CM, cm("c"))
    assert code == 201
    rv = body["metadata"]["resourceVersion"]
    code, body, _ = hub.request("POST", CM, cm("c"))
    assert_status(code, body, 409, "AlreadyExists")
    upd = cm("c", {"k": "2"})
    upd["metadata"]["resourceVersion"] = rv
    code, body, _ = hub.request("PUT", CM + "/c", upd)
    assert code == 200
    before = revision(hub)
    code, body, _ = hub.request("PUT", CM + "/c", upd)  # stale now
    assert_status(code, body, 409, "Conflict")
    assert "the object has been modified" in body["message"]
    unchanged(hub, before)


def test_watch_from_compacted_revision_is_410(tmp_path):
    h = Hub(str(tmp_path), extra=["--history", "100"]).start()
    try:
        conn = h.connection()  # 1200 creates: one connection, not 1200 handshakes
        for i in range(1200):
            conn.request("POST", CM, json.dumps(cm("w%d" % i)), {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 201
        conn.close()
        code, body, _ = h.get(CM + "?watch=true&resourceVersion=2")
        assert_status(code, body, 410, "Expired")
        # The hub answers a list at a compacted resourceVersion as a watch, whatever
        # resourceVersionMatch says (kube-apiserver's watch cache would serve
        # NotOlderThan from the current state with 200).
        code, body, _ = h.get(CM + "?resourceVersion=2&resourceVersionMatch=NotOlderThan")
        assert_status(code, body, 410, "Expired")
    finally:
        assert h.stop() == 0


def test_oversized_headers_rejected(hub, before):
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    s.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (128 * 1024) + b"\r\n\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert not data.startswith(b"HTTP/1.1 200"), data[:100]
    code, _, _ = hub.get("/healthz")
    assert code == 200
    unchanged(hub, before)


def test_slow_client_is_cut_off_while_others_are_served(tmp_path):
    h = Hub(str(tmp_path), extra=["--request-timeout", "1s"]).start()
    try:
        slow = socket.create_connection(("127.0.0.1", h.port), timeout=10)
        slow.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        t0 = time.time()
        for _ in range(5):
            code, _, _ = h.get("/healthz")
            assert code == 200
        assert time.time() - t0 < 1
        slow.settimeout(5)
        try:
            rest = slow.recv(100)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", rest  # closed without an answer, as Go's ReadHeaderTimeout does
        assert time.time() - t0 >= 0.9  # at the deadline, not before
        assert time.time() - t0 < 4
        slow.close()
    finally:
        assert h.stop() == 0


def test_watch_outlives_request_timeout_and_limit_is_429(tmp_path):
    h = Hub(str(tmp_path), extra=["--request-timeout", "1s", "--max-watches", "2"]).start()
    try:
        import http.client
        conns = []
        for _ in range(2):
            c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
            c.request("GET", CM + "?watch=true")
            r = c.getresponse()
            assert r.status == 200
            conns.append((c, r))
        code, body, _ = h.get(CM + "?watch=true")
        assert_status(code, body, 429, "TooManyRequests")
        time.sleep(2.5)  # longer than the request timeout
        code, _, _ = h.request("POST", CM, cm("late"))
        assert code == 201
        line = conns[0][1].fp.readline()
        while line.strip() == b"" or line.strip().isalnum():
            line = conns[0][1].fp.readline()
        assert b'"late"' in line, line
        for c, _ in conns:
            c.close()
    finally:
        assert h.stop() == 0


def test_deeply_nested_object_updates_stay_fast(hub):
    # Comparing old and new objects must not be exponential in depth.
    nested = "x"
    for _ in range(90):
        nested = {"a": nested}
    crd_like = {"apiVersion": "work.karmada.io/v1alpha1", "kind": "Work", "metadata": {"name": "deep"},
                "spec": {"workload": {"manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "deep": nested}]}}}
    path = "/apis/work.karmada.io/v1alpha1/namespaces/default/works"
    code, body, _ = hub.request("POST", path, crd_like)
    assert code == 201, body
    t0 = time.time()
    for _ in range(3):
        code, body, _ = hub.request("PUT", path + "/deep", body)
        assert code == 200
    assert time.time() - t0 < 2
