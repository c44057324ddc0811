"""The Kubernetes REST semantics kubectl does not exercise on its own:
selectors, deletecollection, watch resume and selector transitions, /status,
discovery shapes, no-op writes."""
import http.client
import json
import threading
import queue
import socket

CM = "/api/v1/namespaces/default/configmaps"


def cm(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


def names(body):
    return sorted(i["metadata"]["name"] for i in body["items"])


def test_label_and_field_selectors(hub):
    for n, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        assert hub.request("POST", CM, cm(n, {"tier": tier, "app": "x"}))[0] == 201
    assert names(hub.get(CM + "?labelSelector=tier%3Dweb")[1]) == ["a", "c"]
    assert names(hub.get(CM + "?labelSelector=tier!%3Dweb")[1]) == ["b"]
    assert names(hub.get(CM + "?labelSelector=tier+in+(db,web),app")[1]) == ["a", "b", "c"]
    assert names(hub.get(CM + "?labelSelector=!app")[1]) == []
    assert names(hub.get(CM + "?fieldSelector=metadata.name%3Db")[1]) == ["b"]
    code, body, _ = hub.get(CM + "?labelSelector=tier+in+(")
    assert code == 400 and body["reason"] == "BadRequest"
    # Cross-namespace list.
    assert "a" in names(hub.get("/api/v1/configmaps")[1])


def test_deletecollection(hub):
    for n, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        hub.request("POST", CM, cm(n, {"tier": tier}))
    code, body, _ = hub.request("DELETE", CM + "?labelSelector=tier%3Dweb")
    assert code == 200
    assert names(body) == ["a", "c"]
    assert names(hub.get(CM)[1]) == ["b"]


def open_watch(hub, query):
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    c.request("GET", CM + "?watch=true&" + query)
    r = c.getresponse()
    assert r.status == 200
    events = queue.Queue()

    def reader():
        # Raw chunked lines: chunk sizes and blank heartbeats are skipped.
        try:
            while True:
                line = r.fp.readline()
                if not line:
                    break
                line = line.strip()
                if line.startswith(b"{"):
                    events.put(json.loads(line))
        except Exception:
            pass
    threading.Thread(target=reader, daemon=True).start()
    return c, events


def close_watch(c):
    # Unblocks the reader thread first; close() alone waits for its lock.
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()


def test_watch_resumes_from_revision_without_gaps(hub):
    code, body, _ = hub.request("POST", CM, cm("w"))
    start = int(body["metadata"]["resourceVersion"])
    revs = []
    for i in range(5):
        code, body, _ = hub.request("PATCH", CM + "/w", {"data": {"i": str(i)}}, ctype="application/merge-patch+json")
        assert code == 200
        revs.append(int(body["metadata"]["resourceVersion"]))
    hub.request("DELETE", CM + "/w")
    c, events = open_watch(hub, "resourceVersion=%d" % start)
    got = [events.get(timeout=5) for _ in range(6)]
    assert [e["type"] for e in got] == ["MODIFIED"] * 5 + ["DELETED"]
    assert [int(e["object"]["metadata"]["resourceVersion"]) for e in got[:5]] == revs
    # Then live changes keep coming on the same stream.
    hub.request("POST", CM, cm("live"))
    e = events.get(timeout=5)
    assert e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "live"
    close_watch(c)


def test_watch_selector_transitions(hub):
    hub.request("POST", CM, cm("s", {"tier": "web"}))
    c, events = open_watch(hub, "labelSelector=tier%3Dweb")
    e = events.get(timeout=5)
    assert (e["type"], e["object"]["metadata"]["name"]) == ("ADDED", "s")
    hub.request("PATCH", CM + "/s", {"metadata": {"labels": {"tier": "db"}}}, ctype="application/merge-patch+json")
    assert events.get(timeout=5)["type"] == "DELETED"
    hub.request("PATCH", CM + "/s", {"metadata": {"labels": {"tier": "web"}}}, ctype="application/merge-patch+json")
    assert events.get(timeout=5)["type"] == "ADDED"
    close_watch(c)


def test_watch_selector_transitions_replayed(hub):
    # The same transitions replayed from the change log (a watch from a
    # resourceVersion): the log keeps no previous value its own rows hold
    # (issue 15), the replay reads it from the row before.
    code, body, _ = hub.request("POST", CM, cm("r", {"tier": "web"}))
    start = int(body["metadata"]["resourceVersion"])
    for tier in ("db", "web"):
        code, _, _ = hub.request("PATCH", CM + "/r", {"metadata": {"labels": {"tier": tier}}},
                                 ctype="application/merge-patch+json")
        assert code == 200
    code, _, _ = hub.request("PATCH", CM + "/r", {"data": {"replayed": "yes"}}, ctype="application/merge-patch+json")
    assert code == 200
    c, events = open_watch(hub, "labelSelector=tier%%3Dweb&resourceVersion=%d" % start)
    got = [events.get(timeout=5)["type"] for _ in range(3)]
    assert got == ["DELETED", "ADDED", "MODIFIED"]
    close_watch(c)


def test_watch_table_events(hub):
    c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    c.request("GET", CM + "?watch=true", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    r = c.getresponse()
    hub.request("POST", CM, cm("t"))
    line = b""
    while not line.strip().startswith(b"{"):
        line = r.fp.readline()
    ev = json.loads(line)
    assert ev["object"]["kind"] == "Table"
    assert ev["object"]["rows"][0]["cells"][0] == "t"
    assert ev["object"]["columnDefinitions"][0]["format"] == "name"
    close_watch(c)


def test_status_subresource_and_noop(hub):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    path = "/apis/apps/v1/namespaces/default/deployments"
    code, body, _ = hub.request("POST", path, dep)
    assert code == 201
    body["status"] = {"replicas": 2, "readyReplicas": 2}
    code, st, _ = hub.request("PUT", path + "/d/status", body)
    assert code == 200 and st["status"]["readyReplicas"] == 2
    assert st["metadata"]["generation"] == 1
    rv = st["metadata"]["resourceVersion"]
    code, same, _ = hub.request("PUT", path + "/d", st)
    assert code == 200 and same["metadata"]["resourceVersion"] == rv, "a no-op update must not bump the revision"
    code, table, _ = hub.get(path, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert table["rows"][0]["cells"][:4] == ["d", "2/2", 0, 0]


def test_discovery_shapes(hub):
    code, body, _ = hub.get("/apis")
    groups = {g["name"]: g for g in body["groups"]}
    assert groups["work.karmada.io"]["preferredVersion"]["version"] == "v1alpha2"
    assert {"apps", "policy.karmada.io", "cluster.karmada.io", "apiextensions.k8s.io"} <= set(groups)
    code, body, _ = hub.get("/apis/apps/v1")
    res = {r["name"]: r for r in body["resources"]}
    assert res["deployments/scale"]["kind"] == "Scale" and res["deployments/scale"]["group"] == "autoscaling"
    assert res["deployments"]["shortNames"] == ["deploy"]
    code, body, _ = hub.get("/apis/cluster.karmada.io/v1alpha1")
    assert [r for r in body["resources"] if r["name"] == "clusters"][0]["namespaced"] is False
    code, body, _ = hub.get("/version")
    assert body["major"] == "1" and body["minor"] == "33"
    code, body, headers = hub.get("/openapi/v2")
    assert code == 200 and headers["Content-Type"] == "application/octet-stream"
    for p in ("/healthz", "/readyz", "/livez"):
        assert hub.get(p)[0] == 200
