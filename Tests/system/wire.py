"""Raw Ethernet frames on an interface inside a namespace: send a list, collect what comes
back, without scapy's sniffer threads (whose sockets would open in the wrong namespace)."""
import select
import socket
import struct
import time

from netns import entered

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

    def receive(self, count=None, timeout=3.0, keep=None, quiet=0.3):
        """Frames received (not our own sends) that `keep` accepts, until `count` arrived,
        or nothing came for `quiet` seconds after `timeout`... whichever first; `count`
        None collects until quiet."""
        got = []
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while count is None or len(got) < count:
            now = time.monotonic()
            if now > deadline or (count is None and now - last > quiet and got):
                break
            if count is None and now - last > max(quiet, timeout) :
                break
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if not r:
                continue
            data, addr = self.sock.recvfrom(65536)
            if addr[2] == PACKET_OUTGOING:
                continue
            if keep is None or keep(data):
                got.append(data)
                last = time.monotonic()
        return got


def is_gue(frame: bytes, port=19523) -> bool:
    """An IPv4/UDP frame to the GUE port."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    ihl = (frame[14] & 0x0F) * 4
    return struct.unpack(">H", frame[14 + ihl + 2:14 + ihl + 4])[0] == port
