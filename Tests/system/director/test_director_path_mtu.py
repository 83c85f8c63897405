"""tunnel_mtu on the live director (issue 15, "Packet too big"): real frames on a veth through
DPDK net_af_packet. A packet whose GUE encapsulation fits the underlay is forwarded; one byte
more is answered with ICMP "fragmentation needed" / ICMPv6 "packet too big" from the VIP,
checked field by field with scapy; IPv4 without DF is dropped and counted; answers are
rate-limited; and without tunnel_mtu the same packets are forwarded as GLB does.

The example table's web service is 192.0.2.80 and 2001:db8:e::1, TCP 443, on IPv4 backends:
the encapsulation adds 40 bytes (outer IPv4 20, UDP 8, GUE 4, GLB private data 4, two hops
8), 48 with alt_hash_fields (a third hop)."""
import json
import math
import socket
import struct
import time

import pytest
from scapy.all import ICMP, IP, IPv6, TCP, Ether, ICMPv6PacketTooBig, IPOption_NOP, Raw
from scapy.utils import checksum as inet_checksum

from test_director_packets import EXAMPLE, LAYOUTS, TESTER_MAC, director
from glbtools.netns import entered
from glbtools.wire import Wire, is_gue

CLIENT4, VIP4 = "198.18.7.9", "192.0.2.80"
CLIENT6, VIP6 = "2001:db8:99::7", "2001:db8:e::1"
TUNNEL_MTU = 1500
ETH_P_IPV4, ETH_P_IPV6 = 0x0800, 0x86DD
IPPROTO_ICMP, IPPROTO_ICMPV6 = 1, 58


def tcp4(pair, total, df=True, options=()):
    """A TCP segment to the IPv4 VIP whose IP packet is `total` bytes, as one frame."""
    ip = IP(src=CLIENT4, dst=VIP4, flags="DF" if df else 0, id=0x1234, ttl=61, options=list(options))
    tcp = TCP(sport=40001, dport=443, flags="A", seq=0x01020304)
    header = len(ip / tcp)
    return bytes(Ether(src=TESTER_MAC, dst=pair.director.mac("d0")) / ip / tcp / Raw(payload(total - header)))


def tcp6(pair, total):
    """A TCP segment to the IPv6 VIP whose IPv6 packet (with its header) is `total` bytes."""
    return bytes(Ether(src=TESTER_MAC, dst=pair.director.mac("d0")) / IPv6(src=CLIENT6, dst=VIP6, hlim=61)
                 / TCP(sport=40002, dport=443, flags="A", seq=0x05060708) / Raw(payload(total - 60)))


def payload(n):
    return bytes((i * 7) & 0xFF for i in range(n))


def is_icmp4(frame):
    return len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == IPPROTO_ICMP


def is_icmp6(frame):
    return len(frame) >= 54 and frame[12:14] == b"\x86\xdd" and frame[20] == IPPROTO_ICMPV6


def outcome(metrics, name):
    """glb_director_packets_total for one outcome, summed over the packet-path lcores."""
    return sum(v for k, v in metrics.items() if k.startswith("glb_director_packets_total{") and f'outcome="{name}"' in k)


