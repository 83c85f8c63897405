"""glb-director-cli encap: the director's packet path replayed on captures, checked against
GLB's reference output and against an independent Python model of the hash and table."""
import ipaddress
import json
import os
import random
import struct
import zlib

import pytest
from scapy.all import IP, IPv6, TCP, UDP, Ether, Raw, rdpcap, wrpcap, wrpcapng

from glbtools import glbref
from glbtools.repo import FIXTURES, read_pcap

EXAMPLE = FIXTURES / "compat" / "director" / "example1"


def frames(path):
    return read_pcap(path)


def test_reference_example1_byte_for_byte(cli, tmp_path):
    out = tmp_path / "out.pcap"
    r = cli("encap", "--config-file", EXAMPLE / "director.json", "--forwarding-table", EXAMPLE / "table.json",
            EXAMPLE / "in.pcap", out)
    assert r.returncode == 0, r.stderr
    assert "200 frames read, 164 written" in r.stdout
    got, expected = frames(out), frames(EXAMPLE / "expected.pcap")
    assert len(got) == len(expected) == 164
    for i, (a, b) in enumerate(zip(got, expected)):
        assert a == b, f"frame {i} differs"


def test_reference_with_binary_table_and_pcapng_input(cli, tmp_path):
    table = tmp_path / "t.bin"
    cli("build-config", EXAMPLE / "table.json", table, check=True)
    ng = tmp_path / "in.pcapng"
    wrpcapng(str(ng), rdpcap(str(EXAMPLE / "in.pcap")))
    out = tmp_path / "out.pcap"
    cli("encap", "--config-file", EXAMPLE / "director.json", "--forwarding-table", table, ng, out, check=True)
    assert frames(out) == frames(EXAMPLE / "expected.pcap")


def udp_checksum_ok(frame: bytes) -> bool:
    ip = frame[14:34]
    udp = frame[34:]
    pseudo = ip[12:20] + b"\x00\x11" + struct.pack(">H", len(udp))
    data = pseudo + udp + (b"\x00" if len(udp) % 2 else b"")
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def test_udp_checksum_option(cli, tmp_path):
    config = json.loads((EXAMPLE / "director.json").read_text())
    config["udp_checksum"] = True
    cfg = tmp_path / "director.json"
    cfg.write_text(json.dumps(config))
    out = tmp_path / "out.pcap"
    cli("encap", "--config-file", cfg, "--forwarding-table", EXAMPLE / "table.json", EXAMPLE / "in.pcap", out, check=True)
    got, expected = frames(out), frames(EXAMPLE / "expected.pcap")
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a[40:42] != b"\x00\x00" and udp_checksum_ok(a)
        assert a[:40] + b"\x00\x00" + a[42:] == b


HASH_SETS = [
    {"src_addr": True},
    {"dst_addr": True},
    {"src_addr": True, "src_port": True},
    {"src_addr": True, "dst_addr": True, "src_port": True, "dst_port": True},
    {"dst_port": True},
]


def make_table(tmp_path):
    doc = {"tables": [
        {"name": "a", "hash_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "seed": "00112233445566778899aabbccddeeff",
         "binds": [{"ip": "192.0.2.10", "proto": "tcp", "port": 443}, {"ip": "2001:db8::10", "proto": "udp", "port_start": 1000, "port_end": 2000}],
         "backends": [{"ip": f"10.0.1.{i}", "state": "active" if i % 5 else "draining", "healthy": i % 7 != 0} for i in range(1, 13)]},
        {"name": "b", "hash_key": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "seed": "ffeeddccbbaa99887766554433221100",
         "binds": [{"ip": "198.51.100.0/24", "proto": "udp", "port": 53}],
         "backends": [{"ip": f"10.0.2.{i}", "state": "active", "healthy": True} for i in range(1, 6)]},
    ]}
    src = tmp_path / "t.json"
    src.write_text(json.dumps(doc))
    return src


def random_flows(rng, n):
    pkts = []
    for i in range(n):
        kind = rng.randrange(3)
        sport = rng.randrange(1024, 65536)
        if kind == 0:
            src = f"203.0.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst="192.0.2.10", id=rng.randrange(65536)) / TCP(sport=sport, dport=443, flags="S"))
        elif kind == 1:
            src = str(ipaddress.IPv6Address(0x20010DB8FFFF << 80 | rng.getrandbits(64)))
            pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv6(src=src, dst="2001:db8::10", fl=rng.randrange(1 << 20)) / UDP(sport=sport, dport=rng.randrange(1000, 2001)) / Raw(b"x" * rng.randrange(40)))
        else:
            src = f"100.64.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=f"198.51.100.{rng.randrange(256)}") / UDP(sport=sport, dport=53) / Raw(b"q" * 12))
    return pkts


