"""The glb-redirect loader (Sources/glb-redirect) run as operators run it: attach,
status, stats and detach on a veth in a network namespace, from other processes and
under `ip netns exec`, re-attaching, moving between the tcx and clsact hooks, and every
error it must explain.

What the loader did is checked with tc, bpftool and BPF_PROG_QUERY, not only with its
own output.
Topology (one test's own namespaces, see python/glbtools/netns.py):

    peer  eth0 10.0.0.1/24  <-- veth -->  backend  eth0 10.0.0.2/24, VIP on lo
"""

import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
import types

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.packet import Raw

from glbtools.shell import wait_for
from glbtools import netns
from glbtools import counters
from glbtools.frames import GUE_PORT, gue_frame
from glbtools.redirect import (
    GLB_REDIRECT_MAPS,
    TC_HANDLE,
    TC_PRIORITY,
    bpftool,
    check_exposition,
    compile_bpf,
    config_bytes,
    counters_from_bpftool,
    has_clsact,
    parse_exposition,
    prog_exists,
    prog_maps,
    slot_programs,
    snmp,
    tcx_programs,
)
from glbtools.repo import ROOT as REPO

VIP = "192.0.2.10"
CLIENT = "198.51.100.7"
PEER_IP = "10.0.0.1"
BACKEND_IP = "10.0.0.2"
IFACE = "eth0"
ETH_P_ALL = 0x0003

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, BPF)")


@pytest.fixture
def hosts():
    """peer <-> backend over one veth (IPv6 off, as in every lab namespace: no background
    traffic moves the counters behind a test's back)."""
    netns.reap_stale()
    with netns.Lab() as lab:
        peer, backend = lab.netns("peer"), lab.netns("backend")
        lab.veth(peer, IFACE, backend, IFACE, offloads=False)
        peer.ip("addr", "add", f"{PEER_IP}/24", "dev", IFACE)
        backend.ip("addr", "add", f"{BACKEND_IP}/24", "dev", IFACE)
        backend.ip("addr", "add", f"{VIP}/32", "dev", "lo")
        backend.ip("route", "add", "default", "via", PEER_IP)
        yield types.SimpleNamespace(lab=lab, peer=peer, backend=backend,
                                    backend_mac=backend.mac(IFACE), peer_mac=peer.mac(IFACE))


HOOKS = ["tcx", "clsact"]


def only_program(ns, hook="tcx"):
    """The id of glb-redirect's program on `hook`; fails unless it is the only program on
    the interface's ingress, on either hook."""
    filters, on_tcx = slot_programs(ns, IFACE), tcx_programs(ns, IFACE)
    if hook == "tcx":
        assert filters == [] and len(on_tcx) == 1, (filters, on_tcx)
        prog_id, name = on_tcx[0]
        assert name == "glb_redirect"
        return prog_id
    assert on_tcx == [] and len(filters) == 1, (filters, on_tcx)
    handle, prio, prog_id, name = filters[0]
    assert (handle, prio, name) == (TC_HANDLE, TC_PRIORITY, "glb_redirect")
    return prog_id


def wait_gone(prog_id):
    wait_for(lambda: not prog_exists(prog_id), f"program {prog_id} to be freed", timeout=10)


# --------------------------------------------------------------------------
# Traffic
# --------------------------------------------------------------------------

def udp_datagram(dport, payload):
    """The inner packet of most tests: client to VIP, UDP from port 40000."""
    return IP(src=CLIENT, dst=VIP, id=0, flags="DF") / UDP(sport=40000, dport=dport) / Raw(payload)


class Sender:
    """Frames into the backend's eth0 from the peer, through a packet socket."""

    def __init__(self, hosts):
        self.hosts = hosts
        with netns.entered(hosts.peer):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((IFACE, 0))

    def gue_udp(self, payload, dport=5000, port=GUE_PORT):
        self.sock.send(gue_frame(udp_datagram(dport, payload), src=PEER_IP, dst=BACKEND_IP,
                                 eth_dst=self.hosts.backend_mac, eth_src=self.hosts.peer_mac, port=port))

    def close(self):
        self.sock.close()


def udp_listener(hosts, port=5000):
    """A UDP socket on the backend's VIP, with room for every test datagram."""
    with netns.entered(hosts.backend):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    SO_RCVBUFFORCE = 33
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    sock.bind((VIP, port))
    return sock


def drain(sock, timeout=1.0):
    """Every datagram until none arrives for `timeout` seconds."""
    sock.settimeout(timeout)
    out = []
    try:
        while True:
            out.append(sock.recv(2048))
    except socket.timeout:
        return out


# --------------------------------------------------------------------------
# Attach, inspect, detach
# --------------------------------------------------------------------------

