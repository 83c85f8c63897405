"""Exact tests of the glb-redirect eBPF program (Sources/glb-redirect/bpf),
run on crafted frames with BPF_PROG_TEST_RUN.

Each test checks the verdict, the exact output frame and the exact counter
deltas (every non-zero counter). Sockets, addresses and routes live in the
private netns set up by conftest.py: the VIPs are on lo, "clients" are on a
dummy device, so the only socket of a flow is the backend's own, as on a real
backend (a test whose lookup used the wrong direction would fail).
"""

import contextlib
import itertools
import random
import select
import socket
import struct
import subprocess
import time

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    PadN,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

from glbtools import frames
from glbtools.frames import GUE_PORT, checksum
from glbtools.shell import wait_for

TC_ACT_OK = 0
TC_ACT_UNSPEC = 0xFFFFFFFF  # -1 as the u32 retval of BPF_PROG_TEST_RUN: "no opinion", pass on
TC_ACT_SHOT = 2
TC_ACT_REDIRECT = 7

DIRECTOR = "10.0.0.1"   # outer src of what the director sends
BACKEND = "10.0.0.2"    # outer dst: this host
HOP_B = "10.0.0.3"
HOP_C = "10.0.0.4"
HOP_D = "10.0.0.5"
# The program only handles frames for this host (pkt_type PACKET_HOST): test
# runs use lo, whose MAC is all zeros, unless they name another device.
ETH_DST = "00:00:00:00:00:00"
ETH_SRC = "02:00:00:00:00:01"
ROUTER = "203.0.113.1"  # sender of ICMP errors

TCP_REPAIR = 19
ETH_P_ALL = 0x0003

# The counter names operators scrape (glb-redirect stats, its metrics): an interface, written
# out here on purpose. The program's names come from its C header (glbtools.counters); renaming
# or reordering a counter there must fail this test, not pass silently.
EXPECTED_COUNTERS = [
    "packets",
    "not_gue",
    "outer_fragment",
    "not_for_this_host",
    "accepted_syn",
    "accepted_established",
    "accepted_syn_cookie",
    "accepted_icmp_error",
    "accepted_udp_socket",
    "accepted_icmp_echo",
    "accepted_other_proto",
    "accepted_last_resort",
    "forwarded",
    "forwarded_skipped_self",
    "forward_fib_ok",
    "forward_neigh_fallback",
    "forward_error",
    "drop_truncated",
    "drop_bad_gue_version",
    "drop_bad_hlen",
    "drop_bad_private_type",
    "drop_bad_hop_count",
    "drop_bad_inner_proto",
    "decap_error",
]

# Fake client ports: each test uses its own, so request and time-wait sockets
# left in the netns by one test never meet another.
_ports = itertools.count(41000)


def next_port():
    return next(_ports)


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------

def gue_frame(inner, hops=(HOP_B,), *, src=DIRECTOR, dst=BACKEND, eth_dst=ETH_DST, eth_src=ETH_SRC, **knobs):
    """A GLB GUE frame as the director builds it (docs/design.md §3) between this module's
    hosts; `knobs` break it (glbtools.frames.gue_frame)."""
    return frames.gue_frame(inner, hops, src=src, dst=dst, eth_dst=eth_dst, eth_src=eth_src, **knobs)


def decapsulated(inner, eth_dst=ETH_DST, eth_src=ETH_SRC):
    return frames.decapsulated(inner, eth_dst, eth_src)


def check(res, verdict, out, counters):
    """The program's own counters: exactly `counters` (the sums "packets" and "forwarded"
    are the readers' to add up, see glb_redirect_counters.h)."""
    assert res.counters == counters
    assert res.verdict == verdict
    assert res.out.hex() == bytes(out).hex()


def check_taken(glb, frame, inner, counter, **run):
    check(glb.run(frame, **run), TC_ACT_OK, decapsulated(inner), {counter: 1})


def check_forwarded(glb, inner, hops=(HOP_B,), next_hop=0, to=HOP_B, new_next_hop=1,
                    skipped_self=False, **frame_args):
    """Forwarded through the bpf_redirect_neigh fallback (forwarding is off on lo):
    outer src = old dst, dst = the hop, next_hop advanced, checksums valid, rest unchanged."""
    frame = gue_frame(inner, hops, next_hop=next_hop, **frame_args)
    expect_args = dict(frame_args, src=frame_args.get("dst", BACKEND), dst=to)
    expected = gue_frame(inner, hops, next_hop=new_next_hop, **expect_args)
    counters = {"forward_neigh_fallback": 1}
    if skipped_self:
        counters["forwarded_skipped_self"] = 1
    check(glb.run(frame), TC_ACT_REDIRECT, expected, counters)


def tcp4(sport=40000, dport=80, flags="S", src=None, dst=None, seq=1000, ack=0, payload=b""):
    pkt = IP(src=src or "198.51.100.7", dst=dst or "192.0.2.10") / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=8192)
    return pkt / Raw(payload) if payload else pkt


