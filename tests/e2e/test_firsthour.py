"""A new user's first hour: what the README says runs as written, the
programs say where they listen and why they cannot, the agent keeps its
name in ps and stops with the next step when it has no identity, and
`make demo` says how long it runs and leaves nothing behind."""
import os
import re
import signal
import socket
import subprocess
import sys

from conftest import BIN, REPO, free_port, stop_process, wait_for as poll


def wait_for(what, fn, timeout=10.0, interval=0.02):
    return poll(what, fn, timeout, interval)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# ---- the README ----------------------------------------------------------------

def test_readme_plan_command_runs_as_written():
    """The README's `atoll-hub plan` line, run from the repository root,
    prints exactly the line shown under it."""
    lines = read(os.path.join(REPO, "README.md")).splitlines()
    idx = [i for i, l in enumerate(lines) if l.startswith("build/bin/atoll-hub plan ")]
    assert len(idx) == 1, "the README shows one plan command"
    cmd, shown = lines[idx[0]], lines[idx[0] + 1]
    assert shown.startswith("# {"), shown
    args = cmd.split()
    args[0] = os.path.join(BIN, "atoll-hub")
    for f in args[3::2]:
        assert os.path.exists(os.path.join(REPO, f)), "the README names %s, which is not in the repository" % f
    p = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == shown[2:].strip()


def test_readme_counts_its_programs():
    intro = read(os.path.join(REPO, "README.md")).split("See `docs/architecture.md`")[0]
    programs = re.findall(r"^- \*\*(atoll-[a-z]+)\*\*", intro, re.M)
    words = {2: "two", 3: "three", 4: "four"}
    assert "as %s small C programs" % words[len(programs)] in intro, programs


def test_readme_make_targets_exist_and_bench_tools_builds_every_benchmark():
    """Every `make X` the README names is a target of the Makefile, and
    `make bench-tools` builds every benchmark program in tests/bench
    (`build/bin/bench_fleet --clusters N` is a command users run)."""
    readme = read(os.path.join(REPO, "README.md"))
    targets = set(re.findall(r"`make ([a-z0-9-]+)", readme))
    assert "bench-tools" in targets and "bench-fleet" in targets, targets
    p = subprocess.run(["make", "-C", REPO, "-n", "-p"], capture_output=True, text=True, timeout=60)
    defined = set(re.findall(r"^([a-z0-9-]+):", p.stdout, re.M))
    assert targets <= defined, targets - defined
    programs = {f[:-2] for f in os.listdir(os.path.join(REPO, "tests", "bench")) if re.match(r"bench_[a-z]+\.c$", f)}
    p = subprocess.run(["make", "-C", REPO, "-n", "-B", "bench-tools"], capture_output=True, text=True, timeout=60)
    built = set(re.findall(r"-o \S*/bin/(bench_[a-z]+) ", p.stdout))
    assert programs and programs <= built, programs - built


# ---- listening -----------------------------------------------------------------

def test_hub_logs_the_ports_it_got(tmp_path):
    """With port 0 the log names the port the kernel chose, for the plain
    listener and for HTTPS."""
    d = str(tmp_path)
    hub = os.path.join(BIN, "atoll-hub")
    subprocess.run([hub, "init", "--data-dir", d, "--hosts", "127.0.0.1", "--port", str(free_port())],
                   check=True, capture_output=True, timeout=60)
    pf, tpf, logpath = os.path.join(d, "port"), os.path.join(d, "tls-port"), os.path.join(d, "hub.log")
    log = open(logpath, "ab")
    p = subprocess.Popen([hub, "serve", "--data-dir", d, "--insecure-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
                          "--port-file", pf, "--tls-port-file", tpf], stdout=log, stderr=log)
    try:
        port = int(wait_for("the port file", lambda: read(pf).strip()))
        tls_port = int(wait_for("the TLS port file", lambda: read(tpf).strip()))
        assert port and tls_port and port != tls_port
        wait_for("both listeners logged", lambda: read(logpath).count("address=") == 2)
        out = read(logpath)
        assert "serving the API address=127.0.0.1:%d " % port in out, out
        assert "serving HTTPS address=127.0.0.1:%d" % tls_port in out, out
        assert "127.0.0.1:0" not in out, out
    finally:
        assert stop_process(p, log) == 0, read(logpath)


