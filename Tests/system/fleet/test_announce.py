"""glb-announce with real BIRDs: one director host and a router. The VIP is announced while
the director forwards, and withdrawn when the director's table goes stale (its health
checker cannot get a new table loaded), when BIRD or the announcer dies, and never
announced while BIRD is down."""
import os
import signal
import time

import pytest

from glbdemo.cluster import ANNOUNCE_METRICS, CHECKER_METRICS, Cluster
from glbtools.shell import wait_for


@pytest.fixture
def host(hugepages, bin_dir, tmp_path):
    c = Cluster(bin_dir, tmp_path / "one", prefix=f"glbt{os.getpid()}-an", directors=1, backends=("b1", "b2"),
                large_size=64 << 10, interval_ms=200, trigger=2, stale_after_s=2, log=lambda *_: None)
    try:
        c.up(members=("b1", "b2"))
        yield c
    finally:
        c.down(quiet=True)


def announcing(c):
    return c.metrics(ANNOUNCE_METRICS).get("glb_announce_announcing")


def test_stale_table_withdraws(host):
    c, d = host, host.first
    assert c.nexthops() == {d.ip}
    # The reload command cannot replace the compiled table: a folder stands in its way.
    d.table.rename(d.table.with_suffix(".moved"))
    d.table.mkdir()
    c.write_source(c.table_doc({"b1": "draining", "b2": "active"}))
    os.kill(d.checker_proc.pid, signal.SIGHUP)
    wait_for(lambda: c.metrics(CHECKER_METRICS).get("glb_healthcheck_reload_pending") == 1,
             "a pending reload", timeout=20)
    wait_for(lambda: not c.nexthops(), "the VIP to be withdrawn", timeout=20, interval=0.05)
    log = (c.logs / "d1.announce.log").read_text()
    assert "withdrawing the VIPs: table stale: the health checker has a table reload pending" in log, log
    # The reload goes through once the way is clear, and the VIP comes back.
    d.table.rmdir()
    d.table.with_suffix(".moved").rename(d.table)
    c.wait_announced(["d1"], timeout=30)
    assert c.metrics(CHECKER_METRICS).get("glb_healthcheck_reload_pending") == 0


def test_announcer_death_withdraws(host):
    c, d = host, host.first
    d.announce_proc.send_signal(signal.SIGKILL)
    d.announce_proc.wait(timeout=10)
    wait_for(lambda: not c.nexthops(), "the VIP to be withdrawn", timeout=10, interval=0.01)
    assert "glbvip" not in d.ns.run("ip", "-o", "link").stdout


def test_bird_down_announces_nothing(host):
    c, d = host, host.first
    d.bird_proc.send_signal(signal.SIGKILL)
    d.bird_proc.wait(timeout=10)
    wait_for(lambda: not c.nexthops(), "the VIP to be withdrawn", timeout=10, interval=0.01)
    wait_for(lambda: c.metrics(ANNOUNCE_METRICS).get("glb_announce_bird_up") == 0, "glb_announce_bird_up 0", timeout=10)
    # The director still forwards and the announcer still wants to announce: without BIRD
    # nothing reaches the router.
    assert announcing(c) == 1
    time.sleep(2)
    assert not c.nexthops()
    # BIRD back: it reads the include files the announcer wrote, and announces again.
    c._bird(d)
    c.wait_announced(["d1"], timeout=30)


def test_director_stop_withdraws_before_it_ends(host):
    """A graceful stop: the router stops sending to the director while it still forwards."""
    c, d = host, host.first
    d.director_proc.send_signal(signal.SIGTERM)
    wait_for(lambda: not c.nexthops(), "the VIP to be withdrawn", timeout=10, interval=0.01)
    assert d.director_proc.poll() is None, "the director stopped before the routers moved away"
    d.director_proc.wait(timeout=30)
    assert "withdrawing the VIPs: director not ready: stopping" in (c.logs / "d1.announce.log").read_text()


def test_a_stopped_bird_does_not_hold_up_a_withdrawal(host):
    """birdc waits forever on a stopped BIRD; the announcer looks at BIRD on a thread of its
    own with a time limit, so its polls of the director go on."""
    c, d = host, host.first
    d.bird_proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: c.metrics(ANNOUNCE_METRICS).get("glb_announce_bird_up") == 0,
                 "glb_announce_bird_up 0", timeout=15)
        polls = c.metrics(ANNOUNCE_METRICS)["glb_announce_polls_total"]
        wait_for(lambda: c.metrics(ANNOUNCE_METRICS)["glb_announce_polls_total"] > polls + 20,
                 "polls to go on", timeout=15)
        c.kill_director("d1")
        wait_for(lambda: announcing(c) == 0, "the announcer to withdraw", timeout=15, interval=0.05)
    finally:
        d.bird_proc.send_signal(signal.SIGCONT)
