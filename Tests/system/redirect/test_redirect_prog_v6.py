"""Exact tests of the glb-redirect eBPF program over an IPv6 underlay (GLB private
type 1, 16-byte IPv6 hops; docs/design.md §3), run on crafted frames with
BPF_PROG_TEST_RUN, as test_redirect_prog.py does for the IPv4 underlay: the same
decisions, the same counters, the outer IPv6 header rewritten when forwarding with
a UDP checksum that stays valid.
"""

import random
import socket
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import test_redirect_prog as base
from glbtools import frames
from glbtools.frames import GUE_PORT
from test_redirect_prog import (
    ETH_DST,
    ETH_SRC,
    TC_ACT_OK,
    TC_ACT_REDIRECT,
    TC_ACT_SHOT,
    TC_ACT_UNSPEC,
    check,
    check_taken,
    next_port,
)

DIRECTOR = "fd00:47::1"   # outer src of what the director sends
BACKEND = "fd00:47::2"    # outer dst: this host
HOP_B = "fd00:47::3"
HOP_C = "fd00:47::4"
HOP_D = "fd00:47::5"

# Offsets in a frame with an IPv6 underlay: 14 Ethernet + 40 IPv6, UDP 8, GUE 4, private 4.
UDP_OFF = 14 + 40
GUE_OFF = UDP_OFF + 8
NEXT_HOP_OFF = GUE_OFF + 4 + 2
HOPS_OFF = GUE_OFF + 8


def gue6_frame(inner, hops=(HOP_B,), *, src=DIRECTOR, dst=BACKEND, eth_dst=ETH_DST, eth_src=ETH_SRC, **knobs):
    """A GLB GUE frame over IPv6 as the director builds it (the spec of the IPv6 underlay:
    private type 1, hlen = 1 + 4 * hops) between this module's hosts; `knobs` break it
    (glbtools.frames.gue_frame)."""
    return frames.gue_frame(inner, hops, src=src, dst=dst, eth_dst=eth_dst, eth_src=eth_src, **knobs)


def udp_checksum_is_valid(frame):
    """scapy's own verdict: the UDP checksum recomputed over the frame as it is."""
    pkt = Ether(frame)
    sent = pkt[UDP].chksum
    del pkt[UDP].chksum
    return sent == Ether(bytes(pkt))[UDP].chksum


def check_forwarded6(glb, inner, hops=(HOP_B,), next_hop=0, to=HOP_B, new_next_hop=1, skipped_self=False,
                     **frame_args):
    """Forwarded through the bpf_redirect_neigh fallback (forwarding is off on lo):
    outer src = old dst, dst = the hop, next_hop advanced, UDP checksum valid, the rest
    (hop limit, traffic class, flow label, ports, GUE, hops, inner) unchanged."""
    frame = gue6_frame(inner, hops, next_hop=next_hop, **frame_args)
    expect_args = dict(frame_args, src=frame_args.get("dst", BACKEND), dst=to)
    expected = gue6_frame(inner, hops, next_hop=new_next_hop, **expect_args)
    counters = {"forward_neigh_fallback": 1}
    if skipped_self:
        counters["forwarded_skipped_self"] = 1
    res = glb.run(frame)
    check(res, TC_ACT_REDIRECT, expected, counters)
    return res


# --------------------------------------------------------------------------
# Taken locally: the same decisions as over IPv4
# --------------------------------------------------------------------------

@pytest.mark.parametrize("v", [4, 6])
def test_syn_is_taken_locally(glb, v):
    """Outer IPv6 removed; the ethertype becomes the inner family's (IPv4 inner: 0x0800)."""
    inner = base.tcp(v, flags="S")
    res = glb.run(gue6_frame(inner, (HOP_B, HOP_C)))
    check(res, TC_ACT_OK, base.decapsulated(inner), {"accepted_syn": 1})
    assert res.out[12:14] == (b"\x08\x00" if v == 4 else b"\x86\xdd")


@pytest.mark.parametrize("v", [4, 6])
def test_three_hops_and_no_udp_checksum_are_taken_locally(glb, v):
    inner = base.tcp(v, flags="S", payload=b"x" * 9)
    check_taken(glb, gue6_frame(inner, (HOP_B, HOP_C, HOP_D), udp_checksum=False), inner, "accepted_syn")


