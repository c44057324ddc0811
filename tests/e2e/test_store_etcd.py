"""The hub on etcd (`--store etcd`), against real etcd members started here:
CRUD with etcd's revision as resourceVersion, optimistic concurrency
against another writer, restart and watch resume, 410 once etcd compacted,
the hub's own scheduled compaction, fail-over across a three-member
cluster, and TLS with client certificates to etcd."""
import base64
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, E2E_STORE, E2E_TLS, Hub
from etcd import EtcdCluster

# The hub's own listener plays no part here: run once, not again in make e2e-tls.
pytestmark = pytest.mark.skipif(E2E_TLS, reason="store tests: ran in make e2e")

# Long ones run in `make e2e-etcd` (ATOLL_E2E_STORE=etcd), not in `make test`.
long_test = pytest.mark.skipif(E2E_STORE != "etcd", reason="long: runs in make e2e-etcd")

CM = "/api/v1/namespaces/default/configmaps"
PREFIX = "/atoll-t/"


def cm(name, data=None, rv=None):
    o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": name}}
    if rv:
        o["metadata"]["resourceVersion"] = rv
    return o


def b64(s):
    return base64.b64encode(s.encode()).decode()


def etcd_kv(etcd, key, member=0):
    r = etcd.call("/v3/kv/range", {"key": b64(PREFIX + "r/" + key)}, member)
    kvs = r.get("kvs") or []
    return kvs[0] if kvs else None


def kv_rv(kv):
    """The resourceVersion of an object as stored in etcd: the one its value
    carries (a write in a hub's batch Txn), else its etcd revision << 20."""
    rv = json.loads(base64.b64decode(kv["value"]))["metadata"].get("resourceVersion")
    return rv or str(int(kv["mod_revision"]) << 20)


def etcd_rev(etcd):
    """etcd's current revision."""
    return int(etcd.call("/v3/kv/range", {"key": b64(PREFIX + "m/last")})["header"]["revision"])


def gone(st, body):
    """A watch refused with 410: as a Status, or as an ERROR event."""
    if st == 410:
        return body["reason"] == "Expired"
    return st == 200 and len(body) == 1 and body[0]["type"] == "ERROR" and body[0]["object"]["code"] == 410


def watch_events(hub, since):
    """Every event of a watch from `since`, read for one second."""
    st, body, _ = hub.get(CM + "?watch=1&resourceVersion=%s&timeoutSeconds=1" % since)
    if st != 200:
        return st, body
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    if isinstance(raw, bytes):
        raw = raw.decode()
    evs = []
    dec = json.JSONDecoder()
    i = 0
    while i < len(raw):
        while i < len(raw) and raw[i] in " \r\n":
            i += 1
        if i >= len(raw):
            break
        ev, i = dec.raw_decode(raw, i)
        evs.append(ev)
    return st, evs


@pytest.fixture
def etcd1(tmp_path):
    c = EtcdCluster(str(tmp_path / "etcd")).start()
    yield c
    c.stop()


def etcd_hub(tmp_path, etcd, name="hub", extra=()):
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    return Hub(str(d), extra=etcd.hub_args(PREFIX) + list(extra)).start()