@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("attach_via,inspect_via", [("exec", "nsenter"), ("nsenter", "exec")])
def test_attach_status_stats_detach_across_processes(loader, hosts, attach_via, inspect_via, hook):
    ns = hosts.backend
    status, rc = loader.status(ns, IFACE, via=inspect_via)
    assert rc == 3 and status == {"interface": IFACE, "attached": False}

    res = loader.attach(ns, IFACE, "--hook", hook, via=attach_via)
    prog_id = only_program(ns, hook)
    assert f"(id {prog_id})" in res.stdout
    # tcx needs no qdisc; glb-redirect adds clsact only to attach there.
    assert has_clsact(ns, IFACE) == (hook == "clsact")

    # Another process, in the namespace by ip netns exec (private /sys) or by setns only.
    status, rc = loader.status(ns, IFACE, via=inspect_via)
    assert rc == 0
    assert status["attached"] is True
    assert status["prog_id"] == prog_id
    assert status["prog_name"] == "glb_redirect"
    assert status["hook"] == hook
    slot = (TC_HANDLE, TC_PRIORITY) if hook == "clsact" else (None, None)
    assert (status["tc_handle"], status["tc_priority"]) == slot
    assert status["gue_port"] == GUE_PORT and status["netns_id"] is None
    assert list(status["counters"]) == counters.names()

    text = loader.run(ns, "status", "--iface", IFACE, via=inspect_via, check=True).stdout
    assert f"glb-redirect on {IFACE}: attached" in text
    assert f"id {prog_id}" in text and "GUE port 19523" in text

    stats = loader.stats(ns, IFACE, via=inspect_via)
    assert list(stats) == counters.names()

    res = loader.run(ns, "detach", "--iface", IFACE, via=inspect_via, check=True)
    assert f"(id {prog_id})" in res.stdout
    assert slot_programs(ns, IFACE) == [] and tcx_programs(ns, IFACE) == []
    assert not has_clsact(ns, IFACE), "detach must remove the clsact qdisc it no longer needs"
    wait_gone(prog_id)
    assert loader.status(ns, IFACE, via=attach_via)[1] == 3


def test_stats_count_traffic_as_bpftool_reads_the_map(loader, hosts):
    ns = hosts.backend
    loader.attach(ns, IFACE)
    prog_id = only_program(ns)
    listener = udp_listener(hosts)
    sender = Sender(hosts)
    try:
        for i in range(25):
            sender.gue_udp(b"datagram %d" % i)
        hosts.peer.run("ping", "-c", "3", "-i", "0.2", "-W", "2", BACKEND_IP)
        received = drain(listener, timeout=0.5)
    finally:
        sender.close()
        listener.close()
    assert received == [b"datagram %d" % i for i in range(25)]

    stats = loader.stats(ns, IFACE)
    raw = counters_from_bpftool(prog_id)
    # The program leaves the two sums to readers; stats adds them up as the header says.
    assert raw["packets"] == raw["forwarded"] == 0
    assert stats == counters.with_sums(raw)
    assert stats["accepted_udp_socket"] == 25
    assert stats["not_gue"] >= 3  # the pings, and ARP

    text = loader.run(ns, "status", "--iface", IFACE, check=True).stdout
    passed = stats["not_gue"] + stats["outer_fragment"] + stats["not_for_this_host"]
    assert (f"{stats['packets']} packets: 25 accepted, 0 forwarded, {passed} passed, 0 dropped") in text

    table = loader.run(ns, "stats", "--iface", IFACE, check=True).stdout.splitlines()
    assert [line.split()[0] for line in table] == counters.names()
    assert re.match(r"accepted_udp_socket\s+25\s+decapsulated: ", table[counters.names().index("accepted_udp_socket")])


def test_stats_for_the_textfile_collector(loader, hosts):
    """stats --format prometheus: the same counters as --json, arranged so that sums mean
    something (every packet in exactly one outcome), and accepted by promtool."""
    ns = hosts.backend
    loader.attach(ns, IFACE)
    received = send_gue(hosts, 7, b"datagram")
    assert len(received) == 7
    # No traffic moves the counters between the two readings (IPv6 is off in the lab).
    text = loader.run(ns, "stats", "--iface", IFACE, "--format", "prometheus", check=True).stdout
    stats = loader.stats(ns, IFACE)
    check_exposition(text)
    samples, types = parse_exposition(text)

    def sample(name, **labels):
        return samples[(name, frozenset({"iface": IFACE, **labels}.items()))]

    assert types == {"glb_redirect_attached": "gauge", "glb_redirect_packets_total": "counter",
                     "glb_redirect_forwarded_packets_total": "counter",
                     "glb_redirect_skipped_self_hops_total": "counter"}
    assert sample("glb_redirect_attached") == 1
    outcomes = {dict(labels)["outcome"]: v for (name, labels), v in samples.items()
                if name == "glb_redirect_packets_total"}
    assert list(outcomes) == [n for n in counters.names() if n != "packets" and n not in counters.details()]
    assert outcomes == {n: stats[n] for n in outcomes}
    assert outcomes["accepted_udp_socket"] == 7
    assert sum(outcomes.values()) == stats["packets"]
    assert sample("glb_redirect_forwarded_packets_total", path="fib") == stats["forward_fib_ok"]
    assert sample("glb_redirect_forwarded_packets_total", path="neigh") == stats["forward_neigh_fallback"]
    assert sample("glb_redirect_skipped_self_hops_total") == stats["forwarded_skipped_self"]
    assert len(samples) == 1 + len(outcomes) + 2 + 1

    # --format json is --json; --format text is the default.
    assert json.loads(loader.run(ns, "stats", "--iface", IFACE, "--format", "json", check=True).stdout) == stats
    plain = loader.run(ns, "stats", "--iface", IFACE, check=True).stdout
    assert loader.run(ns, "stats", "--iface", IFACE, "--format", "text", check=True).stdout == plain


