"""The demo's scenario, shorter, as a test: a real cluster in namespaces (director on DPDK,
backends with glb-redirect and nginx, health checker), at least 200 concurrent connections
with long downloads in flight across every change. Nothing may break except on the backend
that fails, and every new connection must land where the table in force sends it."""
import os

import pytest

from glbtools import glbref

from glbdemo.cluster import BACKENDS, Cluster
from glbdemo.scenario import Scenario

NAME_OF = {ip: name for name, ip in BACKENDS.items()}


@pytest.fixture
def scenario(hugepages, bin_dir, tmp_path):
    cluster = Cluster(bin_dir, tmp_path / "cluster", prefix=f"glbt{os.getpid()}-demo", large_size=1 << 20,
                      interval_ms=200, trigger=2, log=lambda *_: None)
    try:
        cluster.up()
        # The control loop's phase runs in the demo (release builds); its daemon is tested
        # against a real Prometheus in Tests/system/balance. Debug builds of three directors,
        # compressing backends and Prometheus are more than two cores carry reliably.
        yield Scenario(cluster, pace=3.0, long_concurrency=200, short_rate=30, long_rate=60_000, log=lambda *_: None,
                       control_loop=False)
    finally:
        cluster.down(quiet=True)


def test_changes_break_no_connection(scenario):
    scenario.run()
    text, events, unexcused = scenario.report()
    print(text)
    assert unexcused == [], text

    # At least 200 connections at once, and long downloads in flight across every change.
    edges = sorted([(e["start"], 1) for e in events] + [(e["end"], -1) for e in events])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak >= 200, f"only {peak} concurrent connections"
    for phase in scenario.phases[1:]:
        spanning = [e for e in events if e["kind"] == "long" and e["start"] < phase.start < e["end"] and e["status"] == "ok"]
        assert len(spanning) >= 20, f"{phase.title}: {len(spanning)} completed long downloads spanned the change"

    # Every new connection meets the table in force: its primary serves it. (A connection
    # whose handshake completed after the phase ended may have met the next table.) The
    # control loop's phase changes the table as it goes.
    for phase in scenario.phases:
        if phase.title.startswith("control loop"):
            continue
        table = glbref.read_table(phase.table)[0]
        fresh = [e for e in events if phase.settled <= e["start"] and e.get("connected", phase.end) < phase.end and e["status"] == "ok"]
        assert len(fresh) > 20, phase.title
        for e in fresh:
            primary, _ = glbref.route(table, glbref.packet_hash(table.hash_key, {"src_addr": True}, e["src"], "", 0, 0))
            assert e["backend"] == NAME_OF[str(primary)], f"{phase.title}: {e['src']} served by {e['backend']}, table says {NAME_OF[str(primary)]}"
        served = {e["backend"] for e in fresh}
        if "drain b1" in phase.title or "remove b1" in phase.title:
            assert "b1" not in served
        if "b2 fails" in phase.title or phase.title.startswith("director "):
            assert "b2" not in served and "b1" not in served
        if "b4" in phase.title:
            assert "b4" in served