def test_crud_revision_restart_and_resume(tmp_path, etcd1):
    h = etcd_hub(tmp_path, etcd1)
    try:
        st, a, _ = h.request("POST", CM, cm("a"))
        assert st == 201, a
        rv_a = a["metadata"]["resourceVersion"]
        # the resourceVersion comes from etcd's revision of the write
        kv = etcd_kv(etcd1, "core/configmaps/default/a")
        assert int(rv_a) >> 20 <= int(kv["mod_revision"]) and kv_rv(kv) == rv_a
        st, b, _ = h.request("POST", CM, cm("b"))
        assert st == 201, b
        st, body, _ = h.request("POST", CM, cm("b"))
        assert st == 409 and body["reason"] == "AlreadyExists", body
        st, a2, _ = h.request("PUT", CM + "/a", cm("a", {"k": "v2"}, rv_a))
        assert st == 200, a2
        assert int(a2["metadata"]["resourceVersion"]) > int(rv_a)
        st, body, _ = h.request("PUT", CM + "/a", cm("a", {"k": "stale"}, rv_a))
        assert st == 409 and body["reason"] == "Conflict", body
        st, body, _ = h.request("DELETE", CM + "/b")
        assert st == 200, body
        st, body, _ = h.get(CM + "/b")
        assert st == 404
        st, lst, _ = h.get(CM)
        assert [i["metadata"]["name"] for i in lst["items"]] == ["a"]
        assert lst["items"][0]["data"] == {"k": "v2"}
        list_rv = int(lst["metadata"]["resourceVersion"])
    finally:
        assert h.stop() == 0
    h.start()
    try:
        st, lst, _ = h.get(CM)
        assert [(i["metadata"]["name"], i["data"]) for i in lst["items"]] == [("a", {"k": "v2"})]
        assert int(lst["metadata"]["resourceVersion"]) >= list_rv
        # resume from before the first write: every change, in order
        st, evs = watch_events(h, int(rv_a) - 1)
        assert st == 200, evs
        seen = [(e["type"], e["object"]["metadata"]["name"]) for e in evs]
        assert seen == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")], seen
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        assert rvs == sorted(rvs) and len(set(rvs)) == 4
        st, c, _ = h.request("POST", CM, cm("c"))
        assert st == 201 and int(c["metadata"]["resourceVersion"]) > rvs[-1]
    finally:
        assert h.stop() == 0


def test_two_hubs_share_a_prefix_and_compare_and_swap(tmp_path, etcd1):
    """Two hubs on one prefix: a write on one reaches the other's reads and
    watchers through its live watch on etcd; a write by another etcd client
    reaches both, and the hub's update with the old resourceVersion is a
    409, not a lost update."""
    h1 = etcd_hub(tmp_path, etcd1, "h1")
    h2 = etcd_hub(tmp_path, etcd1, "h2")
    try:
        st, base, _ = h2.get(CM)
        since = base["metadata"]["resourceVersion"]
        st, a, _ = h1.request("POST", CM, cm("shared"))
        assert st == 201, a
        rv = a["metadata"]["resourceVersion"]
        deadline = time.time() + 5
        while time.time() < deadline:
            st, g, _ = h2.get(CM + "/shared")
            if st == 200:
                break
            time.sleep(0.05)
        assert st == 200 and g["metadata"]["resourceVersion"] == rv, g
        st, evs = watch_events(h2, since)
        assert [(e["type"], e["object"]["metadata"]["name"], e["object"]["metadata"]["resourceVersion"])
                for e in evs] == [("ADDED", "shared", rv)], evs
        kv = etcd_kv(etcd1, "core/configmaps/default/shared")
        other = dict(cm("shared", {"k": "other"}))
        r = etcd1.call("/v3/kv/put", {"key": kv["key"], "value": b64(json.dumps(other))})
        assert int(r["header"]["revision"]) > int(rv) >> 20
        st, body, _ = h1.request("PUT", CM + "/shared", cm("shared", {"k": "mine"}, rv))
        assert st == 409 and body["reason"] == "Conflict", body
        for h in (h1, h2):
            deadline = time.time() + 5
            while time.time() < deadline:
                st, g, _ = h.get(CM + "/shared")
                if g["data"] == {"k": "other"}:
                    break
                time.sleep(0.05)
            # written by another etcd client (no resourceVersion): its etcd revision << 20
            assert g["data"] == {"k": "other"}
            assert g["metadata"]["resourceVersion"] == str(int(r["header"]["revision"]) << 20)
    finally:
        assert h1.stop() == 0
        assert h2.stop() == 0


