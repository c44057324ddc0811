"""Network namespaces with region-like links for end-to-end tests (issue 15).

Each Region is one Linux network namespace (unique name atoll<pid>-<region>)
joined to the test's own namespace (where the hub runs) by a veth pair on a
private /30 (10.231.<lab>.<4i+1> here, <4i+2> there; <lab> is an octet no
address on the host uses yet, so that labs of parallel test workers do not
share a subnet in the root namespace). Nothing is routed beyond those
links: the namespaces have no default route, so no traffic leaves them.

The link's character (per-direction latency, jitter, loss, stalls, resets,
black-holing) comes from netem when the kernel has it (tc qdisc on the veth
ends), and otherwise — this machine's kernel has no netem — from a
FaultProxy: an asyncio TCP proxy in this process, listening on the region's
veth address and forwarding to the hub on 127.0.0.1, that delays each chunk
by half the round trip (plus jitter) per direction in order, turns "loss"
into a retransmission-like stall of 200 ms on a chunk with that probability,
and can black-hole (accept, forward nothing, keep connections), stall or
reset every connection on command. Members (atoll-sim) listen on the
namespace side of their veth so the test can read them directly.

Everything is removed by close() (also called on failure by the fixtures);
namespaces that cannot be created make the tests skip with the reason."""
import asyncio
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import threading
import time

PREFIX = "atoll%d" % os.getpid()