def test_stats_for_the_textfile_collector_without_the_program(loader, hosts):
    """Not attached: a file that says so (for an alert) and status 3, as `status` gives; the
    interface's name escaped as a label value."""
    ns = hosts.backend
    odd = 'q"x\\y'  # a double quote and a backslash: both legal in an interface name
    ns.ip("link", "add", odd, "type", "veth", "peer", "name", "q1")
    res = loader.run(ns, "stats", "--iface", odd, "--format", "prometheus")
    assert res.returncode == 3, res.stderr
    assert 'glb_redirect_attached{iface="q\\"x\\\\y"} 0\n' in res.stdout
    check_exposition(res.stdout)
    samples, _ = parse_exposition(res.stdout)
    assert samples == {("glb_redirect_attached", frozenset({("iface", odd)})): 0}

    loader.attach(ns, odd)
    text = loader.run(ns, "stats", "--iface", odd, "--format", "prometheus", check=True).stdout
    check_exposition(text)
    samples, _ = parse_exposition(text)
    assert samples[("glb_redirect_attached", frozenset({("iface", odd)}))] == 1
    assert all(dict(labels)["iface"] == odd for _, labels in samples)


def test_stats_formats_that_contradict_each_other(loader, hosts):
    res = loader.run(hosts.backend, "stats", "--iface", IFACE, "--json", "--format", "prometheus")
    assert res.returncode != 0 and "--json and --format prometheus contradict each other" in res.stderr, res.stderr
    res = loader.run(hosts.backend, "stats", "--iface", IFACE, "--format", "yaml")
    assert res.returncode != 0 and "--format" in res.stderr, res.stderr


@pytest.mark.parametrize("hook", HOOKS)
def test_reattach_replaces_the_program_in_place(loader, hosts, hook):
    ns = hosts.backend
    loader.attach(ns, IFACE, "--hook", hook)
    first = only_program(ns, hook)
    res = loader.attach(ns, IFACE, "--hook", hook, "--gue-port", "4000")
    second = only_program(ns, hook)
    assert second != first
    assert f"replacing id {first}" in res.stdout
    assert config_bytes(second) == struct.pack("<HHi", 4000, 0, 0)
    wait_gone(first)
    loader.run(ns, "detach", "--iface", IFACE, check=True)
    assert not has_clsact(ns, IFACE) and tcx_programs(ns, IFACE) == []


@pytest.mark.parametrize("start,move_to", [("clsact", "tcx"), ("tcx", "clsact")])
def test_attach_moves_the_program_between_hooks(loader, hosts, start, move_to):
    """Attaching on the other hook leaves one glb-redirect program, on the new hook, and
    no clsact qdisc that only glb-redirect used."""
    ns = hosts.backend
    loader.attach(ns, IFACE, "--hook", start)
    old = only_program(ns, start)
    res = loader.attach(ns, IFACE, "--hook", move_to)
    new = only_program(ns, move_to)
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"attached glb_redirect (id {new}) to {IFACE} "
                               + ("tcx ingress" if move_to == "tcx" else "tc clsact ingress"))
    assert lines[1].startswith(f"detached glb_redirect (id {old}) from {IFACE} {start}"), lines
    assert has_clsact(ns, IFACE) == (move_to == "clsact")
    wait_gone(old)
    status, _ = loader.status(ns, IFACE)
    assert status["hook"] == move_to and status["prog_id"] == new


def test_reattach_loses_no_packet(loader, hosts):
    """GUE datagrams sent while the program is replaced five times, on the same hook and
    moving between tcx and clsact, all arrive: had there been a moment without the
    program, the stack would have dropped the still encapsulated datagrams (nothing
    listens on the GUE port)."""
    ns = hosts.backend
    loader.attach(ns, IFACE)
    listener = udp_listener(hosts)
    sender = Sender(hosts)
    received = []
    stop = threading.Event()
    sent = [0]

    def send():
        while not stop.is_set():
            sender.gue_udp(b"%d" % sent[0])
            sent[0] += 1
            time.sleep(0.0002)

    def receive():
        received.extend(drain(listener, timeout=2.0))

    receiver = threading.Thread(target=receive)
    receiver.start()
    thread = threading.Thread(target=send)
    thread.start()
    ids, during = [], []
    try:
        for hook in ("tcx", "clsact", "clsact", "tcx", "tcx"):
            before = sent[0]
            loader.attach(ns, IFACE, "--hook", hook)
            during.append(sent[0] - before)
            ids.append(only_program(ns, hook))
        time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
        receiver.join()
        sender.close()
        listener.close()
    assert len(set(ids)) == 5
    assert all(n > 0 for n in during), f"datagrams sent during each re-attach: {during}"
    assert received == [b"%d" % i for i in range(sent[0])]


