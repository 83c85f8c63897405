"""Path MTU discovery through the director with real kernels (issue 15): a TCP client uploads
20 MB to a backend through the live glb-director over an underlay whose MTU is 1,500 bytes.

    client ──1500── router ──1600── director (DPDK af_packet on eth0)
    10.80.0.10       │      10.82.0.2
                     └──1500── backend 10.81.0.11 (VIP on lo, glb-redirect on eth0)

The client sends full-size segments (1,500-byte IP packets) to the VIP; the router sends them
to the director, which encapsulates them (40 bytes more) back through the router to the
backend, whose link carries 1,500 bytes at most. The backend answers the client directly.

With tunnel_mtu 1500 the director answers each oversize segment with ICMP "fragmentation
needed", MTU 1460, from the VIP; the client's kernel lowers its path MTU and the upload
completes. Without it the director forwards 1,540-byte packets that the router cannot pass
(it counts them as FragFails and tells the director, which is not the sender), and the client
never learns anything: the upload stalls. Each run builds its namespaces anew, so the client's
kernel starts without a cached path MTU; TX checksum, TSO, GSO and GRO are off on every veth
so that the kernels send and forward the segments the test reasons about."""
import contextlib
import hashlib
import socket
import struct
import threading

import pytest

from glbdirector import Director, base_config, vdev
from glbtools.netns import Lab, entered
from glbtools.shell import wait_for

VIP, PORT = "10.100.0.1", 5001
CLIENT, ROUTER_CLIENT = "10.80.0.10", "10.80.0.1"
BACKEND, ROUTER_BACKEND = "10.81.0.11", "10.81.0.1"
DIRECTOR, ROUTER_DIRECTOR = "10.82.0.2", "10.82.0.1"
UPLOAD = 20 << 20
UNDERLAY_MTU = 1500
# The director's own link carries the encapsulated full-size segment, so that the router, not
# the director's veth, is where the underlay's limit shows (as on a real network).
DIRECTOR_LINK_MTU = 1600

# struct tcp_info (linux/tcp.h): tcpi_retransmits (u8), tcpi_pmtu and tcpi_total_retrans (u32).
TCPI_RETRANSMITS, TCPI_PMTU, TCPI_TOTAL_RETRANS = 2, 60, 100


