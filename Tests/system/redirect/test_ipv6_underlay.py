"""glb-redirect over an IPv6 underlay with real packets: GUE frames as a director sends
them over IPv6 (private type 1, IPv6 hops) go from a peer namespace over a veth to a
backend that runs `glb-redirect attach`, and what the backend does is seen on the wire
and in its counters.

    peer (eth0) ─── veth ─── (eth0) backend     fd00:77::1 / fd00:77::2, 10.77.1.1 / .2
                                                 VIPs 192.0.2.80 and 2001:db8:80::80 on lo,
                                                 a TCP listener on both; replies to the
                                                 clients go back to the peer (DSR)

The peer stands in for the director and the clients: it sends the tunnelled frames and
captures the backend's direct replies and forwarded frames.
"""

import os
import select
import socket
import subprocess
import sys
import types

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
from scapy.layers.l2 import Ether

import test_redirect_prog_v6 as v6prog
from glbtools import frames, netns
from glbtools.wire import Wire

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, BPF)")

PEER6, BACKEND6, HOP6 = "fd00:77::1", "fd00:77::2", "fd00:77::3"
PEER4, BACKEND4 = "10.77.1.1", "10.77.1.2"
VIP4, VIP6 = "192.0.2.80", "2001:db8:80::80"
CLIENT4, CLIENT6 = "198.51.100.7", "2001:db8:1::7"
PORT = 80

# Accepts connections on both VIPs and says so, one line each.
LISTENER = (
    "import select, socket, sys\n"
    "socks = []\n"
    "for family, vip in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):\n"
    "    s = socket.socket(family, socket.SOCK_STREAM)\n"
    "    s.bind((vip, int(sys.argv[3])))\n"
    "    s.listen(16)\n"
    "    socks.append(s)\n"
    "print('listening', flush=True)\n"
    "while True:\n"
    "    for s in select.select(socks, [], [])[0]:\n"
    "        conn, peer = s.accept()\n"
    "        print('accepted', peer[0], peer[1], flush=True)\n"
)

_ports = iter(range(42000, 43000))


@pytest.fixture(scope="module")
def lab(loader):
    netns.reap_stale()
    with netns.Lab() as lab:
        peer, backend = lab.netns("peer"), lab.netns("backend")
        lab.veth(peer, "eth0", backend, "eth0", offloads=False)
        for ns in (peer, backend):
            ns.enable_ipv6("eth0")
        peer.ip("addr", "add", f"{PEER4}/24", "dev", "eth0")
        peer.ip("-6", "addr", "add", f"{PEER6}/64", "dev", "eth0", "nodad")
        backend.ip("addr", "add", f"{BACKEND4}/24", "dev", "eth0")
        backend.ip("-6", "addr", "add", f"{BACKEND6}/64", "dev", "eth0", "nodad")
        backend.ip("addr", "add", f"{VIP4}/32", "dev", "lo")
        backend.ip("-6", "addr", "add", f"{VIP6}/128", "dev", "lo", "nodad")
        # Replies to the clients go straight back through the peer (direct server return).
        backend.ip("route", "add", "198.51.100.0/24", "via", PEER4)
        backend.ip("-6", "route", "add", "2001:db8:1::/64", "via", PEER6)
        # The next hop's frames go to the peer's wire too, with the FIB's MACs (forwarding on).
        peer_mac, backend_mac = peer.mac("eth0"), backend.mac("eth0")
        backend.ip("-6", "neigh", "replace", HOP6, "lladdr", peer_mac, "dev", "eth0", "nud", "permanent")
        backend.sysctl("net.ipv6.conf.eth0.forwarding", 1)

        listener = lab.spawn(backend, [sys.executable, "-c", LISTENER, VIP4, VIP6, PORT],
                             stdout=subprocess.PIPE, text=True)
        assert read_line(listener) == "listening"
        loader.attach(backend, "eth0")
        with Wire(peer, "eth0") as wire:
            yield types.SimpleNamespace(peer=peer, backend=backend, wire=wire, listener=listener,
                                        peer_mac=peer_mac, backend_mac=backend_mac,
                                        stats=lambda: loader.stats(backend, "eth0"),
                                        attach=lambda: loader.attach(backend, "eth0"),
                                        detach=lambda: loader.run(backend, "detach", "--iface", "eth0",
                                                                  check=True))


