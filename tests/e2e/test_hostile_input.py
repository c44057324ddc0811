"""Hostile input, part two (issue 10): NUL characters that would cut names,
keys and values short, and list/watch parameters kube-apiserver refuses.
Every refused request must change nothing that is stored: the tests read
everything back and compare."""
import http.client
import json
import threading
import time

from conftest import E2E_STORE, Hub  # noqa: F401  (the hub fixture comes from conftest)

NS = "/api/v1/namespaces/default"
CM = NS + "/configmaps"
CLUSTERS = "/apis/cluster.karmada.io/v1alpha1/clusters"
AGENT = "/apis/atoll.io/v1alpha1/clusters"


def cm(name, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": "v"}}


def assert_status(code, body, want_code, want_reason):
    assert code == want_code, body
    assert isinstance(body, dict) and body.get("kind") == "Status", body
    assert body["reason"] == want_reason, body
    assert body["code"] == want_code, body
    assert body["message"], body


def snapshot(hub):
    """Every ConfigMap in every namespace, and the store's revision: any
    write anywhere moves the revision. On etcd the revision is etcd's, which
    the hub's own leader Lease renewals move every few seconds (as
    kube-apiserver's does): there only the objects are compared."""
    code, body, _ = hub.get("/api/v1/configmaps")
    assert code == 200, body
    items = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in body["items"]}
    return (body["metadata"]["resourceVersion"] if E2E_STORE != "etcd" else None), items


def list_revision(hub):
    code, body, _ = hub.get(CM)
    assert code == 200, body
    return int(body["metadata"]["resourceVersion"])


def seed(hub):
    for n in ("victim", "victim2", "base"):
        code, body, _ = hub.request("POST", CM, cm(n))
        assert code == 201, body
    return snapshot(hub)


# ---- NUL ------------------------------------------------------------------------

J = "application/json"
MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
YAML = "application/yaml"
NUL_CM = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"},"data":{"%s":"%s"}}'


