"""glb-director and systemd: the watchdog (WatchdogSec=) gets WATCHDOG=1 only while every
lcore's loop makes progress, so a director whose lcore hangs is ended by systemd instead of
living on without forwarding; the unit's capability bounding set is what the port drivers
need, no less; glb_director_build_info names the build."""
import os
import re
import socket
import subprocess

import pytest

from glbdirector import Director, base_config, vdev  # (puts demo/ on the path)
from glbtools.shell import wait_for
from test_director_readiness import IDLE_PORT, TABLE, frozen, lcore_thread, ready
from glbtools.repo import changelog_version
from glbtools.units import capped


class NotifySocket:
    """A stand-in for systemd's notification socket: collects the datagrams sent to it."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []

    def drain(self):
        """Every datagram sent so far (sending queues it at once): the list of all of them."""
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def count(self, state):
        return sum(1 for m in self.drain() if state in m.split("\n"))

    def close(self):
        self.sock.close()


def idle_ms(port, lcore):
    """How long /ready says the lcore has made no progress, or None."""
    m = re.search(rf"lcore {lcore} made no progress for (\d+) ms", ready(port)[1])
    return int(m.group(1)) if m else None


def test_watchdog_pings_only_while_the_lcores_progress(hugepages, bin_dir, tmp_path):
    notify = NotifySocket(tmp_path / "notify")
    # 100 ms: a ping is due every 50 ms.
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="100000")
    d = Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9138)
    try:
        d.start(env=env)
        wait_for(lambda: notify.count("READY=1") == 1, timeout=20, interval=0.01)
        wait_for(lambda: notify.count("WATCHDOG=1") >= 3, timeout=20, interval=0.01)

        with frozen(lcore_thread(d.proc.pid, 1)):
            # Once /ready sees the lcore stand still, the ping that may have been due at the
            # freeze has been sent; from then on none may come.
            first = wait_for(lambda: idle_ms(9138, 1), timeout=20, interval=0.01)
            pings = notify.count("WATCHDOG=1")
            # The readiness thread keeps running meanwhile: the idle time it reports grows by
            # many ping intervals. (Read the socket while waiting: a full queue would drop
            # pings rather than show them.)
            wait_for(lambda: notify.drain() and (idle_ms(9138, 1) or 0) >= first + 1000, timeout=20, interval=0.05)
            assert notify.count("WATCHDOG=1") == pings
            assert d.proc.poll() is None

        # Negative control: the same thread pings again once the lcore loops again.
        wait_for(lambda: notify.count("WATCHDOG=1") > pings, timeout=20, interval=0.01)
    finally:
        d.stop()
        notify.close()


def test_no_watchdog_pings_without_watchdog_usec(hugepages, bin_dir, tmp_path):
    notify = NotifySocket(tmp_path / "notify")
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_USEC", "WATCHDOG_PID")}
    env["NOTIFY_SOCKET"] = notify.path
    d = Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9139)
    try:
        d.start(env=env)
        wait_for(lambda: notify.count("READY=1") == 1, timeout=20, interval=0.01)
        loops = 'glb_director_lcore_loops_total{lcore="1"}'
        first = d.metrics()[loops]
        wait_for(lambda: d.metrics()[loops] > first + 10_000, timeout=20, interval=0.01)
        assert notify.count("WATCHDOG=1") == 0
    finally:
        d.stop()
        notify.close()


def test_build_info(hugepages, bin_dir, tmp_path):
    dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True, text=True, check=True).stdout.strip()
    with Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9140) as d:
        metrics = d.metrics()
        info = {k: v for k, v in metrics.items() if k.startswith("glb_director_build_info")}
        assert info == {f'glb_director_build_info{{version="{changelog_version()}",dpdk="{dpdk}"}}': 1}


class CappedDirector(Director):
    """Runs with only glb-director.service's capabilities (less `without`)."""

    def __init__(self, *args, without=(), **kw):
        super().__init__(*args, **kw)
        self.without = without

    def command(self):
        return self.ns.cmd(*capped("glb-director.service", super().command()[len(self.ns.cmd()):], without=self.without))


@pytest.mark.parametrize("pmd", ["af_packet", "af_xdp"])
def test_the_units_capabilities_suffice(hugepages, make_pair, bin_dir, tmp_path, pmd):
    """The port and the exception path's TAP come up with the unit's CapabilityBoundingSet."""
    pair = make_pair(1600 if pmd == "af_xdp" else 9100)
    cfg = base_config(lcores={"lcore-1": {"rx": True, "tx": True, "flow_paths": [0], "kni": True}})
    with CappedDirector(bin_dir, tmp_path, cfg, TABLE, ns=pair.director, eal=[f"--vdev={vdev(pmd, 'd0')}"],
                        metrics_port=9141) as d:
        wait_for(lambda: d.metrics()["glb_director_ready"] == 1, timeout=20, interval=0.01)
        pair.director.ip("link", "show", "vglb_kni0")


@pytest.mark.parametrize("pmd, missing", [("af_packet", "net_raw"), ("af_packet", "net_admin"), ("af_xdp", "sys_admin")])
def test_without_one_of_them_it_does_not_start(hugepages, make_pair, bin_dir, tmp_path, pmd, missing):
    """Negative control: each capability of the set is needed by some port driver."""
    pair = make_pair(1600 if pmd == "af_xdp" else 9100)
    cfg = base_config(lcores={"lcore-1": {"rx": True, "tx": True, "flow_paths": [0], "kni": True}})
    d = CappedDirector(bin_dir, tmp_path, cfg, TABLE, ns=pair.director, eal=[f"--vdev={vdev(pmd, 'd0')}"],
                       metrics_port=9142, without=[missing])
    with pytest.raises(AssertionError, match="exited"):
        d.start(timeout=30)
    assert d.proc.wait(timeout=30) != 0