def run(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def why_unavailable():
    """None when namespaces can be made here, else the reason."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2 (ip) is not installed"
    name = PREFIX + "-probe"
    r = run("ip", "netns", "add", name, check=False)
    if r.returncode != 0:
        return "cannot create a network namespace: " + (r.stderr.strip() or "ip netns add failed")
    run("ip", "netns", "del", name, check=False)
    return None


def have_netem():
    r = run("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms", check=False) \
        if shutil.which("tc") else None
    if r is None or r.returncode != 0:
        return False
    run("tc", "qdisc", "del", "dev", "lo", "root", check=False)
    return True


class FaultProxy:
    """Delay-and-fault TCP proxy (see the module doc)."""

    def __init__(self, loop, listen_host, target, one_way_ms, jitter_ms=0.0, loss=0.0, seed=1):
        self.loop = loop
        self.listen_host = listen_host
        self.target = target
        self.one_way = one_way_ms / 1000.0
        self.jitter = jitter_ms / 1000.0
        self.loss = loss
        self.rng = random.Random(seed)
        self.blackholed = False
        self.held = False  # link down: nothing moves, nothing is lost (TCP would retransmit)
        self.stall_until = 0.0
        self.conns = set()
        self.server = None
        self.port = None
        self.accepted = 0

    async def start(self):
        self.server = await asyncio.start_server(self._client, self.listen_host, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def _delay(self):
        d = self.one_way + (self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
        if self.loss and self.rng.random() < self.loss:
            d += 0.2  # a lost segment costs about one retransmission timeout
        return max(0.0, d)

    async def _pump(self, reader, writer, conn):
        due_prev = 0.0
        q = asyncio.Queue()

        async def deliver():
            while True:
                item = await q.get()
                if item is None:
                    break
                due, data = item
                now = self.loop.time()
                if due > now:
                    await asyncio.sleep(due - now)
                while self.loop.time() < self.stall_until or self.held:
                    await asyncio.sleep(0.02)
                if self.blackholed:
                    continue
                writer.write(data)
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    break
            try:
                writer.close()
            except Exception:
                pass

        task = self.loop.create_task(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.blackholed:
                    continue  # swallowed: the other side never hears of it
                due = max(due_prev, self.loop.time() + self._delay())  # in order
                due_prev = due
                await q.put((due, data))
        except (ConnectionError, OSError):
            pass
        await q.put(None)
        await task

    async def _client(self, creader, cwriter):
        self.accepted += 1
        if self.blackholed:
            # accepted, then silence (a cut link: the SYN-ACK came from the local proxy, nothing else will)
            conn = (cwriter, None)
            self.conns.add(conn)
            try:
                while await creader.read(65536):
                    pass
            except (ConnectionError, OSError):
                pass
            self.conns.discard(conn)
            return
        while self.held:  # SYN retransmitted until the link is back
            await asyncio.sleep(0.02)
        await asyncio.sleep(self._delay() * 2)  # the handshake's round trip
        try:
            ureader, uwriter = await asyncio.open_connection(*self.target)
        except OSError:
            cwriter.close()
            return
        conn = (cwriter, uwriter)
        self.conns.add(conn)
        await asyncio.gather(self._pump(creader, uwriter, conn), self._pump(ureader, cwriter, conn))
        self.conns.discard(conn)

    def _reset_all(self):
        for cw, uw in list(self.conns):
            for w in (cw, uw):
                if w is None:
                    continue
                sock = w.get_extra_info("socket")
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
                w.close()
        self.conns.clear()

    # ---- commands (from the test thread) ----
    def blackhole(self, on=True):
        self.loop.call_soon_threadsafe(setattr, self, "blackholed", on)

    def hold(self, on=True):
        self.loop.call_soon_threadsafe(setattr, self, "held", on)

    def stall(self, seconds):
        self.loop.call_soon_threadsafe(lambda: setattr(self, "stall_until", self.loop.time() + seconds))

    def reset(self):
        self.loop.call_soon_threadsafe(self._reset_all)

    def close(self):
        def _close():
            self._reset_all()
            if self.server:
                self.server.close()
        self.loop.call_soon_threadsafe(_close)


class ConnectProxy:
    """A forward proxy (HTTP CONNECT, as squid does for https) on a region's
    link address, that tunnels only to allowed (host, port) pairs."""

    def __init__(self, loop, listen_host, allowed):
        self.loop, self.listen_host, self.allowed = loop, listen_host, set(allowed)
        self.tunnels = 0
        self.refused = 0
        self.writers = set()
        self.server = None
        self.port = None

    async def start(self):
        self.server = await asyncio.start_server(self._client, self.listen_host, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader, writer):
        self.writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(line) < 2 or line[0] != "CONNECT":
                self.refused += 1
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = line[1].rpartition(":")
            if (host, int(port)) not in self.allowed:
                self.refused += 1
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            ur, uw = await asyncio.open_connection(host, int(port))
            self.writers.add(uw)
            self.tunnels += 1
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pipe(r, w):
                try:
                    while True:
                        data = await r.read(65536)
                        if not data:
                            break
                        w.write(data)
                        await w.drain()
                except (ConnectionError, OSError):
                    pass
                try:
                    w.close()
                except Exception:
                    pass
            await asyncio.gather(pipe(reader, uw), pipe(ur, writer))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def close(self):
        def _close():
            for w in list(self.writers):
                try:
                    w.close()
                except Exception:
                    pass
            if self.server:
                self.server.close()
        self.loop.call_soon_threadsafe(_close)


def free_octet():
    """A third octet for 10.231.X.0/24 that no address on the host uses,
    starting from this process's pid (parallel workers start apart)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    used = {int(o) for o in re.findall(r"\b10\.231\.(\d+)\.", out)}
    start = os.getpid() % 250
    for k in range(250):
        o = (start + k) % 250 + 1
        if o not in used:
            return o
    raise RuntimeError("no free 10.231.X.0/24 subnet for a network lab")


class Lab:
    """The namespaces, veths and proxies of one test; close() removes all."""

    def __init__(self):
        self.regions = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.netem = have_netem()
        self.octet = free_octet()

    def host_ip(self, i):
        """The host side of region i's link (i from 1, as add_region counts)."""
        return "10.231.%d.%d" % (self.octet, 4 * i + 1)

    def add_region(self, name, rtt_ms, jitter_ms=0.0, loss=0.0):
        i = len(self.regions) + 1
        r = Region(self, name, i, rtt_ms, jitter_ms, loss)
        self.regions.append(r)
        r.create()
        return r

    def proxy(self, region, target):
        """A FaultProxy on the region's veth address to target (host, port)."""
        one_way = 0.0 if self.netem else region.rtt_ms / 2.0
        p = FaultProxy(self.loop, region.host_ip, target, one_way, 0.0 if self.netem else region.jitter_ms,
                       0.0 if self.netem else region.loss, seed=region.index)
        asyncio.run_coroutine_threadsafe(p.start(), self.loop).result(10)
        region.proxies.append(p)
        return p

    def connect_proxy(self, region, allowed):
        """A forward proxy on the region's link address, tunnelling to allowed."""
        p = ConnectProxy(self.loop, region.host_ip, allowed)
        asyncio.run_coroutine_threadsafe(p.start(), self.loop).result(10)
        region.proxies.append(p)
        return p

    def close(self):
        for r in self.regions:
            r.destroy()

        async def _cancel():
            for t in asyncio.all_tasks():
                if t is not asyncio.current_task():
                    t.cancel()
        asyncio.run_coroutine_threadsafe(_cancel(), self.loop).result(5)
        time.sleep(0.1)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Region:
    def __init__(self, lab, name, index, rtt_ms, jitter_ms, loss):
        self.lab, self.name, self.index = lab, name, index
        self.rtt_ms, self.jitter_ms, self.loss = rtt_ms, jitter_ms, loss
        self.ns = "%s-%s" % (PREFIX, name)
        self.veth_host = ("v%d%s" % (os.getpid() % 100000, name))[:15]
        self.veth_ns = ("w%d%s" % (os.getpid() % 100000, name))[:15]
        self.host_ip = lab.host_ip(index)
        self.ns_ip = "10.231.%d.%d" % (lab.octet, 4 * index + 2)
        self.proxies = []
        self.procs = []

    def create(self):
        run("ip", "netns", "add", self.ns)
        try:
            run("ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns)
            run("ip", "link", "set", self.veth_ns, "netns", self.ns)
            run("ip", "addr", "add", self.host_ip + "/30", "dev", self.veth_host)
            run("ip", "link", "set", self.veth_host, "up")
            self.exec_("ip", "link", "set", "lo", "up")
            self.exec_("ip", "addr", "add", self.ns_ip + "/30", "dev", self.veth_ns)
            self.exec_("ip", "link", "set", self.veth_ns, "up")
            if self.lab.netem:
                half = "%dms" % (self.rtt_ms // 2)
                loss = ["loss", "%g%%" % (self.loss * 100)] if self.loss else []
                jit = ["%dms" % self.jitter_ms] if self.jitter_ms else []
                run("tc", "qdisc", "add", "dev", self.veth_host, "root", "netem", "delay", half, *jit, *loss)
                self.exec_("tc", "qdisc", "add", "dev", self.veth_ns, "root", "netem", "delay", half, *jit, *loss)
        except Exception:
            self.destroy()
            raise

    def exec_(self, *args, check=True):
        return run("ip", "netns", "exec", self.ns, *args, check=check)

    def popen(self, args, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + list(args), **kw)
        self.procs.append(p)
        return p

    def cut(self, on=True, mode="hold"):
        """Cut the region's path to the hub (every proxy of it): "hold" is a
        link down (bytes wait and arrive after the heal, as TCP retransmits
        them), "blackhole" drops them (the connections are lost)."""
        for p in self.proxies:
            if not isinstance(p, FaultProxy):
                continue
            if mode == "hold":
                p.hold(on)
            else:
                p.blackhole(on)

    def destroy(self):
        for p in self.proxies:
            p.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        run("ip", "link", "del", self.veth_host, check=False)
        run("ip", "netns", "del", self.ns, check=False)