def test_listen_errors_say_why_and_what_next(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        p = subprocess.run([os.path.join(BIN, "atoll-hub"), "serve", "--data-dir", str(tmp_path),
                            "--insecure-listen", "127.0.0.1:%d" % port], capture_output=True, text=True, timeout=20)
    finally:
        busy.close()
    assert p.returncode == 1
    assert "cannot listen on 127.0.0.1:%d: Address already in use" % port in p.stderr, p.stderr
    assert "another process listens there" in p.stderr and "port 0" in p.stderr, p.stderr
    p = subprocess.run([os.path.join(BIN, "atoll-hub"), "serve", "--data-dir", str(tmp_path),
                        "--insecure-listen", "127.0.0.1:64k"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 1 and "invalid port in 127.0.0.1:64k" in p.stderr, p.stderr


# ---- the agent -----------------------------------------------------------------

MEMBER_KC = """apiVersion: v1
kind: Config
clusters: [{name: m, cluster: {server: 'http://127.0.0.1:%d'}}]
contexts: [{name: m, context: {cluster: m, user: u}}]
current-context: m
users: [{name: u, user: {}}]
"""


def member_kubeconfig(tmp_path):
    path = str(tmp_path / "member.kubeconfig")
    with open(path, "w") as f:
        f.write(MEMBER_KC % free_port())
    return path


def test_agent_without_token_or_state_says_what_it_needs(tmp_path):
    """No token and nothing saved from an earlier join: the agent cannot
    authenticate to an HTTPS hub, so it stops at once (exit 2) and names
    the flags, rather than retrying on TLS errors forever. No hub is
    needed to see it: it stops before connecting."""
    kc = member_kubeconfig(tmp_path)
    base = [os.path.join(BIN, "atoll-agent"), "--hub", "https://127.0.0.1:%d" % free_port(),
            "--cluster-name", "eu", "--kubeconfig", kc]
    p = subprocess.run(base, capture_output=True, text=True, timeout=20)
    assert p.returncode == 2, p.stderr
    assert "--token" in p.stderr and "--ca-cert-hash" in p.stderr and "--state-dir" in p.stderr, p.stderr
    state = tmp_path / "state"
    state.mkdir()
    p = subprocess.run(base + ["--state-dir", str(state)], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2, p.stderr
    assert "no certificate in --state-dir %s and no --token" % state in p.stderr, p.stderr
    assert "--ca-cert-hash" in p.stderr, p.stderr
    assert os.listdir(str(state)) == []


def comm(pid):
    return read("/proc/%d/comm" % pid).strip()


def reexecuted(pid):
    return b"GNUTLS_NO_IMPLICIT_INIT=1" in open("/proc/%d/environ" % pid, "rb").read().split(b"\0")


def test_agent_keeps_its_name_in_ps(tmp_path):
    """The agent starts over once (without GnuTLS's implicit init); ps and
    pgrep still see atoll-agent, and through a symlink the symlink's name,
    as for any program."""
    kc = member_kubeconfig(tmp_path)
    link = str(tmp_path / "eu-agent")
    os.symlink(os.path.join(BIN, "atoll-agent"), link)
    procs = []
    try:
        for exe in (os.path.join(BIN, "atoll-agent"), link):
            log = open(str(tmp_path / ("%d.log" % len(procs))), "ab")
            p = subprocess.Popen([exe, "--hub", "http://127.0.0.1:%d" % free_port(), "--cluster-name", "eu",
                                  "--kubeconfig", kc, "--state-dir", str(tmp_path / ("state%d" % len(procs)))],
                                 stdout=log, stderr=log)
            procs.append((p, log))
            wait_for("the agent to start over", lambda: p.poll() is None and reexecuted(p.pid))
        agent, linked = procs[0][0], procs[1][0]
        wait_for("comm atoll-agent", lambda: comm(agent.pid) == "atoll-agent")
        found = subprocess.run(["pgrep", "-x", "atoll-agent"], capture_output=True, text=True).stdout.split()
        assert str(agent.pid) in found, (found, comm(agent.pid))
        wait_for("comm eu-agent", lambda: comm(linked.pid) == "eu-agent")
        found = subprocess.run(["pgrep", "-x", "eu-agent"], capture_output=True, text=True).stdout.split()
        assert found == [str(linked.pid)], found
        for p, _ in procs:
            assert p.poll() is None, "the agent exited"
    finally:
        for p, log in procs:
            stop_process(p, log)


# ---- make demo -----------------------------------------------------------------

def processes_mentioning(text):
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if text.encode() in f.read():
                        pids.append(int(pid))
            except OSError:
                pass
    return pids


def test_demo_says_it_runs_until_ctrl_c_and_cleans_up(tmp_path):
    """The first line says how long the demo runs and where its files
    (the CA key among them) are; SIGTERM mid-walk stops every process it
    started and removes the directory."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    p = subprocess.Popen([sys.executable, os.path.join(REPO, "tests/tools/demo.py"), "--bin", BIN],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = p.stdout.readline()
        assert "runs until you press Ctrl-C" in first and "removed on exit" in first, first
        workdir = re.search(r"in (\S+);", first).group(1)
        assert workdir.startswith(str(tmp_path)) and os.path.isdir(workdir), first
        wait_for("the hub to be up", lambda: os.path.exists(os.path.join(workdir, "hub", "ca.key"))
                 and processes_mentioning(workdir), timeout=30)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert not os.path.exists(workdir), os.listdir(workdir)
        assert processes_mentioning(workdir) == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_numeric_flags_are_parsed_strictly(tmp_path):
    """Numbers on the command line are whole numbers or refused (exit 2),
    not read up to the first odd character as atoi did."""
    hub = os.path.join(BIN, "atoll-hub")
    serve = [hub, "serve", "--data-dir", str(tmp_path), "--insecure-listen", "127.0.0.1:0"]
    for flag, value, want in (("--history", "20k", "--history must be a whole number of at least 100"),
                              ("--history", "99", "--history must be a whole number of at least 100"),
                              ("--max-watches", "10x", "invalid --max-watches 10x"),
                              ("--max-connections", "-1", "invalid --max-connections -1"),
                              ("--max-connections-per-client", "", "invalid --max-connections-per-client")):
        p = subprocess.run(serve + [flag, value], capture_output=True, text=True, timeout=20)
        assert p.returncode == 2 and want in p.stderr, (flag, value, p.stderr)
    for port in ("6443x", "0", "65536"):
        p = subprocess.run([hub, "init", "--data-dir", str(tmp_path / "init"), "--hosts", "127.0.0.1", "--port", port],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 2 and "invalid --port %s" % port in p.stderr, p.stderr
    assert not os.path.exists(str(tmp_path / "init" / "ca.key"))
