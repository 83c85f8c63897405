"""The demo cluster on one machine, in network namespaces (docs/design.md §10):

    client (many source addresses)                       backends b1..b4
      10.90.0.10, .100-.163     ┐                     ┌  10.91.0.11-14, VIP on lo,
    director (DPDK af_packet)   ├ front ─ router ─ back ┤  nginx, glb-redirect on eth0
      10.90.0.2                 ┘  10.90.0.1  10.91.0.1 └
    health checker (in the director's namespace)

The client's route to the VIP points at the director, which GUE-encapsulates each packet
to its primary backend through the router; backends answer the client directly (direct
server return). Links of the director and backends have MTU 1600 (encapsulation adds 40
bytes), the client's 1500; TX offloads are off on every veth.
"""
import hashlib
import json
import os
import pathlib
import shutil
import signal

from .shell import Netns, parse_metrics, run, spawn, wait_until

VIP = "10.100.0.1"
FRONT, BACK = "10.90.0", "10.91.0"
ROUTER_FRONT, ROUTER_BACK = f"{FRONT}.1", f"{BACK}.1"
DIRECTOR_IP = f"{FRONT}.2"
CLIENT_IP = f"{FRONT}.10"
SOURCES = f"{FRONT}.100-163"
BACKENDS = {"b1": f"{BACK}.11", "b2": f"{BACK}.12", "b3": f"{BACK}.13", "b4": f"{BACK}.14"}
HASH_KEY = "5e1f0c7a9b2d48e3a6c4b0f1e2d3c4b5"
SEED = "c3a1e5f7092b4d6e8f0a1b2c3d4e5f60"
DIRECTOR_METRICS = "127.0.0.1:9100"
CHECKER_METRICS = "127.0.0.1:9101"