def nul_body_cases():
    return [
        ("create: value", "POST", CM, NUL_CM % ("nv", "k", "a\\u0000b"), J),
        ("create: name", "POST", CM, NUL_CM % ("nul\\u0000x", "k", "v"), J),
        ("create: key", "POST", CM, NUL_CM % ("nk", "k\\u0000z", "v"), J),
        ("create: label", "POST", CM,
         '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nl","labels":{"a":"b\\u0000c"}}}', J),
        ("update: value", "PUT", CM + "/base", NUL_CM % ("base", "k", "a\\u0000b"), J),
        ("update: key", "PUT", CM + "/base", NUL_CM % ("base", "k\\u0000z", "v"), J),
        ("update: name", "PUT", CM + "/base", NUL_CM % ("base\\u0000zz", "k", "v"), J),
        ("merge patch: value", "PATCH", CM + "/base", '{"data":{"k":"a\\u0000b"}}', MERGE),
        ("merge patch: key", "PATCH", CM + "/base", '{"data":{"k\\u0000z":"v"}}', MERGE),
        ("strategic merge patch: value", "PATCH", CM + "/base", '{"data":{"k":"a\\u0000b"}}', SMP),
        ("json patch: value", "PATCH", CM + "/base", '[{"op":"add","path":"/data/k2","value":"a\\u0000b"}]', JSONPATCH),
        ("json patch: path", "PATCH", CM + "/base", '[{"op":"add","path":"/data/k\\u0000z","value":"x"}]', JSONPATCH),
        ("json patch: test op", "PATCH", CM + "/base", '[{"op":"test","path":"/data/k","value":"v\\u0000"}]', JSONPATCH),
        ("apply (JSON): value", "PATCH", CM + "/base?fieldManager=t", NUL_CM % ("base", "k", "a\\u0000b"), APPLY),
        ("apply (JSON): creates", "PATCH", CM + "/newone?fieldManager=t", NUL_CM % ("newone", "k\\u0000z", "v"), APPLY),
        ("apply (YAML): value", "PATCH", CM + "/base?fieldManager=t",
         'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {k: "a\\0b"}\n', APPLY),
        ("create (YAML): value", "POST", CM, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y1}\ndata: {k: "a\\0b"}\n', YAML),
        ("create (YAML): key", "POST", CM, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y2}\ndata: {"k\\0z": v}\n', YAML),
        ("create (YAML): name", "POST", CM, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "y3\\x00x"}\ndata: {k: v}\n', YAML),
        ("create (YAML): raw NUL byte", "POST", CM, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y4}\ndata: {k: "a\0b"}\n', YAML),
        ("update (YAML): value", "PUT", CM + "/base", 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {k: "\\u0000"}\n', YAML),
    ]


def test_nul_in_bodies_is_refused_and_changes_nothing(hub):
    before = seed(hub)
    for what, method, path, body, ctype in nul_body_cases():
        code, st, _ = hub.request(method, path, body.encode(), ctype=ctype)
        assert code == 400, (what, code, st)
        assert_status(code, st, 400, "BadRequest")
        assert snapshot(hub) == before, what
    for name in ("nul", "nv", "nk", "nl", "newone", "y1", "y2", "y3", "y4", "base"):
        code, o, _ = hub.get(CM + "/" + name)
        if name == "base":
            assert code == 200 and o["data"] == {"k": "v"}, o
        else:
            assert code == 404, (name, o)
    # An escaped backslash before "u0000" is text, kept exactly.
    code, o, _ = hub.request("POST", CM, (NUL_CM % ("esc", "k", "a\\\\u0000b")).encode())
    assert code == 201, o
    assert hub.get(CM + "/esc")[1]["data"]["k"] == "a\\u0000b"


def test_nul_in_url_is_refused_and_acts_on_nothing(hub):
    before = seed(hub)
    cases = [
        ("DELETE", CM + "/victim%00whatever", None),
        ("PUT", CM + "/victim2%00zz", cm("victim2", {"k": "overwritten"})),
        ("PUT", CM + "/victim2%00", cm("victim2", {"k": "overwritten"})),
        ("PATCH", CM + "/base%00x", {"data": {"k": "patched"}}),
        ("GET", CM + "/base%00x", None),
        ("POST", "/api/v1/namespaces/default%00x/configmaps", cm("other")),
        ("DELETE", "/api/v1/namespaces/default%00x/configmaps/victim", None),
        ("DELETE", CM + "?labelSelector=a%00", None),
        ("DELETE", CM + "?fieldSelector=metadata.name%3Dvictim%00x", None),
        ("GET", CM + "?fieldSelector=metadata.name%3Dvictim%00x", None),
        ("GET", CM + "?watch=1%00", None),
        ("PUT", CM + "/victim2?fieldManager=x%00y", cm("victim2", {"k": "overwritten"})),
        ("GET", "/apis/apps/v1%00/deployments", None),
    ]
    for method, path, body in cases:
        ctype = MERGE if method == "PATCH" else J
        code, st, _ = hub.request(method, path, body, ctype=ctype)
        assert_status(code, st, 400, "BadRequest")
        assert "NUL" in st["message"], st
        assert snapshot(hub) == before, (method, path)


def test_nul_in_agent_protocol_is_refused(hub):
    reg = {"apiVersion": "atoll.io/v1alpha1", "kind": "Registration", "cluster": "eu", "agentVersion": "0.1.0",
           "kubernetesVersion": "v1.23.8", "provider": "sim", "region": "eu-west", "labels": {"tier": "gold"}}
    code, body, _ = hub.request("PUT", AGENT + "/eu/registration", reg)
    assert code in (200, 201), body
    code, c0, _ = hub.get(CLUSTERS + "/eu")
    assert code == 200

    def kept():
        code, c, _ = hub.get(CLUSTERS + "/eu")
        assert code == 200
        for f in ("spec",):
            assert c[f] == c0[f]
        assert c["metadata"].get("labels") == c0["metadata"].get("labels")
        assert c["status"].get("kubernetesVersion") == c0["status"].get("kubernetesVersion")

    raw = json.dumps(reg)
    cases = [
        ("PUT", AGENT + "/eu/registration", raw.replace('"gold"', '"go\\u0000ld"')),
        ("PUT", AGENT + "/eu/registration", raw.replace('"eu-west"', '"eu\\u0000west"')),
        ("PUT", AGENT + "/eu/registration", raw.replace('"tier"', '"ti\\u0000er"')),
        ("PUT", AGENT + "/eu/registration", raw.replace('"v1.23.8"', '"v1.23.8\\u0000x"')),
        ("PUT", AGENT + "/nul/registration", raw.replace('"eu"', '"nul"').replace('"sim"', '"s\\u0000im"')),
        ("PUT", AGENT + "/eu%00x/registration", raw),
        ("PUT", AGENT + "/eu/heartbeat",
         '{"apiVersion":"atoll.io/v1alpha1","kind":"Heartbeat","cluster":"eu","leaseDurationSeconds":40,'
         '"health":"Healthy\\u0000x","kubernetesVersion":"v1.99.0"}'),
        ("POST", AGENT + "/eu/workstatuses",
         '{"apiVersion":"atoll.io/v1alpha1","kind":"WorkStatusReport","items":[{"name":"w\\u0000x","generation":1,'
         '"applied":{"status":"True","reason":"AppliedSuccessful","message":"ok"}}]}'),
        ("GET", AGENT + "/eu/works?revision=1%00", None),
    ]
    for method, path, body in cases:
        code, st, _ = hub.request(method, path, body.encode() if body else None)
        assert_status(code, st, 400, "BadRequest")
        kept()
    code, _, _ = hub.get(CLUSTERS + "/nul")
    assert code == 404
    # The heartbeat was refused: its kubernetesVersion was not written.
    code, c, _ = hub.get(CLUSTERS + "/eu")
    assert c["status"].get("kubernetesVersion") != "v1.99.0"


# ---- list and watch parameters ---------------------------------------------------

def test_malformed_list_and_watch_parameters_are_400(hub):
    before = seed(hub)
    rv_msg = 'invalid resource version: resourceVersion: Invalid value: "%s": strconv.ParseUint: parsing "%s": invalid syntax'
    cases = [
        ("?resourceVersion=-1", rv_msg % ("-1", "-1")),
        ("?resourceVersion=abc", rv_msg % ("abc", "abc")),
        ("?resourceVersion=%201", rv_msg % (" 1", " 1")),
        ("?watch=true&resourceVersion=-1", rv_msg % ("-1", "-1")),
        ("?watch=true&resourceVersion=abc", rv_msg % ("abc", "abc")),
        ("?timeoutSeconds=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("?timeoutSeconds=1e20", 'strconv.ParseInt: parsing "1e20": invalid syntax'),
        ("?watch=1&timeoutSeconds=1e20", 'strconv.ParseInt: parsing "1e20": invalid syntax'),
        ("?watch=1&timeoutSeconds=99999999999999999999",
         'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
        ("?limit=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("?limit=5x", 'strconv.ParseInt: parsing "5x": invalid syntax'),
        ("?fieldSelector=spec.nodeName%3Dn1",
         '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("?watch=true&fieldSelector=spec.nodeName%3Dn1",
         '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ]
    for q, msg in cases:
        code, st, _ = hub.get(CM + q)
        assert_status(code, st, 400, "BadRequest")
        assert st["message"] == msg, (q, st)
    # deletecollection with an unsupported field: refused, nothing deleted.
    code, st, _ = hub.request("DELETE", CM + "?fieldSelector=spec.nodeName%3Dn1")
    assert_status(code, st, 400, "BadRequest")
    # Kinds with their own field labels (Pods) take them; others are refused.
    code, body, _ = hub.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dn1,status.phase%21%3DFailed")
    assert code == 200 and body["kind"] == "PodList", body
    code, st, _ = hub.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    assert_status(code, st, 400, "BadRequest")
    assert st["message"] == "field label not supported: spec.bogus"
    # limit=-1 is no limit for kube-apiserver: every item.
    code, body, _ = hub.get(CM + "?limit=-1")
    assert code == 200 and len(body["items"]) == 3, body
    assert snapshot(hub) == before


def test_oversized_selector_and_headers_get_a_status(hub):
    # libevent's own limit would answer with an HTML page.
    code, st, _ = hub.get(CM + "?labelSelector=a%3D" + "b" * 100000)
    assert_status(code, st, 400, "BadRequest")
    assert "selector" in st["message"]
    code, st, _ = hub.get(CM + "?labelSelector=" + ",".join(["a%3Db"] * 20000))
    assert_status(code, st, 400, "BadRequest")
    code, st, _ = hub.get(CM, headers={"X-Big": "x" * 80000})
    assert_status(code, st, 431, "RequestHeaderFieldsTooLarge")
    code, body, _ = hub.get(CM, headers={"X-Fine": "x" * 8000})
    assert code == 200


def raw_get(hub, path, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    hdrs = r.headers
    c.close()
    return r.status, data, hdrs


def lines(data):
    return [json.loads(x) for x in data.split(b"\n") if x.strip().startswith(b"{")]


def test_boolean_parameters_as_kubernetes_converts_them(hub):
    seed(hub)
    # python3-kubernetes sends watch=True: a watch (a stream of events), not a list.
    got = {}
    trues = ("True", "true", "1", "t", "TRUE", "yes")
    ts = [threading.Thread(target=lambda v=v: got.__setitem__(v, raw_get(hub, CM + "?watch=%s&timeoutSeconds=1" % v)))
          for v in trues]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    for v in trues:
        code, data, _ = got[v]
        assert code == 200
        evs = lines(data)
        assert [e["type"] for e in evs] == ["ADDED"] * 3, (v, data[:300])
    for v in ("False", "false", "0", "FALSE"):
        code, data, _ = raw_get(hub, CM + "?watch=%s" % v)
        assert code == 200
        assert json.loads(data)["kind"] == "ConfigMapList", v
    # A negative timeout has passed already: the stream ends at once.
    t0 = time.time()
    code, data, _ = raw_get(hub, CM + "?watch=true&resourceVersion=1&timeoutSeconds=-5", timeout=5)
    assert code == 200 and time.time() - t0 < 4
    # timeoutSeconds=0 means none: the watch stays open.
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=1)
    c.request("GET", CM + "?watch=true&timeoutSeconds=0")
    r = c.getresponse()
    assert r.status == 200
    try:
        r.read()
        ended = True
    except (TimeoutError, OSError):
        ended = False
    c.close()
    assert not ended


def test_resource_version_ahead_waits_then_504(hub):
    before = seed(hub)
    cur = list_revision(hub)
    # 1000 writes ahead: on etcd a resourceVersion is etcd's revision << 20
    # (the low bits number a Txn's writes), so 1000 revisions ahead there.
    ahead = cur + (1000 << 20 if E2E_STORE == "etcd" else 1000)
    results = {}

    def go(key, path):
        t0 = time.time()
        results[key] = raw_get(hub, path) + (time.time() - t0,)

    ts = [threading.Thread(target=go, args=("list", CM + "?resourceVersion=%d" % ahead)),
          threading.Thread(target=go, args=("watch", CM + "?watch=true&resourceVersion=%d" % ahead))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    want_msg = "Timeout: Too large resource version: %d, current: %d" % (ahead, cur)

    def check(st):
        assert st["kind"] == "Status" and st["code"] == 504 and st["reason"] == "Timeout", st
        if E2E_STORE == "etcd":  # the hub's Lease renewals may have moved "current" since
            prefix, _, now = st["message"].rpartition(" ")
            assert prefix == "Timeout: Too large resource version: %d, current:" % ahead, st
            assert cur <= int(now) < ahead, st
        else:
            assert st["message"] == want_msg
        assert st["details"]["retryAfterSeconds"] == 1
        assert st["details"]["causes"] == [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]

    code, data, hdrs, secs = results["list"]
    assert code == 504
    assert hdrs["Retry-After"] == "1"
    check(json.loads(data))
    assert 2.5 <= secs < 10, secs
    # A watch reports it as its one ERROR event, as kube-apiserver reports watch errors.
    code, data, _, secs = results["watch"]
    assert code == 200
    evs = lines(data)
    assert len(evs) == 1 and evs[0]["type"] == "ERROR", data
    check(evs[0]["object"])
    assert 2.5 <= secs < 10, secs
    assert snapshot(hub) == before


def test_resource_version_reached_while_waiting_is_served(hub):
    seed(hub)
    cur = list_revision(hub)
    # A list one revision ahead, answered as soon as the store gets there.
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    t0 = time.time()
    c.request("GET", CM + "?resourceVersion=%d" % (cur + 1))
    code, body, _ = hub.request("POST", CM, cm("late"))
    assert code == 201
    r = c.getresponse()
    lst = json.loads(r.read())
    c.close()
    assert r.status == 200, lst
    assert int(lst["metadata"]["resourceVersion"]) >= cur + 1
    assert "late" in [o["metadata"]["name"] for o in lst["items"]]
    assert time.time() - t0 < 2.5
    # A watch from two revisions ahead: the first change it sees is the one after.
    cur = list_revision(hub)
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    c.request("GET", CM + "?watch=true&resourceVersion=%d" % (cur + 1))
    code, w1, _ = hub.request("POST", CM, cm("w1"))
    assert code == 201
    r1 = int(w1["metadata"]["resourceVersion"])
    assert hub.request("POST", CM, cm("w2"))[0] == 201
    r = c.getresponse()
    assert r.status == 200
    line = b""
    while not line.strip().startswith(b"{"):
        line = r.fp.readline()
    ev = json.loads(line)
    c.close()
    # Only changes after the requested revision: w1 only if it came after it.
    assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == ("w1" if r1 > cur + 1 else "w2"), (ev, r1, cur)
    assert int(ev["object"]["metadata"]["resourceVersion"]) > cur + 1


def test_apply_creating_with_another_name_is_400_and_changes_nothing(hub):
    """A server-side apply that would create an object whose body names
    another object: 400 naming both (the message was once formatted from a
    freed tree — found by fuzz_http under ASan), and nothing is created."""
    before = seed(hub)
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {k: v}\n"
    for mgr in ("?fieldManager=t", "?fieldManager=t&force=true"):
        code, st, _ = hub.request("PATCH", CM + "/absent" + mgr, body.encode(), ctype=APPLY)
        assert_status(code, st, 400, "BadRequest")
        assert "(other)" in st["message"] and "(absent)" in st["message"], st
        assert snapshot(hub) == before
        assert hub.get(CM + "/absent")[0] == 404
        assert hub.get(CM + "/other")[0] == 404