def read_line(proc, timeout=10.0):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the listener printed nothing in {timeout:.0f} s"
    line = proc.stdout.readline()
    assert line, f"the listener ended ({proc.poll()})"
    return line.strip()


def delta(after, before):
    """Changed counters, but for the peer's neighbour discovery and ARP (not_gue) and their sum."""
    return {k: after[k] - before[k] for k in after if after[k] != before[k] and k not in ("packets", "not_gue")}


def frame(lab, inner, hops=(HOP6,), **kw):
    return frames.gue_frame(inner, hops, src=PEER6, dst=BACKEND6, eth_dst=lab.backend_mac,
                            eth_src=lab.peer_mac, **kw)


def inner_tcp(v, sport, flags, seq=1000, ack=0):
    ip = IP(src=CLIENT4, dst=VIP4) if v == 4 else IPv6(src=CLIENT6, dst=VIP6)
    opts = [("MSS", 1400)] if flags == "S" else []
    return ip / TCP(sport=sport, dport=PORT, flags=flags, seq=seq, ack=ack, window=8192, options=opts)


def tcp_to_client(v, sport, flags):
    """Keeps the backend's direct (unencapsulated) reply to the client's port with these flags."""
    ethertype = b"\x08\x00" if v == 4 else b"\x86\xdd"

    def keep(data):
        if data[12:14] != ethertype:
            return False
        pkt = Ether(data)
        return TCP in pkt and pkt[TCP].sport == PORT and pkt[TCP].dport == sport and str(pkt[TCP].flags) == flags
    return keep


def is_forwarded_gue(data):
    if data[12:14] != b"\x86\xdd":
        return False
    pkt = Ether(data)
    return pkt[IPv6].dst == HOP6 and pkt[IPv6].nh == 17


@pytest.mark.parametrize("v", [4, 6])
def test_new_connection_is_taken_locally_and_accepted_by_the_listener(lab, v):
    """A SYN in IPv6 GUE reaches the listener on the VIP (its SYN-ACK goes straight to
    the client); the ACK, in GUE too, completes the handshake: accept() returns."""
    before = lab.stats()
    sport, isn = next(_ports), 7000
    lab.wire.drain()
    lab.wire.send([frame(lab, inner_tcp(v, sport, "S", seq=isn), (HOP6, HOP6))])
    synack = lab.wire.receive(count=1, timeout=5, keep=tcp_to_client(v, sport, "SA"))
    assert synack, "no SYN-ACK from the VIP"
    reply = Ether(synack[0])
    assert reply[IP if v == 4 else IPv6].src == (VIP4 if v == 4 else VIP6)
    assert reply[TCP].ack == isn + 1

    ack = inner_tcp(v, sport, "A", seq=isn + 1, ack=reply[TCP].seq + 1)
    lab.wire.send([frame(lab, ack)])
    line = read_line(lab.listener).split()
    assert line[0] == "accepted" and line[2] == str(sport), line
    assert socket.inet_pton(socket.AF_INET if v == 4 else socket.AF_INET6, line[1]) == \
        socket.inet_pton(socket.AF_INET if v == 4 else socket.AF_INET6, CLIENT4 if v == 4 else CLIENT6)
    assert delta(lab.stats(), before) == {"accepted_syn": 1, "accepted_established": 1}


