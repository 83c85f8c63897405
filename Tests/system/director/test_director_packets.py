"""glb-director on a veth (DPDK net_af_packet / net_af_xdp) in a namespace, driven with real
frames: the reference case, hash fields, reloads, the exception path, jumbo frames and
metrics."""
import json
import random
import signal
import time

import pytest
from scapy.all import IP, IPv6, TCP, UDP, Ether, Raw, wrpcap

from glbdirector import Director, base_config, vdev
from glbtools.repo import FIXTURES, read_pcap
from glbtools.wire import Wire, is_gue

EXAMPLE = FIXTURES / "compat" / "director" / "example1"
TESTER_MAC = "02:00:00:00:00:01"

LAYOUTS = {
    "run-to-completion": dict(lcores="0-1", config={}),
    "distributor": dict(lcores="0@0,1@1,2@1", config={"lcores": {
        "lcore-1": {"rx": True, "tx": True, "flow_paths": [0], "dist": True, "num_dist_workers": 1},
        "lcore-2": {"work": True, "work_source": 1}}}),
}


def frames_of(path):
    return read_pcap(path)


def with_source_mac(frames, mac):
    raw = bytes.fromhex(mac.replace(":", ""))
    return [f[:6] + raw + f[12:] for f in frames]


def director(pair, bin_dir, tmp_path, pmd="af_packet", layout="run-to-completion", config=None, table=None, **kw):
    shape = LAYOUTS[layout]
    cfg = base_config(**shape["config"])
    cfg.update(config or {})
    lcores = shape["lcores"]
    eal = [f"--vdev={vdev(pmd, 'd0')}"]
    return Director(bin_dir, tmp_path, cfg, table or EXAMPLE / "table.json", ns=pair.director, eal=eal, lcores=lcores, **kw)


def oracle(bin_dir, tmp_path, config, table, frames, src_mac):
    """What the offline encap (byte-exact on the reference case) makes of these frames."""
    cfg, inp, out = tmp_path / "oracle.json", tmp_path / "oracle-in.pcap", tmp_path / "oracle-out.pcap"
    cfg.write_text(json.dumps(config))
    wrpcap(str(inp), [Ether(f) for f in frames])
    import subprocess
    subprocess.run([str(bin_dir / "glb-director-cli"), "encap", "--config-file", cfg, "--forwarding-table", table,
                    "--src-mac", src_mac, inp, out], check=True, capture_output=True)
    return frames_of(out)


