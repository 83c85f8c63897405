"""The demo cluster over an IPv6-only underlay (scripts/demo --underlay ipv6), shorter, as a
test: directors and backends have IPv6 addresses only, BGP with BFD runs over IPv6 and
carries the IPv4 VIP with IPv6 next hops, the directors encapsulate in outer IPv6, and
clients download from an IPv4 VIP and an IPv6 VIP while b1 drains (second chance over
IPv6) and a director is killed. Nothing may break on either VIP."""
import os
import subprocess
import time

import pytest

from glbdemo.cluster import VIP, VIP6, Cluster
from glbdemo.scenario import Scenario

GUE_PORT = 19523
# GLB private data type of the IPv6 underlay's hop list (docs/design.md §3).
PRIVATE_TYPE_IPV6_HOPS = 1
# Frames captured on the router's link to the backends: enough to see every kind of tunnel
# packet the directors send while clients download.
CAPTURED = 300


@pytest.fixture
def cluster(hugepages, bin_dir, tmp_path):
    c = Cluster(bin_dir, tmp_path / "cluster", prefix=f"glbt{os.getpid()}-v6", directors=2, backends=("b1", "b2", "b3"),
                large_size=1 << 20, interval_ms=200, trigger=2, underlay="ipv6", log=lambda *_: None)
    try:
        c.up()
        yield c
    finally:
        c.down(quiet=True)


def capture_tunnel(cluster, path):
    """Starts capturing, on the router's side of the backends' link, the next CAPTURED UDP
    datagrams to the GUE port, over IPv4 or IPv6."""
    return subprocess.Popen(cluster.ns["router"].cmd("tcpdump", "-i", "back", "-nn", "-c", CAPTURED, "-w", path,
                                                     f"udp dst port {GUE_PORT}"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def outer_families(path):
    """(IPv4 frames, IPv6 frames with GLB private type 1) in a capture."""
    from scapy.all import IP, UDP, IPv6, rdpcap
    v4 = v6 = 0
    for frame in rdpcap(str(path)):
        if IP in frame:
            v4 += 1
        elif IPv6 in frame and UDP in frame:
            gue = bytes(frame[UDP].payload)
            # GUE base header (4 bytes), then the private type (2 bytes, big-endian).
            if int.from_bytes(gue[4:6], "big") == PRIVATE_TYPE_IPV6_HOPS:
                v6 += 1
    return v4, v6


def test_ipv6_underlay_drain_and_failover_break_no_connection(cluster, tmp_path):
    c = cluster
    # Directors and backends: no IPv4 address on their underlay link.
    for name in [*c.directors, *c.backends]:
        assert c.ns[name].ip("-4", "-o", "addr", "show", "dev", "eth0").stdout.strip() == "", name
        assert c.ns[name].ip("-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").stdout.strip() != "", name
    # The router reaches the IPv4 VIP through the directors' IPv6 addresses (BGP over IPv6).
    assert c.nexthops() == {d.ip for d in c.directors.values()}
    assert all(":" in hop for hop in c.nexthops())
    assert c.health() == {ip: True for ip in c.backends.values()}, "a backend failed its IPv6 http or gue check"

    s = Scenario(c, pace=3.0, long_concurrency=120, short_rate=20, long_rate=60_000, log=lambda *_: None,
                 control_loop=False)
    s.start_traffic()
    s.phase("steady state: b1, b2, b3 active")
    pcap = tmp_path / "tunnel.pcap"
    capture = capture_tunnel(c, pcap)
    s.settle(1.0)
    time.sleep(s.pace)
    _, err = capture.communicate(timeout=60)
    assert capture.returncode == 0, f"tcpdump (installed by scripts/setup) failed: {err}"

    s.change("drain b1", {"b1": "draining", "b2": "active", "b3": "active"}, "b1 draining")

    c.wait_announced(["d1", "d2"], timeout=60)
    s.phase("director d2 killed (SIGKILL)")
    killed = time.time()
    c.kill_director("d2")
    s.failovers["kill"] = c.routes.change_after(killed, without=c.directors["d2"].ip)
    s.settle()
    time.sleep(s.pace)
    c.start_director("d2")
    c.wait_announced(["d2"], timeout=60)
    s.phases[-1].end = time.time()
    s.phases[-1].redirect_after = s.redirect_counters()
    s.stop_traffic()

    text, events, unexcused = s.report()
    print(text)
    assert unexcused == [], text
    for vip in (VIP, VIP6):
        of_vip = [e for e in events if e["vip"] == vip]
        assert len([e for e in of_vip if e["status"] == "ok"]) >= 50, f"too few connections to {vip}\n{text}"
        for phase in s.phases[1:]:
            crossing = [e for e in of_vip if e["kind"] == "long" and e["start"] < phase.start < e["end"] and e["status"] == "ok"]
            assert len(crossing) >= 5, f"{phase.title}: too few downloads from {vip} crossed the change\n{text}"

    # The drain kept b1's running flows through second chance: the new primaries forwarded
    # their packets to b1 over the IPv6 underlay.
    drain = s.phases[1]
    forwarded = sum(drain.redirect_after[b].get("forwarded", 0) - drain.redirect_before[b].get("forwarded", 0)
                    for b in ("b2", "b3"))
    assert forwarded > 0, text
    served_b1 = [e for e in events if e["backend"] == "b1" and e["start"] < drain.start < e["end"] and e["status"] == "ok"]
    assert {e["vip"] for e in served_b1} == {VIP, VIP6}, "downloads from b1 on both VIPs must cross the drain"

    # The tunnel on the wire: outer IPv6 with GLB's IPv6 hop list, never IPv4.
    v4, v6 = outer_families(pcap)
    assert (v4, v6) == (0, CAPTURED), f"{v4} outer IPv4 and {v6} outer IPv6 (private type 1) frames of {CAPTURED}"
    # And the backends took them: glb-redirect decapsulated them (no IPv4 on their links).
    for b in c.backends:
        stats = c.redirect_stats(b)
        assert stats.get("accepted_established", 0) > 0, (b, stats)
        assert stats.get("drop_bad_private_type", 0) == 0, (b, stats)
