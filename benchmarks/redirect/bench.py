#!/usr/bin/env python3
"""Packet rate through a backend's veth with and without glb-redirect attached.

Started by benchmarks/redirect/run, which builds glb-redirect and the blast sender.

    gen  eth0 10.0.0.1 ──veth── eth0 10.0.0.2  backend  eth1 10.0.1.2 ──veth── eth0 10.0.1.3  sink
                                VIP 192.0.2.10 on lo, a UDP socket          a tc filter drops
                                on VIP:5000 that nobody reads               everything

blast (pinned to one CPU) sends one frame as fast as it can into gen's eth0; the
veth delivers it to the backend in the sender's own softirq, so the rate is that
CPU's rate for sending a frame and for the backend's whole receive path. The
sender's share is the same in A and B (bar the frame's size), so B/A understates
what the program costs the receive path alone. The comparisons, each as A (without)
/ B (with):

  local    A: plain UDP to VIP:5000, no program
           B: the same datagram GUE-wrapped to the backend, glb-redirect attached
              (on tcx, where `attach` puts it on this kernel): socket lookup and
              decapsulation, then the same delivery
           rate = datagrams that reached the UDP socket (InDatagrams + RcvbufErrors)
  pass     plain UDP to VIP:5000 without / with the program: its cost on traffic
           that is not GUE; rate as for local
  forward  A: a GUE packet addressed to the sink, routed by the backend's kernel
           B: a GUE packet to the backend with hop list [sink] and an inner TCP ACK
              that no local socket owns: glb-redirect rewrites it and sends it on
              (bpf_fib_lookup + bpf_redirect)
           rate = frames the sink's eth0 received
  local TCP  A: a bare ACK of an established connection (CLIENT:port -> VIP:80)
           B: the same segment GUE-wrapped: the program finds the connection's socket
              (bpf_skc_lookup_tcp) and decapsulates it
           rate = segments the backend's TCP received (InSegs); the ACK is a duplicate
           that the connection takes on its fast path and answers with nothing
  local, clsact  local with glb-redirect attached as a clsact filter (--hook clsact,
           what kernels before 6.6 get)
  floor    plain UDP to VIP:5000 without any program / with a program that only
           returns TC_ACT_OK, on tcx and on clsact (a direct-action filter): what
           any program on that hook costs, a reference for the others

A has no program and no clsact qdisc: a backend without glb-redirect has neither, so
the hook's cost is part of what glb-redirect costs the backend.

Runs alternate A and B (ABBA order), each `--seconds` long, `--rounds` times; the
medians and the ratio B/A are printed. Nothing is asserted: this machine is shared
and small, so the ratio means more than the absolute rates.
"""

import argparse
import json
import os
import socket
import statistics
import struct
import sys
import tempfile
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from glbtools import netns
from glbtools.frames import gue_frame
from glbtools.redirect import GLB_REDIRECT_MAPS, Loader, compile_bpf, snmp

VIP, CLIENT = "192.0.2.10", "198.51.100.7"
GEN_IP, BACKEND_IP, BACKEND_IP1, SINK_IP = "10.0.0.1", "10.0.0.2", "10.0.1.2", "10.0.1.3"
MACS = {"gen": "02:47:4c:00:01:01", "backend": "02:47:4c:00:01:02",
        "backend1": "02:47:4c:00:01:12", "sink": "02:47:4c:00:01:03"}
PAYLOAD = bytes(18)  # inner UDP datagram of 64 bytes on the wire, as a minimal frame

# The tcx floor's program is attached with glb-redirect itself (Debian 12's tools predate
# tcx): so it has glb-redirect's name and maps, and does nothing with them.
DO_NOTHING = 'SEC("tc") int %s(struct __sk_buff *skb) { return %s; }'


def frames():
    plain_udp = IP(src=CLIENT, dst=VIP, id=0, flags="DF") / UDP(sport=40000, dport=5000) / Raw(PAYLOAD)
    # An ACK of a connection the backend does not know.
    ack = IP(src=CLIENT, dst=VIP, id=0, flags="DF") / TCP(sport=40000, dport=80, flags="A", seq=1000, ack=2000,
                                                         window=8192)
    macs = dict(eth_dst=MACS["backend"], eth_src=MACS["gen"])
    return {
        "plain_udp": bytes(Ether(dst=MACS["backend"], src=MACS["gen"]) / plain_udp),
        "gue_udp": gue_frame(plain_udp, src=GEN_IP, dst=BACKEND_IP, **macs),
        "gue_to_sink": gue_frame(ack, src=GEN_IP, dst=SINK_IP, **macs),
        "gue_via_backend": gue_frame(ack, (SINK_IP,), src=GEN_IP, dst=BACKEND_IP, **macs),
    }