def test_headers_beyond_the_linear_data_are_read_all_the_same(loader, hosts):
    """A packet socket builds a frame of a page or more as an skb whose linear data is only
    the Ethernet header, the rest in page fragments; a veth hands it on like that, so
    the program sees the outer and inner headers only through bpf_skb_load_bytes(). Such
    a GUE datagram is still decapsulated and delivered whole, and a GUE segment for an
    unknown flow is still forwarded to its next hop with only the outer header changed."""
    peer, backend = hosts.peer, hosts.backend
    for ns in (peer, backend):
        ns.ip("link", "set", IFACE, "mtu", "9000")
    loader.attach(backend, IFACE)
    listener = udp_listener(hosts)
    with netns.entered(peer):
        tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    tap.bind((IFACE, 0))
    sender = Sender(hosts)
    big = bytes(range(256)) * 20  # 5120 bytes
    try:
        sender.gue_udp(big)
        listener.settimeout(2.0)
        received = listener.recv(65535)

        # An ACK of a connection nobody here knows.
        inner = IP(src=CLIENT, dst=VIP, id=0, flags="DF") / TCP(sport=40001, dport=80, flags="A", seq=1000,
                                                                 ack=2000, window=8192) / Raw(big)
        sent = gue_frame(inner, (PEER_IP,), src=PEER_IP, dst=BACKEND_IP, eth_dst=hosts.backend_mac,
                         eth_src=hosts.peer_mac)
        sender.sock.send(sent)
        # Forwarded back to the hop: the outer addresses swapped, next_hop 1.
        expected = gue_frame(inner, (PEER_IP,), next_hop=1, src=BACKEND_IP, dst=PEER_IP,
                             eth_dst=hosts.peer_mac, eth_src=hosts.backend_mac)[14:]
        tap.settimeout(2.0)
        forwarded = None
        while forwarded is None:
            frame, addr = tap.recvfrom(65535)
            if addr[2] != socket.PACKET_OUTGOING and frame[14:] == bytes(expected):
                forwarded = frame
    finally:
        tap.close()
        sender.close()
        listener.close()
    assert received == big
    assert forwarded[:12] == bytes.fromhex(hosts.peer_mac.replace(":", "") + hosts.backend_mac.replace(":", ""))
    stats = loader.stats(backend, IFACE)
    assert stats["accepted_udp_socket"] == 1
    assert stats["forwarded"] == 1
    assert stats["drop_truncated"] == 0 and stats["forward_error"] == 0 and stats["decap_error"] == 0


@pytest.mark.parametrize("args,expected", [
    ([], (GUE_PORT, 0, 0)),
    (["--gue-port", "4000"], (4000, 0, 0)),
    (["--netns-id", "7"], (GUE_PORT, 1, 7)),
    (["--gue-port", "65535", "--netns-id", "0"], (65535, 1, 0)),
])
def test_settings_are_written_to_the_config_map(loader, hosts, args, expected):
    ns = hosts.backend
    if "--netns-id" in args:
        # The id must name a namespace the backend's namespace knows (the veth's peer has
        # one already, 0); otherwise give a namespace of its own that id.
        nsid = args[args.index("--netns-id") + 1]
        if f"nsid {nsid} " not in ns.ip("netns", "list-id").stdout:
            ns.ip("netns", "set", hosts.lab.netns("other").name, nsid)
    loader.attach(ns, IFACE, *args)
    prog_id = only_program(ns)
    assert config_bytes(prog_id) == struct.pack("<HHi", *expected)
    status, _ = loader.status(ns, IFACE)
    assert status["gue_port"] == expected[0]
    assert status["netns_id"] == (expected[2] if expected[1] else None)


def test_the_program_uses_the_gue_port_it_was_given(loader, hosts):
    loader.attach(hosts.backend, IFACE, "--gue-port", "4000")
    listener = udp_listener(hosts)
    sender = Sender(hosts)
    try:
        sender.gue_udp(b"to 4000", port=4000)
        sender.gue_udp(b"to 19523", port=GUE_PORT)
        received = drain(listener, timeout=0.5)
    finally:
        sender.close()
        listener.close()
    assert received == [b"to 4000"]
    stats = loader.stats(hosts.backend, IFACE)
    assert stats["accepted_udp_socket"] == 1
    assert stats["not_gue"] >= 1


def test_embedded_program_is_the_one_scripts_build(loader, hosts, tmp_path):
    """The binary's built-in object and scripts/build-bpf's output load as the same
    instructions (bpftool's tag is a hash of them)."""
    built = tmp_path / "glb_redirect.o"
    subprocess.run(["bash", str(REPO / "scripts" / "build-bpf"), str(built)], check=True)
    ns = hosts.backend
    loader.attach(ns, IFACE)
    embedded_tag = prog_tag(only_program(ns))
    loader.attach(ns, IFACE, "--object", built)
    assert prog_tag(only_program(ns)) == embedded_tag


def prog_tag(prog_id):
    return bpftool("prog", "show", "id", prog_id)["tag"]


