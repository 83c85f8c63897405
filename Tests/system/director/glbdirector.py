"""Runs glb-director for tests: in a network namespace, on a veth through a DPDK virtual
device, with its configuration and table written to a temporary folder."""
import json
import os
import pathlib
import re
import signal
import subprocess
import threading
import time

from glbtools.shell import parse_metrics, wait_for


_instances = 0


def base_config(**extra):
    config = {
        "outbound_gateway_mac": "52:54:00:12:34:56",
        "outbound_src_ip": "10.255.255.1",
        "forward_icmp_ping_responses": True,
        "num_worker_queues": 1,
        "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}],
        "lcores": {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0]}},
    }
    config.update(extra)
    return config


def vdev(pmd, ifname):
    if pmd == "af_packet":
        return f"net_af_packet0,iface={ifname},framesz=9216,blocksz=36864,framecnt=512"
    if pmd == "af_xdp":
        return f"net_af_xdp0,iface={ifname},start_queue=0,queue_count=1"
    raise ValueError(pmd)


class Director:
    """One glb-director process. `start()` returns once it logs that it forwards."""

    def __init__(self, bin_dir, workdir, config, table, ns=None, eal=(), lcores="0-1", metrics_port=None):
        global _instances
        _instances += 1
        self.bin_dir = pathlib.Path(bin_dir)
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ns = ns
        self.prefix = f"glbtest{os.getpid()}x{_instances}"
        self.config_path = self.dir / "director.json"
        self.table_path = self.dir / "table.bin"
        self.metrics_port = metrics_port
        if metrics_port:
            config = dict(config, metrics_address=f"127.0.0.1:{metrics_port}")
        self.config_path.write_text(json.dumps(config))
        self.install_table(table)
        cores = ["--lcores", lcores] if "@" in lcores else ["-l", lcores]
        self.eal = ["--no-pci", "--in-memory", f"--file-prefix={self.prefix}", *cores, *eal]
        self.lines = []
        self.proc = None

    def cli(self, *args, check=True):
        return subprocess.run([str(self.bin_dir / "glb-director-cli"), *map(str, args)], capture_output=True, text=True, check=check)

    def install_table(self, table):
        """Compiles a table (dict or path to JSON) into the director's table file, or copies a
        compiled one (path ending in .bin); either way the file is replaced atomically."""
        if isinstance(table, (str, pathlib.Path)) and str(table).endswith(".bin"):
            tmp = self.table_path.with_suffix(".tmp")
            tmp.write_bytes(pathlib.Path(table).read_bytes())
            os.replace(tmp, self.table_path)
            return
        if isinstance(table, dict):
            src = self.dir / "table.json"
            src.write_text(json.dumps(table))
        else:
            src = table
        self.cli("build-config", src, self.table_path)

    def command(self):
        args = [str(self.bin_dir / "glb-director"), *self.eal, "--", "--config-file", str(self.config_path),
                "--forwarding-table", str(self.table_path)]
        return self.ns.cmd(*args) if self.ns else args

    def start(self, timeout=60, env=None):
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(r"forwarding on", timeout=timeout)
        return self

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def log(self):
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=30, start=0):
        """Waits for a log line matching `pattern` (from line `start`); returns its index."""
        rx = re.compile(pattern)

        def seen():
            # A one-element list: line 0 is a match too.
            for i in range(start, len(self.lines)):
                if rx.search(self.lines[i]):
                    return [i]
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the reader thread takes the last lines
                raise AssertionError(f"glb-director exited ({self.proc.returncode}) before logging /{pattern}/:\n{self.log()}")
            return None

        try:
            return wait_for(seen, f"glb-director to log /{pattern}/", timeout=timeout, interval=0.005)[0]
        except TimeoutError as e:
            raise AssertionError(f"{e}:\n{self.log()}") from None

    def reload(self, table=None, sig=signal.SIGHUP, expect=r"table generation \d+ loaded", timeout=30):
        mark = len(self.lines)
        if table is not None:
            self.install_table(table)
        os.kill(self.proc.pid, sig)
        return self.lines[self.wait_for(expect + "|reload rejected", timeout=timeout, start=mark)]

    def metrics(self):
        cmd = ["curl", "-sf", f"http://127.0.0.1:{self.metrics_port}/metrics"]
        out = subprocess.run(self.ns.cmd(*cmd) if self.ns else cmd, capture_output=True, text=True, check=True).stdout
        return parse_metrics(out)

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"glb-director did not stop within {timeout}s:\n{self.log()}")
        self._reader.join(timeout=5)
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
