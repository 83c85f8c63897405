"""The demo cluster on one machine, in network namespaces (docs/design.md §10):

    client (many source addresses)                        backends b1..b4
      10.90.0.10, .100-.163       ┐                     ┌  10.91.0.11-14, VIP on lo,
    directors d1..dN (DPDK)       ├ front ─ router ─ back ┤  nginx, glb-redirect on eth0
      10.90.0.2, .3, .4           ┘  10.90.0.1  10.91.0.1 └

Each director host runs glb-director (DPDK af_packet on eth0), its own health checker, BIRD
and glb-announce, which announces the VIP over BGP with BFD while the director is ready.
The router runs BIRD too and installs the VIP as one ECMP route over the directors that
announce it (L4 hashing), so the client reaches the VIP through the router and any
director; a director that stops, dies or hangs is withdrawn. Each director GUE-encapsulates
to the flow's primary backend through the router; backends answer the client directly
(direct server return). Links of the directors and backends have MTU 1600 (encapsulation
adds 40 bytes), the client's 1500; TX offloads are off on every veth.

With `underlay="ipv6"` the directors and backends have IPv6 addresses only: the client has a
link of its own to the router ("edge", IPv4 and IPv6), the front and back links carry IPv6
alone, BGP and BFD run over IPv6 (IPv4 routes with IPv6 next hops, RFC 5549), the table's
backends are IPv6, so the directors encapsulate in outer IPv6 (docs/design.md §3), and the
clients use an IPv4 VIP and an IPv6 VIP:

    client 10.90.0.10, .100-.163 ┐          ┌ front fd00:90::/64 ─ directors fd00:90::2-4
           fd00:89::10,          ├ edge ─ router
           fd00:89::1:0-3f       ┘          └ back fd00:91::/64 ─ backends fd00:91::11-14
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import threading
import time

from glbtools.shell import Netns, parse_metrics, run, spawn, wait_for
from .traffic import parse_sources

VIP = "10.100.0.1"
FRONT, BACK = "10.90.0", "10.91.0"
ROUTER_FRONT, ROUTER_BACK = f"{FRONT}.1", f"{BACK}.1"
CLIENT_IP = f"{FRONT}.10"
SOURCES = f"{FRONT}.100-163"
BACKENDS = {"b1": f"{BACK}.11", "b2": f"{BACK}.12", "b3": f"{BACK}.13", "b4": f"{BACK}.14"}
# The IPv6 underlay's addresses (unique local) and its second VIP.
VIP6 = "fd00:100::1"
EDGE6, FRONT6, BACK6 = "fd00:89::", "fd00:90::", "fd00:91::"
ROUTER_EDGE6, ROUTER_FRONT6, ROUTER_BACK6 = f"{EDGE6}1", f"{FRONT6}1", f"{BACK6}1"
CLIENT_IP6 = f"{EDGE6}10"
SOURCES6 = f"{EDGE6}1:0-{EDGE6}1:3f"
BACKENDS6 = {"b1": f"{BACK6}11", "b2": f"{BACK6}12", "b3": f"{BACK6}13", "b4": f"{BACK6}14"}
UNDERLAYS = ("ipv4", "ipv6")
HASH_KEY = "5e1f0c7a9b2d48e3a6c4b0f1e2d3c4b5"
SEED = "c3a1e5f7092b4d6e8f0a1b2c3d4e5f60"
# Each director host is a namespace of its own, so every one uses the same ports.
DIRECTOR_METRICS = "127.0.0.1:9180"
CHECKER_METRICS = "127.0.0.1:9181"
ANNOUNCE_METRICS = "127.0.0.1:9182"
ROUTER_AS, DIRECTOR_AS = 65000, 65001
# Where the control loop's phase puts its CPU limits (cgroup v1 cpu controller).
CPU_CGROUPS = pathlib.Path("/sys/fs/cgroup/cpu")


def url_host(address):
    """An address as a URL's host: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