def check_fragmentation_needed(frame, sent, pair, mtu):
    """Every field RFC 792 and RFC 1191 give, and those the director promises (docs: tos 0xc0,
    DF, id 0, TTL 64, from the VIP, to the frame's source MAC, quote = IP header + 8 bytes)."""
    ihl = (sent[14] & 0x0F) * 4
    quote = sent[14:14 + ihl + 8]
    reply = Ether(frame)
    assert reply.dst == TESTER_MAC and reply.src == pair.director.mac("d0") and reply.type == ETH_P_IPV4
    ip = reply[IP]
    assert (ip.version, ip.ihl, ip.tos, ip.len, ip.id, int(ip.flags), ip.frag, ip.ttl, ip.proto) == \
        (4, 5, 0xC0, 20 + 8 + len(quote), 0, 2, 0, 64, IPPROTO_ICMP)
    assert (ip.src, ip.dst) == (VIP4, CLIENT4)
    assert inet_checksum(frame[14:34]) == 0, "IPv4 header checksum"
    icmp = ip[ICMP]
    assert (icmp.type, icmp.code, icmp.nexthopmtu) == (3, 4, mtu)
    assert frame[38:40] == b"\x00\x00", "the unused half of the rest-of-header word"
    assert struct.unpack("!H", frame[40:42])[0] == mtu
    assert inet_checksum(frame[34:]) == 0, "ICMP checksum"
    assert frame[42:] == quote
    assert len(frame) == 14 + 20 + 8 + len(quote)


def check_packet_too_big(frame, sent, pair, mtu):
    """Every field RFC 4443 §3.2 gives: from the VIP, hop limit 64, as much of the packet as
    fits in 1,280 bytes (1,232 after the IPv6 and ICMPv6 headers)."""
    quote = sent[14:14 + 1232]
    reply = Ether(frame)
    assert reply.dst == TESTER_MAC and reply.src == pair.director.mac("d0") and reply.type == ETH_P_IPV6
    ip = reply[IPv6]
    assert (ip.version, ip.tc, ip.fl, ip.plen, ip.nh, ip.hlim) == (6, 0, 0, 8 + len(quote), IPPROTO_ICMPV6, 64)
    assert (ip.src, ip.dst) == (VIP6, CLIENT6)
    ptb = ip[ICMPv6PacketTooBig]
    assert (ptb.type, ptb.code, ptb.mtu) == (2, 0, mtu)
    pseudo = frame[22:54] + struct.pack("!IxxxB", 8 + len(quote), IPPROTO_ICMPV6)
    assert inet_checksum(pseudo + frame[54:]) == 0, "ICMPv6 checksum"
    assert frame[62:] == quote
    assert len(frame) == 14 + 40 + 8 + 1232


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_fits_forwarded_one_byte_more_answered(hugepages, pair, bin_dir, tmp_path, layout):
    """With tunnel_mtu 1500, IPv4 and IPv6: a DF packet of 1,460 bytes leaves encapsulated in
    exactly 1,500; one of 1,461 is answered with the exact ICMP reply (next-hop MTU 1460) and
    nothing is forwarded; a header with options is quoted whole, plus 8 bytes."""
    d = director(pair, bin_dir, tmp_path, layout=layout, config={"tunnel_mtu": TUNNEL_MTU}, metrics_port=9110)
    fits4, big4 = tcp4(pair, 1460), tcp4(pair, 1461)
    with_options = tcp4(pair, 1461, options=[IPOption_NOP()] * 4)
    assert with_options[14] == 0x46
    fits6, big6 = tcp6(pair, 1460), tcp6(pair, 1461)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        for fits in (fits4, fits6):
            wire.send([fits])
            got = wire.receive(count=1, timeout=5, keep=is_gue)
            assert len(got) == 1, d.log()
            assert len(got[0]) == 14 + TUNNEL_MTU and got[0][14 + 40:] == fits[14:]
        for big in (big4, with_options):
            wire.send([big])
            replies = wire.receive(count=1, timeout=5, keep=is_icmp4)
            assert len(replies) == 1, d.log()
            check_fragmentation_needed(replies[0], big, pair, mtu=1460)
        wire.send([big6])
        replies = wire.receive(count=1, timeout=5, keep=is_icmp6)
        assert len(replies) == 1, d.log()
        check_packet_too_big(replies[0], big6, pair, mtu=1460)
        assert wire.receive(timeout=0.5, keep=lambda f: is_gue(f) or is_icmp4(f) or is_icmp6(f)) == []
        m = d.metrics()
    assert outcome(m, "forwarded") == 2
    assert outcome(m, "too_big_answered") == 3