@pytest.mark.parametrize("flags", ["A", "PA", "FA", "R"])
@pytest.mark.parametrize("v", [4, 6])
def test_established_connection_is_taken_locally_and_others_forwarded(glb, topology, v, flags):
    cport = next_port()
    with base.established(topology, v, cport) as lport:
        inner = base.tcp(v, flags=flags, sport=cport, dport=lport, ack=1, payload=b"GET / HTTP/1.0\r\n")
        check_taken(glb, gue6_frame(inner), inner, "accepted_established")
    # Once the socket is gone, the flow is somebody else's.
    check_forwarded6(glb, inner)


@pytest.mark.parametrize("v", [4, 6])
def test_icmp_error_matched_on_the_reversed_quoted_tuple(glb, topology, v):
    cport = next_port()
    with base.established(topology, v, cport) as lport:
        sent = base.tcp(v, flags="PA", src=base.vip(topology, v), dst=base.client(topology, v), sport=lport,
                        dport=cport, payload=b"x" * 1300)
        inner = base.icmp_error(v, sent)
        check_taken(glb, gue6_frame(inner), inner, "accepted_icmp_error")
        other = base.tcp(v, flags="PA", src=base.vip(topology, v), dst=base.client(topology, v), sport=lport,
                         dport=next_port())
        check_forwarded6(glb, base.icmp_error(v, other))


@pytest.mark.parametrize("v", [4, 6])
def test_udp_local_socket_else_forwarded_then_last_resort(glb, topology, v):
    with base.udp_socket(topology, v) as port:
        inner = base.udp(v, next_port(), port)
        check_taken(glb, gue6_frame(inner), inner, "accepted_udp_socket")
    inner = base.udp(v, next_port(), 9)
    check_forwarded6(glb, inner, (HOP_B, HOP_C), next_hop=0, to=HOP_B, new_next_hop=1)
    check_forwarded6(glb, inner, (HOP_B, HOP_C), next_hop=1, to=HOP_C, new_next_hop=2)
    check_taken(glb, gue6_frame(inner, (HOP_B, HOP_C), next_hop=2), inner, "accepted_last_resort")


def test_health_check_probe_is_taken_locally(glb):
    """What glb-healthcheck sends to an IPv6 backend: hlen 1, protocol 41, type 1, no hops."""
    inner = IPv6(src=DIRECTOR, dst=BACKEND) / ICMPv6EchoRequest(id=7, seq=1, data=b"glb-healthcheck 1f")
    frame = gue6_frame(inner, ())
    assert frame[GUE_OFF:HOPS_OFF] == bytes([1, 41, 0, 0, 0, 1, 0, 0])
    check_taken(glb, frame, inner, "accepted_icmp_echo")


# --------------------------------------------------------------------------
# Forwarding
# --------------------------------------------------------------------------

@pytest.mark.parametrize("v", [4, 6])
def test_forward_rewrites_only_the_outer_addresses_and_next_hop(glb, v):
    inner = base.tcp(v, flags="A", sport=next_port(), payload=b"k" * 33)
    frame = gue6_frame(inner, (HOP_B, HOP_C), tc=0x28, fl=0xabcde)
    out = check_forwarded6(glb, inner, (HOP_B, HOP_C), tc=0x28, fl=0xabcde).out
    assert len(out) == len(frame)
    assert out[:14 + 8] == frame[:14 + 8]                 # MACs; version, class, flow label, length, nh, hop limit
    assert out[14 + 8:14 + 40] == socket.inet_pton(socket.AF_INET6, BACKEND) + socket.inet_pton(socket.AF_INET6, HOP_B)
    assert out[UDP_OFF:UDP_OFF + 6] == frame[UDP_OFF:UDP_OFF + 6]                 # ports, length
    assert out[UDP_OFF + 8:NEXT_HOP_OFF] == frame[UDP_OFF + 8:NEXT_HOP_OFF]       # GUE, type
    assert (frame[NEXT_HOP_OFF], out[NEXT_HOP_OFF]) == (0, 1)
    assert out[NEXT_HOP_OFF + 1:] == frame[NEXT_HOP_OFF + 1:]                     # hop_count, hops, inner
    assert out[UDP_OFF + 6:UDP_OFF + 8] != frame[UDP_OFF + 6:UDP_OFF + 8]
    assert udp_checksum_is_valid(frame) and udp_checksum_is_valid(out)
    # The checksum really is checked: the same frame with a stale one is not valid.
    stale = out[:UDP_OFF + 6] + frame[UDP_OFF + 6:UDP_OFF + 8] + out[UDP_OFF + 8:]
    assert not udp_checksum_is_valid(stale)


