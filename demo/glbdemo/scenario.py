"""The demo's scenario: traffic flows while an operator drains, removes and adds backends,
a backend fails and the director restarts; per phase, what happened to connections."""
import collections
import json
import pathlib
import threading
import time

from .cluster import BACKENDS, SOURCES, SOURCES6, VIP6, Cluster
from .loadlab import PROMETHEUS_ADDRESS as LOADLAB_PROMETHEUS
from .loadlab import LoadLab
from glbtools.shell import spawn, wait_for

# The backends' names by address, over the IPv4 underlay (Cluster.addresses for either).
NAME_OF = {ip: name for name, ip in BACKENDS.items()}
BALANCE_METRICS = "127.0.0.1:9183"


class Phase:
    def __init__(self, title, start):
        self.title = title
        self.start = start
        self.settled = start
        self.end = None
        self.redirect_before = {}
        self.redirect_after = {}
        self.notes = []
        # The compiled table new connections of this phase meet.
        self.table = None


class Scenario:
    """Drives `cluster` through the phases while the traffic generator runs; `pace` scales
    how long each phase lasts (seconds of steady traffic per phase)."""

    def __init__(self, cluster: Cluster, pace=6.0, long_concurrency=120, short_rate=40, long_rate=100_000, log=print,
                 control_loop=True, loop_seconds=75):
        self.c = cluster
        self.pace = pace
        self.long_concurrency = long_concurrency
        self.short_rate = short_rate
        self.long_rate = long_rate
        self.log = log
        self.control_loop = control_loop
        self.loop_seconds = loop_seconds
        self.phases = []
        self.failed_backend = None
        self.failed_at = None
        self.taken_out_at = None
        # Failure mode → seconds from the failure to the router's route change.
        self.failovers = {}
        # The control loop phase's figures, once it ran.
        self.control = None
        # glb-balance's minimum interval between changes: longer than the demo's downloads.
        self.loop_interval = 25
        self.events_path = cluster.work / "connections.jsonl"
        self.name_of = {ip: name for name, ip in cluster.addresses.items()}

    # MARK: running

    def start_traffic(self):
        self.events_path.unlink(missing_ok=True)
        self.traffic = spawn(self.c.ns["client"], [
            "env", f"PYTHONPATH={pathlib.Path(__file__).resolve().parent.parent}", "python3", "-m", "glbdemo.traffic",
            *[a for vip in self.c.vips for a in ("--vip", vip)],
            "--sources", SOURCES, *(["--sources", SOURCES6] if VIP6 in self.c.vips else []), "--events", self.events_path,
            "--short-rate", self.short_rate, "--long-concurrency", self.long_concurrency, "--long-rate", self.long_rate,
            "--small-sha256", self.c.small_sha256, "--large-sha256", self.c.large_sha256,
            # Compressed answers make a backend's CPU follow what it serves: the control loop's load.
            *(["--gzip"] if self.control_loop else [])], self.c.logs / "traffic.log")

    def stop_traffic(self, timeout=180):
        self.traffic.terminate()
        self.traffic.wait(timeout=timeout)

    def phase(self, title):
        now = time.time()
        if self.phases:
            self.phases[-1].end = now
            self.phases[-1].redirect_after = self.redirect_counters()
        p = Phase(title, now)
        p.redirect_before = self.redirect_counters()
        self.phases.append(p)
        self.log(f"\n== phase {len(self.phases)}: {title}")
        return p

    def settle(self, seconds=1.0):
        """New connections from now on see the change."""
        time.sleep(seconds)
        self.phases[-1].settled = time.time()
        self.phases[-1].table = self.c.table.read_bytes()

    def redirect_counters(self):
        return {name: self.c.redirect_stats(name) for name in self.c.backends}

    def change(self, title, members, describe):
        """A phase that starts with an operator's change to the table, then runs."""
        self.phase(title)
        self.c.change_table(dict(members), describe)
        self.settle()
        time.sleep(self.pace)

    def run(self):
        lab = LoadLab(self.c, "d1") if self.control_loop else None
        try:
            if lab:
                lab.start()
            self.run_phases(lab)
        finally:
            if lab:
                lab.stop()

    def run_phases(self, lab):
        c = self.c
        members = {"b1": "active", "b2": "active", "b3": "active"}
        self.start_traffic()
        self.phase("steady state: b1, b2, b3 active")
        self.settle(1.0)
        time.sleep(self.pace)

        members["b1"] = "draining"
        self.change("drain b1", members, "b1 draining")
        waited = time.time()
        wait_for(lambda: c.active_connections("b1") == 0, "b1's connections to finish", timeout=300, interval=0.5)
        self.phases[-1].notes.append(f"waited {time.time() - waited:.0f}s for b1's last connections to finish before removing it")

        del members["b1"]
        self.change("remove b1", members, "b1 removed")
        members["b4"] = "filling"
        self.change("add b4 as filling", members, "b4 filling")
        members["b4"] = "active"
        self.change("b4 active", members, "b4 active")

        self.phase("b2 fails (its HTTP server stops)")
        # Each director counts its own generations (one may have loaded a table more than
        # another since it started): every one must load one more.
        generations = c.generations()
        self.failed_backend, self.failed_at = "b2", time.time()
        c.stop_service("b2")
        for name, generation in generations.items():
            c.wait_generation(generation + 1, name, timeout=60)
        self.taken_out_at = time.time()
        self.phases[-1].notes.append(f"health checker marked b2 unhealthy and the director reloaded {self.taken_out_at - self.failed_at:.1f}s after the failure")
        self.settle()
        time.sleep(self.pace)

        if lab:
            self.control_loop_phase(lab, seconds=self.loop_seconds)
        self.fleet_phases()

        self.phases[-1].end = time.time()
        self.phases[-1].redirect_after = self.redirect_counters()
        self.log("\n== stopping the clients and waiting for running downloads")
        self.stop_traffic()

    def fleet_phases(self):
        """A director stopped for maintenance, one killed, one hung then resumed; between
        phases the failed one comes back, so that two always forward."""
        c = self.c
        names = list(c.directors)
        plan = [("graceful", names[0], f"director {names[0]} stopped for maintenance (SIGTERM, {c.stop_grace_ms} ms grace)"),
                ("kill", names[1 % len(names)], f"director {names[1 % len(names)]} killed (SIGKILL)"),
                ("hang", names[2 % len(names)], f"director {names[2 % len(names)]} hung (SIGSTOP), then resumed")]
        for mode, name, title in plan:
            c.wait_announced(names, timeout=60)
            self.phase(title)
            ip = c.directors[name].ip
            failed = time.time()
            if mode == "graceful":
                stopping = threading.Thread(target=c.stop_director, args=(name,))
                stopping.start()
            elif mode == "kill":
                c.kill_director(name)
            else:
                c.hang_director(name)
            self.failovers[mode] = c.routes.change_after(failed, without=ip)
            self.phases[-1].notes.append(f"the router stopped sending to {name} {self.failovers[mode]:.2f}s after the failure")
            self.settle()
            time.sleep(self.pace)
            if mode == "graceful":
                stopping.join()
            if mode == "hang":
                c.hang_director(name, hung=False)
            else:
                c.start_director(name)
            back = time.time()
            c.wait_announced([name], timeout=60)
            self.phases[-1].notes.append(f"{name} back and announced again {time.time() - back:.1f}s after its "
                                         + ("resume" if mode == "hang" else "restart"))

    def control_loop_phase(self, lab, seconds=60):
        """glb-balance evens out the active backends' utilization while clients keep coming:
        one backend gets less CPU (a cgroup limit), Prometheus measures each backend's nginx,
        and the loop moves weights through transition tables; the health checkers read its
        output as their source, as in production."""
        c = self.c
        table = json.loads(c.source.read_text())["tables"][0]
        health = c.health()
        active = [self.name_of[b["ip"]] for b in table["backends"] if b["state"] == "active" and health.get(b["ip"])]
        # The last active backend gets 40% of a core, the others a whole one: it is the busiest,
        # yet not starved (a starved backend answers its health checks late and flaps).
        capacity = {name: (0.4 if i == len(active) - 1 else 1.0) for i, name in enumerate(active)}
        for name, cap in capacity.items():
            lab.limit_cpu(name, cap)
        # A 10 s window: steadier than the load of a few seconds, which a weight change moves.
        query = lab.utilization_query({c.backends[n]: cap for n, cap in capacity.items()}, window="10s")
        operator = c.work / "forwarding_table.operator.json"
        operator.write_text(c.source.read_text())
        checkers = " ".join(str(d.checker_proc.pid) for d in c.directors.values())
        config = c.work / "balance.json"
        config.write_text(json.dumps({
            "source": str(operator), "output": str(c.source), "checked_table": str(c.first.checked),
            "reload_command": f"kill -HUP {checkers}", "prometheus": f"http://{LOADLAB_PROMETHEUS}",
            "interval_s": 2, "min_change_interval_s": self.loop_interval,
            "tables": [{"table": "demo-web", "query": query, "address_label": "groupname", "gain": 0.7, "max_step": 0.5,
                        "dead_band": 0.05, "min_weight": 5}],
        }, indent=2))
        self.phase(f"control loop: {', '.join(active)} active, {active[-1]} limited to 40% of a core")
        ips = {c.backends[n]: n for n in active}

        def spread():
            u = lab.query(query)
            values = [u[ip] for ip in ips if ip in u]
            return (max(values) - min(values)) if len(values) == len(ips) else None

        def average_spread(samples=5):
            values = []
            for _ in range(samples):
                v = spread()
                if v is not None:
                    values.append(v)
                time.sleep(1)
            return sum(values) / len(values) if values else float("nan")

        before = average_spread()
        started = time.time()
        # The weights before the loop's first step: every backend as the source has it.
        initial = {b["ip"]: b.get("weight", 100) for b in table["backends"]}
        series = [{"t": 0.0, "utilization": {ips[ip]: v for ip, v in lab.query(query).items() if ip in ips},
                   "weight": {n: initial.get(c.backends[n], 100) for n in active}}]
        proc = spawn(c.first.ns, [c.bin / "glb-balance", "--config", config, "--metrics-address", BALANCE_METRICS],
                     c.logs / "balance.log")
        while time.time() - started < seconds:
            u = lab.query(query)
            m = c.metrics(BALANCE_METRICS)
            series.append({"t": round(time.time() - started, 1),
                           "utilization": {ips[ip]: v for ip, v in u.items() if ip in ips},
                           "weight": {n: m.get(f'glb_balance_weight{{table="demo-web",backend="{c.backends[n]}"}}') for n in active}})
            time.sleep(1)
        after = average_spread()
        m = c.metrics(BALANCE_METRICS)
        changes = int(m.get('glb_balance_steps_total{table="demo-web",action="change"}', 0))
        proc.terminate()
        proc.wait(timeout=30)
        lab.unlimit_all()
        self.control = {"before": before, "after": after, "seconds": round(time.time() - started), "changes": changes,
                        "phase": len(self.phases) - 1, "series": series, "capacity": capacity}
        (c.work / "control-loop.json").write_text(json.dumps(self.control, indent=1))
        self.phases[-1].notes.append(f"utilization spread {before:.2f} before glb-balance, {after:.2f} after; weights "
                                     + ", ".join(f"{n} {series[-1]['weight'][n]:.0f}" for n in active if series and series[-1]['weight'][n]))

    # MARK: results

    def events(self):
        with open(self.events_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def phase_of(self, t):
        for i, p in enumerate(self.phases):
            if p.start <= t < (p.end or float("inf")):
                return i
        return len(self.phases) - 1

    def excused(self, e):
        """A connection lost because its backend failed: served by it, or refused by it
        between the failure and the reload that took it out (half a second either side for
        the handshake in flight)."""
        if not self.failed_backend or e["status"] != "broken":
            return False
        if e.get("backend") == self.failed_backend:
            return True
        taken_out = self.taken_out_at or float("inf")
        return e.get("backend") is None and self.failed_at - 0.5 <= e["start"] <= taken_out + 0.5

    def report(self):
        events = self.events()
        by_phase = collections.defaultdict(list)
        for e in events:
            by_phase[self.phase_of(e["start"])].append(e)
        lines = []
        for i, p in enumerate(self.phases):
            es = by_phase[i]
            ok = sum(e["status"] == "ok" for e in es)
            broken = [e for e in es if e["status"] == "broken"]
            excused = [e for e in broken if self.excused(e)]
            lines.append(f"\nphase {i + 1}: {p.title}")
            lines.append(f"  connections started {len(es)}, completed {ok}, broken {len(broken) - len(excused)}"
                         + (f" (+{len(excused)} on the failed backend {self.failed_backend})" if excused else ""))
            fresh = [e for e in es if e["start"] >= p.settled and e.get("backend")]
            if fresh:
                shares = collections.Counter(e["backend"] for e in fresh)
                lines.append("  new connections by backend: " + ", ".join(
                    f"{b} {shares.get(b, 0)} ({100 * shares.get(b, 0) / len(fresh):.0f}%)" for b in self.c.backends))
            second = []
            for b in self.c.backends:
                before, after = p.redirect_before.get(b, {}), p.redirect_after.get(b, {})
                forwarded = after.get("forwarded", 0) - before.get("forwarded", 0)
                if forwarded > 0:
                    second.append(f"{b} forwarded {forwarded}")
            lines.append("  glb-redirect second chance: " + (", ".join(second) if second else "none needed"))
            lines += [f"  {n}" for n in p.notes]
        total = len(events)
        completed = sum(e["status"] == "ok" for e in events)
        broken = [e for e in events if e["status"] == "broken"]
        unexcused = [e for e in broken if not self.excused(e)]
        for e in unexcused[:10]:
            lines.append(f"  broken: {e['kind']} from {e['src']}:{e.get('sport')} on {e.get('backend')}: {e.get('error')}")
        if self.control:
            k = self.control
            phase_events = by_phase[k["phase"]]
            loop_broken = len([e for e in phase_events if e["status"] == "broken" and not self.excused(e)])
            lines.append(f"\ncontrol loop: utilization spread {k['before']:.2f} -> {k['after']:.2f} in {k['seconds']} s, "
                         f"{k['changes']} weight changes, broken {loop_broken}")
        if len(self.failovers) == 3:
            fleet_broken = sum(len([e for e in by_phase[i] if e["status"] == "broken" and not self.excused(e)])
                               for i, p in enumerate(self.phases) if p.title.startswith("director "))
            f = self.failovers
            lines.append(f"\nscale-out: {len(self.c.directors)} directors; failover graceful {f['graceful']:.2f} s, "
                         f"kill {f['kill']:.2f} s, hang {f['hang']:.2f} s; broken {fleet_broken}")
        if len(self.c.vips) > 1:
            def of_vip(es, vip):
                return len([e for e in es if e.get("vip") == vip])
            lines.append(f"\nby VIP ({self.c.underlay} underlay): " + "; ".join(
                f"{vip} {of_vip(events, vip)} connections, {of_vip(unexcused, vip)} broken"
                + (f" (+{of_vip(broken, vip) - of_vip(unexcused, vip)} on the failed backend)" if of_vip(broken, vip) > of_vip(unexcused, vip) else "")
                for vip in self.c.vips))
        lines.append(("" if len(self.failovers) == 3 or len(self.c.vips) > 1 else "\n") + f"demo: {total} connections, {completed} completed, {len(broken)} broken"
                     + (f" ({len(broken) - len(unexcused)} on the failed backend {self.failed_backend}, {len(unexcused)} elsewhere)" if broken else ""))
        return "\n".join(lines), events, unexcused
