"""glb-director's readiness (GET /ready and the glb_director_ready gauge), its graceful stop
and its idle back-off: what the announcer withdraws the VIPs on, and what lets several
directors share a small host."""
import contextlib
import os
import pathlib
import signal
import subprocess
import urllib.error
import urllib.request

from glbdirector import Director, base_config  # (puts demo/ on the path)
from glbtools.shell import wait_for
from glbtools.repo import FIXTURES

TABLE = FIXTURES / "compat" / "director" / "example1" / "table.json"
# net_null without rx: the lcore polls a port that never has packets.
IDLE_PORT = "--vdev=net_null0,no-rx=1"
FREEZER = pathlib.Path("/sys/fs/cgroup/freezer")


def ready(port):
    """(status, body) of GET /ready."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def lcore_thread(pid, lcore):
    """The thread id of DPDK's lcore `lcore` in process `pid`."""
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().strip() == f"rte-worker-{lcore}":
            return int(task.name)
    raise AssertionError(f"no thread for lcore {lcore}")


@contextlib.contextmanager
def frozen(tid):
    """Stops one thread, and only that one, with the cgroup v1 freezer (SIGSTOP would stop
    the whole process, the metrics endpoint with it)."""
    group = FREEZER / f"glbtest{os.getpid()}"
    group.mkdir()
    try:
        (group / "tasks").write_text(str(tid))
        (group / "freezer.state").write_text("FROZEN")
        yield
    finally:
        (group / "freezer.state").write_text("THAWED")
        (FREEZER / "tasks").write_text(str(tid))
        group.rmdir()


def test_ready_until_an_lcore_hangs(hugepages, bin_dir, tmp_path):
    with Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9131) as d:
        status, body = wait_for(lambda: (s := ready(9131))[0] == 200 and s, timeout=20, interval=0.01)
        assert body == "ready\n"
        assert d.metrics()["glb_director_ready"] == 1
        loops = 'glb_director_lcore_loops_total{lcore="1"}'
        first = d.metrics()[loops]
        assert wait_for(lambda: d.metrics()[loops] > first, timeout=20, interval=0.01)

        # The process lives and serves its endpoint, but lcore 1 no longer loops.
        with frozen(lcore_thread(d.proc.pid, 1)):
            status, body = wait_for(lambda: (s := ready(9131))[0] == 503 and s, timeout=20, interval=0.01)
            assert "not ready: lcore 1 made no progress for" in body, body
            assert d.metrics()["glb_director_ready"] == 0
            d.wait_for(r"not ready: lcore 1 made no progress")
        status, body = wait_for(lambda: (s := ready(9131))[0] == 200 and s, timeout=20, interval=0.01)
        d.wait_for(r"ready: forwarding")


def test_graceful_stop_keeps_forwarding_while_not_ready(hugepages, bin_dir, tmp_path):
    cfg = base_config(stop_grace_ms=2000)
    d = Director(bin_dir, tmp_path, cfg, TABLE, eal=[IDLE_PORT], metrics_port=9132).start()
    try:
        wait_for(lambda: ready(9132)[0] == 200, timeout=20, interval=0.01)
        os.kill(d.proc.pid, signal.SIGTERM)
        status, body = wait_for(lambda: (s := ready(9132))[0] == 503 and s, timeout=20, interval=0.01)
        assert "not ready: stopping" in body, body
        # Still running its loops during the grace period.
        loops = 'glb_director_lcore_loops_total{lcore="1"}'
        before = d.metrics()[loops]
        assert wait_for(lambda: d.metrics()[loops] > before, timeout=20, interval=0.01)
        assert d.proc.poll() is None
        assert d.proc.wait(timeout=30) == 0
        text = d.log()
        assert "forwarding for 2000 ms more (stop_grace_ms)" in text and "grace period over" in text, text
    finally:
        d.stop()


def test_second_signal_ends_the_grace_period(hugepages, bin_dir, tmp_path):
    d = Director(bin_dir, tmp_path, base_config(stop_grace_ms=600000), TABLE, eal=[IDLE_PORT], metrics_port=9133).start()
    try:
        os.kill(d.proc.pid, signal.SIGTERM)
        d.wait_for(r"stop requested")
        assert d.proc.poll() is None
        os.kill(d.proc.pid, signal.SIGTERM)
        assert d.proc.wait(timeout=30) == 0
        assert "grace period over" not in d.log()
    finally:
        d.stop()


def test_without_grace_a_stop_is_immediate(hugepages, bin_dir, tmp_path):
    d = Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9134).start()
    try:
        os.kill(d.proc.pid, signal.SIGTERM)
        assert d.proc.wait(timeout=30) == 0
        assert "stop requested" not in d.log()
    finally:
        d.stop()


def test_idle_sleep(hugepages, bin_dir, tmp_path):
    sleeps = 'glb_director_lcore_idle_sleeps_total{lcore="1"}'
    loops = 'glb_director_lcore_loops_total{lcore="1"}'
    with Director(bin_dir, tmp_path / "a", base_config(idle_sleep_us=200), TABLE, eal=[IDLE_PORT], metrics_port=9135) as d:
        assert wait_for(lambda: d.metrics()[sleeps] > 100, timeout=20, interval=0.01)
        assert ready(9135)[0] == 200
    # Off by default: an idle lcore polls without sleeping.
    with Director(bin_dir, tmp_path / "b", base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9136) as d:
        assert wait_for(lambda: d.metrics()[loops] > 100_000, timeout=20, interval=0.01)
        assert d.metrics()[sleeps] == 0


def test_ready_endpoint_paths(hugepages, bin_dir, tmp_path):
    with Director(bin_dir, tmp_path, base_config(), TABLE, eal=[IDLE_PORT], metrics_port=9137):
        wait_for(lambda: ready(9137)[0] == 200, timeout=20, interval=0.01)
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:9137/other"],
                           capture_output=True, text=True)
        assert r.stdout == "404"