def tcp6(sport=40000, dport=80, flags="S", src=None, dst=None, seq=1000, ack=0, payload=b""):
    pkt = IPv6(src=src or "2001:db8:1::7", dst=dst or "2001:db8::10") / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=8192)
    return pkt / Raw(payload) if payload else pkt


def tcp(family, **kw):
    return tcp4(**kw) if family == 4 else tcp6(**kw)


def udp(family, sport, dport, src=None, dst=None, payload=b"query"):
    if family == 4:
        return IP(src=src or "198.51.100.7", dst=dst or "192.0.2.10") / UDP(sport=sport, dport=dport) / Raw(payload)
    return IPv6(src=src or "2001:db8:1::7", dst=dst or "2001:db8::10") / UDP(sport=sport, dport=dport) / Raw(payload)


def icmp_error(family, quoted, icmp_type=None):
    """An ICMP error from a router on the path to the client, quoting a packet
    this backend sent (ICMPv4 quotes the IP header and 8 bytes)."""
    quoted = bytes(quoted)
    if family == 4:
        t = 3 if icmp_type is None else icmp_type
        code = 4 if t == 3 else 0
        hdr = ICMP(type=t, code=code, nexthopmtu=1400) if t == 3 else ICMP(type=t, code=code)
        return IP(src=ROUTER, dst="192.0.2.10") / hdr / Raw(quoted[: (quoted[0] & 0xF) * 4 + 8])
    if icmp_type in (None, 2):
        hdr = ICMPv6PacketTooBig(mtu=1280)
    else:
        hdr = ICMPv6DestUnreach(code=1) if icmp_type == 1 else ICMPv6DestUnreach(type=icmp_type)
    return IPv6(src="2001:db8:ffff::1", dst="2001:db8::10") / hdr / Raw(quoted)


# --------------------------------------------------------------------------
# Sockets of the backend
# --------------------------------------------------------------------------

def family_of(v):
    return socket.AF_INET if v == 4 else socket.AF_INET6


def vip(topo, v):
    return topo.vip4 if v == 4 else topo.vip6


def client(topo, v):
    return topo.client4 if v == 4 else topo.client6


@contextlib.contextmanager
def established(topo, v, client_port):
    """An ESTABLISHED server socket VIP:port <-> client:client_port, made with
    TCP_REPAIR: no handshake, and no client socket anywhere."""
    s = socket.socket(family_of(v), socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
        s.bind((vip(topo, v), 0))
        s.connect((client(topo, v), client_port))
        yield s.getsockname()[1]
    finally:
        s.close()  # still in repair mode: closes silently


@contextlib.contextmanager
def listener(topo, v, backlog=16):
    s = socket.socket(family_of(v), socket.SOCK_STREAM)
    try:
        s.bind((vip(topo, v), 0))
        s.listen(backlog)
        yield s
    finally:
        s.close()


@contextlib.contextmanager
def udp_socket(topo, v):
    s = socket.socket(family_of(v), socket.SOCK_DGRAM)
    try:
        s.bind((vip(topo, v), 0))
        yield s.getsockname()[1]
    finally:
        s.close()


def send_raw(v, packet):
    """Send a whole IP packet (any source address) into the local stack."""
    packet = bytes(packet)
    if v == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        dst = socket.inet_ntop(socket.AF_INET, packet[16:20])
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        dst = socket.inet_ntop(socket.AF_INET6, packet[24:40])
    with s:
        s.sendto(packet, (dst, 0))


def ss_has(state, local, peer, v):
    fmt = (lambda a, p: f"{a}:{p}") if v == 4 else (lambda a, p: f"[{a}]:{p}")
    out = subprocess.run(["ss", "-Htan", "state", state], capture_output=True, text=True,
                         check=True).stdout
    return any(line.split()[-2:] == [fmt(*local), fmt(*peer)] for line in out.splitlines())


def client_syn(topo, v, lport, cport, isn):
    cls = IP if v == 4 else IPv6
    return cls(src=client(topo, v), dst=vip(topo, v)) / TCP(
        sport=cport, dport=lport, flags="S", seq=isn, window=8192, options=[("MSS", 1400)])


# --------------------------------------------------------------------------
# The counters' contract with the loader
# --------------------------------------------------------------------------

def test_counter_names_follow_the_header(glb):
    assert glb.names == EXPECTED_COUNTERS
    assert glb.counters.max_entries == len(EXPECTED_COUNTERS)
    assert glb.counters.percpu and glb.counters.value_size == 8
    assert glb.config.value_size == 8 and glb.config.max_entries == 1


# --------------------------------------------------------------------------
# Not GUE: passed untouched
# --------------------------------------------------------------------------

def _syn_frame():
    return gue_frame(tcp4(flags="S"))


NOT_GUE = {
    "arp": lambda: bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=ETH_SRC) / ARP(psrc=DIRECTOR, pdst=BACKEND)),
    "ipv4_tcp": lambda: bytes(Ether(dst=ETH_DST, src=ETH_SRC) / tcp4(flags="S")),
    "ipv4_icmp": lambda: bytes(Ether(dst=ETH_DST, src=ETH_SRC) / IP(src=DIRECTOR, dst=BACKEND) / ICMP()),
    "ipv4_udp_other_port": lambda: gue_frame(tcp4(), port=53),
    "ipv4_udp_gue_port_as_source": lambda: bytes(
        Ether(dst=ETH_DST, src=ETH_SRC) / IP(src=DIRECTOR, dst=BACKEND) / UDP(sport=GUE_PORT, dport=4000) / Raw(b"x" * 40)),
    "vlan_tagged_gue": lambda: bytes(Ether(dst=ETH_DST, src=ETH_SRC) / Dot1Q(vlan=5)) [:-2] + _syn_frame()[12:],
    # (BPF_PROG_TEST_RUN refuses an IPv4 frame shorter than an IPv4 header,
    # so a cut IPv4 header cannot be sent; a bad IHL can)
    "ethernet_header_only": lambda: _syn_frame()[:12] + b"\x08\x06",
    "ipv4_ihl_4": lambda: _syn_frame()[:14] + b"\x44" + _syn_frame()[15:],
    "udp_header_cut": lambda: _syn_frame()[:14 + 20 + 6],
}