def test_detach_keeps_a_clsact_qdisc_that_other_filters_use(loader, hosts, tmp_path):
    ns = hosts.backend
    loader.attach(ns, IFACE, "--hook", "clsact")
    obj = compile_bpf(tmp_path, "other", OTHER)
    ns.run("tc", "filter", "add", "dev", IFACE, "egress", "prio", "1", "bpf", "da", "obj", obj, "sec", "tc")
    res = loader.run(ns, "detach", "--iface", IFACE, check=True)
    assert "kept the clsact qdisc" in res.stdout
    assert has_clsact(ns, IFACE)
    assert slot_programs(ns, IFACE) == []


def test_verbose_attach_shows_what_libbpf_did(loader, hosts):
    quiet = loader.attach(hosts.backend, IFACE)
    assert quiet.stderr == ""
    res = loader.attach(hosts.backend, IFACE, "--verbose")
    assert "libbpf: map 'glb_config': created successfully" in res.stderr
    assert "libbpf: map 'glb_counters': created successfully" in res.stderr


def test_detach_can_keep_an_empty_clsact_qdisc(loader, hosts):
    ns = hosts.backend
    loader.attach(ns, IFACE, "--hook", "clsact")
    loader.run(ns, "detach", "--iface", IFACE, "--keep-qdisc", check=True)
    assert has_clsact(ns, IFACE)
    assert slot_programs(ns, IFACE) == []


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def assert_fails(res, *phrases, code=1):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    for phrase in phrases:
        assert phrase in res.stderr, (phrase, res.stderr)


def assert_untouched(ns):
    assert slot_programs(ns, IFACE) == [] and tcx_programs(ns, IFACE) == []
    assert not has_clsact(ns, IFACE)


@pytest.mark.parametrize("command", ["attach", "detach", "status", "stats"])
def test_missing_interface(loader, hosts, command):
    res = loader.run(hosts.backend, command, "--iface", "nosuch0")
    assert_fails(res, "no interface named 'nosuch0' in this network namespace")


def test_missing_object_file(loader, hosts, tmp_path):
    missing = tmp_path / "nothing-here.o"
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, "--object", missing)
    assert_fails(res, f"program object '{missing}' not found")
    assert_untouched(hosts.backend)


def test_a_file_that_is_not_an_ebpf_object(loader, hosts, tmp_path):
    bogus = tmp_path / "bogus.o"
    bogus.write_text("not an ELF file\n")
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, "--object", bogus)
    assert_fails(res, f"{bogus}: not a usable eBPF object")
    assert_untouched(hosts.backend)


def test_nothing_attached(loader, hosts):
    ns = hosts.backend
    for command in ("detach", "stats"):
        res = loader.run(ns, command, "--iface", IFACE)
        assert_fails(res, f"glb-redirect is not attached to {IFACE}")
    res = loader.run(ns, "status", "--iface", IFACE)
    assert res.returncode == 3 and res.stdout.strip() == f"glb-redirect on {IFACE}: not attached"
    assert_untouched(ns)


NO_CAPS = ("setpriv", "--bounding-set=-all", "--inh-caps=-all")


@pytest.mark.parametrize("hook", HOOKS)
def test_without_privileges(loader, hosts, hook):
    ns = hosts.backend
    res = loader.run(ns, "attach", "--iface", IFACE, "--hook", hook, wrap=NO_CAPS)
    assert_fails(res, "operation not permitted", "needs root, or CAP_BPF and CAP_NET_ADMIN")
    assert_untouched(ns)

    loader.attach(ns, IFACE, "--hook", hook)
    prog_id = only_program(ns, hook)
    for command in ("status", "stats"):
        res = loader.run(ns, command, "--iface", IFACE, wrap=NO_CAPS)
        assert_fails(res, "needs root, or CAP_SYS_ADMIN")
    res = loader.run(ns, "detach", "--iface", IFACE, wrap=NO_CAPS)
    assert_fails(res, "needs root, or CAP_NET_ADMIN")
    assert only_program(ns, hook) == prog_id


def caps(*names):
    return ("setpriv", "--bounding-set=-all" + "".join(f",+{n}" for n in names), "--inh-caps=-all")


@pytest.mark.parametrize("hook,detach_caps", [("tcx", ("net_admin", "sys_admin")), ("clsact", ("net_admin",))])
def test_with_only_the_documented_capabilities(loader, hosts, hook, detach_caps):
    """attach: CAP_BPF and CAP_NET_ADMIN; status: CAP_SYS_ADMIN; detach: CAP_NET_ADMIN,
    and CAP_SYS_ADMIN on tcx, where only the program's name tells it from others."""
    ns = hosts.backend
    loader.attach(ns, IFACE, "--hook", hook, wrap=caps("bpf", "net_admin"))
    prog_id = only_program(ns, hook)
    status, rc = loader.status(ns, IFACE, wrap=caps("sys_admin"))
    assert rc == 0 and status["prog_id"] == prog_id
    if hook == "tcx":
        res = loader.run(ns, "detach", "--iface", IFACE, wrap=caps("net_admin"))
        assert_fails(res, "needs root, or CAP_NET_ADMIN, and CAP_SYS_ADMIN whenever the tcx hook holds programs")
    loader.run(ns, "detach", "--iface", IFACE, check=True, wrap=caps(*detach_caps))
    assert_untouched(ns)


