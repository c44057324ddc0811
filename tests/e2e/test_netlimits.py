"""Connection-level defences of the hub's listeners (issue 10, items 3 and 5):
out of file descriptors the hub pauses accepting instead of spinning on
accept() and flooding its log, and serves again as soon as descriptors free
up; the plain-HTTP listener has the TLS listener's limits (slowloris is cut
at the head deadline, connections per address are capped); idle TLS
handshakes from one address do not make a real client from that address
wait. The longer run is `make fault-net` (ATOLL_FAULT_NET=1)."""
import os
import re
import resource
import socket
import ssl
import time
import urllib.request

import pytest

from conftest import E2E_TLS, Hub, Kubectl

LONG = os.environ.get("ATOLL_FAULT_NET") == "1"

# Each test says which listeners it wants; the TLS pass of the suite would
# only repeat them.
pytestmark = pytest.mark.skipif(E2E_TLS, reason="listeners chosen per test; covered by the plain pass")


def hub_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(what, cond, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def log_text(h):
    with open(os.path.join(h.data_dir, "hub.log"), errors="replace") as f:
        return f.read()


def metric(h, name, labels=""):
    """A sample's value from /metrics (plain listener), or None."""
    with urllib.request.urlopen(h.url + "/metrics", timeout=10) as r:  # the plain listener, also on a TLS hub
        text = r.read().decode()
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


def open_idle(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def closed_by_peer(s, timeout):
    s.setblocking(True)
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def test_out_of_descriptors_pauses_quietly_and_recovers(tmp_path):
    # The run: `ulimit -n 256` and 400 idle connections (longer: 1000 for 30 s).
    limit = 128 if not LONG else 256
    nidle = 320 if not LONG else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < nidle + 100:  # this process holds them all
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, nidle + 200), hard))

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    d = tmp_path / "h"
    d.mkdir()
    # Quotas out of the way and silent connections kept: the descriptors run out.
    h = Hub(str(d), tls=False, preexec_fn=low_limit,
            extra=["--max-pending-per-client", "10000", "--max-connections-per-client", "10000",
                   "--first-byte-timeout", "60s", "--max-connections", "10000"]).start()
    socks = []
    try:
        assert "file descriptor limit %d" % limit in log_text(h)
        socks = open_idle(h.port, nidle)
        wait_for("the hub to run out of descriptors",
                 lambda: len(os.listdir("/proc/%d/fd" % h.proc.pid)) >= limit - 1)
        span = 3.0 if not LONG else 30.0
        c0, t0 = hub_cpu_seconds(h.proc.pid), time.time()
        time.sleep(span)
        cpu = (hub_cpu_seconds(h.proc.pid) - c0) / (time.time() - t0)
        print("out of descriptors for %.0f s: hub CPU %.1f%% of a core, %d log lines" % (
            span, cpu * 100, len(log_text(h).splitlines())))
        assert cpu < 0.10, "hub used %.0f%% of a core while out of descriptors" % (cpu * 100)
        text = log_text(h)
        assert len(text.splitlines()) < 20 and len(text) < 8000, text[-3000:]
        assert "Error from accept" not in text
        assert "accept failed (Too many open files; descriptor limit %d)" % limit in text
        # Descriptors free up: served again at once.
        for s in socks:
            s.close()
        socks = []
        t = time.time()
        code, _, _ = h.request("GET", "/api/v1/namespaces/default/configmaps", timeout=5)
        assert code == 200
        assert time.time() - t < 3.0, "served %.1f s after descriptors freed up" % (time.time() - t)
        home = tmp_path / "home"
        home.mkdir()
        p = Kubectl(h, None, str(home))("get", "configmaps", "-n", "default", "--request-timeout=10s")
        assert p.returncode == 0
        assert metric(h, "atoll_hub_accept_pauses_total") >= 1
        assert metric(h, "process_max_fds") == limit
    finally:
        for s in socks:
            s.close()
        assert h.stop() == 0


