"""A short network-namespace smoke for `make test` (the long version is
`make netns-test`, tests/netns/test_netns.py): one member behind a 40 ms
link with jitter, a change reaches it; the link goes down under steady
changes and comes back: the member's object was untouched meanwhile,
catches up in order, same uid. And agents behind a forward proxy. Skips
with the reason where namespaces cannot be created (not root, no ip)."""
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../netns"))
import netlab  # noqa: E402
from test_netns import NetDemo, cm_n, propagate_configmap, set_n, wait  # noqa: E402
from test_netns import test_agents_behind_a_forward_proxy  # noqa: E402,F401  (collected here too)
from conftest import BIN  # noqa: E402

_why = netlab.why_unavailable()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


@pytest.fixture
def net(tmp_path):
    lab = netlab.Lab()
    d = NetDemo(BIN, str(tmp_path), lab)
    try:
        d.start_hub()
        yield d
    finally:
        d.stop()
        lab.close()


def test_link_down_and_back(net):
    d = net
    d.start_members([("eu", 40, 4, 0.0)])
    propagate_configmap(d, "smoke", ["eu"])
    wait("smoke in eu", lambda: cm_n(d, "eu", "smoke"), timeout=20)
    uid = cm_n(d, "eu", "smoke")[1]
    set_n(d, "smoke", 1)
    wait("n=1 in eu", lambda: cm_n(d, "eu", "smoke")[0] == 1, timeout=10)
    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            v = cm_n(d, "eu", "smoke")
            if v and (not seen or seen[-1] != v):
                seen.append(v)
            time.sleep(0.02)
    t = threading.Thread(target=watch)
    t.start()
    try:
        d.regions["eu"].cut(True, "hold")
        time.sleep(0.3)
        frozen = cm_n(d, "eu", "smoke")
        for n in range(2, 6):
            set_n(d, "smoke", n)
            time.sleep(0.2)
        assert cm_n(d, "eu", "smoke") == frozen  # untouched while cut off
        d.regions["eu"].cut(False, "hold")
        wait("eu caught up", lambda: cm_n(d, "eu", "smoke")[0] == 5, timeout=20)
    finally:
        stop.set()
        t.join()
    assert {v[1] for v in seen} == {uid}  # never deleted and recreated
    assert [v[0] for v in seen] == sorted(v[0] for v in seen)  # in order