class DirectorHost:
    """One director host: its namespace, files and processes."""

    def __init__(self, cluster, name, index):
        self.name = name
        # Its one underlay address: the tunnel's source, its BGP session's end.
        self.ip = f"{FRONT6}{2 + index}" if cluster.ipv6 else f"{FRONT}.{2 + index}"
        self.router_id = 2 + index if cluster.ipv6 else self.ip
        self.ns = Netns(f"{cluster.prefix}-{name}")
        self.dir = cluster.work / name
        self.source = cluster.source
        self.checked = self.dir / "forwarding_table.checked.json"
        self.table = self.dir / "forwarding_table.checked.bin"
        self.pid_file = self.dir / "director.pid"
        self.bird_socket = self.dir / "bird.ctl"
        self.includes = (self.dir / "bird-vips4.conf", self.dir / "bird-vips6.conf")
        self.log_prefix = cluster.logs / name
        self.director_proc = self.checker_proc = self.bird_proc = self.announce_proc = None


class Cluster:
    def __init__(self, bin_dir, workdir, prefix="glb", directors=3, backends=("b1", "b2", "b3", "b4"),
                 large_size=2 << 20, interval_ms=300, trigger=2, stop_grace_ms=2000, hash_keys=None, stale_after_s=30,
                 log=print, underlay="ipv4"):
        """`hash_keys` maps a director to a hash key of its own (a broken fleet, for tests);
        the others use HASH_KEY. `underlay` is "ipv4" or "ipv6" (the module's docstring)."""
        if underlay not in UNDERLAYS:
            raise ValueError(f"underlay must be one of {', '.join(UNDERLAYS)}, not {underlay!r}")
        self.underlay = underlay
        self.ipv6 = underlay == "ipv6"
        self.addresses = BACKENDS6 if self.ipv6 else BACKENDS
        self.vips = (VIP, VIP6) if self.ipv6 else (VIP,)
        self.router_front = ROUTER_FRONT6 if self.ipv6 else ROUTER_FRONT
        # BIRD's router IDs are 32-bit numbers written like IPv4 addresses; without IPv4
        # addresses the hosts get small numbers instead.
        self.router_id = 1 if self.ipv6 else ROUTER_FRONT
        self.bin = pathlib.Path(bin_dir)
        self.work = pathlib.Path(workdir)
        self.prefix = prefix
        self.large_size = large_size
        self.interval_ms = interval_ms
        self.trigger = trigger
        self.stop_grace_ms = stop_grace_ms
        self.hash_keys = hash_keys or {}
        self.stale_after_s = stale_after_s
        self.log = log
        self.backends = {name: self.addresses[name] for name in backends}
        self.logs = self.work / "logs"
        self.source = self.work / "forwarding_table.src.json"
        self.directors = {f"d{i + 1}": DirectorHost(self, f"d{i + 1}", i) for i in range(directors)}
        for d in self.directors.values():
            if d.name in self.hash_keys:
                d.source = d.dir / "forwarding_table.src.json"
        self.ns = {role: Netns(f"{prefix}-{role}") for role in ("router", "client", *self.backends)}
        self.ns.update({d.name: d.ns for d in self.directors.values()})
        self.router_bird = None
        self.routes = None

    # MARK: building

    def up(self, members=("b1", "b2", "b3")):
        """Builds the network, starts the backends (all serve; `members` are in the table),
        the router's BIRD, and on every director host the health checker, BIRD, the
        director and glb-announce; returns once the router spreads the VIP over them all."""
        self.down(quiet=True)
        self.work.mkdir(parents=True, exist_ok=True)
        # Nothing of an earlier run may leak in: above all not its tables.
        self.source.unlink(missing_ok=True)
        for d in self.directors.values():
            if d.dir.exists():
                shutil.rmtree(d.dir)
            d.dir.mkdir(parents=True)
        if self.logs.exists():
            shutil.rmtree(self.logs)
        self.logs.mkdir()
        for ns in self.ns.values():
            ns.create(ipv6=self.ipv6)
        if self.ipv6:
            self._network6()
        else:
            self._network()
        self._content()
        for name in self.backends:
            self._backend(name)
        self.write_source(self.table_doc({name: "active" for name in members}))
        self._router_bird()
        for d in self.directors.values():
            self._checker(d)
        for d in self.directors.values():
            wait_for(lambda: d.table.exists(), f"{d.name}'s health checker's first table", timeout=30)
            self._bird(d)
            self._director_config(d)
            self.start_director(d.name)
            self._announcer(d)
        self.routes = RouteWatch(self.ns["router"], VIP)
        self.wait_announced(list(self.directors), timeout=60)

    def _link(self, ns, ifname, switch_port, bridge, mtu):
        router = self.ns["router"]
        run(["ip", "link", "add", "name", ifname, "netns", ns.name, "type", "veth", "peer", "name", switch_port, "netns", router.name])
        for where, name in ((ns, ifname), (router, switch_port)):
            where.ip("link", "set", name, "mtu", str(mtu))
            where.run("ethtool", "-K", name, "tx", "off", "tso", "off", "gso", "off")
            where.ip("link", "set", name, "up")
        router.ip("link", "set", switch_port, "master", bridge)

    def _network(self):
        router = self.ns["router"]
        for bridge, address in (("front", f"{ROUTER_FRONT}/24"), ("back", f"{ROUTER_BACK}/24")):
            router.ip("link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
            router.ip("link", "set", bridge, "mtu", "1600")
            router.ip("addr", "add", address, "dev", bridge)
            router.ip("link", "set", bridge, "up")
        router.sysctl("net.ipv4.ip_forward", 1)
        # ECMP over the directors by the flow's addresses and ports (L4), not addresses only.
        router.sysctl("net.ipv4.fib_multipath_hash_policy", 1)
        for key in ("all", "default", "front", "back"):
            router.sysctl(f"net.ipv4.conf.{key}.send_redirects", 0)
            router.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)

        client = self.ns["client"]
        self._link(client, "eth0", "p-client", "front", 1600)
        client.ip("link", "set", "eth0", "mtu", "1500")
        client.ip("addr", "add", f"{CLIENT_IP}/24", "dev", "eth0")
        for i in range(100, 164):
            client.ip("addr", "add", f"{FRONT}.{i}/24", "dev", "eth0")
        # The VIP is reached through the router, which spreads it over the directors.
        client.ip("route", "add", "default", "via", ROUTER_FRONT)
        # Small receive buffers: a slowly read download then stays in flight on the wire
        # (ACKs through the director, data from the backend) instead of landing in the
        # client's kernel at once.
        client.sysctl("net.ipv4.tcp_rmem", "4096 32768 65536")

        for d in self.directors.values():
            self._link(d.ns, "eth0", f"p-{d.name}", "front", 1600)
            d.ns.ip("addr", "add", f"{d.ip}/24", "dev", "eth0")
            d.ns.ip("route", "add", "default", "via", ROUTER_FRONT)

        for name, address in self.backends.items():
            b = self.ns[name]
            self._link(b, "eth0", f"p-{name}", "back", 1600)
            b.ip("addr", "add", f"{address}/24", "dev", "eth0")
            b.ip("addr", "add", f"{VIP}/32", "dev", "lo")
            b.ip("route", "add", "default", "via", ROUTER_BACK)
            for key in ("all", "eth0"):
                b.sysctl(f"net.ipv4.conf.{key}.arp_ignore", 1)
                b.sysctl(f"net.ipv4.conf.{key}.arp_announce", 2)
            # glb-redirect's FIB lookup forwards second-chance packets only where forwarding is on.
            b.sysctl("net.ipv4.conf.eth0.forwarding", 1)
            # Small send buffers: a download is compressed as the client reads it, not at once.
            b.sysctl("net.ipv4.tcp_wmem", "4096 16384 65536")

    def _network6(self):
        """The IPv6 underlay: the router's edge link has both families for the client; front
        and back have IPv6 only, and so have the directors and backends."""
        router = self.ns["router"]
        for bridge, addresses in (("edge", (f"{ROUTER_FRONT}/24", f"{ROUTER_EDGE6}/64")),
                                  ("front", (f"{ROUTER_FRONT6}/64",)), ("back", (f"{ROUTER_BACK6}/64",))):
            router.ip("link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
            router.ip("link", "set", bridge, "mtu", "1600")
            for address in addresses:
                router.ip("addr", "add", address, "dev", bridge)
            router.ip("link", "set", bridge, "up")
        router.sysctl("net.ipv4.ip_forward", 1)
        router.sysctl("net.ipv6.conf.all.forwarding", 1)
        for family in ("ipv4", "ipv6"):
            router.sysctl(f"net.{family}.fib_multipath_hash_policy", 1)
        for key in ("all", "default", "edge", "front", "back"):
            router.sysctl(f"net.ipv4.conf.{key}.send_redirects", 0)
            router.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)

        client = self.ns["client"]
        self._link(client, "eth0", "p-client", "edge", 1600)
        client.ip("link", "set", "eth0", "mtu", "1500")
        addresses = [f"{CLIENT_IP}/24"] + [f"{FRONT}.{i}/24" for i in range(100, 164)]
        addresses += [f"{CLIENT_IP6}/64"] + [f"{a}/64" for a in parse_sources(SOURCES6)]
        run(["ip", "-n", client.name, "-batch", "-"], input="".join(f"addr add {a} dev eth0\n" for a in addresses))
        client.ip("route", "add", "default", "via", ROUTER_FRONT)
        client.ip("-6", "route", "add", "default", "via", ROUTER_EDGE6)
        client.sysctl("net.ipv4.tcp_rmem", "4096 32768 65536")

        for d in self.directors.values():
            self._link(d.ns, "eth0", f"p-{d.name}", "front", 1600)
            d.ns.ip("addr", "add", f"{d.ip}/64", "dev", "eth0")
            d.ns.ip("-6", "route", "add", "default", "via", ROUTER_FRONT6)

        for name, address in self.backends.items():
            b = self.ns[name]
            self._link(b, "eth0", f"p-{name}", "back", 1600)
            b.ip("addr", "add", f"{address}/64", "dev", "eth0")
            b.ip("addr", "add", f"{VIP}/32", "dev", "lo")
            b.ip("addr", "add", f"{VIP6}/128", "dev", "lo")
            b.ip("-6", "route", "add", "default", "via", ROUTER_BACK6)
            # Answers to IPv4 clients (from the IPv4 VIP) leave through an IPv6 gateway.
            b.ip("-4", "route", "add", "default", "via", "inet6", ROUTER_BACK6, "dev", "eth0")
            b.sysctl("net.ipv6.conf.eth0.forwarding", 1)
            b.sysctl("net.ipv4.tcp_wmem", "4096 16384 65536")

    def _content(self):
        www = self.work / "www"
        www.mkdir(exist_ok=True)
        rng = hashlib.sha256(b"swiftglb demo")
        data = b"".join(hashlib.sha256(rng.digest() + i.to_bytes(4, "big")).digest() for i in range(self.large_size // 32))
        (www / "large.bin").write_bytes(data)
        (www / "small.bin").write_bytes(data[:2048])
        self.large_sha256 = hashlib.sha256(data).hexdigest()
        self.small_sha256 = hashlib.sha256(data[:2048]).hexdigest()
        os.chmod(self.work, 0o755)
        os.chmod(www, 0o755)

    def _backend(self, name):
        conf = self.work / f"{name}.nginx.conf"
        listen6 = "\n    listen [::]:80 default_server;" if self.ipv6 else ""
        # Workers run as root: the content may live in a folder only root can read (tests).
        conf.write_text(f"""user root;
worker_processes 1;
daemon off;
pid {self.work}/{name}.nginx.pid;
error_log {self.logs}/{name}.nginx.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_timeout 0;
  sendfile on;
  # Compressed answers for clients that ask: the CPU a backend spends follows what it serves,
  # so its load is measurable (the control loop's phase). chunked off: the answer ends with
  # the connection, as each connection carries one request.
  gzip on;
  gzip_types *;
  gzip_min_length 0;
  gzip_comp_level 1;
  chunked_transfer_encoding off;
  server {{
    listen 80 default_server;{listen6}
    root {self.work}/www;
    location / {{ add_header X-Backend {name} always; }}
    location = /healthz {{ add_header X-Backend {name} always; return 200 "ok\\n"; }}
  }}
}}
""")
        self.start_service(name)
        self.ns[name].run(self.bin / "glb-redirect", "attach", "--iface", "eth0")

    def start_service(self, name):
        spawn(self.ns[name], ["nginx", "-c", self.work / f"{name}.nginx.conf"], self.logs / f"{name}.nginx.out")
        wait_for(lambda: self.ns[name].run("curl", "-sf", "-o", "/dev/null", f"http://{url_host(self.backends[name])}/healthz", check=False).returncode == 0,
                 f"nginx on {name}", timeout=10)

    def stop_service(self, name):
        """The backend's HTTP server stops (the host and glb-redirect stay up)."""
        pid_file = self.work / f"{name}.nginx.pid"
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
        wait_for(lambda: not pid_file.exists(), f"nginx on {name} to stop", timeout=10)

    # MARK: the table

    def table_doc(self, states, hash_key=HASH_KEY, weights=None):
        """The source table: `states` maps backend name to its state (others are left out);
        `weights` maps a backend to its weight, or to (weight, previous_weight)."""
        def backend(name, state):
            b = {"ip": self.addresses[name], "state": state}
            w = (weights or {}).get(name)
            if w is not None:
                weight, previous = w if isinstance(w, tuple) else (w, None)
                b["weight"] = weight
                if previous is not None:
                    b["previous_weight"] = previous
            b["healthchecks"] = {"http": 80, "http_uri": "/healthz", "gue": 19523}
            return b
        # A refused connection fails a check at once; the long timeout only spares a busy
        # backend (the control loop's CPU-limited one) from flapping.
        return {"healthchecks": {"interval_ms": self.interval_ms, "timeout_ms": 1000, "trigger": self.trigger},
                "tables": [{
            "name": "demo-web",
            "hash_key": hash_key,
            "seed": SEED,
            "binds": [{"ip": vip, "proto": "tcp", "port": 80} for vip in self.vips],
            "backends": [backend(name, state) for name, state in states.items()],
        }]}

    def write_source(self, doc):
        """The source table every director's health checker reads (as operators distribute
        GLB's JSON); a director given a hash key of its own gets a copy with it."""
        for path, key in [(self.source, HASH_KEY)] + [(d.source, self.hash_keys[d.name]) for d in self.directors.values() if d.name in self.hash_keys]:
            text = doc if key == HASH_KEY else json.loads(json.dumps(doc).replace(HASH_KEY, key))
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(text, indent=2) + "\n")
            os.replace(tmp, path)

    @property
    def first(self):
        return next(iter(self.directors.values()))

    @property
    def table(self):
        """The compiled table of the first director (every director compiles the same)."""
        return self.first.table

    def change_table(self, states, describe, weights=None):
        """An operator's change: edit the source JSON, check it, see what it does to flows,
        then have every director's health checker publish it (build-config and SIGHUP to its
        director)."""
        previous = self.source.read_text()
        doc = self.table_doc(states, weights=weights)
        proposed = self.work / "proposed.json"
        proposed.write_text(json.dumps(doc, indent=2) + "\n")
        cli = self.bin / "glb-director-cli"
        run([cli, "validate", proposed])
        # Compare like with like: the running table has the checker's health in it, so the
        # proposal gets the same (a backend new to the table is assumed healthy).
        health = self.health()
        with_health = json.loads(json.dumps(doc))
        for backend in with_health["tables"][0]["backends"]:
            backend["healthy"] = health.get(backend["ip"], True)
        proposed_checked = self.work / "proposed.checked.json"
        proposed_checked.write_text(json.dumps(with_health, indent=2) + "\n")
        diff = json.loads(run([cli, "diff", "--json", self.table, proposed_checked]).stdout)["tables"][0]
        self.log(f"  $ glb-director-cli diff: {diff['primary_changed']} of 65536 rows change primary, "
                 f"{diff['kept_by_second_chance']} kept by second chance, {diff['broken']} broken")
        generations = {name: self.generation(name) for name in self.directors}
        self.write_source(doc)
        for d in self.directors.values():
            os.kill(d.checker_proc.pid, signal.SIGHUP)
        self.log(f"  {describe}: source table edited, every director's health checker reloaded (SIGHUP)")
        if previous != self.source.read_text():
            for name, generation in generations.items():
                self.wait_generation(generation + 1, name)
        return diff

    # MARK: processes

    def _checker(self, d):
        conf = d.dir / "healthcheck.conf"
        reload = (f"{self.bin / 'glb-director-cli'} build-config {d.checked} {d.table} && "
                  f"{{ [ ! -f {d.pid_file} ] || kill -HUP $(cat {d.pid_file}); }}")
        conf.write_text(json.dumps({"forwarding_table": {"src": str(d.source), "dst": str(d.checked)},
                                    "reload_command": reload}, indent=2))
        d.checker_proc = spawn(d.ns, [self.bin / "glb-healthcheck", "--config", conf, "--metrics-address", CHECKER_METRICS],
                               f"{d.log_prefix}.healthcheck.log")

    def _director_config(self, d):
        config = {
            "outbound_gateway_mac": self.ns["router"].mac("front"),
            # The tunnel's source: over the IPv6 underlay the director has no IPv4 address.
            ("outbound_src_ipv6" if self.ipv6 else "outbound_src_ip"): d.ip,
            "forward_icmp_ping_responses": True,
            "drop_foreign_dst_mac": True,
            "num_worker_queues": 1,
            "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}],
            "lcores": {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0]}},
            "metrics_address": DIRECTOR_METRICS,
            "mbuf_data_size": 2176,
            # Maintenance: not ready at once, traffic moves away, then the stop.
            "stop_grace_ms": self.stop_grace_ms,
            # Several directors share this machine's cores.
            "idle_sleep_us": 100,
        }
        (d.dir / "director.conf").write_text(json.dumps(config, indent=2))

    def start_director(self, name):
        d = self.directors[name]
        eal = ["--no-pci", "--in-memory", f"--file-prefix={self.prefix}-{name}", "-l", "0-1",
               "--vdev=net_af_packet0,iface=eth0"]
        args = [self.bin / "glb-director", *eal, "--", "--config-file", d.dir / "director.conf",
                "--forwarding-table", d.table, "--pid-file", d.pid_file]
        log = pathlib.Path(f"{d.log_prefix}.director.log")
        mark = log.stat().st_size if log.exists() else 0
        d.director_proc = spawn(d.ns, args, log)
        wait_for(lambda: b"forwarding on" in log.read_bytes()[mark:] or d.director_proc.poll() is not None,
                 f"director {name}", timeout=60)
        if d.director_proc.poll() is not None:
            raise RuntimeError(f"glb-director {name} exited:\n{log.read_text()[mark:]}")

    def stop_director(self, name):
        """Planned maintenance: SIGTERM; the director turns not ready, keeps forwarding for
        its grace period while the router moves traffic away, then stops."""
        d = self.directors[name]
        d.director_proc.send_signal(signal.SIGTERM)
        d.director_proc.wait(timeout=30 + self.stop_grace_ms / 1000)

    def kill_director(self, name):
        d = self.directors[name]
        d.director_proc.send_signal(signal.SIGKILL)
        d.director_proc.wait(timeout=30)
        d.pid_file.unlink(missing_ok=True)

    def hang_director(self, name, hung=True):
        """SIGSTOP (the whole process stops, its endpoint with it), or SIGCONT."""
        self.directors[name].director_proc.send_signal(signal.SIGSTOP if hung else signal.SIGCONT)

    def _bird(self, d):
        # BIRD refuses to start without its include files; glb-announce fills them.
        for include in d.includes:
            if not include.exists():
                include.write_text("")
        conf = d.dir / "bird.conf"
        conf.write_text(f"""# Director {d.name}: announces the VIP routes glb-announce writes, over BGP with BFD.
router id {d.router_id};
protocol device {{ scan time 10; }}
protocol bfd {{ interface "*" {{ interval 50 ms; idle tx interval 300 ms; multiplier 3; }}; }}
# BIRD reads `include` only at the start of a line.
protocol static vips4 {{
  ipv4;
  check link on;
  include "{d.includes[0]}";
}}
protocol static vips6 {{
  ipv6;
  check link on;
  include "{d.includes[1]}";
}}
protocol bgp uplink {{
  local {d.ip} as {DIRECTOR_AS};
  neighbor {self.router_front} as {ROUTER_AS};
  hold time 3; keepalive time 1;
  connect delay time 1; connect retry time 1; error wait time 1, 2; error forget time 10;
  bfd on;
{self._bgp_channels('import none; export where proto = "vips4";', 'import none; export where proto = "vips6";')}
}}
""")
        d.bird_proc = spawn(d.ns, ["bird", "-f", "-c", conf, "-s", d.bird_socket, "-P", d.dir / "bird.pid"],
                            f"{d.log_prefix}.bird.log")
        self._wait_bird(d.ns, d.bird_socket, d.bird_proc, d.name)

    def _router_bird(self):
        conf = self.work / "router.bird.conf"
        kernel6 = ("protocol kernel {\n  scan time 10;\n  merge paths on;\n"
                   "  ipv6 { import none; export where source = RTS_BGP; };\n}\n") if self.ipv6 else ""
        peers = "".join(f"protocol bgp {d.name} from director {{ neighbor {d.ip} as {DIRECTOR_AS}; }}\n"
                        for d in self.directors.values())
        conf.write_text(f"""# The router: one BGP session with BFD per director; the VIP's routes from all of
# them become one ECMP route in the kernel (merge paths).
router id {self.router_id};
protocol device {{ scan time 10; }}
protocol bfd {{ interface "*" {{ interval 50 ms; idle tx interval 300 ms; multiplier 3; }}; }}
protocol kernel {{
  scan time 10;
  merge paths on;
  ipv4 {{ import none; export where source = RTS_BGP; }};
}}
{kernel6}template bgp director {{
  local {self.router_front} as {ROUTER_AS};
  hold time 3; keepalive time 1;
  connect delay time 0; connect retry time 1; error wait time 1, 2; error forget time 10;
  bfd on;
{self._bgp_channels(f"import where net ~ [ {VIP}/32 ]; export none;", f"import where net ~ [ {VIP6}/128 ]; export none;")}
}}
{peers}""")
        self.router_socket = self.work / "router.bird.ctl"
        self.router_bird = spawn(self.ns["router"], ["bird", "-f", "-c", conf, "-s", self.router_socket, "-P", self.work / "router.bird.pid"],
                                 self.logs / "router.bird.log")
        self._wait_bird(self.ns["router"], self.router_socket, self.router_bird, "the router")

    def _bgp_channels(self, ipv4, ipv6):
        """The BGP session's channels: the IPv4 VIP's and, over the IPv6 underlay, the IPv6
        VIP's; there the session is IPv6, so IPv4 routes carry IPv6 next hops (extended next
        hop, RFC 5549)."""
        if not self.ipv6:
            return f"  ipv4 {{ {ipv4} }};"
        return f"  ipv4 {{ extended next hop on; {ipv4} }};\n  ipv6 {{ {ipv6} }};"

    def _wait_bird(self, ns, socket, proc, where):
        def up():
            if proc.poll() is not None:
                raise RuntimeError(f"BIRD on {where} exited ({proc.returncode}); see {self.logs}")
            return "up and running" in run(["birdc", "-s", socket, "show", "status"], check=False).stdout
        wait_for(up, f"BIRD on {where}", timeout=10, interval=0.05)

    def _announcer(self, d):
        d.announce_proc = spawn(d.ns, [
            self.bin / "glb-announce", "--forwarding-table", d.table, "--ready-url", f"http://{DIRECTOR_METRICS}/ready",
            "--bird-include4", d.includes[0], "--bird-include6", d.includes[1], "--bird-socket", d.bird_socket,
            "--healthcheck-url", f"http://{CHECKER_METRICS}/metrics", "--stale-after-s", self.stale_after_s,
            "--metrics-address", ANNOUNCE_METRICS],
            f"{d.log_prefix}.announce.log")

    # MARK: observing

    def metrics(self, address, name=None):
        ns = self.directors[name].ns if name else self.first.ns
        # A stopped process's socket accepts connections and never answers: give up after 5 s.
        return parse_metrics(ns.run("curl", "-sf", "--max-time", "5", f"http://{address}/metrics", check=False).stdout)

    def generation(self, name=None):
        return int(self.metrics(DIRECTOR_METRICS, name).get("glb_director_table_generation", 0))

    def wait_generation(self, at_least, name=None, timeout=30):
        """Until the director (every director when `name` is None) runs table `at_least`."""
        for n in [name] if name else list(self.directors):
            wait_for(lambda: self.generation(n) >= at_least, f"table generation {at_least} on {n}", timeout=timeout)

    def generations(self):
        return {name: self.generation(name) for name in self.directors}

    def nexthops(self):
        """The directors the router sends the VIP to."""
        return self.routes.nexthops()

    def wait_announced(self, names, timeout=30):
        want = {self.directors[n].ip for n in names}
        wait_for(lambda: want <= self.nexthops(),
                 f"the router to route the VIP via {', '.join(names)}", timeout=timeout, interval=0.05)

    def health(self):
        """The health checker's view (the first director's): backend address → healthy."""
        table = json.loads(self.first.checked.read_text())["tables"][0]
        return {b["ip"]: b.get("healthy", False) for b in table["backends"]}

    def redirect_stats(self, name):
        out = self.ns[name].run(self.bin / "glb-redirect", "stats", "--iface", "eth0", "--json", check=False).stdout
        try:
            return json.loads(out)
        except ValueError:
            return {}

    def active_connections(self, name):
        """Connections on the backend's HTTP server that still carry data: established ones,
        and closed ones whose data is still being sent (nginx closes as soon as the last
        byte is queued)."""
        states = ["established", "syn-recv", "fin-wait-1", "close-wait", "last-ack", "closing"]
        args = [a for state in states for a in ("state", state)]
        out = self.ns[name].run("ss", "-Htn", *args, "( sport = :80 )", check=False).stdout
        return len([l for l in out.splitlines() if l.strip()])

    # MARK: tearing down

    def exists(self):
        return any(ns.exists() for ns in self.ns.values())

    def down(self, quiet=False):
        """Stops every process of the cluster and removes its namespaces."""
        if self.routes:
            self.routes.stop()
            self.routes = None
        for d in self.directors.values():
            # A hung director would not see the SIGTERM the namespace's removal sends.
            if d.director_proc and d.director_proc.poll() is None:
                d.director_proc.send_signal(signal.SIGCONT)
        for ns in [d.ns for d in self.directors.values()] + [self.ns[n] for n in ("client", *self.backends, "router")]:
            if ns.exists():
                ns.destroy()
                if not quiet:
                    self.log(f"removed namespace {ns.name}")
        # CPU limits the control loop's phase left (its processes are gone with the namespaces).
        for group in CPU_CGROUPS.glob(f"{self.prefix}-*"):
            try:
                group.rmdir()
            except OSError:
                pass


