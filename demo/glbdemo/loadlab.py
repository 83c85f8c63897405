"""Backend load for the demo cluster, measured as an operator would: Prometheus scrapes
process-exporter, which reports the CPU time of each backend's nginx (master and workers)
as one group named by the backend's address; `utilization_query` turns that into the
busy fraction of each backend's capacity, the load glb-balance evens out.

Both run on one director host (its network namespace; processes are not in a PID
namespace of their own, so the exporter sees every backend's nginx):

    process-exporter 127.0.0.1:9256 ── scraped every second by ── Prometheus 127.0.0.1:9090

`limit_cpu` makes a backend slower than the others: its nginx goes into a cgroup (v1 cpu
controller) with a CFS quota, as if it ran on a smaller machine.

Needs Debian's prometheus and prometheus-process-exporter packages.
"""
import json
import os
import shutil
import signal
import subprocess
import time

from glbtools.shell import CommandError, spawn, wait_for

EXPORTER_ADDRESS = "127.0.0.1:9256"
PROMETHEUS_ADDRESS = "127.0.0.1:9090"
from .cluster import CPU_CGROUPS as CPU_ROOT
CFS_PERIOD_US = 100_000
CPU_METRIC = "namedprocess_namegroup_cpu_seconds_total"
def _proc_table():
    """{pid: (ppid, cmdline)} of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        # comm (field 2) may hold spaces and parentheses: the fields after it follow the last ")".
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(entry)] = (ppid, cmdline)
    return table


def _stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class LoadLab:
    """Prometheus and process-exporter on director host `ns_name`, and CPU limits on backends."""

    def __init__(self, cluster, ns_name="d1"):
        self.c = cluster
        self.ns = cluster.ns[ns_name]
        self.dir = cluster.work / "loadlab"
        self.logs = cluster.logs
        self.exporter_config = self.dir / "process-exporter.yml"
        self.prometheus_config = self.dir / "prometheus.yml"
        self.tsdb = self.dir / "tsdb"
        self.exporter_proc = self.prometheus_proc = None
        self.prometheus_url = f"http://{PROMETHEUS_ADDRESS}"
        self.exporter_url = f"http://{EXPORTER_ADDRESS}/metrics"

    # MARK: Prometheus and the exporter

    def nginx_conf(self, name):
        return self.c.work / f"{name}.nginx.conf"

    def write_exporter_config(self):
        """One group per backend, named by its address: the nginx master is matched by its
        configuration file on the command line; its workers ("nginx: worker process") match
        nothing and so join their parent's group (process-exporter's -children)."""
        lines = ["process_names:"]
        for name, ip in self.c.backends.items():
            pattern = ".*" + str(self.nginx_conf(name)).replace(".", r"\.") + ".*"
            lines += [f"  - name: {json.dumps(ip)}", "    cmdline:", f"      - {json.dumps(pattern)}"]
        self.exporter_config.write_text("\n".join(lines) + "\n")

    def write_prometheus_config(self):
        self.prometheus_config.write_text(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: process
    static_configs:
      - targets: ["{EXPORTER_ADDRESS}"]
""")

    def _listening(self, address):
        port = address.rsplit(":", 1)[1]
        out = self.ns.run("ss", "-Hltn", f"( sport = :{port} )", check=False).stdout
        return bool(out.strip())

    def start(self, timeout=60):
        """Starts the exporter and Prometheus; returns once Prometheus has scraped the
        exporter twice and sees every backend's nginx, so that rate() over it has a value
        for each (Prometheus 2.42 first scrapes about 5 s after it starts)."""
        for address in (EXPORTER_ADDRESS, PROMETHEUS_ADDRESS):
            if self._listening(address):
                raise RuntimeError(f"something already listens on {address} in {self.ns.name}")
        self.unlimit_all()
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.tsdb.mkdir()
        self.write_exporter_config()
        self.write_prometheus_config()
        self.exporter_proc = spawn(self.ns, [
            "prometheus-process-exporter", "-web.listen-address", EXPORTER_ADDRESS,
            "-config.path", self.exporter_config, "-threads=false", "-gather-smaps=false"],
            self.logs / "process-exporter.log")
        self.prometheus_proc = spawn(self.ns, [
            "prometheus", "--config.file", self.prometheus_config, "--storage.tsdb.path", self.tsdb,
            "--storage.tsdb.retention.time", "2h", "--web.listen-address", PROMETHEUS_ADDRESS],
            self.logs / "prometheus.log")
        try:
            def ready():
                for proc, what in ((self.exporter_proc, "process-exporter"), (self.prometheus_proc, "prometheus")):
                    if proc.poll() is not None:
                        raise RuntimeError(f"{what} exited ({proc.returncode}); see {self.logs}")
                try:
                    up = self.query('up{job="process"}', label="job")
                    procs = self.query("namedprocess_namegroup_num_procs > 0")
                    # rate() needs two scrapes: until then queries of load give nothing.
                    cpu = self.query(self.cpu_query())
                except (CommandError, ValueError):
                    return False
                want = set(self.c.backends.values())
                return up.get("process") == 1 and want <= set(procs) and want <= set(cpu)
            wait_for(ready, "Prometheus to scrape every backend's nginx twice", timeout=timeout, interval=0.25)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        """Stops Prometheus and the exporter, and lifts every CPU limit."""
        _stop(self.prometheus_proc)
        _stop(self.exporter_proc)
        self.prometheus_proc = self.exporter_proc = None
        self.unlimit_all()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def get(self, path, params=None):
        """GET on Prometheus (from inside the namespace); the parsed JSON answer."""
        args = ["curl", "-sS", "--fail-with-body", "--max-time", "5", "-G", f"{self.prometheus_url}{path}"]
        for key, value in (params or {}).items():
            args += ["--data-urlencode", f"{key}={value}"]
        return json.loads(self.ns.run(*args).stdout)

    def query_raw(self, promql):
        """The instant query's result: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        doc = self.get("/api/v1/query", {"query": promql})
        if doc.get("status") != "success":
            raise RuntimeError(f"query {promql!r} failed: {doc}")
        if doc["data"]["resultType"] != "vector":
            raise ValueError(f"query {promql!r} gives a {doc['data']['resultType']}, not a vector")
        return doc["data"]["result"]

    def query(self, promql, label="groupname"):
        """Instant query: {value of `label`: float}, one entry per series."""
        return {s["metric"].get(label, ""): float(s["value"][1]) for s in self.query_raw(promql)}

    # MARK: load

    def cpu_query(self, window="5s"):
        """CPU seconds per second of each backend's nginx (user and system summed)."""
        return f"sum by (groupname) (rate({CPU_METRIC}[{window}]))"

    def utilization_query(self, capacity, window="5s"):
        """PromQL whose instant result has one series per backend in `capacity` ({ip: CPU
        cores it may use}), label groupname = the address, value = its CPU use over the
        last `window` as a fraction of its capacity (user and system time; quantized to
        the kernel's 10 ms ticks, and rate() extrapolates, so a saturated backend may
        read slightly above 1)."""
        terms = []
        for ip, cap in capacity.items():
            if cap <= 0:
                raise ValueError(f"capacity of {ip} must be positive")
            terms.append(f'(sum by (groupname) (rate({CPU_METRIC}{{groupname="{ip}"}}[{window}])) / {cap:g})')
        return " or ".join(terms)

    # MARK: making requests cost CPU

    # MARK: CPU limits

    def cgroup(self, name):
        return CPU_ROOT / f"{self.c.prefix}-{name}"

    def nginx_pids(self, name):
        """The backend's nginx master (its configuration file on the command line) and its
        descendants (the workers)."""
        table = _proc_table()
        conf = str(self.nginx_conf(name))
        found = {pid for pid, (_, cmdline) in table.items() if conf in cmdline.split()}
        if not found:
            return []
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in table.items() if ppid in found} - found
            found |= more
            grew = bool(more)
        return sorted(found)

    def limit_cpu(self, name, fraction):
        """Backend `name`'s nginx may use `fraction` of one CPU (CFS quota per 100 ms).
        Processes nginx starts later (new workers) inherit the group; a restarted nginx
        does not, so call this again after `Cluster.start_service`."""
        if fraction <= 0:
            raise ValueError("fraction must be positive")
        pids = self.nginx_pids(name)
        if not pids:
            raise RuntimeError(f"no nginx runs for {name}")
        group = self.cgroup(name)
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        # The kernel refuses quotas under 1 ms.
        (group / "cpu.cfs_quota_us").write_text(str(max(1000, int(round(fraction * CFS_PERIOD_US)))))
        for pid in pids:
            try:
                (group / "cgroup.procs").write_text(str(pid))
            except ProcessLookupError:
                pass
        return pids

    def unlimit(self, name):
        """Moves the group's processes back to the root group and removes it."""
        group = self.cgroup(name)
        if not group.exists():
            return
        for _ in range(10):
            pids = [p for p in (group / "cgroup.procs").read_text().split() if p]
            for pid in pids:
                try:
                    (CPU_ROOT / "cgroup.procs").write_text(pid)
                except ProcessLookupError:
                    pass
            try:
                group.rmdir()
                return
            except OSError:
                # A child forked while the group was being emptied.
                time.sleep(0.05)
        group.rmdir()

    def unlimit_all(self):
        for name in self.c.backends:
            self.unlimit(name)