@pytest.mark.parametrize("pmd", ["af_packet", "af_xdp"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_reference_case(hugepages, make_pair, bin_dir, tmp_path, pmd, layout):
    """Every rule of DESIGN §6, IPv4 and IPv6: the reference capture through the live director
    gives GLB's frames (with the port's own MAC as source), in order; the rest is dropped."""
    pair = make_pair(1600 if pmd == "af_xdp" else 9100)
    d = director(pair, bin_dir, tmp_path, pmd=pmd, layout=layout, metrics_port=9100)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send(frames_of(EXAMPLE / "in.pcap"))
        got = wire.receive(count=164, timeout=10, keep=is_gue)
        expected = with_source_mac(frames_of(EXAMPLE / "expected.pcap"), pair.director.mac("d0"))
        assert len(got) == 164, d.log()
        for i, (a, b) in enumerate(zip(got, expected)):
            assert a == b, f"frame {i} differs"
        assert wire.receive(timeout=0.5, keep=is_gue) == []
        m = d.metrics()
        assert m['glb_director_packets_total{lcore="%s",outcome="forwarded"}' % ("1" if layout == "run-to-completion" else "2")] == 164
        # Lcore 1 reads the port and sends the GUE frames in both layouts (as distributor, its
        # worker's as well): its own loop counters say so, not another lcore's.
        sent = len(frames_of(EXAMPLE / "in.pcap"))
        assert m['glb_director_lcore_received_packets_total{lcore="1"}'] >= sent
        assert m['glb_director_lcore_sent_packets_total{lcore="1"}'] >= 164
        assert m['glb_director_table_forwarded_packets_total{table="0"}'] == 110
        assert m['glb_director_table_forwarded_packets_total{table="1"}'] == 54
    assert d.proc.returncode == 0


def flows(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sport = rng.randrange(1024, 65536)
        if i % 3:
            out.append(bytes(Ether(src=TESTER_MAC, dst="02:00:00:00:00:02") / IP(src=f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}", dst="192.0.2.80") / TCP(sport=sport, dport=443, flags="A")))
        else:
            out.append(bytes(Ether(src=TESTER_MAC, dst="02:00:00:00:00:02") / IPv6(src=f"2001:db8:99::{rng.randrange(1, 65535):x}", dst="2001:db8:e::1") / TCP(sport=sport, dport=443, flags="A")))
    return out


@pytest.mark.parametrize("hash_fields,alt", [
    ({"src_addr": True, "dst_addr": True, "src_port": True, "dst_port": True}, None),
    ({"src_port": True}, None),
    ({"src_addr": True, "src_port": True}, {"src_addr": True}),
])
@pytest.mark.parametrize("pmd", ["af_packet", "af_xdp"])
def test_hash_fields(hugepages, make_pair, bin_dir, tmp_path, hash_fields, alt, pmd):
    pair = make_pair(1600 if pmd == "af_xdp" else 9100)
    extra = {"hash_fields": hash_fields}
    if alt:
        extra["alt_hash_fields"] = alt
    d = director(pair, bin_dir, tmp_path, pmd=pmd, config=extra)
    sent = flows(60, seed=len(json.dumps(extra)))
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send(sent)
        got = wire.receive(count=len(sent), timeout=10, keep=is_gue)
    expected = oracle(bin_dir, tmp_path, json.loads(d.config_path.read_text()), d.table_path, sent, pair.director.mac("d0"))
    assert got == expected
    assert all(f[49] == (3 if alt else 1) for f in got)


def table_with(health):
    doc = json.loads((EXAMPLE / "table.json").read_text())
    for backend in doc["tables"][0]["backends"]:
        backend["state"] = "active"
        backend["healthy"] = health.get(backend["ip"], True)
    return doc


def outer(frame):
    return frame[30:34], frame[50:54]


@pytest.mark.parametrize("pmd", ["af_packet", "af_xdp"])
def test_reload_moves_flows_off_an_unhealthy_primary(hugepages, make_pair, bin_dir, tmp_path, pmd):
    pair = make_pair(1600 if pmd == "af_xdp" else 9100)
    d = director(pair, bin_dir, tmp_path, pmd=pmd, metrics_port=9101, table=table_with({}))
    sent = [f for f in flows(90, seed=7) if f[12:14] == b"\x08\x00"]
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send(sent)
        before = wire.receive(count=len(sent), timeout=10, keep=is_gue)
        sick = bytes([10, 20, 0, 1])
        on_sick = [i for i, f in enumerate(before) if outer(f)[0] == sick]
        assert on_sick, "no flow hashed to 10.20.0.1"
        assert "table generation 2 loaded" in d.reload(table_with({"10.20.0.1": False}))
        wire.send(sent)
        after = wire.receive(count=len(sent), timeout=10, keep=is_gue)
        assert len(before) == len(after) == len(sent)
        for i, (b, a) in enumerate(zip(before, after)):
            if i in on_sick:
                # The secondary takes over and the unhealthy primary becomes its second chance.
                assert outer(a) == (outer(b)[1], sick)
            else:
                assert outer(a)[0] == outer(b)[0]
        assert d.metrics()["glb_director_table_generation"] == 2


def test_corrupt_table_on_reload_is_rejected(hugepages, pair, bin_dir, tmp_path):
    d = director(pair, bin_dir, tmp_path, metrics_port=9102)
    sent = flows(30, seed=3)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send(sent)
        before = wire.receive(count=len(sent), timeout=10, keep=is_gue)
        assert len(before) == len(sent)
        good = d.table_path.read_bytes()
        for damage in (good[:1000], good[:24] + b"\x00" * (len(good) - 24), b"not a table"):
            d.table_path.write_bytes(damage)
            line = d.reload()
            assert "reload rejected, still forwarding with table generation 1" in line
        wire.send(sent)
        assert wire.receive(count=len(sent), timeout=10, keep=is_gue) == before
        m = d.metrics()
        assert m['glb_director_reloads_total{result="rejected"}'] == 3
        assert m["glb_director_table_generation"] == 1


@pytest.mark.parametrize("pmd", ["af_packet", "af_xdp"])
def test_exception_path_both_ways(hugepages, make_pair, bin_dir, tmp_path, pmd):
    """With kni, unmatched packets reach the kernel on vglb_kni0, and what the kernel sends
    there leaves through the NIC."""
    pair = make_pair(1600 if pmd == "af_xdp" else 9100)
    cfg = {"lcores": {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0], "kni": True}}}
    d = director(pair, bin_dir, tmp_path, pmd=pmd, config=cfg, metrics_port=9103)
    with d:
        pair.director.ip("link", "set", "vglb_kni0", "up")
        pair.director.ip("addr", "add", "192.0.2.200/24", "dev", "vglb_kni0")
        assert pair.director.mac("vglb_kni0") == pair.director.mac("d0")
        with Wire(pair.director, "vglb_kni0") as kernel_side, Wire(pair.tester, "t0") as wire:
            kernel_side.drain()
            wire.drain()
            unmatched = bytes(Ether(src=TESTER_MAC, dst=pair.director.mac("d0")) / IP(src="192.0.2.9", dst="192.0.2.200") / UDP(sport=5555, dport=7777) / Raw(b"to the kernel"))
            wire.send([unmatched])
            up = kernel_side.receive(count=1, timeout=5, keep=lambda f: f == unmatched)
            assert up == [unmatched]
            # The kernel answers ARP for its address on vglb_kni0; the reply must reach the wire.
            arp = bytes.fromhex("ffffffffffff" + TESTER_MAC.replace(":", "") + "0806" + "0001080006040001" + TESTER_MAC.replace(":", "") + "c0000209" + "000000000000" + "c00002c8")
            wire.send([arp])
            replies = wire.receive(count=1, timeout=5, keep=lambda f: f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02")
            assert len(replies) == 1 and replies[0][28:32] == bytes([192, 0, 2, 200])
        m = d.metrics()
        assert m['glb_director_lcore_exception_packets_total{lcore="1",direction="to_kernel"}'] >= 2
        assert m['glb_director_lcore_exception_packets_total{lcore="1",direction="to_wire"}'] >= 1


def test_unmatched_dropped_without_exception_path(hugepages, pair, bin_dir, tmp_path):
    d = director(pair, bin_dir, tmp_path, metrics_port=9104)
    with d, Wire(pair.tester, "t0") as wire:
        wire.send([bytes(Ether(src=TESTER_MAC) / IP(src="192.0.2.9", dst="192.0.2.201") / UDP(sport=1, dport=2))] * 5)
        assert wire.receive(timeout=1.0, keep=is_gue) == []
        m = d.metrics()
        assert m['glb_director_packets_total{lcore="1",outcome="not_matched"}'] == 5
        assert m['glb_director_lcore_dropped_packets_total{lcore="1",reason="no_exception_path"}'] == 5


def test_jumbo_frames(hugepages, pair, bin_dir, tmp_path):
    d = director(pair, bin_dir, tmp_path)
    payload = bytes(random.Random(1).getrandbits(8) for _ in range(9000 - 40))
    jumbo = bytes(Ether(src=TESTER_MAC) / IP(src="198.18.0.1", dst="192.0.2.80") / TCP(sport=40000, dport=443, flags="A") / Raw(payload))
    assert len(jumbo) == 14 + 9000
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send([jumbo])
        got = wire.receive(count=1, timeout=5, keep=is_gue)
    assert len(got) == 1 and len(got[0]) == 14 + 9000 + 40
    assert got[0][54:] == jumbo[14:]


def test_two_queues_two_lcores(hugepages, pair, bin_dir, tmp_path):
    """num_worker_queues 2 with a run-to-completion lcore per queue: AF_PACKET's fanout spreads
    flows over the queues, and both lcores forward what they receive."""
    cfg = {"num_worker_queues": 2,
           "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0},
                          {"rx_port": 0, "rx_queue": 1, "tx_port": 0, "tx_queue": 1}],
           "lcores": {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0]},
                      "lcore-2": {"rx": True, "tx": True, "flow_paths": [1]}}}
    d = Director(bin_dir, tmp_path, base_config(**cfg), EXAMPLE / "table.json", ns=pair.director,
                 eal=[f"--vdev={vdev('af_packet', 'd0')},qpairs=2"], lcores="0@0,1@1,2@1", metrics_port=9105)
    sent = flows(200, seed=11)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send(sent)
        got = wire.receive(count=len(sent), timeout=10, keep=is_gue)
        m = d.metrics()
    expected = oracle(bin_dir, tmp_path, json.loads(d.config_path.read_text()), d.table_path, sent, pair.director.mac("d0"))
    assert sorted(got) == sorted(expected)
    per_lcore = [m['glb_director_packets_total{lcore="%d",outcome="forwarded"}' % l] for l in (1, 2)]
    assert sum(per_lcore) == len(sent) and min(per_lcore) > 0, per_lcore


def test_statsd_and_sigusr1(hugepages, pair, bin_dir, tmp_path):
    """GLB's statsd counters reach statsd_port; SIGUSR1 reloads like SIGHUP."""
    import socket
    from glbtools.netns import entered
    with entered(pair.director):
        statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        statsd.bind(("127.0.0.1", 28125))
    statsd.settimeout(10)
    d = director(pair, bin_dir, tmp_path, config={"statsd_port": 28125})
    sent = flows(30, seed=5)
    with d, Wire(pair.tester, "t0") as wire:
        wire.send(sent)
        assert len(wire.receive(count=len(sent), timeout=10, keep=is_gue)) == len(sent)
        assert "table generation 2 loaded" in d.reload(sig=signal.SIGUSR1)
        lines = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(l.startswith("glb_director_ng.core.packets.matched:30|c|#core:01") for l in lines):
            lines.add(statsd.recv(4096).decode())
    statsd.close()
    assert "glb_director_ng.core.packets.matched:30|c|#core:01" in lines, sorted(lines)[:20]
    assert any(l.startswith("glb_director_ng.port.packets.rx:") and l.endswith("|c|#port:00") for l in lines)
    # GLB's per-queue series too.
    for name in ("queue.packets.rx", "queue.bytes.rx", "queue.packets.rx_errors", "queue.packets.tx", "queue.bytes.tx"):
        assert any(l.startswith(f"glb_director_ng.{name}:") and l.endswith("|c|#port:00,queue:00") for l in lines), name
