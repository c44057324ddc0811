"""atoll-sim's pod IPs and its endpoints/endpointslice controllers, driven by
real kubectl: every ready pod of a Service is listed (IP from the member's
pod CIDR, port, zone, node), scaling follows, IPs survive a restart."""
import json
import os

from conftest import SEED, Kubectl
from test_sim import Sim, Target, running_pods, wait_for


def slice_ips(k):
    p = k("get", "endpointslices.discovery.k8s.io", "-l", "kubernetes.io/service-name=hello", "-o", "json",
          check=False)
    if p.returncode != 0:
        return None
    items = json.loads(p.stdout)["items"]
    return sorted(a for s in items for e in s.get("endpoints") or [] if e["conditions"]["ready"]
                  for a in e["addresses"])


def pod_ips(k):
    items = json.loads(k("get", "pods", "-l", "app=hello", "-o", "json").stdout)["items"]
    return sorted(p["status"]["podIP"] for p in items if p.get("status", {}).get("podIP"))


def test_endpointslices_follow_pods_and_ips_survive_restart(tmp_path):
    data = tmp_path / "data"
    kc = str(tmp_path / "us.kubeconfig")
    args = ["--name", "us", "--insecure-listen", "127.0.0.1:0", "--kubeconfig-out", kc, "--data-dir", str(data),
            "--nodes", "2", "--ready-delay", "100ms", "--zone", "us-a,us-b"]
    home = tmp_path / "home"
    home.mkdir()
    s = Sim(tmp_path / "sim1", args).start()
    try:
        k = Kubectl(Target(s, kc), None, str(home))
        k("apply", "-f", os.path.join(SEED, "deployment.yaml"))
        k("scale", "deployment/hello", "--replicas=5")
        wait_for(lambda: running_pods(k, 5), what="5 pods")
        ips = wait_for(lambda: (lambda i: i if i and len(i) == 5 else None)(slice_ips(k)), what="5 endpoints")
        assert ips == pod_ips(k)
        assert len(set(ips)) == 5
        # All in us's pod CIDR, one /16 per member.
        assert len({ip.rsplit(".", 2)[0] for ip in ips}) == 1 and ips[0].startswith("10.")
        es = json.loads(k("get", "endpointslices.discovery.k8s.io", "hello-sim", "-o", "json").stdout)
        assert es["addressType"] == "IPv4"
        assert es["ports"] == [{"name": "", "port": 9898, "protocol": "TCP"}]
        assert {e["zone"] for e in es["endpoints"]} == {"us-a", "us-b"}
        assert all(e["nodeName"].startswith("us-node-") and e["targetRef"]["kind"] == "Pod" for e in es["endpoints"])
        ep = json.loads(k("get", "endpoints", "hello", "-o", "json").stdout)
        assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == ips
        assert ep["subsets"][0]["ports"][0]["port"] == 9898

        k("scale", "deployment/hello", "--replicas=2")
        ips = wait_for(lambda: (lambda i: i if i is not None and len(i) == 2 else None)(slice_ips(k)),
                       what="2 endpoints")
        assert set(ips) <= set(pod_ips(k)) or ips == pod_ips(k)
    finally:
        assert s.stop() == 0
    # Restart on the same data: the stored pods keep their IPs; new ones get free ones.
    s = Sim(tmp_path / "sim2", args).start()
    try:
        k = Kubectl(Target(s, kc), None, str(home))
        assert wait_for(lambda: running_pods(k, 2), what="2 pods")
        assert pod_ips(k) == ips
        k("scale", "deployment/hello", "--replicas=4")
        now = wait_for(lambda: (lambda i: i if i and len(i) == 4 else None)(slice_ips(k)), what="4 endpoints")
        assert set(ips) <= set(now) and len(set(now)) == 4
        # Deleting the Service removes what the controllers made for it.
        k("delete", "service", "hello")
        wait_for(lambda: slice_ips(k) == [] and k("get", "endpoints", "hello", check=False).returncode != 0,
                 what="endpoints gone")
    finally:
        assert s.stop() == 0