@pytest.mark.parametrize("v", [4, 6])
def test_packet_of_an_unknown_flow_is_forwarded_to_the_next_ipv6_hop(lab, v):
    before = lab.stats()
    inner = inner_tcp(v, next(_ports), "PA", ack=5) / b"payload"
    sent = frame(lab, inner, (HOP6,), tc=0x20, fl=0x12345)
    lab.wire.drain()
    lab.wire.send([sent])
    got = lab.wire.receive(count=1, timeout=5, keep=is_forwarded_gue)
    assert got, "nothing forwarded to the next hop"
    out = got[0]
    # Exactly what was sent, but: MACs from the FIB, outer src = the backend, dst = the hop,
    # next_hop 1, and the UDP checksum that goes with it (hop limit, class, flow label kept).
    expected = frames.gue_frame(inner, (HOP6,), next_hop=1, src=BACKEND6, dst=HOP6, tc=0x20, fl=0x12345,
                                eth_dst=lab.peer_mac, eth_src=lab.backend_mac)
    assert out.hex() == expected.hex()
    assert v6prog.udp_checksum_is_valid(out) and v6prog.udp_checksum_is_valid(sent)
    assert Ether(out)[IPv6].hlim == 64
    assert delta(lab.stats(), before) == {"forwarded": 1, "forward_fib_ok": 1}


@pytest.mark.parametrize("hops, next_hop, skipped", [((HOP6,), 1, False), ((BACKEND6,), 0, True)])
def test_hop_list_exhausted_is_taken_locally(lab, hops, next_hop, skipped):
    """No hop left (or only this host): taken locally, and the backend's stack answers
    the stray segment with a reset, straight to the client."""
    before = lab.stats()
    sport = next(_ports)
    lab.wire.drain()
    lab.wire.send([frame(lab, inner_tcp(4, sport, "A", ack=5), hops, next_hop=next_hop)])
    assert lab.wire.receive(count=1, timeout=5, keep=tcp_to_client(4, sport, "R")), "no RST from the VIP"
    expected = {"accepted_last_resort": 1}
    if skipped:
        expected["forwarded_skipped_self"] = 1
    assert delta(lab.stats(), before) == expected


def test_private_type_of_the_other_family_is_a_counted_drop(lab):
    before = lab.stats()
    syn = inner_tcp(4, next(_ports), "S")
    lab.wire.send([frame(lab, syn, priv_type=0), frame(lab, syn, (), priv_type=0), frame(lab, syn, priv_type=7)])
    assert delta(lab.stats(), before) == {"drop_bad_private_type": 3}


def test_truncated_frames_are_counted_drops(lab):
    """Every cut of a GUE frame after the UDP header: a counted drop, and the program
    goes on taking whole frames."""
    whole = frame(lab, inner_tcp(6, next(_ports), "A", ack=5), (HOP6, HOP6))
    cuts = [whole[:n] for n in range(v6prog.GUE_OFF, len(whole))]
    before = lab.stats()
    lab.wire.send(cuts)
    assert delta(lab.stats(), before) == {"drop_truncated": len(cuts)}
    sport = next(_ports)
    lab.wire.drain()
    lab.wire.send([frame(lab, inner_tcp(6, sport, "S"))])
    assert lab.wire.receive(count=1, timeout=5, keep=tcp_to_client(6, sport, "SA"))


def test_without_glb_redirect_the_backend_refuses_the_tunnel(lab):
    """Negative control: detached, the same SYN reaches only the backend's UDP stack,
    which answers port unreachable; the listener never sees it."""
    sport = next(_ports)
    sent = frame(lab, inner_tcp(6, sport, "S"))
    lab.detach()
    try:
        lab.wire.drain()
        lab.wire.send([sent])

        def answer(data):
            if tcp_to_client(6, sport, "SA")(data):
                return True
            pkt = Ether(data)
            return ICMPv6DestUnreach in pkt and pkt[ICMPv6DestUnreach].code == 4
        got = lab.wire.receive(count=1, timeout=5, keep=answer)
        assert got, "neither a SYN-ACK nor port unreachable"
        error = Ether(got[0])
        assert ICMPv6DestUnreach in error, "a SYN-ACK without glb-redirect"
        assert error[IPv6].src == BACKEND6
        assert bytes(error[ICMPv6DestUnreach].payload)[:48] == sent[14:14 + 48]
    finally:
        lab.attach()
    lab.wire.drain()
    lab.wire.send([sent])
    assert lab.wire.receive(count=1, timeout=5, keep=tcp_to_client(6, sport, "SA"))