def _addr(rng):
    return socket.inet_ntop(socket.AF_INET6, bytes([0xfd]) + bytes(rng.randrange(256) for _ in range(15)))


@pytest.mark.parametrize("v", [4, 6])
def test_forward_keeps_the_udp_checksum_valid(glb, v):
    rng = random.Random(19523 + v)
    for _ in range(40):
        hops = tuple(_addr(rng) for _ in range(rng.randrange(1, 4)))
        next_hop = rng.randrange(0, len(hops))
        inner = base.tcp(v, flags="A", sport=rng.randrange(1024, 65535), seq=rng.randrange(1 << 32),
                         payload=bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
        res = check_forwarded6(glb, inner, hops, next_hop=next_hop, to=hops[next_hop], new_next_hop=next_hop + 1,
                               src=_addr(rng), dst=_addr(rng))
        assert udp_checksum_is_valid(res.out)


def test_forward_leaves_a_zero_udp_checksum_zero(glb):
    inner = base.tcp6(flags="A", sport=next_port())
    res = check_forwarded6(glb, inner, (HOP_B, HOP_C), udp_checksum=False)
    assert res.out[UDP_OFF + 6:UDP_OFF + 8] == b"\x00\x00"


def test_forward_to_a_later_hop_and_skip_this_host(glb):
    inner = base.tcp4(flags="A", sport=next_port())
    check_forwarded6(glb, inner, (HOP_B, HOP_C, HOP_D), next_hop=2, to=HOP_D, new_next_hop=3)
    check_forwarded6(glb, inner, (BACKEND, HOP_B), to=HOP_B, new_next_hop=2, skipped_self=True)
    check_forwarded6(glb, inner, (HOP_B, BACKEND, HOP_C), next_hop=1, to=HOP_C, new_next_hop=3,
                     skipped_self=True)


def test_forward_through_the_longest_hop_list(glb):
    """hlen is 5 bits: 7 IPv6 hops at most. All but the last are this host."""
    inner = base.tcp6(flags="A", sport=next_port())
    check_forwarded6(glb, inner, (BACKEND,) * 6 + (HOP_D,), to=HOP_D, new_next_hop=7, skipped_self=True)
    hops = tuple(f"fd00:47:9::{i}" for i in range(1, 8))
    check_forwarded6(glb, inner, hops, next_hop=6, to=hops[6], new_next_hop=7)


def test_spare_private_words_are_kept_when_forwarding_and_removed_when_taking(glb):
    check_forwarded6(glb, base.tcp6(flags="A", sport=next_port()), (HOP_B,), spare_words=2)
    syn = base.tcp6(flags="S")
    check_taken(glb, gue6_frame(syn, (HOP_B,), spare_words=2), syn, "accepted_syn")


@pytest.mark.parametrize("v", [4, 6])
def test_hop_list_exhausted_is_taken_as_last_resort(glb, v):
    inner = base.tcp(v, flags="A", sport=next_port())
    check_taken(glb, gue6_frame(inner, (HOP_B,), next_hop=1), inner, "accepted_last_resort")
    check_taken(glb, gue6_frame(inner, ()), inner, "accepted_last_resort")
    res = glb.run(gue6_frame(inner, (HOP_B, BACKEND), next_hop=1))
    check(res, TC_ACT_OK, base.decapsulated(inner), {"accepted_last_resort": 1, "forwarded_skipped_self": 1})


FIB = dict(local="fd00:48::2", neigh="fd00:48::3", no_neigh="fd00:48::4", via_gw="fd00:49::5")


@pytest.fixture(scope="module")
def fib6(topology):
    """IPv6 on glbv0 (this module's netns only): a permanent neighbour, a route via it, forwarding on."""
    def ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)
    ip("-6", "addr", "add", f"{FIB['local']}/64", "dev", topology.fib_dev, "nodad")
    ip("-6", "neigh", "replace", FIB["neigh"], "lladdr", topology.fib_neigh_mac, "dev", topology.fib_dev,
       "nud", "permanent")
    ip("-6", "route", "add", "fd00:49::/64", "via", FIB["neigh"])
    Path(f"/proc/sys/net/ipv6/conf/{topology.fib_dev}/forwarding").write_text("1\n")
    return topology