def test_mtu_follows_the_routes_overhead(hugepages, pair, bin_dir, tmp_path):
    """With alt_hash_fields the route carries a third hop (48 bytes of encapsulation): 1,452
    bytes fit and the answer to 1,453 announces 1452."""
    config = {"tunnel_mtu": TUNNEL_MTU, "alt_hash_fields": {"src_addr": True}}
    d = director(pair, bin_dir, tmp_path, config=config, metrics_port=9111)
    fits, big = tcp4(pair, 1452), tcp4(pair, 1453)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send([fits])
        got = wire.receive(count=1, timeout=5, keep=is_gue)
        assert len(got) == 1 and len(got[0]) == 14 + TUNNEL_MTU, d.log()
        wire.send([big])
        replies = wire.receive(count=1, timeout=5, keep=is_icmp4)
        assert len(replies) == 1, d.log()
        check_fragmentation_needed(replies[0], big, pair, mtu=1452)


def ipv6_underlay_table():
    """The example's web service on IPv6 backends: 72 bytes of encapsulation (outer IPv6 40,
    UDP 8, GUE 4, GLB private data 4, two 16-byte hops)."""
    doc = json.loads((EXAMPLE / "table.json").read_text())
    web = doc["tables"][0]
    web["binds"] = [b for b in web["binds"] if b.get("ip") in (VIP4, VIP6) and b.get("port") == 443]
    web["backends"] = [{"ip": f"2001:db8:b::{i}", "state": "active", "healthy": True} for i in (1, 2)]
    doc["tables"] = [web]
    return doc


def is_gue6(frame, port=19523):
    """An IPv6/UDP frame to the GUE port."""
    return len(frame) >= 62 and frame[12:14] == b"\x86\xdd" and frame[20] == 17 and struct.unpack("!H", frame[56:58])[0] == port


def test_ipv6_underlay_overhead(hugepages, pair, bin_dir, tmp_path):
    """On an IPv6 underlay the encapsulation adds 72 bytes: 1,428-byte client packets (IPv4 and
    IPv6) fit in tunnel_mtu 1500 and leave in an outer IPv6 header; one byte more is answered
    with MTU 1428 by ICMP or ICMPv6."""
    config = {"tunnel_mtu": TUNNEL_MTU, "outbound_src_ipv6": "2001:db8:d::1"}
    d = director(pair, bin_dir, tmp_path, config=config, table=ipv6_underlay_table(), metrics_port=9115)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        for fits in (tcp4(pair, 1428), tcp6(pair, 1428)):
            wire.send([fits])
            got = wire.receive(count=1, timeout=5, keep=is_gue6)
            assert len(got) == 1, d.log()
            assert len(got[0]) == 14 + TUNNEL_MTU and got[0][14 + 72:] == fits[14:]
        big4, big6 = tcp4(pair, 1429), tcp6(pair, 1429)
        wire.send([big4])
        replies = wire.receive(count=1, timeout=5, keep=is_icmp4)
        assert len(replies) == 1, d.log()
        check_fragmentation_needed(replies[0], big4, pair, mtu=1428)
        wire.send([big6])
        replies = wire.receive(count=1, timeout=5, keep=is_icmp6)
        assert len(replies) == 1, d.log()
        check_packet_too_big(replies[0], big6, pair, mtu=1428)


def statsd_totals(sock, names, until):
    """Sums the statsd counters `names` (per-flush deltas) until `until(totals)` holds or
    10 seconds pass; returns the totals."""
    totals = dict.fromkeys(names, 0)
    deadline = time.monotonic() + 10
    while not until(totals) and time.monotonic() < deadline:
        try:
            line = sock.recv(4096).decode()
        except socket.timeout:
            continue
        name, _, rest = line.partition(":")
        if name in totals:
            totals[name] += int(rest.split("|")[0])
    return totals


