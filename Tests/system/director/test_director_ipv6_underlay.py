"""glb-director with a table of IPv6 backends, on a veth: clients on IPv4 and IPv6 VIPs are
sent over an IPv6 underlay (docs/design.md §3), as the offline encap computes it, with every
outer field checked with scapy; a table needing a source address director.conf lacks is
refused, and a reload keeps the running table."""
import json
import socket

from scapy.all import UDP, Ether, IPv6

from glbdirector import Director, base_config, vdev
from test_director_packets import flows, oracle

SOURCE6 = "2001:db8:d::1"
BACKENDS6 = ["2001:db8:b::1", "2001:db8:b::2", "2001:db8:b::3"]


def table(backends):
    return {"tables": [{
        "name": "v6",
        "hash_key": "00112233445566778899aabbccddeeff",
        "seed": "0123456789abcdef0123456789abcdef",
        "binds": [{"ip": "192.0.2.80", "proto": "tcp", "port": 443}, {"ip": "2001:db8:e::1", "proto": "tcp", "port": 443}],
        "backends": [{"ip": ip, "state": "active", "healthy": True} for ip in backends],
    }]}


def ipv6_config(**extra):
    config = base_config(outbound_src_ipv6=SOURCE6, **extra)
    del config["outbound_src_ip"]
    return config


def is_gue6(frame):
    """An IPv6/UDP frame to the GUE port."""
    return len(frame) >= 62 and frame[12:14] == b"\x86\xdd" and frame[20] == 17 and frame[56:58] == b"\x4c\x43"


def director(pair, bin_dir, tmp_path, config, doc, name="d", **kw):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return Director(bin_dir, tmp_path / name, config, path, ns=pair.director, eal=[f"--vdev={vdev('af_packet', 'd0')}"], **kw)


def test_ipv6_backends_are_sent_over_ipv6(hugepages, make_pair, bin_dir, tmp_path):
    from glbtools.wire import Wire
    pair = make_pair(9100)
    d = director(pair, bin_dir, tmp_path, ipv6_config(), table(BACKENDS6), metrics_port=9120)
    sent = flows(60, seed=6)
    assert {f[12:14] for f in sent} == {b"\x08\x00", b"\x86\xdd"}
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send(sent)
        got = wire.receive(count=len(sent), timeout=10, keep=is_gue6)
        assert d.metrics()['glb_director_packets_total{lcore="1",outcome="forwarded"}'] == len(sent)
    # AF_PACKET cannot compute checksums: the packet path does.
    assert "outer UDP checksums: computed in software (port 0 (net_af_packet) cannot compute them)" in d.log()
    assert got == oracle(bin_dir, tmp_path, json.loads(d.config_path.read_text()), d.table_path, sent, pair.director.mac("d0"))
    for frame, original in zip(got, sent):
        p = Ether(frame)
        ip, udp = p[IPv6], p[UDP]
        assert (ip.version, ip.tc, ip.nh, ip.hlim, ip.src) == (6, 0, 17, 64, SOURCE6)
        assert ip.dst in BACKENDS6 and ip.plen == len(frame) - 54
        assert udp.dport == 19523 and udp.sport & 0x8000 and udp.len == ip.plen
        # The mandatory UDP checksum verifies: scapy recomputes it from scratch.
        carried = udp.chksum
        del udp.chksum
        assert Ether(bytes(p))[UDP].chksum == carried != 0
        gue = bytes(udp.payload)
        inner_is_v6 = original[12:14] == b"\x86\xdd"
        assert gue[:8] == bytes([5, 41 if inner_is_v6 else 4, 0, 0, 0, 1, 0, 1])
        hop = socket.inet_ntop(socket.AF_INET6, gue[8:24])
        assert hop in BACKENDS6 and hop != ip.dst
        assert gue[24:] == original[14:]


def test_a_table_without_its_source_address_is_refused(hugepages, make_pair, bin_dir, tmp_path):
    pair = make_pair(9100)
    # IPv4 source only, IPv6 backends: the director does not start.
    d = director(pair, bin_dir, tmp_path, base_config(), table(BACKENDS6), name="refused")
    try:
        d.start(timeout=60)
        raise AssertionError("the director started without outbound_src_ipv6")
    except AssertionError as e:
        assert "outbound_src_ipv6" in str(e), str(e)
    finally:
        d.stop()
    # Running with IPv4 backends, a reload to IPv6 backends is rejected and the running table stays.
    ok = director(pair, bin_dir, tmp_path, base_config(), table(["10.1.0.1", "10.1.0.2"]), name="reload")
    with ok:
        v6 = tmp_path / "v6.json"
        v6.write_text(json.dumps(table(BACKENDS6)))
        line = ok.reload(table=v6)
        assert "reload rejected" in line and "outbound_src_ipv6" in ok.log()
        assert ok.proc.poll() is None


def test_a_mixed_table_is_loaded_with_a_warning(hugepages, make_pair, bin_dir, tmp_path):
    pair = make_pair(9100)
    d = director(pair, bin_dir, tmp_path, base_config(outbound_src_ipv6=SOURCE6), table(["10.1.0.1", "2001:db8:b::1"]), name="mixed")
    with d:
        assert "table 0: backends mix IPv4 and IPv6: 65536 of 65536 rows (100.0%)" in d.log()


def test_a_port_that_computes_udp_checksums_is_given_them(hugepages, make_pair, bin_dir, tmp_path):
    """On a port whose driver computes UDP checksums (DPDK's TAP driver does, in its transmit
    path), the director leaves the outer checksum to it: the frames arrive with a valid
    checksum the packet path did not compute (it wrote only the pseudo-header's sum, which on
    its own would not verify: the unit tests show that)."""
    from glbtools.wire import Wire
    pair = make_pair(9100)
    path = tmp_path / "v6.json"
    path.write_text(json.dumps(table(BACKENDS6)))
    d = Director(bin_dir, tmp_path / "tap", ipv6_config(), path, ns=pair.director, eal=["--vdev=net_tap0,iface=gtap0"])
    sent = flows(30, seed=9)
    with d:
        assert "outer UDP checksums: computed by the NICs" in d.log()
        with Wire(pair.director, "gtap0") as wire:
            wire.drain()
            wire.send(sent)
            got = wire.receive(count=len(sent), timeout=10, keep=is_gue6)
    assert len(got) == len(sent)
    for frame in got:
        p = Ether(frame)
        carried = p[UDP].chksum
        del p[UDP].chksum
        assert Ether(bytes(p))[UDP].chksum == carried != 0