class Bench:
    def __init__(self, lab, loader, blast, workdir, cpu):
        self.lab, self.loader, self.blast, self.cpu = lab, loader, Path(blast), cpu
        self.workdir = Path(workdir)
        self.gen, self.backend, self.sink = lab.netns("gen"), lab.netns("backend"), lab.netns("sink")
        lab.veth(self.gen, "eth0", self.backend, "eth0", offloads=False)
        lab.veth(self.backend, "eth1", self.sink, "eth0", offloads=False)
        self.gen.ip("link", "set", "eth0", "address", MACS["gen"])
        self.backend.ip("link", "set", "eth0", "address", MACS["backend"])
        self.backend.ip("link", "set", "eth1", "address", MACS["backend1"])
        self.sink.ip("link", "set", "eth0", "address", MACS["sink"])
        self.gen.ip("addr", "add", f"{GEN_IP}/24", "dev", "eth0")
        self.backend.ip("addr", "add", f"{BACKEND_IP}/24", "dev", "eth0")
        self.backend.ip("addr", "add", f"{BACKEND_IP1}/24", "dev", "eth1")
        self.backend.ip("addr", "add", f"{VIP}/32", "dev", "lo")
        self.backend.ip("route", "add", "default", "via", GEN_IP)
        self.backend.ip("neigh", "replace", SINK_IP, "lladdr", MACS["sink"], "dev", "eth1", "nud", "permanent")
        self.backend.sysctl("net.ipv4.ip_forward", 1)
        self.sink.ip("addr", "add", f"{SINK_IP}/24", "dev", "eth0")

        self.sink.run("tc", "qdisc", "add", "dev", "eth0", "clsact")
        self.sink.run("tc", "filter", "add", "dev", "eth0", "ingress", "bpf", "da",
                      "obj", self.tc_program("drop_all", "TC_ACT_SHOT"), "sec", "tc")
        self.pass_all = self.tc_program("pass_all", "TC_ACT_OK")
        self.pass_all_as_glb_redirect = self.tc_program("glb_redirect", "TC_ACT_OK", GLB_REDIRECT_MAPS)
        self.program = None

        # The socket is held here and never read: a full queue still counts every datagram
        # that reached it (RcvbufErrors), which is the path being measured.
        with netns.entered(self.backend):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((VIP, 5000))

        all_frames = frames()
        all_frames.update(self.tcp_connection())
        self.frame_files = {}
        for name, frame in all_frames.items():
            path = self.workdir / f"{name}.bin"
            path.write_bytes(frame)
            self.frame_files[name] = path

    def tcp_connection(self):
        """Opens a TCP connection from CLIENT (on gen) to VIP:80 (on the backend) and returns
        frames of a bare ACK in it, plain and GUE-wrapped, as the client would send it next.
        Without timestamps and window scaling the ACK is 20 bytes of header with the window
        the client advertised, which is what the backend's fast path predicts."""
        self.gen.sysctl("net.ipv4.tcp_timestamps", 0)
        self.gen.sysctl("net.ipv4.tcp_window_scaling", 0)
        self.gen.ip("addr", "add", f"{CLIENT}/32", "dev", "eth0")
        self.gen.ip("route", "add", f"{VIP}/32", "via", BACKEND_IP, "src", CLIENT)
        with netns.entered(self.backend):
            self.tcp_listener = socket.socket()
        self.tcp_listener.bind((VIP, 80))
        self.tcp_listener.listen()
        with netns.entered(self.gen):
            tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL: outgoing too
            self.tcp_client = socket.socket()
        tap.bind(("eth0", 0))
        tap.settimeout(5)
        self.tcp_client.bind((CLIENT, 0))
        self.tcp_client.connect((VIP, 80))
        self.tcp_server, _ = self.tcp_listener.accept()
        port = self.tcp_client.getsockname()[1]
        # The handshake as it went over gen's eth0: the client's last ACK carries seq, ack and
        # window; the socket has sent nothing since.
        last_ack = None
        while last_ack is None:
            frame = tap.recv(2048)
            ip = frame[14:]
            if frame[12:14] != b"\x08\x00" or ip[9] != 6 or ip[12:16] != socket.inet_aton(CLIENT):
                continue
            segment = ip[(ip[0] & 0x0F) * 4:]
            sport, dport, seq, ack, _, flags, window = struct.unpack("!HHIIBBH", segment[:16])
            if (sport, dport, flags) == (port, 80, 0x10):
                last_ack = (seq, ack, window)
        tap.close()
        seq, ack, window = last_ack
        segment = IP(src=CLIENT, dst=VIP, id=0, flags="DF") / TCP(sport=port, dport=80, flags="A", seq=seq, ack=ack,
                                                                   window=window)
        return {"tcp_ack": bytes(Ether(dst=MACS["backend"], src=MACS["gen"]) / segment),
                "gue_tcp_ack": gue_frame(segment, src=GEN_IP, dst=BACKEND_IP, eth_dst=MACS["backend"],
                                         eth_src=MACS["gen"])}

    def tc_program(self, name, verdict, maps=""):
        """A tc program that returns `verdict` for every frame, compiled; its object file."""
        return compile_bpf(self.workdir, name, maps + DO_NOTHING % (name, verdict))

    def use(self, program):
        """None, "glb-redirect" (tcx), "glb-redirect-clsact", "pass-all-tcx" or
        "pass-all-clsact" at the backend's eth0 ingress."""
        if program == self.program:
            return
        if self.program in ("glb-redirect", "glb-redirect-clsact", "pass-all-tcx"):
            self.loader.run(self.backend, "detach", "--iface", "eth0", check=True)
        elif self.program == "pass-all-clsact":
            self.backend.run("tc", "qdisc", "del", "dev", "eth0", "clsact")
        self.program = None
        if program == "glb-redirect":
            self.loader.attach(self.backend, "eth0", "--hook", "tcx")
        elif program == "glb-redirect-clsact":
            self.loader.attach(self.backend, "eth0", "--hook", "clsact")
        elif program == "pass-all-tcx":
            self.loader.attach(self.backend, "eth0", "--hook", "tcx", "--object", self.pass_all_as_glb_redirect)
        elif program == "pass-all-clsact":
            self.backend.run("tc", "qdisc", "add", "dev", "eth0", "clsact")
            self.backend.run("tc", "filter", "add", "dev", "eth0", "ingress", "bpf", "da",
                             "obj", self.pass_all, "sec", "tc")
        self.program = program

    def udp_reached(self):
        udp = snmp(self.backend, "Udp")
        return udp["InDatagrams"] + udp["RcvbufErrors"]

    def tcp_received(self):
        return snmp(self.backend, "Tcp")["InSegs"]

    def sink_received(self):
        link = json.loads(self.sink.ip("-s", "-j", "link", "show", "dev", "eth0").stdout)[0]
        return link["stats64"]["rx"]["packets"]

    def run_once(self, frame, counter, seconds):
        before = counter()
        out = self.gen.run("taskset", "-c", str(self.cpu), self.blast, "eth0", self.frame_files[frame],
                           seconds).stdout.split()
        sent, elapsed = int(out[0]), float(out[1])
        return (counter() - before) / elapsed, sent / elapsed


