"""The seed walkthrough end to end, as `make demo` runs it: hub + three
simulated members + three agents, real kubectl, the seed's own manifests."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../tools"))
import demo as demo_mod  # noqa: E402

from conftest import BIN, E2E_STORE, SEED, session_etcd, store_args  # noqa: E402


def pods(d, member):
    out = d.kubectl("get", "pods", "--no-headers", kubeconfig=d.member_kc[member], show=False, check=False)
    return [l.split()[0] for l in out.splitlines() if l.startswith("hello-")]


def wait(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def etcd_key_count(prefix):
    """Keys under prefix in the session's etcd member."""
    import base64

    def b64(s):
        return base64.b64encode(s.encode()).decode()
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    r = session_etcd().call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(end), "count_only": True})
    return int(r.get("count", 0))


def test_seed_walkthrough(tmp_path, capsys):
    # With ATOLL_E2E_STORE=etcd (make e2e-etcd-smoke) the hub runs on etcd.
    hub_args = store_args(os.path.abspath(os.path.join(str(tmp_path), "hub")))
    d = demo_mod.Demo(BIN, str(tmp_path), hub_args=hub_args)
    try:
        d.start_hub()
        d.walk()
        if E2E_STORE == "etcd":
            prefix = hub_args[hub_args.index("--etcd-prefix") + 1]
            assert etcd_key_count(prefix) > 20, "the hub did not store its objects in etcd under " + prefix
            assert not os.path.exists(os.path.join(str(tmp_path), "hub", "atoll.db")), os.listdir(d.hub_data)
        out = capsys.readouterr().out
        # Step 3: three clusters in Pull mode, Ready.
        for name in ("eu", "ap", "us"):
            assert re.search(r"^%s\s+v1\.23\.8\s+Pull\s+True" % name, out, re.M), out
        # Over HTTPS only, with the generated admin.kubeconfig; each agent
        # joined with its own bootstrap token and keeps a hub-signed certificate.
        assert d.hub_url.startswith("https://") and d.kubeconfig.endswith("admin.kubeconfig")
        for name in ("eu", "ap", "us"):
            assert "--token " in out and "--cluster-name %s " % name in out
            state = os.path.join(str(tmp_path), "agent-" + name)
            for f in ("agent.key", "agent.crt", "ca.crt"):
                assert oct(os.stat(os.path.join(state, f)).st_mode & 0o777) == "0o600", (name, f)
        # Step 4: no policy → 0/3 and the event.
        assert re.search(r"^hello\s+0/3\s", out, re.M)
        assert "ApplyPolicyFailed" in out and "No policy match for resource" in out
        # Step 8: the seed's event reasons on the Service.
        for reason in ("SyncSucceed", "AggregateStatusSucceed", "ScheduleBindingSucceed", "SyncWorkSucceed"):
            assert reason in out
        assert "Successfully applied resource(default/hello) to cluster ap" in out
        # Step 7 result: us 4, ap 2, eu 4, and 10/10 on the hub.
        wait("4/2/4", lambda: [len(pods(d, m)) for m in ("us", "ap", "eu")] == [4, 2, 4])
        assert d.hub_ready(10)
        for m in ("eu", "ap", "us"):
            d.kubectl("get", "service", "hello", kubeconfig=d.member_kc[m], show=False)
        # Steps 9-10: the Mesh (every chain verifies, networks as the seed's), then sleep
        # with policy-with-sleep: us 4, ap 4, eu 2 and one sleep pod.
        d.mesh_steps()
        out = capsys.readouterr().out
        assert out.count("cert-chain.pem: OK") == 3, out
        for net in ("network1", "network2", "network3"):
            assert re.search(r"^istio-system\s+Active\s+\S+\s+%s$" % net, out, re.M), out
        assert "  network: network1\n" in out
        wait("4/4/2", lambda: [len(pods(d, m)) for m in ("us", "ap", "eu")] == [4, 4, 2])
        assert re.search(r"^sleep-\S+\s+1/1\s+Running", out, re.M), out
        # Delete on the hub → gone from every member.
        d.kubectl("delete", "-f", os.path.join(SEED, "deployment.yaml"), show=False)
        wait("pods gone everywhere", lambda: all(not pods(d, m) for m in ("eu", "ap", "us")))
        for m in ("eu", "ap", "us"):
            wait("service gone from " + m, lambda m=m: d.kubectl(
                "get", "service", "hello", kubeconfig=d.member_kc[m], show=False, check=False).strip() == "")
    finally:
        d.stop()
        for name, p in d.procs:
            assert p.returncode == 0, "%s exited with %s" % (name, p.returncode)