def test_forward_with_fib_lookup_rewrites_macs(glb, fib6):
    inner = base.tcp6(flags="A", sport=next_port())
    for hop in (FIB["neigh"], FIB["via_gw"]):
        frame = gue6_frame(inner, (hop,), dst=FIB["local"], eth_dst=fib6.fib_dev_mac)
        expected = gue6_frame(inner, (hop,), next_hop=1, src=FIB["local"], dst=hop,
                              eth_dst=fib6.fib_neigh_mac, eth_src=fib6.fib_dev_mac)
        check(glb.run(frame, ifindex=fib6.fib_ifindex), TC_ACT_REDIRECT, expected, {"forward_fib_ok": 1})


def test_forward_without_neighbour_falls_back_to_redirect_neigh(glb, fib6):
    inner = base.tcp6(flags="A", sport=next_port())
    frame = gue6_frame(inner, (FIB["no_neigh"],), dst=FIB["local"], eth_dst=fib6.fib_dev_mac)
    expected = gue6_frame(inner, (FIB["no_neigh"],), next_hop=1, src=FIB["local"], dst=FIB["no_neigh"],
                          eth_dst=fib6.fib_dev_mac)
    check(glb.run(frame, ifindex=fib6.fib_ifindex), TC_ACT_REDIRECT, expected, {"forward_neigh_fallback": 1})


# --------------------------------------------------------------------------
# Not ours: passed untouched
# --------------------------------------------------------------------------

def _syn6():
    return gue6_frame(base.tcp4(flags="S"))


def _with_hop_by_hop(frame):
    """The same GUE datagram behind a hop-by-hop options header (the director sends none)."""
    pkt = Ether(frame)
    ip = pkt[IPv6]
    return bytes(Ether(dst=ETH_DST, src=ETH_SRC) / IPv6(src=ip.src, dst=ip.dst) / IPv6ExtHdrHopByHop()
                 / ip.payload)


NOT_GUE = {
    "ipv6_udp_other_port": lambda: gue6_frame(base.tcp4(flags="S"), port=53),
    "ipv6_tcp": lambda: bytes(Ether(dst=ETH_DST, src=ETH_SRC) / base.tcp6(flags="S")),
    "ipv6_udp_gue_port_as_source": lambda: bytes(
        Ether(dst=ETH_DST, src=ETH_SRC) / IPv6(src=DIRECTOR, dst=BACKEND) / UDP(sport=GUE_PORT, dport=4000)
        / Raw(b"x" * 40)),
    "ipv6_extension_header_before_udp": lambda: _with_hop_by_hop(_syn6()),
    "ipv6_version_4_in_header": lambda: _syn6()[:14] + b"\x40" + _syn6()[15:],
    "udp_header_cut": lambda: _syn6()[:UDP_OFF + 6],
}


@pytest.mark.parametrize("name", NOT_GUE)
def test_not_gue_passes_untouched(glb, name):
    frame = NOT_GUE[name]()
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_gue": 1})


def _fragment(offset, m, port=GUE_PORT):
    """The director's SYN datagram behind a fragment header (offset in 8-byte units)."""
    datagram = Ether(_syn6())[IPv6].payload
    if port != GUE_PORT:
        datagram[UDP].dport = port
    return bytes(Ether(dst=ETH_DST, src=ETH_SRC) / IPv6(src=DIRECTOR, dst=BACKEND)
                 / IPv6ExtHdrFragment(nh=17, offset=offset, m=m, id=7) / Raw(bytes(datagram)))


