"""The data-dir lock and the store's start-up consistency check (issue 12).

A second `atoll-hub serve` on a data dir in use exits at once naming the
running hub's pid (and so does `atoll-hub store check`). The damage a second
hub used to leave behind (revision counter behind the change log, a change
missing from the log) is made directly in SQLite, since the lock now
prevents it: the hub repairs it at start and keeps serving writes; an
object it cannot decode makes it refuse to start, naming
`atoll-hub store repair`, which fixes it."""
import os
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, E2E_STORE, Hub

pytestmark = pytest.mark.skipif(E2E_STORE != "sqlite", reason="the SQLite store's lock and check")

CM = "/api/v1/namespaces/default/configmaps"
HUB = os.path.join(BIN, "atoll-hub")


def cm(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


def store_cmd(sub, data_dir):
    return subprocess.run([HUB, "store", sub, "--data-dir", data_dir], capture_output=True, text=True, timeout=30)


def test_second_hub_on_same_dir_exits_naming_the_first(tmp_path):
    d = str(tmp_path / "hub")
    os.makedirs(d)
    h = Hub(d).start()
    try:
        t0 = time.time()
        p = subprocess.run([HUB, "serve", "--data-dir", d, "--insecure-listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode != 0
        assert time.time() - t0 < 5
        assert "pid %d" % h.proc.pid in p.stderr + p.stdout, p.stderr
        p = store_cmd("check", d)
        assert p.returncode == 1 and "pid %d" % h.proc.pid in p.stderr, p.stderr
        # the first hub is untouched and still writes
        st, body, _ = h.request("POST", CM, cm("still-writing"))
        assert st == 201, body
    finally:
        assert h.stop() == 0


def test_damaged_store_is_repaired_at_start(tmp_path):
    d = str(tmp_path / "hub")
    os.makedirs(d)
    h = Hub(d).start()
    revs = {}
    try:
        for n in ("a", "b", "c"):
            st, body, _ = h.request("POST", CM, cm(n))
            assert st == 201, body
            revs[n] = int(body["metadata"]["resourceVersion"])
    finally:
        assert h.stop() == 0
    # what a second hub on the same file left: a counter behind the log,
    # and a change the log does not have
    db = sqlite3.connect(os.path.join(d, "atoll.db"))
    top = db.execute("SELECT max(rev) FROM log").fetchone()[0]
    db.execute("UPDATE meta SET value = ? WHERE name = 'rev'", (revs["a"],))
    db.execute("DELETE FROM log WHERE rev = ?", (revs["b"],))
    db.commit()
    db.close()
    p = store_cmd("check", d)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "problem: revision counter" in p.stdout and "change log disagrees" in p.stdout, p.stdout

    h.start()
    try:
        log = h.read_log()
        assert "repaired at start-up: revision counter" in log, log
        st, body, _ = h.request("POST", CM, cm("after"))
        assert st == 201, body
        assert int(body["metadata"]["resourceVersion"]) > top
        st, body, _ = h.request("PUT", CM + "/a", dict(cm("a"), data={"k": "changed"}))
        assert st == 200, body
        # a watch from before the lost change gets 410 Gone, not a gap
        st, body, _ = h.get(CM + "?watch=1&resourceVersion=%d&timeoutSeconds=1" % revs["a"])
        assert st == 410 and body["reason"] == "Expired", (st, body)
        st, body, _ = h.get(CM)
        assert sorted(i["metadata"]["name"] for i in body["items"]) == ["a", "after", "b", "c"]
    finally:
        assert h.stop() == 0
    p = store_cmd("check", d)
    assert p.returncode == 0 and "consistent" in p.stdout, p.stdout + p.stderr


def test_undecodable_object_refuses_start_until_repair(tmp_path):
    d = str(tmp_path / "hub")
    os.makedirs(d)
    h = Hub(d).start()
    try:
        for n in ("good", "bad"):
            st, body, _ = h.request("POST", CM, cm(n))
            assert st == 201, body
    finally:
        assert h.stop() == 0
    db = sqlite3.connect(os.path.join(d, "atoll.db"))
    db.execute("UPDATE objects SET value = 'garbage' WHERE key = 'core/configmaps/default/bad'")
    db.commit()
    db.close()
    p = subprocess.run([HUB, "serve", "--data-dir", d, "--insecure-listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "atoll-hub store repair --data-dir %s" % d in p.stderr, p.stderr
    p = store_cmd("repair", d)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "moved to the table quarantine" in p.stdout, p.stdout
    h.start()
    try:
        st, body, _ = h.get(CM)
        assert [i["metadata"]["name"] for i in body["items"]] == ["good"]
    finally:
        assert h.stop() == 0