OTHER = 'SEC("tc") int other_prog(struct __sk_buff *skb) { return 0; }'

# Reads past the packet without a bounds check: the verifier must refuse it.
REJECTED = GLB_REDIRECT_MAPS + """
SEC("tc") int glb_redirect(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	return data[100];
}
"""


def test_verifier_rejection_saves_the_log(loader, hosts, tmp_path):
    obj = compile_bpf(tmp_path, "rejected", REJECTED)
    log = tmp_path / "verifier.log"
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, "--object", obj, "--verifier-log", log)
    assert_fails(res, "the kernel's verifier rejected the program", f"the verifier log is in {log}")
    assert "invalid access to packet" in log.read_text()
    assert_untouched(hosts.backend)


def test_verifier_log_goes_to_a_new_file_by_default(loader, hosts, tmp_path):
    obj = compile_bpf(tmp_path, "rejected", REJECTED)
    logs = tmp_path / "logs"
    logs.mkdir()
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, "--object", obj,
                     wrap=("env", f"TMPDIR={logs}"))
    assert_fails(res, "the kernel's verifier rejected the program")
    path = re.search(r"the verifier log is in (\S+)", res.stderr).group(1)
    assert os.path.dirname(path) == str(logs)
    assert re.fullmatch(r"glb-redirect-verifier-\w{6}\.log", os.path.basename(path))
    assert "invalid access to packet" in open(path).read()


def test_an_object_without_btf_is_not_called_missing(loader, hosts, tmp_path):
    """libbpf answers ENOENT for maps declared without BTF (clang without -g); the file
    is there, so the error must say what is wrong with it."""
    obj = compile_bpf(tmp_path, "no_btf", GLB_REDIRECT_MAPS
                      + 'SEC("tc") int glb_redirect(struct __sk_buff *skb) { return 0; }', btf=False)
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, "--object", obj)
    assert_fails(res, f"{obj}: not a usable eBPF object", "BTF is required")
    assert "not found" not in res.stderr
    assert_untouched(hosts.backend)


def test_an_object_without_the_program(loader, hosts, tmp_path):
    obj = compile_bpf(tmp_path, "other", GLB_REDIRECT_MAPS + OTHER)
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, "--object", obj)
    assert_fails(res, "no program named glb_redirect")
    assert_untouched(hosts.backend)


def test_another_program_in_the_slot_is_left_alone(loader, hosts, tmp_path):
    ns = hosts.backend
    obj = compile_bpf(tmp_path, "other", OTHER)
    ns.run("tc", "qdisc", "add", "dev", IFACE, "clsact")
    ns.run("tc", "filter", "add", "dev", IFACE, "ingress", "prio", str(TC_PRIORITY),
           "handle", hex(TC_HANDLE), "bpf", "da", "obj", obj, "sec", "tc")
    before = slot_programs(ns, IFACE)
    assert [name for *_, name in before] == ["other_prog"]
    for command in (("attach", "--hook", "clsact"), ("detach",), ("stats",), ("status",)):
        res = loader.run(ns, *command, "--iface", IFACE)
        assert_fails(res, "runs program 'other_prog'", "not glb_redirect")
    assert slot_programs(ns, IFACE) == before and tcx_programs(ns, IFACE) == []

    # On tcx, glb-redirect runs beside it, and comes and goes without touching it.
    loader.attach(ns, IFACE)
    assert [name for _, name in tcx_programs(ns, IFACE)] == ["glb_redirect"]
    status, rc = loader.status(ns, IFACE)
    assert rc == 0 and status["hook"] == "tcx"
    loader.run(ns, "detach", "--iface", IFACE, check=True)
    assert slot_programs(ns, IFACE) == before and tcx_programs(ns, IFACE) == []


# Drops every frame, and counts what it sees in map `seen`.
DROP_ALL = """
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
SEC("tc") int drop_all(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&seen, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return 2; /* TC_ACT_SHOT */
}
"""


def frames_seen(prog_id):
    """Entry 0 of the drop-all program's `seen` map."""
    value = bpftool("map", "lookup", "id", prog_maps(prog_id)["seen"], "key", 0, 0, 0, 0)["value"]
    return value if isinstance(value, int) else int.from_bytes(bytes(int(b, 16) for b in value), "little")


def send_gue(hosts, count, text):
    """`count` GUE datagrams to the VIP's socket ("TEXT 0", "TEXT 1", …): the ones that arrived."""
    listener = udp_listener(hosts)
    sender = Sender(hosts)
    try:
        for i in range(count):
            sender.gue_udp(b"%s %d" % (text, i))
        return drain(listener, timeout=0.5)
    finally:
        sender.close()
        listener.close()