def tcp_info(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return {"retransmits": raw[TCPI_RETRANSMITS], "pmtu": struct.unpack_from("I", raw, TCPI_PMTU)[0],
            "total_retrans": struct.unpack_from("I", raw, TCPI_TOTAL_RETRANS)[0]}


def link(lab, a, a_if, b, b_if, mtu):
    lab.veth(a, a_if, b, b_if, mtu=mtu, offloads=False)
    for ns, ifname in ((a, a_if), (b, b_if)):
        ns.run("ethtool", "-K", ifname, "gro", "off")


def snmp_ip(ns):
    lines = [line.split() for line in ns.run("cat", "/proc/net/snmp").stdout.splitlines() if line.startswith("Ip:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


class Topology:
    """The namespaces above, the backend's receiving server and the director."""

    def __init__(self, lab, bin_dir, workdir, tunnel_mtu):
        self.lab = lab
        self.client, self.router = lab.netns("client"), lab.netns("router")
        self.director_ns, self.backend = lab.netns("director"), lab.netns("backend")
        link(lab, self.client, "eth0", self.router, "r-client", UNDERLAY_MTU)
        link(lab, self.director_ns, "eth0", self.router, "r-dir", DIRECTOR_LINK_MTU)
        link(lab, self.backend, "eth0", self.router, "r-back", UNDERLAY_MTU)
        for ifname, address in (("r-client", ROUTER_CLIENT), ("r-dir", ROUTER_DIRECTOR), ("r-back", ROUTER_BACKEND)):
            self.router.ip("addr", "add", f"{address}/24", "dev", ifname)
        self.router.sysctl("net.ipv4.ip_forward", 1)
        for key in ("all", "default", "r-client", "r-dir", "r-back"):
            self.router.sysctl(f"net.ipv4.conf.{key}.send_redirects", 0)
            self.router.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)
        # The VIP is the director's to receive (as BGP would announce it).
        self.router.ip("route", "add", f"{VIP}/32", "via", DIRECTOR)

        self.client.ip("addr", "add", f"{CLIENT}/24", "dev", "eth0")
        self.client.ip("route", "add", "default", "via", ROUTER_CLIENT)
        # Path MTU discovery as shipped; no probing that could find a smaller MSS by itself.
        self.client.sysctl("net.ipv4.ip_no_pmtu_disc", 0)
        self.client.sysctl("net.ipv4.tcp_mtu_probing", 0)

        self.director_ns.ip("addr", "add", f"{DIRECTOR}/24", "dev", "eth0")

        self.backend.ip("addr", "add", f"{BACKEND}/24", "dev", "eth0")
        self.backend.ip("addr", "add", f"{VIP}/32", "dev", "lo")
        self.backend.ip("route", "add", "default", "via", ROUTER_BACKEND)
        self.backend.run(bin_dir / "glb-redirect", "attach", "--iface", "eth0")

        table = {"tables": [{
            "name": "upload",
            "hash_key": "00112233445566778899aabbccddeeff",
            "seed": "ffeeddccbbaa99887766554433221100",
            "binds": [{"ip": VIP, "proto": "tcp", "port": PORT}],
            "backends": [{"ip": BACKEND, "state": "active", "healthy": True}],
        }]}
        config = base_config(outbound_gateway_mac=self.router.mac("r-dir"), outbound_src_ip=DIRECTOR, idle_sleep_us=100)
        if tunnel_mtu:
            config["tunnel_mtu"] = tunnel_mtu
        self.director = Director(bin_dir, workdir, config, table, ns=self.director_ns,
                                 eal=[f"--vdev={vdev('af_packet', 'eth0')}"], metrics_port=9120)
        lab.callback(self.director.stop)

        with entered(self.backend):
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lab.callback(self.listener.close)
        self.listener.bind((VIP, PORT))
        self.listener.listen(1)
        self.received = 0
        self.digest = hashlib.sha256()
        self.server = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        conn, _ = self.listener.accept()
        # A reset (the stalled upload given up) ends it as well.
        with conn, contextlib.suppress(ConnectionResetError):
            while data := conn.recv(1 << 16):
                self.received += len(data)
                self.digest.update(data)
            conn.sendall(b"done")

    def start(self):
        self.director.start()
        self.server.start()
        return self

    def connect(self):
        with entered(self.client):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lab.callback(sock.close)
        sock.settimeout(60)
        sock.connect((VIP, PORT))
        return sock

    def outcome(self, name):
        m = self.director.metrics()
        return sum(v for k, v in m.items() if k.startswith("glb_director_packets_total{") and f'outcome="{name}"' in k)


@pytest.fixture
def topology(hugepages, bin_dir, tmp_path):
    def make(tunnel_mtu):
        lab = stack.enter_context(Lab())
        return Topology(lab, bin_dir, tmp_path / "director", tunnel_mtu).start()

    with contextlib.ExitStack() as stack:
        yield make


def upload_data():
    block = hashlib.sha256(b"path mtu upload").digest() * (1 << 15)  # 1 MiB
    return block * (UPLOAD // len(block))


def test_upload_completes_thanks_to_the_directors_answers(topology):
    """tunnel_mtu 1500: the 20 MB upload arrives whole; the client's kernel learned path MTU
    1460 for the VIP from the director's answers, and no oversize packet reached the underlay
    (the router's FragFails stays 0)."""
    t = topology(1500)
    data = upload_data()
    sock = t.connect()
    assert tcp_info(sock)["pmtu"] == UNDERLAY_MTU
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    answer = b"".join(iter(lambda: sock.recv(16), b""))
    assert answer == b"done", "the server did not read the upload to its end"
    assert tcp_info(sock)["pmtu"] == UNDERLAY_MTU - 40
    assert t.received == UPLOAD
    assert t.digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert "mtu 1460" in t.client.run("ip", "route", "get", VIP).stdout
    assert t.outcome("too_big_answered") > 0
    assert snmp_ip(t.router)["FragFails"] == 0


def test_upload_stalls_without_tunnel_mtu(topology):
    """The negative control, no tunnel_mtu: the director forwards the full-size segments, the
    router cannot pass them (FragFails) and nobody tells the client. Once the client has
    retransmitted its first segment three times on timeout, the server still has no byte of
    it, the client's path MTU is still 1500, and the director answered nothing."""
    t = topology(None)
    sock = t.connect()
    sender = threading.Thread(target=_send_quietly, args=(sock, upload_data()), daemon=True)
    sender.start()
    wait_for(lambda: tcp_info(sock)["retransmits"] >= 3, "three timeouts of the client's first segment", timeout=60)
    assert t.received == 0
    assert tcp_info(sock)["pmtu"] == UNDERLAY_MTU
    assert "mtu" not in t.client.run("ip", "route", "get", VIP).stdout.split()
    assert t.outcome("too_big_answered") == 0 and t.outcome("forwarded") > 0
    # The underlay dropped them: at least the first segment and its three retransmissions.
    assert snmp_ip(t.router)["FragFails"] >= 4
    # Give up: the reset is small enough to pass, so the server's side ends too.
    sock.shutdown(socket.SHUT_RDWR)
    sender.join(timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    t.server.join(timeout=10)
    assert not t.server.is_alive(), "the server did not see the client's reset"
    assert t.received == 0


def _send_quietly(sock, data):
    with contextlib.suppress(OSError):
        sock.sendall(data)
