"""Crash test: every write the hub acknowledged before a kill -9 is there
after a restart on the same data directory, under 8 concurrent writers.

Each cycle: 8 threads create ConfigMaps (and update or patch some of the
ones they created) over keep-alive connections; after ~1.5 s the hub gets
SIGKILL while requests are in flight; the hub is restarted and the test
checks, for every acknowledged write, that the object is present with at
least the acknowledged resourceVersion and content, that the revision did
not go back, that a new write gets a higher resourceVersion, and that a
watch from a revision before the kill replays the acknowledged changes.
A watcher and a lister run next to the writers: whatever they were shown
before the kill (watch events, listed objects) must also survive it, since
the hub commits writes in groups and must not show a write before its
group is durable."""
import http.client
import json
import os
import threading
import time

from conftest import Hub

CM = "/api/v1/namespaces/default/configmaps"
WRITERS = 8
CYCLES = 3
RUN_BEFORE_KILL_S = 1.5
MAX_WRITES_PER_WRITER = 4000  # bounds a cycle on a very fast machine
IO_TIMEOUT_S = 5


class Writer(threading.Thread):
    """Creates ConfigMaps it alone owns, and updates or patches some of them.

    acked[name] = (rv, data, type) of the newest acknowledged write to name;
    events is every acknowledged (rv, name, type, data);
    pending[name] = data of a write sent but not (yet) acknowledged."""

    def __init__(self, port, cycle, idx, stop):
        super().__init__(daemon=True)
        self.port, self.cycle, self.idx, self.stop = port, cycle, idx, stop
        self.acked, self.events, self.pending = {}, [], {}
        self.failed = None  # the exception that ended the writer, if any
        self.unexpected = []  # non-2xx answers (none are expected)

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT_S)
        names = []
        try:
            for i in range(MAX_WRITES_PER_WRITER):
                if self.stop.is_set():
                    break
                if names and i % 3 == 2:
                    name = names[(i * 7) % len(names)]
                    data = {"v": str(i), "w": str(self.idx)}
                    if i % 2:
                        # JSON merge patch; the stored data also keeps "w".
                        method, path, ctype = "PATCH", CM + "/" + name, "application/merge-patch+json"
                        body = {"data": {"v": str(i)}}
                    else:
                        # Update without a resourceVersion (unconditional).
                        method, path, ctype = "PUT", CM + "/" + name, "application/json"
                        body = {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": name, "namespace": "default"}, "data": data}
                    typ = "MODIFIED"
                else:
                    name = "c%d-w%d-%d" % (self.cycle, self.idx, i)
                    data = {"v": str(i), "w": str(self.idx)}
                    method, path, ctype = "POST", CM, "application/json"
                    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
                    typ = "ADDED"
                self.pending[name] = data
                conn.request(method, path, body=json.dumps(body), headers={"Content-Type": ctype})
                resp = conn.getresponse()
                raw = resp.read()
                if resp.status // 100 != 2:
                    self.unexpected.append((method, name, resp.status, raw[:300]))
                    continue
                obj = json.loads(raw)
                rv = int(obj["metadata"]["resourceVersion"])
                assert obj["metadata"]["name"] == name
                assert obj.get("data") == data, (method, name, obj.get("data"), data)
                self.acked[name] = (rv, data, typ)
                self.events.append((rv, name, typ, data))
                del self.pending[name]
                if typ == "ADDED":
                    names.append(name)
        except (OSError, http.client.HTTPException) as e:
            self.failed = e
        finally:
            conn.close()


class Observer(threading.Thread):
    """A watch from `since` (watch=True) or lists in a loop, until the hub
    dies; seen is every (rv, name, data) it was shown."""

    def __init__(self, port, since, watch):
        super().__init__(daemon=True)
        self.port, self.since, self.watch = port, since, watch
        self.seen = []

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT_S)
        try:
            if self.watch:
                conn.request("GET", CM + "?watch=true&resourceVersion=%d" % self.since)
                resp = conn.getresponse()
                while True:
                    line = resp.readline()
                    if not line:
                        return
                    line = line.strip()
                    if line:
                        o = json.loads(line)["object"]
                        self.seen.append((int(o["metadata"]["resourceVersion"]), o["metadata"]["name"], o.get("data")))
            while True:
                conn.request("GET", CM)
                resp = conn.getresponse()
                raw = resp.read()
                if resp.status != 200:
                    return
                for o in json.loads(raw)["items"]:
                    rv = int(o["metadata"]["resourceVersion"])
                    if rv > self.since:
                        self.seen.append((rv, o["metadata"]["name"], o.get("data")))
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            conn.close()