@pytest.mark.parametrize("fields", HASH_SETS + [dict(HASH_SETS[2], alt=HASH_SETS[0])])
def test_independent_model(cli, tmp_path, fields):
    """Every output frame agrees with the Python model: row, hops, UDP source port, GUE header."""
    fields = dict(fields)
    alt = fields.pop("alt", None)
    config = {"outbound_gateway_mac": "52:54:00:aa:bb:cc", "outbound_src_ip": "10.255.0.9", "hash_fields": fields,
              "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}],
              "lcores": {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0]}}}
    if alt:
        config["alt_hash_fields"] = alt
    cfg = tmp_path / "director.json"
    cfg.write_text(json.dumps(config))
    table_bin = tmp_path / "t.bin"
    cli("build-config", make_table(tmp_path), table_bin, check=True)
    tables = glbref.read_table_file(table_bin)

    # A seed from the configuration that is the same in every run (hash() of a str is not).
    rng = random.Random(zlib.crc32(json.dumps(config, sort_keys=True).encode()))
    pkts = random_flows(rng, 300)
    inp, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(inp), pkts)
    r = cli("encap", "--config-file", cfg, "--forwarding-table", table_bin, "--src-mac", "02:00:00:00:00:99", inp, out)
    assert r.returncode == 0, r.stderr
    sent = frames(out)
    assert len(sent) == len(pkts)
    for pkt, frame in zip(pkts, sent):
        inner = bytes(pkt)[14:]
        ipl = pkt[1]
        l4 = pkt[2]
        t = tables[0] if (ipl.dst in ("192.0.2.10", "2001:db8::10")) else tables[1]
        h = glbref.packet_hash(t.hash_key, fields, ipl.src, ipl.dst, l4.sport, l4.dport)
        p, s = glbref.route(t, h)
        hops = [s]
        if alt:
            h2 = glbref.packet_hash(t.hash_key, alt, ipl.src, ipl.dst, l4.sport, l4.dport)
            hops += list(glbref.route(t, h2))
        assert frame[0:6] == bytes.fromhex("525400aabbcc") and frame[6:12] == bytes.fromhex("020000000099")
        assert frame[12:14] == b"\x08\x00"
        assert frame[26:30] == ipaddress.ip_address("10.255.0.9").packed
        assert frame[30:34] == p.packed
        assert struct.unpack(">H", frame[34:36])[0] == 0x8000 | ((h ^ l4.sport) & 0x7FFF)
        assert struct.unpack(">H", frame[36:38])[0] == 19523
        assert frame[42] == 1 + len(hops) and frame[43] == (41 if isinstance(ipl, IPv6) else 4)
        assert frame[46:49] == b"\x00\x00\x00" and frame[49] == len(hops)
        assert frame[50:50 + 4 * len(hops)] == b"".join(a.packed for a in hops)
        assert frame[50 + 4 * len(hops):] == inner


def test_encap_errors(cli, tmp_path):
    out = tmp_path / "out.pcap"
    bad = tmp_path / "director.json"
    bad.write_text(json.dumps({"outbound_gateway_mac": "52:54:00:12:34", "outbound_src_ip": "10.0.0.1",
                               "flow_paths": [], "lcores": {}}))
    r = cli("encap", "--config-file", bad, "--forwarding-table", EXAMPLE / "table.json", EXAMPLE / "in.pcap", out)
    assert r.returncode == 1
    assert "outbound_gateway_mac: expected a MAC address like 52:54:00:12:34:56" in r.stderr
    r = cli("encap", "--config-file", EXAMPLE / "director.json", "--forwarding-table", EXAMPLE / "table.json", tmp_path / "missing.pcap", out)
    assert r.returncode == 1 and "missing.pcap" in r.stderr
    raw = tmp_path / "raw.pcap"
    wrpcap(str(raw), [IP(src="10.9.9.9", dst="192.0.2.80") / TCP(dport=80)])
    r = cli("encap", "--config-file", EXAMPLE / "director.json", "--forwarding-table", EXAMPLE / "table.json", raw, out)
    assert r.returncode == 1 and "not an Ethernet capture" in r.stderr
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["director.json", "raw.pcap"]