CASES = [
    # name, (frame A, program A), (frame B, program B), what is counted
    ("local: plain UDP / GUE-wrapped UDP, decapsulated", ("plain_udp", None), ("gue_udp", "glb-redirect"), "udp"),
    ("pass-through: plain UDP, no program / program", ("plain_udp", None), ("plain_udp", "glb-redirect"), "udp"),
    ("forward: kernel routing / glb-redirect to next hop", ("gue_to_sink", None), ("gue_via_backend", "glb-redirect"),
     "sink"),
    ("local TCP: plain ACK / GUE-wrapped ACK, established", ("tcp_ack", None), ("gue_tcp_ack", "glb-redirect"), "tcp"),
    ("local, clsact hook: plain UDP / GUE-wrapped UDP", ("plain_udp", None), ("gue_udp", "glb-redirect-clsact"), "udp"),
    ("floor, tcx: plain UDP, no program / do-nothing", ("plain_udp", None), ("plain_udp", "pass-all-tcx"), "udp"),
    ("floor, clsact: plain UDP, no program / do-nothing", ("plain_udp", None), ("plain_udp", "pass-all-clsact"), "udp"),
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--glb-redirect", required=True, help="the glb-redirect binary")
    p.add_argument("--blast", required=True, help="the blast sender binary")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=2.0, help="length of one run")
    p.add_argument("--cpu", type=int, default=0, help="CPU the sender (and so the receive path) runs on")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces, eBPF)")

    netns.reap_stale()
    with tempfile.TemporaryDirectory(prefix="glb-redirect-bench-") as workdir, netns.Lab() as lab:
        bench = Bench(lab, Loader(args.glb_redirect), args.blast, workdir, args.cpu)
        counters = {"udp": bench.udp_reached, "sink": bench.sink_received, "tcp": bench.tcp_received}
        print(f"{args.rounds} rounds of {args.seconds:g} s per run, sender on CPU {args.cpu}, "
              f"frames {len(frames()['plain_udp'])}-{len(frames()['gue_via_backend'])} bytes\n")
        print(f"{'case':52} {'A pps':>10} {'B pps':>10} {'B/A':>6}   (sender pps A / B)")
        for name, a, b, counted in CASES:
            rates = {"A": [], "B": []}
            offered = {"A": [], "B": []}
            for r in range(args.rounds):
                order = (("A", a), ("B", b)) if r % 2 == 0 else (("B", b), ("A", a))
                for label, (frame, program) in order:
                    bench.use(program)
                    got, sent = bench.run_once(frame, counters[counted], args.seconds)
                    rates[label].append(got)
                    offered[label].append(sent)
            ma, mb = statistics.median(rates["A"]), statistics.median(rates["B"])
            print(f"{name:52} {ma:10.0f} {mb:10.0f} {mb / ma:6.2f}   "
                  f"({statistics.median(offered['A']):.0f} / {statistics.median(offered['B']):.0f})")
        bench.use(None)
        for sock in (bench.sock, bench.tcp_client, bench.tcp_server, bench.tcp_listener):
            sock.close()


if __name__ == "__main__":
    main()
