"""Several hubs on one etcd cluster (issue 12): a three-member etcd on
loopback ports, N hubs sharing one prefix with a short leader Lease, one
atoll-sim process serving three members (eu, ap, us) and an agent per
member that knows every hub. Used by test_ha.py and tests/tools/chaos_ha.py."""
import os
import subprocess

import conftest
from conftest import BIN, LOOKUP_ERRORS, Hub, SimFleet, free_port, stop_process
from conftest import read_stripped as _read
from etcd import EtcdCluster

MEMBERS = (("eu", "eu-west"), ("ap", "ap-south"), ("us", "us-east"))
PREFIX = "/atoll-ha/"
LEASE_API = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/atoll-controller"


def wait_for(what, fn, timeout=20.0, interval=0.05):
    """conftest.wait_for with this file's default timeout; a missing field or
    a hub that does not answer (OSError) counts as "not yet"."""
    return conftest.wait_for(what, fn, timeout=timeout, interval=interval, ignore=LOOKUP_ERRORS + (OSError,))


class HAFleet:
    def __init__(self, tmp, hubs=3, lease_s=2, etcd_members=3, hub_extra=()):
        self.tmp = str(tmp)
        self.lease_s = lease_s
        self.etcd = EtcdCluster(os.path.join(self.tmp, "etcd"), members=etcd_members)
        self.hubs = []
        for i in range(hubs):
            d = os.path.join(self.tmp, "hub%d" % i)
            os.makedirs(d, exist_ok=True)
            # A fixed port (the last --insecure-listen wins): a restarted hub
            # is where the agents' --hub list says it is.
            self.hubs.append(Hub(d, tls=False, extra=self.etcd.hub_args(PREFIX) + [
                "--leader-elect-lease-duration", "%ds" % lease_s, "--insecure-listen", "127.0.0.1:%d" % free_port(),
                # not HOST_PID: a dead holder on this host would be taken over
                # at once, and the tests want the Lease's own timing
                "--leader-elect-identity", "hub%d" % i] + list(hub_extra)))
        self.sim = None
        self.agents = {}
        self.logs = []
        self.ports = {}

    def start(self):
        self.etcd.start()
        for h in self.hubs:
            h.start()
        self.hub_urls = ",".join(h.url for h in self.hubs)
        simdir = os.path.join(self.tmp, "sim")
        os.makedirs(simdir, exist_ok=True)
        pf = os.path.join(simdir, "ports")
        log = open(os.path.join(simdir, "sim.log"), "ab")
        self.logs.append(log)
        args = [os.path.join(BIN, "atoll-sim"), "--kubeconfig-dir", simdir, "--port-file", pf,
                "--nodes", "2", "--ready-delay", "100ms", "--no-events"]
        for m, _ in MEMBERS:
            args += ["--cluster", "%s=127.0.0.1:0" % m]
        self.sim = subprocess.Popen(args, stdout=log, stderr=log)
        txt = wait_for("atoll-sim", lambda: (_read(pf) or "").count("\n") >= len(MEMBERS) - 1 and _read(pf))
        for line in txt.splitlines():
            name, port = line.split()
            self.ports[name] = int(port)
        for m, region in MEMBERS:
            self.start_agent(m, region)
        for m, _ in MEMBERS:
            wait_for(m + " Ready", lambda m=m: self.ready(m) == "True")
        return self

    def start_agent(self, m, region):
        kc = os.path.join(self.tmp, "sim", m + ".kubeconfig")
        wait_for("kubeconfig of " + m, lambda: _read(kc))
        adir = os.path.join(self.tmp, "agent-" + m)
        os.makedirs(adir, exist_ok=True)
        alog = open(os.path.join(adir, "agent.log"), "ab")
        p = subprocess.Popen(
            [os.path.join(BIN, "atoll-agent"), "--hub", self.hub_urls, "--cluster-name", m, "--kubeconfig", kc,
             "--region", region, "--state-dir", os.path.join(adir, "state"), "--heartbeat-interval", "1s",
             "--poll-timeout", "2s", "--log-level", "debug"], stdout=alog, stderr=alog)
        self.agents[m] = (p, alog)

    def alive(self):
        return [h for h in self.hubs if h.proc and h.proc.poll() is None]

    def any_hub(self):
        return self.alive()[0]

    def ready(self, name, hub=None):
        code, c, _ = (hub or self.any_hub()).get("/apis/cluster.karmada.io/v1alpha1/clusters/" + name)
        for cond in (c or {}).get("status", {}).get("conditions", []) if code == 200 else []:
            if cond["type"] == "Ready":
                return cond["status"]
        return None

    def lease(self, hub=None):
        code, o, _ = (hub or self.any_hub()).get(LEASE_API)
        return o if code == 200 else None

    def leader(self, via=None):
        """The live hub the Lease names (as hub `via` serves it), once one
        holds it."""
        lease = self.lease(via)
        holder = (lease or {}).get("spec", {}).get("holderIdentity") or ""
        for i, h in enumerate(self.hubs):
            if holder == "hub%d" % i and h in self.alive():
                return h
        return None

    # requests to a member's simulated API, as SimFleet makes them
    member = SimFleet.member
    mget = SimFleet.mget

    def stop(self):
        rcs = {}
        for m, (p, log) in self.agents.items():
            rcs["agent-" + m] = stop_process(p, log)
        rcs["sim"] = stop_process(self.sim, self.logs[0])
        for i, h in enumerate(self.hubs):
            if h.proc and h.proc.returncode is None:
                rcs["hub%d" % i] = h.stop()
        self.etcd.stop()
        return rcs

    def logs_text(self):
        out = []
        paths = [os.path.join(h.data_dir, "hub.log") for h in self.hubs] + \
            [os.path.join(self.tmp, "agent-%s" % m, "agent.log") for m, _ in MEMBERS]
        for p in paths:
            try:
                with open(p, errors="replace") as f:
                    out.append("== %s\n%s" % (p, f.read()[-2500:]))
            except OSError:
                pass
        return "\n".join(out)
