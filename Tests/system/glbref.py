"""An independent Python model of GLB's hashing and table format (docs/design.md §4, §5), used to
check the Swift implementation from the outside."""
import ipaddress
import struct

MASK = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & MASK


def siphash24(key: bytes, msg: bytes) -> int:
    """SipHash-2-4 as in the paper; returns the 64-bit value whose little-endian bytes are the output."""
    k0, k1 = struct.unpack("<QQ", key)
    v0, v1, v2, v3 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & MASK; v1 = _rotl(v1, 13); v1 ^= v0; v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & MASK; v3 = _rotl(v3, 16); v3 ^= v2
            v0 = (v0 + v3) & MASK; v3 = _rotl(v3, 21); v3 ^= v0
            v2 = (v2 + v1) & MASK; v1 = _rotl(v1, 17); v1 ^= v2; v2 = _rotl(v2, 32)

    end = len(msg) - len(msg) % 8
    for i in range(0, end, 8):
        m = struct.unpack_from("<Q", msg, i)[0]
        v3 ^= m; rounds(2); v0 ^= m
    b = (len(msg) & 0xFF) << 56
    for i, c in enumerate(msg[end:]):
        b |= c << (8 * i)
    v3 ^= b; rounds(2); v0 ^= b
    v2 ^= 0xFF; rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


class Table:
    def __init__(self, backends, binds, hash_key, rows):
        self.backends, self.binds, self.hash_key, self.rows = backends, binds, hash_key, rows


def read_table_file(path):
    """Parses a binary forwarding table file (format v2)."""
    return read_table(open(path, "rb").read())


def read_table(data):
    """Parses a binary forwarding table (format v2) from its bytes."""
    assert data[:4] == b"GLBD"
    version, ntables, entries, maxb, maxbinds = struct.unpack_from("<5I", data, 4)
    assert (version, entries, maxb, maxbinds) == (2, 65536, 256, 256)
    off, tables = 24, []
    for _ in range(ntables):
        (nb,) = struct.unpack_from("<I", data, off); off += 4
        backends = []
        for i in range(256):
            fam, addr, state, health = struct.unpack_from("<I16sHH", data, off); off += 24
            if i < nb:
                ip = ipaddress.ip_address(addr[:4] if fam == 1 else addr)
                backends.append((ip, state, health))
        (nbinds,) = struct.unpack_from("<I", data, off); off += 4
        binds = []
        for i in range(256):
            fam, addr, bits, ps, pe, proto, _ = struct.unpack_from("<I16sHHHBB", data, off); off += 28
            if i < nbinds:
                binds.append((ipaddress.ip_address(addr[:4] if fam == 1 else addr), bits, ps, pe, proto))
        key = data[off:off + 16]; off += 16
        rows = list(struct.iter_unpack("<II", data[off:off + 65536 * 8])); off += 65536 * 8
        tables.append(Table(backends, binds, key, rows))
    assert off == len(data)
    return tables


def packet_hash(key, fields, src, dst, sport, dport):
    msg = b""
    if fields.get("src_addr"): msg += ipaddress.ip_address(src).packed
    if fields.get("dst_addr"): msg += ipaddress.ip_address(dst).packed
    if fields.get("src_port"): msg += struct.pack(">H", sport)
    if fields.get("dst_port"): msg += struct.pack(">H", dport)
    return siphash24(key, msg)


def route(table, h):
    p, s = table.rows[h & 0xFFFF]
    return table.backends[p][0], table.backends[s][0]
