"""`atoll-hub plan`: the scheduler as a dry run on Karmada YAML files, run
as the real binary. Inputs live in tests/data/scheduler/plan-*.yaml."""
import json
import os
import subprocess

BIN = os.environ.get("ATOLL_BIN") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../build/bin"))
DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "../data/scheduler"))


def plan(*files, extra=()):
    args = [os.path.join(BIN, "atoll-hub"), "plan", *extra]
    for f in files:
        args += ["-f", os.path.join(DATA, f)]
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


def placement(p):
    assert p.returncode == 0, p.stderr
    return {c["name"]: c["replicas"] for c in json.loads(p.stdout)["clusters"]}


def test_seed_steps():
    # Step 5 (3 replicas, 1:1:1) is in the unit tables; here steps 6 and 7.
    assert placement(plan("plan-clusters.yaml", "plan-policy-equal.yaml", "plan-deployment-even.yaml")) == {"ap": 4, "eu": 3, "us": 3}
    assert placement(plan("plan-clusters.yaml", "plan-policy-equal.yaml", "plan-deployment-odd.yaml")) == {"ap": 3, "eu": 3, "us": 4}
    assert placement(plan("plan-clusters.yaml", "plan-policy-weighted.yaml", "plan-deployment-odd.yaml",
                          "plan-binding.yaml")) == {"ap": 2, "eu": 4, "us": 4}


def test_output_is_sorted_json():
    p = plan("plan-clusters.yaml", "plan-policy-weighted.yaml", "plan-service.yaml")
    assert p.stdout == '{"clusters":[{"name":"ap","replicas":0},{"name":"eu","replicas":0},{"name":"us","replicas":0}]}\n'


def test_unschedulable_exit_1():
    p = plan("plan-clusters.yaml", "plan-policy-nowhere.yaml", "plan-deployment-even.yaml")
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr == ("atoll-hub plan: 0/3 clusters are available: 3 cluster(s) did not match "
                        "the placement cluster affinity constraint.\n")


def test_bad_input_exit_2():
    p = plan("plan-clusters.yaml", "plan-bad.yaml")
    assert p.returncode == 2 and "plan-bad.yaml: yaml: " in p.stderr
    p = plan("plan-clusters.yaml", "plan-service.yaml")
    assert p.returncode == 2 and "no PropagationPolicy" in p.stderr
    p = plan()
    assert p.returncode == 2


def test_help():
    p = plan(extra=["--help"])
    assert p.returncode == 0 and "Usage: atoll-hub plan -f FILE" in p.stdout
