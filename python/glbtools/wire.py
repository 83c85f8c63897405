"""Raw Ethernet frames on an interface inside a namespace: send a list, collect what comes
back, without scapy's sniffer threads (whose sockets would open in the wrong namespace)."""
import select
import socket
import struct
import time

from .netns import entered

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Wire:
    def __init__(self, ns, ifname):
        with entered(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.ifname = ifname

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def drain(self):
        """Discards what is queued."""
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv(65536)

    def send(self, frames, gap=0.0):
        for f in frames:
            self.sock.send(bytes(f))
            if gap:
                time.sleep(gap)

    def receive(self, count=None, timeout=3.0, keep=None):
        """Frames received (not our own sends) that `keep` accepts: until `count` have
        arrived or `timeout` seconds passed; without `count`, all that arrive within
        `timeout` (to show that nothing does)."""
        got = []
        deadline = time.monotonic() + timeout
        while (count is None or len(got) < count) and time.monotonic() < deadline:
            if not select.select([self.sock], [], [], 0.05)[0]:
                continue
            data, addr = self.sock.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING and (keep is None or keep(data)):
                got.append(data)
        return got


def is_gue(frame: bytes, port=19523) -> bool:
    """An IPv4/UDP frame to the GUE port."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    ihl = (frame[14] & 0x0F) * 4
    return struct.unpack(">H", frame[14 + ihl + 2:14 + ihl + 4])[0] == port
