"""The fleet smoke (issue 15): build/bin/bench_fleet with a few hundred
stand-in agents against a hub it starts (TLS; joined client certificates
and per-cluster bearer tokens), a PropagationPolicy over all of them and
one template change. Correctness only, not time: every cluster connected,
every long-poll answered with each round's Work, every status report folded
into the ResourceBinding (checked by bench_fleet, which exits non-zero and
says why otherwise). The 10,000-cluster run is `make bench-fleet`."""
import json
import os
import subprocess

import pytest

from conftest import BIN

CLUSTERS = 300


def test_fleet_smoke(tmp_path):
    exe = os.path.join(BIN, "bench_fleet")
    if not os.access(exe, os.X_OK):
        pytest.fail("%s is missing: make builds it" % exe)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    p = subprocess.run([exe, "--clusters", str(CLUSTERS), "--bearer-every", "3", "--idle", "0", "--rounds", "2",
                        "--budget", "100"], capture_output=True, text=True, timeout=140, env=env)
    lines = p.stdout.strip().splitlines()
    assert lines, "no output; stderr:\n" + p.stderr[-3000:]
    res = json.loads(lines[-1])
    assert p.returncode == 0 and res["ok"], "bench_fleet failed: %s\n%s" % (res.get("error"), p.stderr[-3000:])
    assert res["clusters_connected"] == CLUSTERS
    # both identities: joined certificates and bearer tokens
    assert 0 < res["bearer_clusters"] < CLUSTERS
    # creation and one change, each reached every long-poll and was folded back
    assert res["rounds"] == 2
    assert res["status_items_reported"] >= 2 * CLUSTERS
    assert res["fanout_p99_ms"] > 0
    assert res["hub_rss_mib"] > 0
    # the temporary hub was stopped and its directory removed
    assert not any(n.startswith("bench_fleet.") for n in os.listdir(tmp_path))