def send_gue_and_ping(hosts):
    """Five GUE datagrams to the VIP's socket and two pings to the backend: the datagrams
    that arrived, and whether the pings were answered."""
    received = send_gue(hosts, 5, b"through")
    ping = hosts.peer.run("ping", "-c", "2", "-i", "0.2", "-W", "1", BACKEND_IP, check=False)
    return received, ping.returncode == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_traffic_that_is_not_glb_redirects_still_reaches_later_filters(loader, hosts, tmp_path, hook):
    """A packet glb-redirect does not take gets no verdict from it (TC_ACT_UNSPEC), so a
    clsact filter that runs after it still sees the packet, as it would without
    glb-redirect: a filter dropping everything, at a priority after glb-redirect's slot,
    sees and stops the pings (and ARP). The GUE datagrams glb-redirect takes are its to
    deliver: they arrive."""
    ns = hosts.backend
    loader.attach(ns, IFACE, "--hook", hook)
    if hook == "tcx":
        ns.run("tc", "qdisc", "add", "dev", IFACE, "clsact")
    obj = compile_bpf(tmp_path, "drop_all", DROP_ALL)
    ns.run("tc", "filter", "add", "dev", IFACE, "ingress", "prio", str(TC_PRIORITY + 1),
           "bpf", "da", "obj", obj, "sec", "tc")
    drop_all = [prog_id for _, prio, prog_id, name in slot_programs(ns, IFACE) if name == "drop_all"]
    assert len(drop_all) == 1

    received, answered = send_gue_and_ping(hosts)
    assert received == [b"through %d" % i for i in range(5)]
    assert not answered
    stats = loader.stats(ns, IFACE)
    assert stats["accepted_udp_socket"] == 5 and stats["not_gue"] >= 2
    # Everything glb-redirect passed on, and nothing it took.
    assert frames_seen(drop_all[0]) == stats["not_gue"]


@pytest.fixture(scope="module")
def tcx_attach(tmp_path_factory):
    """Tests/system/redirect/tcx_attach.c, built: attaches a program last on a tcx hook."""
    out = tmp_path_factory.mktemp("tcx_attach") / "tcx_attach"
    subprocess.run(["clang", "-O2", "-Wall", "-Werror", "-o", str(out),
                    str(REPO / "Tests" / "system" / "redirect" / "tcx_attach.c"), "-lbpf"], check=True)
    return out


def test_other_programs_on_the_tcx_hook_keep_theirs(loader, hosts, tmp_path, tcx_attach):
    """Another tool's tcx program: glb-redirect goes before it, hands it every packet that
    is not glb-redirect's, is replaced and detached without touching it, and needs
    CAP_SYS_ADMIN to tell its own program from it."""
    ns = hosts.backend
    ns.run(tcx_attach, IFACE, compile_bpf(tmp_path, "drop_all", DROP_ALL))
    [(other, name)] = tcx_programs(ns, IFACE)
    assert name == "drop_all"

    loader.attach(ns, IFACE)
    first = tcx_programs(ns, IFACE)
    assert [name for _, name in first] == ["glb_redirect", "drop_all"]
    received, answered = send_gue_and_ping(hosts)
    assert received == [b"through %d" % i for i in range(5)] and not answered
    stats = loader.stats(ns, IFACE)
    assert frames_seen(other) == stats["not_gue"] >= 2

    res = loader.attach(ns, IFACE, "--gue-port", "4000")
    second = tcx_programs(ns, IFACE)
    assert [name for _, name in second] == ["glb_redirect", "drop_all"]
    assert second[1][0] == other and second[0][0] != first[0][0]
    assert f"replacing id {first[0][0]}" in res.stdout

    res = loader.run(ns, "attach", "--iface", IFACE, wrap=caps("bpf", "net_admin"))
    assert_fails(res, "needs root, or CAP_SYS_ADMIN as well")
    assert tcx_programs(ns, IFACE) == second

    loader.run(ns, "detach", "--iface", IFACE, check=True)
    assert tcx_programs(ns, IFACE) == [(other, "drop_all")]
    assert loader.status(ns, IFACE)[1] == 3


def test_a_second_glb_redirect_program_on_tcx_is_tidied_away(loader, hosts, tmp_path, tcx_attach):
    """Two glb_redirect programs on the hook (one attached by hand, say): attach replaces the
    first and removes the other, and detach would have removed both."""
    ns = hosts.backend
    built = tmp_path / "glb_redirect.o"
    subprocess.run(["bash", str(REPO / "scripts" / "build-bpf"), str(built)], check=True)
    loader.attach(ns, IFACE)
    ns.run(tcx_attach, IFACE, built)
    (first, _), (second, _) = tcx_programs(ns, IFACE)
    status, _ = loader.status(ns, IFACE)
    assert status["prog_id"] == first

    res = loader.attach(ns, IFACE)
    new = only_program(ns)
    assert res.stdout.splitlines()[1:] == [f"detached glb_redirect (id {second}) from {IFACE} tcx ingress"]
    assert f"replacing id {first}" in res.stdout.splitlines()[0]

    ns.run(tcx_attach, IFACE, built)
    (_, _), (third, _) = tcx_programs(ns, IFACE)
    res = loader.run(ns, "detach", "--iface", IFACE, check=True)
    assert res.stdout.splitlines() == [f"detached glb_redirect (id {new}) from {IFACE} tcx ingress",
                                       f"detached glb_redirect (id {third}) from {IFACE} tcx ingress"]
    assert tcx_programs(ns, IFACE) == []