def test_killed_hub_restarts_at_once(tmp_path, etcd1):
    """kill -9: a new hub on the same prefix starts at once and has every
    acknowledged write."""
    h = etcd_hub(tmp_path, etcd1)
    st, a, _ = h.request("POST", CM, cm("kept"))
    assert st == 201
    h.kill9()
    t0 = time.time()
    h.start()
    try:
        assert time.time() - t0 < 5
        st, g, _ = h.get(CM + "/kept")
        assert st == 200 and g["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]
    finally:
        assert h.stop() == 0


def test_410_once_etcd_compacted(tmp_path, etcd1):
    h = etcd_hub(tmp_path, etcd1)
    try:
        st, a, _ = h.request("POST", CM, cm("old"))
        old = int(a["metadata"]["resourceVersion"])
        for i in range(3):
            st, body, _ = h.request("POST", CM, cm("n%d" % i))
            assert st == 201
        now = int(body["metadata"]["resourceVersion"])
        st, evs = watch_events(h, old)
        assert st == 200 and len(evs) == 3, evs
        etcd1.call("/v3/kv/compaction", {"revision": str(etcd_rev(etcd1))})
        # the hub still holds that history (its ring of recent changes, as
        # kube-apiserver's watch cache); once restarted it has to ask etcd
        h.stop()
        h.start()
        st, body = watch_events(h, old)
        assert gone(st, body), (st, body)
        # a fresh list and a watch from it still work
        st, lst, _ = h.get(CM)
        st, evs = watch_events(h, lst["metadata"]["resourceVersion"])
        assert st == 200 and evs == [], evs
    finally:
        assert h.stop() == 0


@long_test
def test_scheduled_compaction(tmp_path, etcd1):
    """The hub compacts etcd every 1000 writes, keeping --history."""
    h = etcd_hub(tmp_path, etcd1, extra=["--history", "100"])
    try:
        st, a, _ = h.request("POST", CM, cm("first"))
        first = int(a["metadata"]["resourceVersion"])
        for i in range(1050):
            st, body, _ = h.request("PUT", CM + "/first", cm("first", {"i": str(i)}))
            assert st == 200, body
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                etcd1.call("/v3/kv/range", {"key": b64("x"), "revision": str(first)})
            except Exception as e:  # etcd: "mvcc: required revision has been compacted"
                assert "400" in str(e) or "compacted" in str(e), e
                break
            time.sleep(0.1)
        else:
            raise AssertionError("etcd history at %d was never compacted" % first)
        st, body = watch_events(h, first)
        assert gone(st, body), (st, body)
        st, g, _ = h.get(CM + "/first")
        assert g["data"] == {"i": "1049"}
    finally:
        assert h.stop() == 0


@long_test
def test_three_member_cluster_failover(tmp_path):
    c = EtcdCluster(str(tmp_path / "etcd3"), members=3).start()
    try:
        h = etcd_hub(tmp_path, c)
        acked = {}
        try:
            def write(n):
                st, body, _ = h.request("POST", CM, cm("w%d" % n), timeout=30)
                assert st == 201, body
                acked["w%d" % n] = int(body["metadata"]["resourceVersion"])

            for n in range(5):
                write(n)
            c.stop_member(0)  # the endpoint the hub uses first
            for n in range(5, 10):
                write(n)
            c.start_member(0)
            c.wait_healthy([0])
            c.stop_member(1)
            for n in range(10, 15):
                write(n)
            c.start_member(1)
            c.wait_healthy([1])
            revs = [acked["w%d" % n] for n in range(15)]
            assert revs == sorted(revs) and len(set(revs)) == 15
            st, lst, _ = h.get(CM)
            got = {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in lst["items"]}
            assert got == acked
            # every member has every acknowledged write
            for m in range(3):
                kv = etcd_kv(c, "core/configmaps/default/w14", m)
                assert kv and kv_rv(kv) == str(acked["w14"])
            # the blocking calls or the live watch (which moves both) went on to the next member
            log = h.read_log()
            assert "trying the next etcd endpoint" in log or "resuming from revision" in log, log
        finally:
            assert h.stop() == 0
    finally:
        c.stop()


def test_tls_client_certificates(tmp_path):
    c = EtcdCluster(str(tmp_path / "etcdtls"), tls=True).start()
    try:
        h = etcd_hub(tmp_path, c)
        h2 = etcd_hub(tmp_path, c, "h2")
        try:
            st, a, _ = h.request("POST", CM, cm("secure"))
            assert st == 201, a
            assert kv_rv(etcd_kv(c, "core/configmaps/default/secure")) == a["metadata"]["resourceVersion"]
            # the second hub's live watch runs over TLS with the client certificate too
            deadline = time.time() + 5
            while time.time() < deadline and h2.get(CM + "/secure")[0] != 200:
                time.sleep(0.05)
            assert h2.get(CM + "/secure")[0] == 200
        finally:
            assert h.stop() == 0
            assert h2.stop() == 0
        # without a client certificate etcd refuses, and the hub says so
        d = tmp_path / "nocert"
        d.mkdir()
        p = subprocess.run([os.path.join(BIN, "atoll-hub"), "serve", "--data-dir", str(d), "--insecure-listen",
                            "127.0.0.1:0", "--store", "etcd", "--etcd-servers", c.servers,
                            "--etcd-cafile", c.certs["ca.crt"]], capture_output=True, text=True, timeout=60)
        assert p.returncode == 1 and "cannot reach etcd" in p.stderr, p.stderr
    finally:
        c.stop()


def test_flag_errors(tmp_path):
    hub = os.path.join(BIN, "atoll-hub")
    for args, msg in ((["--store", "etcd"], "--etcd-servers"),
                      (["--store", "zk"], "unknown --store"),
                      (["--store", "etcd", "--etcd-servers", "127.0.0.1:2379"], "http://"),
                      (["--store", "etcd", "--etcd-servers", "http://127.0.0.1:1", "--etcd-certfile", "x"],
                       "--etcd-keyfile"),
                      (["--store", "etcd", "--etcd-servers", "http://127.0.0.1:1", "--etcd-max-txn-ops", "2"],
                       "--etcd-max-txn-ops"),
                      (["--store", "etcd", "--etcd-servers", "http://127.0.0.1:1", "--etcd-api", "rest"],
                       "unknown --etcd-api rest (want grpc or json)")):
        p = subprocess.run([hub, "serve", "--data-dir", str(tmp_path), "--insecure-listen", "127.0.0.1:0"] + args,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and msg in p.stderr, (args, p.stderr)


def test_etcd_outage_fails_requests_then_recovers(tmp_path, etcd1):
    """With etcd down, writes get a 500 Status and reads are still served
    (the hub stays up); once it is back, writes work again, nothing lost."""
    h = etcd_hub(tmp_path, etcd1)
    try:
        st, a, _ = h.request("POST", CM, cm("before"))
        assert st == 201, a
        etcd1.stop_member(0)
        st, body, _ = h.request("POST", CM, cm("during"))
        assert st == 500 and body["kind"] == "Status", body
        # reads are served from the hub's cache of its own prefix
        st, body, _ = h.get(CM)
        assert st == 200 and [i["metadata"]["name"] for i in body["items"]] == ["before"], body
        assert h.proc.poll() is None
        etcd1.start_member(0)
        etcd1.wait_healthy([0])
        # after every endpoint failed, writes fail at once for 2 s (or
        # until the live watch is back)
        deadline = time.time() + 5
        while True:
            st, b, _ = h.request("POST", CM, cm("after"))
            if st == 201 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert st == 201, b
        assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])
        st, lst, _ = h.get(CM)
        assert [i["metadata"]["name"] for i in lst["items"]] == ["after", "before"]
    finally:
        assert h.stop() == 0