@pytest.mark.parametrize("name", NOT_GUE)
def test_not_gue_passes_untouched(glb, name):
    frame = NOT_GUE[name]()
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_gue": 1})


def test_outer_fragments_pass_untouched(glb):
    inner = tcp4(flags="S")
    first = bytearray(gue_frame(inner))
    first[14 + 6] |= 0x20  # MF
    later = bytearray(gue_frame(inner))
    later[14 + 6:14 + 8] = struct.pack("!H", 0x4000 | 100)  # DF is nonsense here, but offset 800
    for frame in (bytes(first), bytes(later)):
        check(glb.run(frame), TC_ACT_UNSPEC, frame, {"outer_fragment": 1})
    # A first fragment of UDP to another port is simply not GUE.
    other = bytearray(gue_frame(inner, port=53))
    other[14 + 6] |= 0x20
    check(glb.run(bytes(other)), TC_ACT_UNSPEC, bytes(other), {"not_gue": 1})


@pytest.mark.parametrize("eth_dst", ["02:00:00:00:00:99", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"])
def test_gue_in_a_frame_for_another_mac_passes_untouched(glb, topology, eth_dst):
    """Promiscuous interface, bridge port, broadcast or multicast: not ours to forward."""
    frame = gue_frame(tcp4(flags="A", sport=next_port()), eth_dst=eth_dst)
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_for_this_host": 1})
    # The same frame to the device's own MAC is handled.
    frame = gue_frame(tcp4(flags="A", sport=next_port()), eth_dst=topology.fib_dev_mac, dst=topology.fib_local,
                      hops=(topology.fib_neigh,))
    assert glb.run(frame, ifindex=topology.fib_ifindex).verdict == TC_ACT_REDIRECT
    frame = gue_frame(tcp4(flags="A", sport=next_port()), eth_dst=eth_dst, dst=topology.fib_local,
                      hops=(topology.fib_neigh,))
    check(glb.run(frame, ifindex=topology.fib_ifindex), TC_ACT_UNSPEC, frame, {"not_for_this_host": 1})


# --------------------------------------------------------------------------
# TCP
# --------------------------------------------------------------------------

@pytest.mark.parametrize("v", [4, 6])
def test_syn_is_taken_locally(glb, v):
    inner = tcp(v, flags="S")
    check_taken(glb, gue_frame(inner, (HOP_B, HOP_C)), inner, "accepted_syn")


@pytest.mark.parametrize("v", [4, 6])
def test_syn_with_udp_checksum_and_outer_ip_options_is_taken_locally(glb, v):
    inner = tcp(v, flags="S", payload=b"x" * 7)
    frame = gue_frame(inner, (HOP_B,), udp_checksum=True, ip_options=[IPOption_NOP()] * 4)
    assert frame[14] == 0x46
    check_taken(glb, frame, inner, "accepted_syn")


@pytest.mark.parametrize("flags", ["A", "PA", "FA", "R", "SA"])
@pytest.mark.parametrize("v", [4, 6])
def test_non_syn_without_socket_is_forwarded(glb, v, flags):
    check_forwarded(glb, tcp(v, flags=flags, sport=next_port(), ack=5, payload=b"data"))


@pytest.mark.parametrize("flags", ["A", "PA", "FA", "R"])
@pytest.mark.parametrize("v", [4, 6])
def test_established_connection_is_taken_locally(glb, topology, v, flags):
    cport = next_port()
    with established(topology, v, cport) as lport:
        inner = tcp(v, flags=flags, sport=cport, dport=lport, ack=1, payload=b"GET / HTTP/1.0\r\n")
        check_taken(glb, gue_frame(inner), inner, "accepted_established")
        # The same tuple the other way round belongs to no local socket.
        backwards = tcp(v, flags=flags, src=vip(topology, v), dst=client(topology, v), sport=lport, dport=cport)
        check_forwarded(glb, backwards)
    # Once the socket is gone, the flow is somebody else's.
    check_forwarded(glb, inner)


@pytest.mark.parametrize("v", [4, 6])
def test_listener_alone_does_not_keep_a_non_syn(glb, topology, v):
    with listener(topology, v) as srv:
        lport = srv.getsockname()[1]
        check_forwarded(glb, tcp(v, flags="A", sport=next_port(), dport=lport, seq=77, ack=12345))
        check_taken(glb, gue_frame(tcp(v, flags="S", dport=lport)), tcp(v, flags="S", dport=lport),
                    "accepted_syn")


@pytest.mark.parametrize("v", [4, 6])
def test_handshaking_request_socket_is_taken_locally(glb, topology, sysctl, v):
    """A SYN answered by this host (TCP_NEW_SYN_RECV request socket): the ACK belongs here."""
    sysctl("net.ipv4.tcp_syncookies", 1)
    cport = next_port()
    with listener(topology, v) as srv:
        lport = srv.getsockname()[1]
        send_raw(v, client_syn(topology, v, lport, cport, isn=5000))
        wait_for(lambda: ss_has("syn-recv", (vip(topology, v), lport), (client(topology, v), cport), v),
                 "the request socket")
        inner = tcp(v, flags="A", sport=cport, dport=lport, seq=5001, ack=1)
        check_taken(glb, gue_frame(inner), inner, "accepted_established")
        # Another client port of the same listener has no request socket.
        check_forwarded(glb, tcp(v, flags="A", sport=next_port(), dport=lport, seq=5001, ack=1))


@pytest.mark.parametrize("v", [4, 6])
def test_time_wait_socket_is_taken_locally(glb, topology, v):
    """The backend closed first: its TIME_WAIT socket still owns the flow (a
    listener on the same port must not hide it)."""
    peer = "127.0.0.2" if v == 4 else "::1"
    with listener(topology, v) as srv:
        lport = srv.getsockname()[1]
        with socket.socket(family_of(v), socket.SOCK_STREAM) as cli:
            cli.settimeout(3)
            cli.bind((peer, 0))
            cli.connect((vip(topology, v), lport))
            cport = cli.getsockname()[1]
            conn, _ = srv.accept()
            conn.close()             # the backend closes first ...
            assert cli.recv(10) == b""
        # ... the peer follows and disappears
        wait_for(lambda: ss_has("time-wait", (vip(topology, v), lport), (peer, cport), v),
                 "the time-wait socket")
        wait_for(lambda: not ss_has("all", (peer, cport), (vip(topology, v), lport), v),
                 "the peer's socket to go")
        inner = tcp(v, flags="A", src=peer, sport=cport, dport=lport, seq=9, ack=9)
        check_taken(glb, gue_frame(inner), inner, "accepted_established")


def _capture(dev):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((dev, ETH_P_ALL))
    return s


def _syn_ack_from(cap, v, lport, cport, timeout=3.0):
    """The SYN-ACK the backend sent to a (fake) client, seen leaving on the dummy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([cap], [], [], 0.05)[0]:
            continue
        data = cap.recv(65535)
        if not data or data[0] >> 4 != v:
            continue
        pkt = IP(data) if v == 4 else IPv6(data)
        if TCP in pkt and pkt[TCP].sport == lport and pkt[TCP].dport == cport and pkt[TCP].flags == "SA":
            return pkt[TCP]
    raise AssertionError("no SYN-ACK seen")


@pytest.mark.parametrize("v", [4, 6])
def test_syn_cookie_ack_is_taken_locally(glb, topology, sysctl, v):
    """With SYN cookies, the handshake leaves no socket: only the cookie says the ACK is ours."""
    sysctl("net.ipv4.tcp_syncookies", 2)
    cport = next_port()
    with listener(topology, v) as srv, _capture(topology.client_dev) as cap:
        lport = srv.getsockname()[1]
        send_raw(v, client_syn(topology, v, lport, cport, isn=7000))
        cookie = _syn_ack_from(cap, v, lport, cport).seq
        assert not ss_has("syn-recv", (vip(topology, v), lport), (client(topology, v), cport), v)

        inner = tcp(v, flags="A", sport=cport, dport=lport, seq=7001, ack=(cookie + 1) & 0xFFFFFFFF)
        check_taken(glb, gue_frame(inner), inner, "accepted_syn_cookie")

        # (the low bits of a cookie are an MSS index: cookie + 2 may still be
        # valid, a change in the hash bits is not)
        forged = tcp(v, flags="A", sport=cport, dport=lport, seq=7001, ack=(cookie + 1 + 0x10000) & 0xFFFFFFFF)
        check_forwarded(glb, forged)


# --------------------------------------------------------------------------
# ICMP
# --------------------------------------------------------------------------

@pytest.mark.parametrize("icmp_type", [None, "time_exceeded", "other_error"])
@pytest.mark.parametrize("v", [4, 6])
def test_icmp_error_about_a_local_connection_is_taken_locally(glb, topology, v, icmp_type):
    t = {None: None, "time_exceeded": 11 if v == 4 else 3, "other_error": 12 if v == 4 else 1}[icmp_type]
    cport = next_port()
    with established(topology, v, cport) as lport:
        # What this backend sent: VIP:lport -> client:cport.
        sent = tcp(v, flags="PA", src=vip(topology, v), dst=client(topology, v), sport=lport, dport=cport,
                   payload=b"x" * 1300)
        inner = icmp_error(v, sent, t)
        check_taken(glb, gue_frame(inner), inner, "accepted_icmp_error")
        # Quoting a packet of a flow this backend does not have: forwarded.
        other = tcp(v, flags="PA", src=vip(topology, v), dst=client(topology, v), sport=lport, dport=next_port())
        check_forwarded(glb, icmp_error(v, other, t))


@pytest.mark.parametrize("v", [4, 6])
def test_icmp_error_matching_only_a_listener_is_forwarded(glb, topology, v):
    with listener(topology, v) as srv:
        lport = srv.getsockname()[1]
        sent = tcp(v, flags="SA", src=vip(topology, v), dst=client(topology, v), sport=lport, dport=next_port())
        check_forwarded(glb, icmp_error(v, sent))


@pytest.mark.parametrize("v", [4, 6])
def test_icmp_error_about_a_local_udp_socket_is_taken_locally(glb, topology, v):
    with udp_socket(topology, v) as port:
        sent = udp(v, port, next_port(), src=vip(topology, v), dst=client(topology, v), payload=b"y" * 100)
        inner = icmp_error(v, sent)
        check_taken(glb, gue_frame(inner), inner, "accepted_icmp_error")
    check_forwarded(glb, inner)


@pytest.mark.parametrize("v", [4, 6])
def test_icmp_echo_is_taken_locally(glb, v):
    """The tunnel health check (to the backend's address) and pings to a VIP."""
    if v == 4:
        inner = IP(src=DIRECTOR, dst=BACKEND) / ICMP(type=8, id=7, seq=1) / Raw(b"glb-healthcheck")
    else:
        inner = IPv6(src="2001:db8:1::7", dst="2001:db8::10") / ICMPv6EchoRequest(id=7, seq=1, data=b"ping")
    check_taken(glb, gue_frame(inner, (HOP_B, HOP_C)), inner, "accepted_icmp_echo")


# --------------------------------------------------------------------------
# UDP
# --------------------------------------------------------------------------

@pytest.mark.parametrize("v", [4, 6])
def test_udp_to_a_local_socket_is_taken_locally(glb, topology, v):
    with udp_socket(topology, v) as port:
        inner = udp(v, next_port(), port)
        check_taken(glb, gue_frame(inner), inner, "accepted_udp_socket")
        # The reverse direction matches no socket.
        check_forwarded(glb, udp(v, port, next_port(), src=vip(topology, v), dst=client(topology, v)))


@pytest.mark.parametrize("v", [4, 6])
def test_udp_without_socket_is_forwarded_then_lands_on_the_last_hop(glb, v):
    inner = udp(v, next_port(), 9)
    check_forwarded(glb, inner, (HOP_B, HOP_C), next_hop=0, to=HOP_B, new_next_hop=1)
    check_forwarded(glb, inner, (HOP_B, HOP_C), next_hop=1, to=HOP_C, new_next_hop=2)
    check_taken(glb, gue_frame(inner, (HOP_B, HOP_C), next_hop=2), inner, "accepted_last_resort")


# --------------------------------------------------------------------------
# Other inner packets
# --------------------------------------------------------------------------

OTHER_INNER = {
    "ipv4_gre": lambda: IP(src="198.51.100.7", dst="192.0.2.10", proto=47) / Raw(b"\x00\x00\x08\x00" + b"z" * 20),
    "ipv4_icmp_echo_reply": lambda: IP(src="198.51.100.7", dst="192.0.2.10") / ICMP(type=0) / Raw(b"pong"),
    "ipv4_icmp_error_quoting_icmp": lambda: icmp_error(4, IP(src="192.0.2.10", dst="198.51.100.7") / ICMP(type=0)),
    "ipv4_later_fragment_of_tcp": lambda: IP(src="198.51.100.7", dst="192.0.2.10", proto=6, frag=100, flags="MF")
    / Raw(b"q" * 40),
    "ipv6_no_next_header": lambda: IPv6(src="2001:db8:1::7", dst="2001:db8::10", nh=59) / Raw(b"q" * 8),
    "ipv6_icmp_echo_reply": lambda: IPv6(src="2001:db8:1::7", dst="2001:db8::10") / ICMPv6EchoReply(),
    "ipv6_later_fragment_of_tcp": lambda: IPv6(src="2001:db8:1::7", dst="2001:db8::10")
    / IPv6ExtHdrFragment(nh=6, offset=10, m=1, id=9) / Raw(b"q" * 40),
    "ipv6_too_many_extension_headers": lambda: IPv6(src="2001:db8:1::7", dst="2001:db8::10")
    / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
    / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
    / IPv6ExtHdrDestOpt() / TCP(flags="A"),
}


@pytest.mark.parametrize("name", OTHER_INNER)
def test_other_inner_packets_are_taken_locally(glb, name):
    inner = OTHER_INNER[name]()
    check_taken(glb, gue_frame(inner), inner, "accepted_other_proto")


def test_ipv6_extension_headers_are_walked(glb, topology):
    syn = IPv6(src="2001:db8:1::7", dst="2001:db8::10") / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / TCP(flags="S")
    check_taken(glb, gue_frame(syn), syn, "accepted_syn")
    # An authentication header (length in 4-byte words, minus two), as the director skips it.
    ah = bytes([6, 4, 0, 0]) + struct.pack("!II", 0x1000, 1) + b"\x00" * 12
    behind_ah = IPv6(src="2001:db8:1::7", dst="2001:db8::10", nh=51) / Raw(ah) / TCP(flags="S")
    check_taken(glb, gue_frame(behind_ah), behind_ah, "accepted_syn")
    long_opts = IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\xff" * 20)])
    assert len(bytes(long_opts)) == 24
    cport = next_port()
    with established(topology, 6, cport) as lport:
        ack = (IPv6(src=topology.client6, dst=topology.vip6) / long_opts
               / IPv6ExtHdrFragment(nh=6, offset=0, m=0, id=1) / TCP(sport=cport, dport=lport, flags="A"))
        check_taken(glb, gue_frame(ack), ack, "accepted_established")
    with udp_socket(topology, 6) as port:
        first = (IPv6(src=topology.client6, dst=topology.vip6) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=2)
                 / UDP(sport=next_port(), dport=port) / Raw(b"w" * 16))
        check_taken(glb, gue_frame(first), first, "accepted_udp_socket")


# --------------------------------------------------------------------------
# Forwarding and the hop list
# --------------------------------------------------------------------------

@pytest.mark.parametrize("v", [4, 6])
def test_forward_rewrites_only_the_outer_addresses_and_next_hop(glb, v):
    inner = tcp(v, flags="A", sport=next_port(), payload=b"k" * 33)
    frame = gue_frame(inner, (HOP_B, HOP_C))
    res = glb.run(frame)
    assert res.verdict == TC_ACT_REDIRECT
    out = res.out
    assert len(out) == len(frame)
    assert out[:14 + 10] == frame[:14 + 10]                               # MACs, IP up to the checksum
    assert out[14 + 12:14 + 20] == socket.inet_aton(BACKEND) + socket.inet_aton(HOP_B)
    nh = 14 + 20 + 8 + 4 + 2                                              # next_hop
    assert out[14 + 20:nh] == frame[14 + 20:nh]                           # UDP (csum 0), GUE, type
    assert (frame[nh], out[nh]) == (0, 1)                                 # next_hop 0 -> 1
    assert out[nh + 1:] == frame[nh + 1:]                                 # hop_count, hops, inner
    assert checksum(out[14:34]) == 0                                       # valid IPv4 header checksum
    check_forwarded(glb, inner, (HOP_B, HOP_C))


@pytest.mark.parametrize("v", [4, 6])
def test_forward_keeps_a_udp_checksum_valid(glb, v):
    rng = random.Random(19523)
    for _ in range(25):
        hops = tuple(".".join(str(rng.randrange(1, 255)) for _ in range(4)) for _ in range(rng.randrange(1, 4)))
        src = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        dst = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        next_hop = rng.randrange(0, len(hops))
        inner = tcp(v, flags="A", sport=rng.randrange(1024, 65535), seq=rng.randrange(1 << 32),
                    payload=bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
        if dst in hops:
            continue
        check_forwarded(glb, inner, hops, next_hop=next_hop, to=hops[next_hop], new_next_hop=next_hop + 1,
                        udp_checksum=True, src=src, dst=dst)


def test_forward_with_outer_ip_options(glb):
    inner = tcp4(flags="A", sport=next_port())
    check_forwarded(glb, inner, (HOP_B,), ip_options=[IPOption_NOP()] * 4)
    check_forwarded(glb, inner, (HOP_B,), ip_options=[IPOption_NOP()] * 8, udp_checksum=True)


def test_forward_to_a_later_hop(glb):
    inner = tcp4(flags="A", sport=next_port())
    check_forwarded(glb, inner, (HOP_B, HOP_C, HOP_D), next_hop=1, to=HOP_C, new_next_hop=2)
    check_forwarded(glb, inner, (HOP_B, HOP_C, HOP_D), next_hop=2, to=HOP_D, new_next_hop=3)


def test_forward_skips_this_host(glb):
    inner = tcp4(flags="A", sport=next_port())
    check_forwarded(glb, inner, (BACKEND, HOP_B), to=HOP_B, new_next_hop=2, skipped_self=True)
    check_forwarded(glb, inner, (BACKEND, BACKEND, HOP_C), to=HOP_C, new_next_hop=3, skipped_self=True)
    check_forwarded(glb, inner, (HOP_B, BACKEND, HOP_C), next_hop=1, to=HOP_C, new_next_hop=3, skipped_self=True)


def test_forward_through_the_longest_hop_list(glb):
    """hlen is 5 bits: 30 hops at most. All but the last are this host."""
    inner = tcp4(flags="A", sport=next_port())
    hops = (BACKEND,) * 29 + (HOP_D,)
    check_forwarded(glb, inner, hops, to=HOP_D, new_next_hop=30, skipped_self=True)
    hops = tuple(f"10.9.0.{i}" for i in range(1, 31))
    check_forwarded(glb, inner, hops, next_hop=29, to="10.9.0.30", new_next_hop=30)


def test_spare_private_words_are_kept_when_forwarding_and_removed_when_taking(glb):
    ack = tcp4(flags="A", sport=next_port())
    check_forwarded(glb, ack, (HOP_B,), spare_words=2)
    syn = tcp4(flags="S")
    check_taken(glb, gue_frame(syn, (HOP_B,), spare_words=2), syn, "accepted_syn")


@pytest.mark.parametrize("v", [4, 6])
def test_no_hop_left_is_taken_as_last_resort(glb, v):
    inner = tcp(v, flags="A", sport=next_port())
    check_taken(glb, gue_frame(inner, (HOP_B,), next_hop=1), inner, "accepted_last_resort")
    check_taken(glb, gue_frame(inner, ()), inner, "accepted_last_resort")


def test_only_this_host_left_is_taken_as_last_resort(glb):
    inner = tcp4(flags="A", sport=next_port())
    res = glb.run(gue_frame(inner, (HOP_B, BACKEND), next_hop=1))
    check(res, TC_ACT_OK, decapsulated(inner), {"accepted_last_resort": 1, "forwarded_skipped_self": 1})


def test_forward_with_fib_lookup_rewrites_macs(glb, topology):
    """Forwarding enabled on the ingress device: MACs from the FIB, bpf_redirect()."""
    inner = tcp4(flags="A", sport=next_port())
    for hop in (topology.fib_neigh, topology.fib_via_gw):
        frame = gue_frame(inner, (hop,), dst=topology.fib_local, eth_dst=topology.fib_dev_mac)
        expected = gue_frame(inner, (hop,), next_hop=1, src=topology.fib_local, dst=hop,
                             eth_dst=topology.fib_neigh_mac, eth_src=topology.fib_dev_mac)
        check(glb.run(frame, ifindex=topology.fib_ifindex), TC_ACT_REDIRECT, expected,
              {"forward_fib_ok": 1})


def test_forward_without_neighbour_falls_back_to_redirect_neigh(glb, topology):
    inner = tcp4(flags="A", sport=next_port())
    frame = gue_frame(inner, (topology.fib_no_neigh,), dst=topology.fib_local, eth_dst=topology.fib_dev_mac)
    expected = gue_frame(inner, (topology.fib_no_neigh,), next_hop=1, src=topology.fib_local, dst=topology.fib_no_neigh,
                         eth_dst=topology.fib_dev_mac)
    check(glb.run(frame, ifindex=topology.fib_ifindex), TC_ACT_REDIRECT, expected,
          {"forward_neigh_fallback": 1})


# --------------------------------------------------------------------------
# Malformed GLB GUE: dropped and counted
# --------------------------------------------------------------------------

def _ack4():
    return tcp4(flags="A", sport=40404)


MALFORMED = {
    "gue_version_1": (lambda: gue_frame(_ack4(), version=1), "drop_bad_gue_version"),
    "gue_version_3": (lambda: gue_frame(_ack4(), version=3), "drop_bad_gue_version"),
    "gue_control_message": (lambda: gue_frame(_ack4(), control=1), "drop_bad_gue_version"),
    "hlen_0": (lambda: gue_frame(_ack4(), (), hlen=0), "drop_bad_hlen"),
    "private_type_1": (lambda: gue_frame(_ack4(), priv_type=1), "drop_bad_private_type"),
    "private_type_0x100": (lambda: gue_frame(_ack4(), priv_type=0x100), "drop_bad_private_type"),
    "hop_count_beyond_hlen": (lambda: gue_frame(_ack4(), (HOP_B,), hlen=1), "drop_bad_hop_count"),
    "hop_count_2_in_hlen_2": (lambda: gue_frame(_ack4(), (HOP_B,), hop_count=2), "drop_bad_hop_count"),
    "next_hop_beyond_hop_count": (lambda: gue_frame(_ack4(), (HOP_B,), next_hop=2), "drop_bad_hop_count"),
    "inner_proto_udp": (lambda: gue_frame(_ack4(), proto=17), "drop_bad_inner_proto"),
    "inner_proto_0": (lambda: gue_frame(_ack4(), proto=0), "drop_bad_inner_proto"),
    "ipv4_proto_with_ipv6_inner": (lambda: gue_frame(tcp6(flags="S"), proto=4), "drop_bad_inner_proto"),
    "ipv6_proto_with_ipv4_inner": (lambda: gue_frame(tcp4(flags="S"), proto=41), "drop_bad_inner_proto"),
    "inner_ipv4_ihl_4": (lambda: gue_frame(b"\x44" + bytes(tcp4(flags="S"))[1:], proto=4), "drop_bad_inner_proto"),
}

# Truncations of a valid frame with one hop: 14 Ethernet + 20 IPv4 + 8 UDP,
# then GUE 4, private 4, hop 4, inner.
_GUE = 14 + 20 + 8


def _cut(inner, n, hops=(HOP_B,)):
    return lambda: gue_frame(inner, hops)[:n]


TRUNCATED = {
    "no_gue_header": _cut(tcp4(flags="S"), _GUE),
    "half_gue_header": _cut(tcp4(flags="S"), _GUE + 2),
    "no_private_data": _cut(tcp4(flags="S"), _GUE + 4),
    "half_private_data": _cut(tcp4(flags="S"), _GUE + 6),
    "half_hop": _cut(tcp4(flags="S"), _GUE + 10),
    "no_inner": _cut(tcp4(flags="S"), _GUE + 12),
    "half_inner_ipv4": _cut(tcp4(flags="S"), _GUE + 12 + 10),
    "half_inner_tcp": _cut(tcp4(flags="S"), _GUE + 12 + 20 + 10),
    "half_inner_ipv6": _cut(tcp6(flags="S"), _GUE + 12 + 30),
    "half_inner_tcp_v6": _cut(tcp6(flags="S"), _GUE + 12 + 40 + 19),
    "half_inner_udp_ports": _cut(udp(4, 1000, 53), _GUE + 12 + 20 + 3),
    "half_icmp_header": _cut(IP(src=DIRECTOR, dst=BACKEND) / ICMP(type=8), _GUE + 12 + 20 + 4),
    "icmp_error_without_quoted_ports": _cut(
        icmp_error(4, tcp4(flags="A", src="192.0.2.10", dst="198.51.100.7")), _GUE + 12 + 20 + 8 + 20 + 2),
    "icmpv6_error_without_quoted_header": _cut(
        icmp_error(6, tcp6(flags="A", src="2001:db8::10", dst="2001:db8:1::7")), _GUE + 12 + 40 + 8 + 20),
    "ipv6_extension_header_cut": _cut(
        IPv6(src="2001:db8:1::7", dst="2001:db8::10") / IPv6ExtHdrDestOpt() / TCP(), _GUE + 12 + 40 + 1),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_gue_is_dropped(glb, name):
    build, counter = MALFORMED[name]
    frame = build()
    check(glb.run(frame), TC_ACT_SHOT, frame, {counter: 1})


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncated_gue_is_dropped(glb, name):
    frame = TRUNCATED[name]()
    check(glb.run(frame), TC_ACT_SHOT, frame, {"drop_truncated": 1})


def test_malformed_frames_really_are_valid_but_for_the_defect(glb):
    """The same builders without the defect give frames the program accepts."""
    check_taken(glb, gue_frame(tcp4(flags="S")), tcp4(flags="S"), "accepted_syn")
    check_taken(glb, gue_frame(tcp6(flags="S")), tcp6(flags="S"), "accepted_syn")
    inner = IP(src=DIRECTOR, dst=BACKEND) / ICMP(type=8)
    check_taken(glb, gue_frame(inner), inner, "accepted_icmp_echo")


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

def test_gue_port_from_config(glb):
    syn = tcp4(flags="S")
    glb.set_config(gue_port=6080)
    frame = gue_frame(syn, port=GUE_PORT)
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_gue": 1})
    check_taken(glb, gue_frame(syn, port=6080), syn, "accepted_syn")
    glb.set_config(gue_port=0)
    check_taken(glb, gue_frame(syn, port=GUE_PORT), syn, "accepted_syn")
    frame = gue_frame(syn, port=6080)
    check(glb.run(frame), TC_ACT_UNSPEC, frame, {"not_gue": 1})


def test_netns_id_from_config(glb, topology):
    cport = next_port()
    with established(topology, 4, cport) as lport:
        inner = tcp4(flags="A", sport=cport, dport=lport)
        frame = gue_frame(inner)
        # Without the flag, netns_id is ignored: the current netns.
        glb.set_config(flags=0, netns_id=4242)
        check_taken(glb, frame, inner, "accepted_established")
        # With the flag, a negative id still means the current netns.
        glb.set_config(flags=1, netns_id=-1)
        check_taken(glb, frame, inner, "accepted_established")
        # With the flag, the lookup happens in netns 4242, which does not exist here.
        glb.set_config(flags=1, netns_id=4242)
        check_forwarded(glb, inner)
        glb.set_config()
        check_taken(glb, frame, inner, "accepted_established")
