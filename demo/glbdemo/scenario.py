"""The demo's scenario: traffic flows while an operator drains, removes and adds backends,
a backend fails and the director restarts; per phase, what happened to connections."""
import collections
import json
import pathlib
import threading
import time

from .cluster import BACKENDS, SOURCES, VIP, Cluster
from .shell import spawn, wait_until

NAME_OF = {ip: name for name, ip in BACKENDS.items()}


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

    def __init__(self, cluster: Cluster, pace=6.0, long_concurrency=120, short_rate=40, long_rate=100_000, log=print):
        self.c = cluster
        self.pace = pace
        self.long_concurrency = long_concurrency
        self.short_rate = short_rate
        self.long_rate = long_rate
        self.log = log
        self.phases = []
        self.failed_backend = None
        self.failed_at = None
        self.taken_out_at = None
        # Failure mode → seconds from the failure to the router's route change.
        self.failovers = {}
        self.events_path = cluster.work / "connections.jsonl"

    # MARK: running

    def start_traffic(self):
        self.events_path.unlink(missing_ok=True)
        self.traffic = spawn(self.c.ns["client"], [
            "env", f"PYTHONPATH={pathlib.Path(__file__).resolve().parent.parent}", "python3", "-m", "glbdemo.traffic",
            "--vip", VIP, "--sources", SOURCES, "--events", self.events_path,
            "--short-rate", self.short_rate, "--long-concurrency", self.long_concurrency, "--long-rate", self.long_rate,
            "--small-sha256", self.c.small_sha256, "--large-sha256", self.c.large_sha256], self.c.logs / "traffic.log")

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
        c = self.c
        members = {"b1": "active", "b2": "active", "b3": "active"}
        self.start_traffic()
        self.phase("steady state: b1, b2, b3 active")
        self.settle(1.0)
        time.sleep(self.pace)

        members["b1"] = "draining"
        self.change("drain b1", members, "b1 draining")
        waited = time.time()
        wait_until(lambda: c.active_connections("b1") == 0, 300, interval=0.5, what="b1's connections to finish")
        self.phases[-1].notes.append(f"waited {time.time() - waited:.0f}s for b1's last connections to finish before removing it")

        del members["b1"]
        self.change("remove b1", members, "b1 removed")
        members["b4"] = "filling"
        self.change("add b4 as filling", members, "b4 filling")
        members["b4"] = "active"
        self.change("b4 active", members, "b4 active")

        self.phase("b2 fails (its HTTP server stops)")
        generation = c.generation()
        self.failed_backend, self.failed_at = "b2", time.time()
        c.stop_service("b2")
        c.wait_generation(generation + 1, timeout=60)
        self.taken_out_at = time.time()
        self.phases[-1].notes.append(f"health checker marked b2 unhealthy and the director reloaded {self.taken_out_at - self.failed_at:.1f}s after the failure")
        self.settle()
        time.sleep(self.pace)

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
        if len(self.failovers) == 3:
            fleet_broken = sum(len([e for e in by_phase[i] if e["status"] == "broken" and not self.excused(e)])
                               for i, p in enumerate(self.phases) if p.title.startswith("director "))
            f = self.failovers
            lines.append(f"\nscale-out: {len(self.c.directors)} directors; failover graceful {f['graceful']:.2f} s, "
                         f"kill {f['kill']:.2f} s, hang {f['hang']:.2f} s; broken {fleet_broken}")
        lines.append(("" if len(self.failovers) == 3 else "\n") + f"demo: {total} connections, {completed} completed, {len(broken)} broken"
                     + (f" ({len(broken) - len(unexcused)} on the failed backend {self.failed_backend}, {len(unexcused)} elsewhere)" if broken else ""))
        return "\n".join(lines), events, unexcused
