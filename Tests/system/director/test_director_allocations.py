"""glb-director's lcore loops allocate nothing per packet: the heap allocations made on
DPDK's lcore threads (counted by an LD_PRELOAD library) are the same after a short and a
long run at full rate, although the long run moves many more packets."""
import json
import os
import subprocess

import pytest
from scapy.all import IP, TCP, Ether, wrpcap

from glbdirector import Director, base_config
from glbtools.repo import FIXTURES
from glbtools.shell import wait_for

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    out = tmp_path_factory.mktemp("alloc") / "count.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(out), os.path.join(HERE, "alloc", "count_worker_allocations.c"), "-lpthread"],
                   check=True)
    return out


def run_until(bin_dir, tmp_path, counter, packets, capture):
    """Runs the director over the looping capture until it has forwarded `packets` or more;
    the allocations the preloaded counter saw on the lcore threads, and the packets."""
    report = tmp_path / "allocations"
    d = Director(bin_dir, tmp_path, base_config(), FIXTURES / "compat" / "director" / "example1" / "table.json",
                 eal=[f"--vdev=net_pcap0,rx_pcap={capture},tx_pcap=/dev/null,infinite_rx=1"], metrics_port=9130)
    env = dict(os.environ, LD_PRELOAD=str(counter), GLB_ALLOC_REPORT=str(report))
    d.start(env=env)
    key = 'glb_director_packets_total{lcore="1",outcome="forwarded"}'
    wait_for(lambda: d.metrics()[key] >= packets, f"{packets} packets forwarded", timeout=300)
    assert d.stop() == 0, d.log()
    totals = json.loads(next(line for line in d.lines if "lcore 1 totals" in line))["message"]
    forwarded = int(totals.split("forwarded ")[1].split(",")[0])
    return int(report.read_text()), forwarded


def test_loops_allocate_nothing_per_packet(hugepages, bin_dir, tmp_path, counter):
    capture = tmp_path / "syn.pcap"
    wrpcap(str(capture), [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                          IP(src=f"198.18.0.{i + 1}", dst="192.0.2.80") / TCP(sport=2000 + i, dport=443, flags="S") for i in range(32)])
    short_allocs, short_packets = run_until(bin_dir, tmp_path / "short", counter, 10_000, capture)
    long_allocs, long_packets = run_until(bin_dir, tmp_path / "long", counter, 1_000_000, capture)
    assert long_packets >= 1_000_000 and short_packets >= 10_000
    # The counter does see the lcore threads: each loop allocates its burst arrays once.
    assert short_allocs >= 3
    assert long_allocs == short_allocs, (f"{short_allocs} allocations for {short_packets} packets, "
                                         f"{long_allocs} for {long_packets}")
