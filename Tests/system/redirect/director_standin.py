#!/usr/bin/env python3
"""A stand-in for glb-director in end-to-end tests of glb-redirect.

Every IPv4 packet to the VIP that arrives on --iface, addressed to this host's MAC,
leaves again GUE-encapsulated as the director sends it (docs/design.md §3): outer
IPv4 (id 0, DF, TTL 64) from --src to the route's primary / UDP to port 19523,
checksum 0 / GUE (version 0, hlen = 1 + hops, protocol 4) / GLB private data
(type 0, next_hop 0, hop_count) / the hop list / the original IP packet. Unlike
the director it does no hashing: every flow takes the one route in the route file.

The route file is JSON, {"primary": "10.0.0.11", "hops": ["10.0.0.12"]}, read at
start and again on SIGUSR1. After each (re)load the stand-in prints
"route PRIMARY [HOP ...]" on stdout, so a test knows when the switch is done;
"ready" follows the first one, once the packet socket is open.

    PYTHONPATH=python director_standin.py --iface eth0 --vip 192.0.2.80 --src 10.0.0.2 \\
        --route route.json --neighbor 10.0.0.11=02:00:00:00:00:11 ...
"""

import argparse
import json
import signal
import socket
import struct
import sys
import zlib

from glbtools.frames import gue_frame

ETH_P_IP = 0x0800
PACKET_HOST = 0


class Route:
    def __init__(self, path, neighbors):
        self.path = path
        self.neighbors = neighbors
        self.load()

    def load(self):
        with open(self.path) as f:
            doc = json.load(f)
        primary, hops = doc["primary"], list(doc.get("hops", []))
        if primary not in self.neighbors:
            raise SystemExit(f"director_standin: no --neighbor for primary {primary}")
        self.primary, self.hops = primary, hops
        self.primary_mac = self.neighbors[primary]
        print("route", primary, *hops, flush=True)


def encapsulate(inner, route, src_ip, src_mac):
    # The flow's source port in the outer UDP header spreads flows over a NIC's queues.
    ihl = (inner[0] & 0x0F) * 4
    flow = inner[12:20] + bytes([inner[9]]) + inner[ihl:ihl + 4]
    sport = 0x8000 | (zlib.crc32(flow) & 0x7FFF)
    return gue_frame(inner, route.hops, src=src_ip, dst=route.primary, eth_dst=route.primary_mac, eth_src=src_mac, sport=sport)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iface", required=True)
    p.add_argument("--vip", required=True)
    p.add_argument("--src", required=True, help="outer source address (this host's)")
    p.add_argument("--route", required=True, help="route file (JSON)")
    p.add_argument("--neighbor", action="append", default=[], metavar="IP=MAC",
                   help="MAC address of a backend (primary or hop)")
    args = p.parse_args()

    neighbors = {}
    for item in args.neighbor:
        ip, _, mac = item.partition("=")
        neighbors[ip] = mac
    route = Route(args.route, neighbors)
    signal.signal(signal.SIGUSR1, lambda *_: route.load())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((args.iface, ETH_P_IP))
    src_mac = sock.getsockname()[4].hex(":")
    vip = socket.inet_aton(args.vip)
    print("ready", flush=True)

    while True:
        frame, addr = sock.recvfrom(65535)
        if addr[2] != PACKET_HOST or len(frame) < 34:
            continue
        ip = frame[14:]
        if ip[0] >> 4 != 4 or ip[16:20] != vip:
            continue
        total = struct.unpack_from("!H", ip, 2)[0]
        # The IP packet as long as its own length says: Ethernet padding is not copied.
        sock.send(encapsulate(ip[:total], route, args.src, src_mac))


if __name__ == "__main__":
    main()