def list_cms(hub):
    code, body, _ = hub.get(CM)
    assert code == 200, body
    return int(body["metadata"]["resourceVersion"]), {o["metadata"]["name"]: o for o in body["items"]}


def read_watch(port, since, until_rv, timeout=10):
    """Events of a watch from `since`, read until one with rv >= until_rv."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", CM + "?watch=true&resourceVersion=%d" % since)
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        events = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = resp.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            ev = json.loads(line)
            assert ev["type"] != "ERROR", ev
            rv = int(ev["object"]["metadata"]["resourceVersion"])
            events.append((rv, ev["object"]["metadata"]["name"], ev["type"], ev["object"].get("data")))
            if rv >= until_rv:
                return events
        raise AssertionError("watch from %d did not reach %d (got %d events)" % (since, until_rv, len(events)))
    finally:
        conn.close()


def test_acknowledged_writes_survive_kill9(tmp_path):
    t_start = time.time()
    data_dir = str(tmp_path / "hub")
    os.makedirs(data_dir)
    # Keep all history so the watch replay below cannot be compacted away.
    hub = Hub(data_dir, extra=["--history", "1000000"])
    hub.start()
    try:
        for cycle in range(CYCLES):
            rev_before, _ = list_cms(hub)
            stop = threading.Event()
            writers = [Writer(hub.port, cycle, i, stop) for i in range(WRITERS)]
            observers = [Observer(hub.port, rev_before, True), Observer(hub.port, rev_before, False)]
            for w in writers + observers:
                w.start()
            time.sleep(RUN_BEFORE_KILL_S)
            assert all(w.is_alive() for w in writers), "writers finished before the kill"
            hub.kill9()
            stop.set()
            for w in writers + observers:
                w.join(IO_TIMEOUT_S + 5)
                assert not w.is_alive()
            for w in writers:
                assert not w.unexpected, w.unexpected[:3]
            # The kill interrupted requests in flight.
            assert sum(1 for w in writers if w.failed is not None) >= 1
            acked = {}
            pending = {}
            events = []
            for w in writers:
                acked.update(w.acked)
                pending.update(w.pending)
                events.extend(w.events)
            print("cycle %d: %d acknowledged writes, %d in flight" % (cycle, len(events), len(pending)))
            assert len(events) >= WRITERS, "too few acknowledged writes to test anything"
            max_rv = max(rv for rv, _, _, _ in events)
            assert len({rv for rv, _, _, _ in events}) == len(events), "two writes acknowledged with one resourceVersion"

            hub.start()
            rev_after, stored = list_cms(hub)
            assert rev_after >= max_rv, (rev_after, max_rv)
            for name, (rv, data, _) in acked.items():
                assert name in stored, "acknowledged %s (rv %d) lost after kill -9" % (name, rv)
                o = stored[name]
                srv = int(o["metadata"]["resourceVersion"])
                assert srv >= rv, (name, srv, rv)
                if srv == rv:
                    assert o.get("data") == data, (name, o.get("data"), data)
                else:
                    # Only an unacknowledged write in flight at the kill may be newer.
                    assert name in pending and o.get("data") == pending[name], (name, o, data)

            # A new write gets a strictly higher resourceVersion.
            code, body, _ = hub.request("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap",
                                                     "metadata": {"name": "after-kill-%d" % cycle},
                                                     "data": {"k": "v"}})
            assert code == 201, body
            new_rv = int(body["metadata"]["resourceVersion"])
            assert new_rv > max_rv and new_rv > rev_after, (new_rv, max_rv, rev_after)

            # A watch from before the kill replays every acknowledged change.
            replay = read_watch(hub.port, rev_before, new_rv)
            by_rv = {rv: (name, typ, data) for rv, name, typ, data in replay}
            assert [rv for rv, _, _, _ in replay] == sorted(by_rv), "watch replay out of order"
            for rv, name, typ, data in events:
                assert rv in by_rv, "acknowledged write %s rv %d missing from the watch replay" % (name, rv)
                assert by_rv[rv] == (name, typ, data), (rv, by_rv[rv], (name, typ, data))
            # Nothing a client was shown before the kill was lost by it.
            shown = observers[0].seen + observers[1].seen
            print("cycle %d: %d watch events and %d listed objects shown before the kill"
                  % (cycle, len(observers[0].seen), len(observers[1].seen)))
            assert observers[0].seen, "the watcher saw nothing"
            for rv, name, data in shown:
                assert rv in by_rv, "%s rv %d was shown to a client, then lost by the kill" % (name, rv)
                assert (by_rv[rv][0], by_rv[rv][2]) == (name, data), (rv, by_rv[rv], name, data)
            assert time.time() - t_start < 30, "crash test is taking too long"
    finally:
        if hub.proc and hub.proc.poll() is None:
            hub.kill9()