def test_two_hubs_writing_at_once_batch_and_run_again(tmp_path, etcd1):
    """Two hubs take creates at once, and read-modify-write updates of one
    shared object. Each hub still sends a loop turn's writes as one etcd
    Txn; a batch that loses to the other hub's Txn is rolled back and its
    requests run again (each write then its own Txn): no client sees a 500,
    only updates whose resourceVersion another update got to first see a
    409, every acknowledged create is in etcd, and the shared counter went
    up exactly once per acknowledged update (no lost update, nothing
    acknowledged that did not happen)."""
    import threading
    h1 = etcd_hub(tmp_path, etcd1, "h1")
    h2 = etcd_hub(tmp_path, etcd1, "h2")
    codes, made = {}, []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(h, tag):
        conn = h.connection()
        i = 0
        while not stop.is_set():
            name = "%s-%d" % (tag, i)
            i += 1
            conn.request("POST", CM, json.dumps(cm(name)), {"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            with lock:
                codes[r.status] = codes.get(r.status, 0) + 1
                if r.status == 201:
                    made.append(name)
                else:
                    codes.setdefault("bodies", []).append(body[:300])

    def lost(h):
        return h.read_log().count("commit of a batch of")

    ucodes = {}

    def updater(h):
        conn = h.connection()
        while not stop.is_set():
            conn.request("GET", CM + "/hot")
            r = conn.getresponse()
            o = json.loads(r.read())
            o["data"]["n"] = str(int(o["data"]["n"]) + 1)
            conn.request("PUT", CM + "/hot", json.dumps(o), {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            with lock:
                ucodes[r.status] = ucodes.get(r.status, 0) + 1

    st, _, _ = h1.request("POST", CM, cm("hot", {"n": "0"}))
    assert st == 201
    threads = [threading.Thread(target=writer, args=(h, "%s-w%d" % (n, k)))
               for n, h in (("a", h1), ("b", h2)) for k in range(4)]
    threads += [threading.Thread(target=updater, args=(h,)) for h in (h1, h2, h1, h2)]
    try:
        for t in threads:
            t.start()
        deadline = time.time() + 12
        while time.time() < deadline and (lost(h1) < 2 or lost(h2) < 2):
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(30)
        print("creates %r, updates %r, batches lost %d + %d" % (
            {k: v for k, v in codes.items() if k != "bodies"}, ucodes, lost(h1), lost(h2)))
        assert lost(h1) + lost(h2) >= 2, (h1.read_log(), h2.read_log())
        assert set(k for k in codes if k != "bodies") == {201}, codes
        assert set(ucodes) <= {200, 409} and ucodes.get(200, 0) > 0, ucodes
        for h in (h1, h2):
            deadline = time.time() + 10
            while time.time() < deadline:
                st, hot, _ = h.get(CM + "/hot")
                if hot["data"]["n"] == str(ucodes[200]):
                    break
                time.sleep(0.1)
            assert hot["data"]["n"] == str(ucodes[200]), (hot["data"], ucodes)
        # every acknowledged create is in etcd, and each hub shows all of them
        r = etcd1.call("/v3/kv/range", {"key": b64(PREFIX + "r/core/configmaps/default/"),
                                        "range_end": b64(PREFIX + "r/core/configmaps/default0"),
                                        "keys_only": True, "limit": 0})
        in_etcd = {base64.b64decode(kv["key"]).decode().rsplit("/", 1)[1] for kv in r.get("kvs", [])}
        in_etcd.discard("hot")
        assert set(made) <= in_etcd and len(made) == len(in_etcd), (len(made), len(in_etcd))
        for h in (h1, h2):
            deadline = time.time() + 10
            while time.time() < deadline:
                st, lst, _ = h.get(CM)
                if {i["metadata"]["name"] for i in lst["items"]} - {"hot"} == in_etcd:
                    break
                time.sleep(0.1)
            have = {i["metadata"]["name"] for i in lst["items"]} - {"hot"}
            assert have == in_etcd, (h.data_dir, sorted(in_etcd - have), sorted(have - in_etcd))
    finally:
        stop.set()
        assert h1.stop() == 0
        assert h2.stop() == 0
