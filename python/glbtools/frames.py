"""GLB's GUE frames (docs/design.md §3), built the one way the tests, benchmarks and the
director stand-in share, with knobs to break every field.

    outer Ethernet / outer IPv4 or IPv6 / UDP to the GUE port / GUE header (version,
    control, hlen in 4-byte words, protocol 4 or 41) / GLB private data (type: 0 under
    IPv4, 1 under IPv6; next_hop; hop_count) / the hop list / the inner IP packet

`gue_header` gives the bytes between the UDP header and the inner packet; `gue_frame` a
whole frame (scapy for the outer headers). Frames are bytes, ready for a packet socket or
BPF_PROG_TEST_RUN.
"""
import ipaddress
import socket
import struct

GUE_PORT = 19523
GUE_SOURCE_PORT = 0x8123
PROTO_IPV4, PROTO_IPV6 = 4, 41
PRIVATE_TYPE = {4: 0, 6: 1}
ETHERTYPE = {4: 0x0800, 6: 0x86DD}
# Filler of `spare_words`: words hlen covers beyond the hop list.
SPARE_WORD = b"\xa5\x5a\xa5\x5a"


def family(address):
    return ipaddress.ip_address(address).version


def gue_header(hops=(), *, underlay=4, proto=PROTO_IPV4, next_hop=0, hop_count=None, hlen=None,
               spare_words=0, version=0, control=0, priv_type=None):
    """GUE header, GLB private data and hop list for an `underlay` (4 or 6) tunnel whose
    hops are addresses of that family. By default every field is what the director writes."""
    words = 1 if underlay == 4 else 4
    if hop_count is None:
        hop_count = len(hops)
    if hlen is None:
        hlen = 1 + words * len(hops) + spare_words
    if priv_type is None:
        priv_type = PRIVATE_TYPE[underlay]
    af = socket.AF_INET if underlay == 4 else socket.AF_INET6
    return (bytes([(version << 6) | (control << 5) | hlen, proto, 0, 0])
            + struct.pack("!HBB", priv_type, next_hop, hop_count)
            + b"".join(socket.inet_pton(af, h) for h in hops) + SPARE_WORD * spare_words)


def gue_frame(inner, hops=(), *, src, dst, eth_dst, eth_src, port=GUE_PORT, sport=GUE_SOURCE_PORT,
              udp_checksum=None, proto=None, ip_options=None, tc=0, fl=0x5a5a5, **header):
    """A whole GUE frame from `src` to `dst` (their family is the underlay's) carrying
    `inner` (bytes or a scapy packet). The outer IPv4 header has id 0, DF and TTL 64; the
    IPv6 one hop limit 64, `tc` and `fl`. The UDP checksum is 0 over IPv4 and computed over
    IPv6, as the director sends them, unless `udp_checksum` says otherwise. `header` goes
    to `gue_header` (next_hop, hop_count, hlen, spare_words, version, control, priv_type)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    inner = bytes(inner)
    underlay = family(src)
    if proto is None:
        proto = {4: PROTO_IPV4, 6: PROTO_IPV6}[inner[0] >> 4]
    if udp_checksum is None:
        udp_checksum = underlay == 6
    if underlay == 4:
        ip = IP(src=src, dst=dst, id=0, flags="DF", ttl=64)
        if ip_options:
            ip.options = ip_options
    else:
        ip = IPv6(src=src, dst=dst, hlim=64, tc=tc, fl=fl)
    udp = UDP(sport=sport, dport=port, chksum=None if udp_checksum else 0)
    body = gue_header(hops, underlay=underlay, proto=proto, **header) + inner
    return bytes(Ether(dst=eth_dst, src=eth_src) / ip / udp / Raw(body))


def decapsulated(inner, eth_dst, eth_src):
    """What taking a packet locally leaves: the outer Ethernet header with the inner
    packet's ethertype, then the inner packet unchanged."""
    inner = bytes(inner)
    return bytes.fromhex(eth_dst.replace(":", "") + eth_src.replace(":", "")) \
        + struct.pack("!H", ETHERTYPE[inner[0] >> 4]) + inner


def checksum(data):
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