@pytest.fixture(scope="module")
def blast(tmp_path_factory):
    """benchmarks/redirect/blast.c, built: one frame, sent over and over at full speed."""
    out = tmp_path_factory.mktemp("blast") / "blast"
    subprocess.run(["clang", "-O2", "-Wall", "-Werror", "-o", str(out),
                    str(REPO / "benchmarks" / "redirect" / "blast.c")], check=True)
    return out


def veth_tx_dropped(ns):
    link = json.loads(ns.ip("-s", "-j", "link", "show", "dev", IFACE).stdout)[0]
    return link["stats64"]["tx"]["dropped"]


def test_replacing_under_full_load_leaves_no_gap(loader, hosts, blast, tmp_path):
    """GUE datagrams at the sender's full speed while the program is replaced twelve
    times, on its hook and across hooks. A datagram that met no program would reach UDP
    port 19523, where nothing listens, and count in the backend's NoPorts: none does, and
    every datagram sent is accounted for, delivered to the VIP's socket or dropped by the
    veth before the backend saw it. Datagrams arrive during every single replacement."""
    ns = hosts.backend
    loader.attach(ns, IFACE)
    # The kernel counts a datagram in InDatagrams when it is read, in RcvbufErrors when the
    # socket's queue is full: a small queue, drained at the end, accounts for every one.
    with netns.entered(ns):
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    listener.bind((VIP, 5000))
    frame = tmp_path / "gue.bin"
    frame.write_bytes(gue_frame(udp_datagram(5000, bytes(18)), src=PEER_IP, dst=BACKEND_IP,
                                eth_dst=hosts.backend_mac, eth_src=hosts.peer_mac))

    def delivered():
        udp = snmp(ns, "Udp")
        return udp["InDatagrams"] + udp["RcvbufErrors"]

    udp_before, dropped_before = snmp(ns, "Udp"), veth_tx_dropped(hosts.peer)
    # Sends until stopped (SIGTERM), then reports what it sent.
    sender = subprocess.Popen(hosts.peer.cmd("taskset", "-c", "0", blast, IFACE, frame, "600"),
                              stdout=subprocess.PIPE, text=True)
    during = []
    try:
        start = delivered()
        wait_for(lambda: delivered() > start, "GUE datagrams to arrive", timeout=10)
        for hook in ["tcx", "tcx", "clsact", "clsact"] * 3:
            before = delivered()
            loader.attach(ns, IFACE, "--hook", hook)
            during.append(delivered() - before)
        sender.terminate()
        sent = int(sender.communicate(timeout=30)[0].split()[0])
        drain(listener, timeout=0.5)
    finally:
        sender.kill()
        sender.wait()
        listener.close()
    udp_after, dropped = snmp(ns, "Udp"), veth_tx_dropped(hosts.peer) - dropped_before
    delta = {k: udp_after[k] - udp_before[k] for k in udp_after}
    assert all(n > 0 for n in during), f"datagrams delivered during each attach: {during}"
    assert delta["NoPorts"] == 0 and delta["InCsumErrors"] == 0, delta
    assert delta["InDatagrams"] + delta["RcvbufErrors"] + dropped == sent, (delta, dropped, sent)


@pytest.mark.parametrize("args,phrase", [
    (["--gue-port", "0"], "--gue-port must be between 1 and 65535"),
    (["--gue-port", "65536"], "--gue-port"),
    (["--gue-port", "http"], "--gue-port"),
    (["--netns-id=-1"], "--netns-id must be 0 or more"),
    (["--netns-id", "-5"], "--netns-id must be 0 or more"),
    (["--netns-id", "99999"], "--netns-id 99999: no network namespace has this id here (ids: 0;"),
])
def test_bad_arguments(loader, hosts, args, phrase):
    res = loader.run(hosts.backend, "attach", "--iface", IFACE, *args)
    assert res.returncode != 0 and phrase in res.stderr, res.stderr
    assert_untouched(hosts.backend)


def test_help_explains_every_flag(loader, hosts):
    flags = {
        "attach": ["--iface", "--gue-port", "--netns-id", "--hook", "--object", "--verifier-log", "--verbose"],
        "detach": ["--iface", "--keep-qdisc"],
        "status": ["--iface", "--json"],
        "stats": ["--iface", "--format", "--json"],
    }
    top = loader.run(hosts.backend, "--help")
    assert top.returncode == 0 and "GUE" in top.stdout and "second chance" in top.stdout
    for command, names in flags.items():
        res = loader.run(hosts.backend, command, "--help")
        assert res.returncode == 0
        options = res.stdout[res.stdout.index("OPTIONS:"):]
        for name in names:
            # "  --flag <value>   What it does." (or "  --flag   What it does.")
            assert re.search(rf"^  {name}( <[a-z]+>)? +\w+", options, re.M), (command, name, options)