def test_without_df_dropped_and_counted(hugepages, pair, bin_dir, tmp_path):
    """IPv4 without DF that does not fit: no answer, nothing forwarded, counted
    too_big_df_clear in /metrics and statsd; the same packet with DF set is answered (the
    control)."""
    with entered(pair.director):
        statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        statsd.bind(("127.0.0.1", 28126))
    statsd.settimeout(1)
    config = {"tunnel_mtu": TUNNEL_MTU, "statsd_port": 28126}
    d = director(pair, bin_dir, tmp_path, config=config, metrics_port=9112)
    with d, Wire(pair.tester, "t0") as wire, statsd:
        wire.drain()
        wire.send([tcp4(pair, 1461, df=False)] * 3)
        assert wire.receive(timeout=1.0, keep=lambda f: is_gue(f) or is_icmp4(f)) == []
        m = d.metrics()
        assert outcome(m, "too_big_df_clear") == 3
        assert outcome(m, "too_big_answered") == 0 and outcome(m, "forwarded") == 0
        wire.send([tcp4(pair, 1461, df=True)])
        assert len(wire.receive(count=1, timeout=5, keep=is_icmp4)) == 1
        assert outcome(d.metrics(), "too_big_answered") == 1
        names = [f"glb_director_ng.core.packets.too_big.{n}" for n in ("df_clear", "answered", "rate_limited")]
        totals = statsd_totals(statsd, names, until=lambda t: t[names[0]] >= 3 and t[names[1]] >= 1)
    assert totals == {names[0]: 3, names[1]: 1, names[2]: 0}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_answers_are_rate_limited(hugepages, pair, bin_dir, tmp_path, layout):
    """A bucket of 3 answers refilled at 1 per second: of 3 + 47 too-big packets sent back to
    back, the answers are the bucket plus at most one per second that the exchange took (so
    the outcome does not depend on the machine's speed), the rest are counted
    too_big_rate_limited, and none is forwarded."""
    burst, extra = 3, 47
    config = {"tunnel_mtu": TUNNEL_MTU, "icmp_too_big_burst": burst, "icmp_too_big_rate": 1}
    d = director(pair, bin_dir, tmp_path, layout=layout, config=config, metrics_port=9113)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        started = time.monotonic()
        wire.send([tcp4(pair, 1461)] * (burst + extra))
        replies = wire.receive(count=burst + extra, timeout=2, keep=is_icmp4)
        assert wire.receive(timeout=0.5, keep=is_gue) == []
        m = d.metrics()
        refills = math.ceil(time.monotonic() - started) + 1  # +1: the coarse clock's step
    answered, limited = outcome(m, "too_big_answered"), outcome(m, "too_big_rate_limited")
    assert answered == len(replies)
    assert burst <= answered <= burst + refills
    assert answered + limited == burst + extra and limited > 0


def test_without_tunnel_mtu_forwarded_as_before(hugepages, pair, bin_dir, tmp_path):
    """The negative control: no tunnel_mtu, and the same too-big packets (IPv4 with DF, IPv6)
    are encapsulated and forwarded, 1,501 bytes outside, with no ICMP answer."""
    d = director(pair, bin_dir, tmp_path, metrics_port=9114)
    big4, big6 = tcp4(pair, 1461), tcp6(pair, 1461)
    with d, Wire(pair.tester, "t0") as wire:
        wire.drain()
        wire.send([big4, big6])
        got = wire.receive(count=2, timeout=5, keep=is_gue)
        assert wire.receive(timeout=0.5, keep=lambda f: is_icmp4(f) or is_icmp6(f)) == []
        m = d.metrics()
    assert sorted(len(f) for f in got) == [14 + 1501, 14 + 1501]
    assert sorted(f[54:] for f in got) == sorted([big4[14:], big6[14:]])
    assert outcome(m, "too_big_answered") == 0 and outcome(m, "forwarded") == 2