def test_max_connections_default_follows_descriptor_limit(tmp_path):
    # Under `prlimit --nofile=SOFT:HARD`: the hub raises the soft limit to
    # the hard one and caps each listener at it less 256 (at least half).
    cases = [((1000, 3000), None, 2744), ((400, 400), None, 200), ((3000, 3000), ["--max-connections", "77"], 77)]
    for (soft, hard), extra, want in cases:
        d = tmp_path / ("h%d-%d" % (soft, len(extra or [])))
        d.mkdir()
        h = Hub(str(d), tls=False, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),
                extra=extra or []).start()
        try:
            text = log_text(h)
            assert "file descriptor limit %d" % hard in text, text[-2000:]
            m = re.search(r"connection limit per listener.*max_connections=(\d+)", text)
            assert m and int(m.group(1)) == want, text[-2000:]
            assert metric(h, "process_max_fds") == hard
        finally:
            assert h.stop() == 0
    # The cap is what the listener enforces: at 400 descriptors, 200.
    d = tmp_path / "enforced"
    d.mkdir()
    h = Hub(str(d), tls=False, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400)),
            extra=["--max-pending-per-client", "1000", "--max-connections-per-client", "1000",
                   "--first-byte-timeout", "60s"]).start()
    socks = []
    try:
        socks = open_idle(h.port, 230)
        wait_for("the hub to hold the cap's connections", lambda: len(os.listdir("/proc/%d/fd" % h.proc.pid)) >= 200)
        time.sleep(0.5)  # let it accept the 30 past the cap too
        for s in socks:
            s.close()
        socks = []

        def past_cap():
            return sum(metric(h, "atoll_hub_connections_closed_total", '{listener="http",reason="%s"}' % r) or 0
                       for r in ("over_limit", "evicted"))
        assert wait_for("connections past the cap counted", past_cap) >= 1
        assert metric(h, "atoll_hub_accept_pauses_total") == 0  # never ran out of descriptors
    finally:
        for s in socks:
            s.close()
        assert h.stop() == 0


def test_plain_listener_slowloris_is_cut_and_capped(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    h = Hub(str(d), tls=False, extra=["--header-timeout", "1s", "--max-connections-per-client", "10"]).start()
    slow = []
    try:
        t0 = time.time()
        for _ in range(15):
            s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
            s.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        # Trickle a header byte now and then; count when each is cut.
        open_ = list(slow)
        cut_at = []
        while open_ and time.time() - t0 < 8:
            for s in list(open_):
                try:
                    s.sendall(b"X")
                except OSError:
                    cut_at.append(time.time() - t0)
                    open_.remove(s)
                    continue
                if closed_by_peer(s, 0.02):
                    cut_at.append(time.time() - t0)
                    open_.remove(s)
            time.sleep(0.1)
        assert not open_, "%d slow connections still open after 8 s" % len(open_)
        early = [t for t in cut_at if t < 0.9]
        assert len(early) >= 5, cut_at  # over the per-address cap: closed at once
        assert max(cut_at) < 4, cut_at  # the rest at the 1 s head deadline
        code, _, _ = h.request("GET", "/healthz")
        assert code == 200
        text = log_text(h)
        assert "http: closing connection from 127.0.0.1: request head not complete within 1000 ms" in text
        assert metric(h, "atoll_hub_connections_closed_total", '{listener="http",reason="header_timeout"}') >= 5
        assert metric(h, "atoll_hub_connections_closed_total", '{listener="http",reason="over_limit"}') >= 5
    finally:
        for s in slow:
            s.close()
        assert h.stop() == 0


def test_idle_tls_handshakes_do_not_make_a_client_wait(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    h = Hub(str(d), tls=True, insecure=True,
            extra=["--max-pending-per-client", "8", "--first-byte-timeout", "2s"]).start()
    idle = []
    try:
        idle = open_idle(h.tls_port, 40)
        wait_for("the idle handshakes to be counted",
                 lambda: metric(h, "atoll_hub_connections", '{listener="https",state="pending"}') == 8)
        # The burst past the quota was refused (its members are too young to
        # make room for each other). A real client from the same address: in
        # at once, in place of the oldest silent connection (not after the
        # 10 s handshake deadline).
        assert metric(h, "atoll_hub_connections_closed_total", '{listener="https",reason="over_limit"}') == 32
        time.sleep(0.3)  # silent for 200 ms: now they may make room
        for _ in range(3):
            t = time.time()
            code, _, _ = h.request("GET", "/api/v1/namespaces/default/configmaps", context=h.admin_ctx, timeout=5)
            assert code == 200
            assert time.time() - t < 1.5, "waited %.1f s" % (time.time() - t)
        assert metric(h, "atoll_hub_connections_closed_total", '{listener="https",reason="evicted"}') >= 1
        # Silent ones go at the first-byte deadline (2 s), well before the
        # handshake deadline (10 s).
        t = time.time()
        s = socket.create_connection(("127.0.0.1", h.tls_port), timeout=8)
        assert closed_by_peer(s, 8)
        assert 1.5 < time.time() - t < 5
        s.close()
        assert "https: closing connection from 127.0.0.1: nothing received within 2000 ms" in log_text(h)
    finally:
        for s in idle:
            s.close()
        assert h.stop() == 0