class Cluster:
    def __init__(self, bin_dir, workdir, prefix="glb", large_size=2 << 20, interval_ms=300, trigger=2, log=print):
        self.bin = pathlib.Path(bin_dir)
        self.work = pathlib.Path(workdir)
        self.prefix = prefix
        self.large_size = large_size
        self.interval_ms = interval_ms
        self.trigger = trigger
        self.log = log
        self.ns = {role: Netns(f"{prefix}-{role}") for role in ("router", "client", "director", *BACKENDS)}
        self.logs = self.work / "logs"
        self.source = self.work / "forwarding_table.src.json"
        self.checked = self.work / "forwarding_table.checked.json"
        self.table = self.work / "forwarding_table.checked.bin"
        self.director_pid = self.work / "director.pid"
        self.director_proc = None
        self.checker_proc = None

    # MARK: building

    def up(self, members=("b1", "b2", "b3")):
        """Builds the network, starts the backends (all four serve; `members` are in the
        table), the health checker and the director."""
        self.down(quiet=True)
        self.work.mkdir(parents=True, exist_ok=True)
        # Nothing of an earlier run may leak in: above all not its tables.
        for stale in (self.source, self.checked, self.table, self.director_pid):
            stale.unlink(missing_ok=True)
        if self.logs.exists():
            shutil.rmtree(self.logs)
        self.logs.mkdir()
        for ns in self.ns.values():
            ns.create()
        self._network()
        self._content()
        for name in BACKENDS:
            self._backend(name)
        self.write_source(self.table_doc({name: "active" for name in members}))
        self._checker()
        wait_until(lambda: self.table.exists(), 30, what="the health checker's first table")
        self._director()

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
        for key in ("all", "default", "front", "back"):
            router.sysctl(f"net.ipv4.conf.{key}.send_redirects", 0)
            router.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)

        client = self.ns["client"]
        self._link(client, "eth0", "p-client", "front", 1600)
        client.ip("link", "set", "eth0", "mtu", "1500")
        client.ip("addr", "add", f"{CLIENT_IP}/24", "dev", "eth0")
        for i in range(100, 164):
            client.ip("addr", "add", f"{FRONT}.{i}/24", "dev", "eth0")
        client.ip("route", "add", "default", "via", ROUTER_FRONT)
        client.ip("route", "add", f"{VIP}/32", "via", DIRECTOR_IP)
        # Small receive buffers: a slowly read download then stays in flight on the wire
        # (ACKs through the director, data from the backend) instead of landing in the
        # client's kernel at once.
        client.sysctl("net.ipv4.tcp_rmem", "4096 32768 65536")

        director = self.ns["director"]
        self._link(director, "eth0", "p-director", "front", 1600)
        director.ip("addr", "add", f"{DIRECTOR_IP}/24", "dev", "eth0")
        director.ip("route", "add", "default", "via", ROUTER_FRONT)

        for name, address in BACKENDS.items():
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
  server {{
    listen 80 default_server;
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
        wait_until(lambda: self.ns[name].run("curl", "-sf", "-o", "/dev/null", f"http://{BACKENDS[name]}/healthz", check=False).returncode == 0,
                   10, what=f"nginx on {name}")

    def stop_service(self, name):
        """The backend's HTTP server stops (the host and glb-redirect stay up)."""
        pid_file = self.work / f"{name}.nginx.pid"
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
        wait_until(lambda: not pid_file.exists(), 10, what=f"nginx on {name} to stop")

    # MARK: the table

    def table_doc(self, states):
        """The source table: `states` maps backend name to its state (others are left out)."""
        return {"healthchecks": {"interval_ms": self.interval_ms, "timeout_ms": max(100, self.interval_ms - 50), "trigger": self.trigger},
                "tables": [{
            "name": "demo-web",
            "hash_key": HASH_KEY,
            "seed": SEED,
            "binds": [{"ip": VIP, "proto": "tcp", "port": 80}],
            "backends": [{"ip": BACKENDS[name], "state": state, "healthchecks": {"http": 80, "http_uri": "/healthz", "gue": 19523}}
                         for name, state in states.items()],
        }]}

    def write_source(self, doc):
        tmp = self.source.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, self.source)

    def change_table(self, states, describe):
        """An operator's change: edit the source JSON, check it, see what it does to flows,
        then have the health checker publish it (build-config and SIGHUP to the director)."""
        previous = self.source.read_text()
        doc = self.table_doc(states)
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
        generation = self.generation()
        self.write_source(doc)
        os.kill(self.checker_proc.pid, signal.SIGHUP)
        self.log(f"  {describe}: source table edited, health checker reloaded (SIGHUP)")
        if previous != self.source.read_text():
            self.wait_generation(generation + 1)
        return diff

    # MARK: processes

    def _checker(self):
        conf = self.work / "healthcheck.conf"
        reload = (f"{self.bin / 'glb-director-cli'} build-config {self.checked} {self.table} && "
                  f"{{ [ ! -f {self.director_pid} ] || kill -HUP $(cat {self.director_pid}); }}")
        conf.write_text(json.dumps({"forwarding_table": {"src": str(self.source), "dst": str(self.checked)},
                                    "reload_command": reload}, indent=2))
        self.checker_proc = spawn(self.ns["director"], [self.bin / "glb-healthcheck", "--config", conf, "--metrics-address", CHECKER_METRICS],
                                  self.logs / "healthcheck.log")

    def _director(self):
        config = {
            "outbound_gateway_mac": self.ns["router"].mac("front"),
            "outbound_src_ip": DIRECTOR_IP,
            "forward_icmp_ping_responses": True,
            "drop_foreign_dst_mac": True,
            "num_worker_queues": 1,
            "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}],
            "lcores": {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0]}},
            "metrics_address": DIRECTOR_METRICS,
            "mbuf_data_size": 2176,
        }
        path = self.work / "director.conf"
        path.write_text(json.dumps(config, indent=2))
        self.start_director()

    def start_director(self):
        eal = ["--no-pci", "--in-memory", f"--file-prefix={self.prefix}-director", "-l", "0-1",
               "--vdev=net_af_packet0,iface=eth0"]
        args = [self.bin / "glb-director", *eal, "--", "--config-file", self.work / "director.conf",
                "--forwarding-table", self.table, "--pid-file", self.director_pid]
        log = self.logs / "director.log"
        mark = log.stat().st_size if log.exists() else 0
        self.director_proc = spawn(self.ns["director"], args, log)
        wait_until(lambda: b"forwarding on" in log.read_bytes()[mark:] or self.director_proc.poll() is not None, 60, what="the director")
        if self.director_proc.poll() is not None:
            raise RuntimeError(f"glb-director exited:\n{log.read_text()[mark:]}")

    def stop_director(self):
        pid = int(self.director_pid.read_text())
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not self.director_pid.exists(), 30, what="the director to stop")

    # MARK: observing

    def metrics(self, address):
        return parse_metrics(self.ns["director"].run("curl", "-sf", f"http://{address}/metrics", check=False).stdout)

    def generation(self):
        return int(self.metrics(DIRECTOR_METRICS).get("glb_director_table_generation", 0))

    def wait_generation(self, at_least, timeout=30):
        wait_until(lambda: self.generation() >= at_least, timeout, what=f"table generation {at_least}")

    def health(self):
        """The health checker's view: backend address → healthy."""
        table = json.loads(self.checked.read_text())["tables"][0]
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
        for name in ("director", "client", *BACKENDS, "router"):
            ns = self.ns[name]
            if ns.exists():
                ns.destroy()
                if not quiet:
                    self.log(f"removed namespace {ns.name}")
        for pid_file in self.work.glob("*.pid") if self.work.exists() else []:
            pid_file.unlink(missing_ok=True)