def test_outer_fragments_pass_untouched(glb):
    for frame in (_fragment(0, 1), _fragment(100, 0), _fragment(0, 0)):
        check(glb.run(frame), TC_ACT_UNSPEC, frame, {"outer_fragment": 1})
    frame = _fragment(0, 1, port=53)
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_gue": 1})


@pytest.mark.parametrize("eth_dst", ["02:00:00:00:00:99", "33:33:00:00:00:01"])
def test_gue_in_a_frame_for_another_mac_passes_untouched(glb, eth_dst):
    frame = gue6_frame(base.tcp6(flags="A", sport=next_port()), eth_dst=eth_dst)
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_for_this_host": 1})


# --------------------------------------------------------------------------
# Malformed: dropped and counted, never a crash
# --------------------------------------------------------------------------

def _ack():
    return base.tcp6(flags="A", sport=40406)


MALFORMED = {
    # A hop list of the other family: GLB's type 0 (IPv4 hops) under an outer IPv6 header.
    "private_type_0": (lambda: gue6_frame(_ack(), priv_type=0), "drop_bad_private_type"),
    "private_type_0_no_hops": (lambda: gue6_frame(_ack(), (), priv_type=0), "drop_bad_private_type"),
    "private_type_2": (lambda: gue6_frame(_ack(), priv_type=2), "drop_bad_private_type"),
    "private_type_0x100": (lambda: gue6_frame(_ack(), priv_type=0x100), "drop_bad_private_type"),
    "gue_version_1": (lambda: gue6_frame(_ack(), version=1), "drop_bad_gue_version"),
    "hlen_0": (lambda: gue6_frame(_ack(), (), hlen=0), "drop_bad_hlen"),
    # 16-byte hops: a hop needs 4 words of hlen, not 1 as an IPv4 hop does.
    "ipv4_sized_hlen_for_one_hop": (lambda: gue6_frame(_ack(), (HOP_B,), hlen=2), "drop_bad_hop_count"),
    "hop_count_2_in_hlen_5": (lambda: gue6_frame(_ack(), (HOP_B,), hop_count=2), "drop_bad_hop_count"),
    "next_hop_beyond_hop_count": (lambda: gue6_frame(_ack(), (HOP_B,), next_hop=2), "drop_bad_hop_count"),
    "inner_proto_udp": (lambda: gue6_frame(_ack(), proto=17), "drop_bad_inner_proto"),
    "ipv4_proto_with_ipv6_inner": (lambda: gue6_frame(base.tcp6(flags="S"), proto=4), "drop_bad_inner_proto"),
    "ipv6_proto_with_ipv4_inner": (lambda: gue6_frame(base.tcp4(flags="S"), proto=41), "drop_bad_inner_proto"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_gue_is_dropped(glb, name):
    build, counter = MALFORMED[name]
    frame = build()
    check(glb.run(frame), TC_ACT_SHOT, frame, {counter: 1})


def test_ipv6_private_type_under_ipv4_is_dropped(glb):
    """The other way round: type 1 under an outer IPv4 header (test_redirect_prog.py has it too)."""
    frame = base.gue_frame(base.tcp4(flags="S"), priv_type=1)
    check(glb.run(frame), TC_ACT_SHOT, frame, {"drop_bad_private_type": 1})


def _cut(inner, n, hops=(HOP_B,)):
    return lambda: gue6_frame(inner, hops)[:n]


# A valid frame with one hop: GUE at 62, private data at 66, the hop at 70, the inner packet at 86.
TRUNCATED = {
    "no_gue_header": _cut(base.tcp4(flags="S"), GUE_OFF),
    "half_gue_header": _cut(base.tcp4(flags="S"), GUE_OFF + 2),
    "no_private_data": _cut(base.tcp4(flags="S"), GUE_OFF + 4),
    "half_private_data": _cut(base.tcp4(flags="S"), GUE_OFF + 6),
    "half_hop": _cut(base.tcp4(flags="S"), HOPS_OFF + 8),
    "no_inner": _cut(base.tcp4(flags="S"), HOPS_OFF + 16),
    "half_inner_ipv4": _cut(base.tcp4(flags="S"), HOPS_OFF + 16 + 10),
    "half_inner_tcp": _cut(base.tcp4(flags="S"), HOPS_OFF + 16 + 20 + 10),
    "half_inner_ipv6": _cut(base.tcp6(flags="S"), HOPS_OFF + 16 + 30),
    "half_inner_tcp_v6": _cut(base.tcp6(flags="S"), HOPS_OFF + 16 + 40 + 19),
    "icmpv6_error_without_quoted_header": _cut(
        base.icmp_error(6, base.tcp6(flags="A", src="2001:db8::10", dst="2001:db8:1::7")), HOPS_OFF + 16 + 40 + 8 + 20),
    # The hop to forward to is cut (an ACK of no local flow would be forwarded).
    "second_hop_cut_when_forwarding": lambda: gue6_frame(_ack(), (BACKEND, HOP_C))[:HOPS_OFF + 16 + 8],
}


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncated_gue_is_dropped(glb, name):
    frame = TRUNCATED[name]()
    check(glb.run(frame), TC_ACT_SHOT, frame, {"drop_truncated": 1})


def test_every_truncation_is_passed_or_dropped_never_taken(glb):
    """Each prefix of a forwardable frame: counted, never decapsulated or forwarded
    (and the whole frame is forwarded)."""
    frame = gue6_frame(base.tcp6(flags="A", sport=next_port()), (HOP_B, HOP_C, HOP_D))
    assert len(frame) == HOPS_OFF + 3 * 16 + 40 + 20
    for n in range(14 + 40, len(frame)):
        res = glb.run(frame[:n])
        if n < UDP_OFF + 8:
            assert (res.verdict, res.counters) == (TC_ACT_UNSPEC, {"not_gue": 1}), n
        else:
            assert (res.verdict, res.counters) == (TC_ACT_SHOT, {"drop_truncated": 1}), n
    check_forwarded6(glb, base.tcp6(flags="A", sport=next_port()), (HOP_B, HOP_C, HOP_D))


def test_malformed_frames_really_are_valid_but_for_the_defect(glb):
    check_taken(glb, gue6_frame(base.tcp4(flags="S")), base.tcp4(flags="S"), "accepted_syn")
    check_taken(glb, gue6_frame(base.tcp6(flags="S")), base.tcp6(flags="S"), "accepted_syn")
    check_forwarded6(glb, _ack())


def _verdict_of(counter):
    if counter in ("not_gue", "outer_fragment", "not_for_this_host"):
        return TC_ACT_UNSPEC
    if counter.startswith("accepted_"):
        return TC_ACT_OK
    if counter in ("forward_fib_ok", "forward_neigh_fallback"):
        return TC_ACT_REDIRECT
    return TC_ACT_SHOT


def test_corrupted_frames_always_end_in_exactly_one_outcome(glb):
    """Random bytes overwritten in the outer IPv6, UDP, GUE, hops and inner headers of
    valid frames: every run counts one outcome, with the verdict that goes with it."""
    rng = random.Random(6)
    bases = [gue6_frame(base.tcp6(flags="A", sport=40500), (HOP_B, HOP_C, HOP_D)),
             gue6_frame(base.tcp4(flags="S"), (HOP_B,)),
             gue6_frame(base.udp(6, 40501, 53), ()),
             gue6_frame(base.icmp_error(6, base.tcp6(flags="A", src="2001:db8::10", dst="2001:db8:1::7")))]
    seen = set()
    for _ in range(1500):
        frame = bytearray(rng.choice(bases))
        for _ in range(rng.randrange(1, 4)):
            frame[rng.randrange(14, min(len(frame), HOPS_OFF + 48 + 60))] = rng.randrange(256)
        if rng.random() < 0.3:
            frame = frame[:rng.randrange(14 + 40, len(frame) + 1)]
        res = glb.run(bytes(frame))
        outcomes = {k: n for k, n in res.counters.items() if k != "forwarded_skipped_self"}
        assert list(outcomes.values()) == [1], (frame.hex(), res.counters)
        (counter,) = outcomes
        assert res.verdict == _verdict_of(counter), (frame.hex(), counter, res.verdict)
        seen.add(counter)
    # The corruption reached every stage of the decision.
    assert {"not_gue", "drop_truncated", "drop_bad_private_type", "drop_bad_hop_count",
            "drop_bad_gue_version", "forward_neigh_fallback"} <= seen, seen