def gateways(route_text):
    """The next hops named in `ip route` output: "via 10.90.0.2" or, for an IPv4 route
    through an IPv6 next hop, "via inet6 fd00:90::2"."""
    return set(re.findall(r"via (?:inet6 )?([0-9a-fA-F.:]+)", route_text))


class RouteWatch:
    """The router's route to the VIP, followed with `ip monitor`: each change with the time
    it was seen, so that a failover can be timed from the failure to the route change."""

    def __init__(self, router, vip):
        self.router = router
        self.vip = vip
        self.changes = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(["ip", "-n", router.name, "-o", "monitor", "route"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            if self.vip in line:
                with self.lock:
                    self.changes.append((time.time(), line.strip()))

    def nexthops(self):
        out = self.router.run("ip", "-o", "route", "show", f"{self.vip}/32", check=False).stdout
        return gateways(out)

    def change_after(self, t, without, timeout=10):
        """Seconds from `t` to the first route change after it that no longer goes via
        `without` (a late change that still names it, such as an earlier re-announcement,
        does not count)."""
        wait_for(lambda: without not in self.nexthops(),
                 f"the router to stop routing via {without}", timeout=timeout, interval=0.01)
        def later():
            with self.lock:
                return [when for when, line in self.changes if when >= t and without not in gateways(line)]

        return wait_for(later, "a route change without the failed director", timeout=2, interval=0.01)[0] - t

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)
