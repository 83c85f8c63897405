"""An independent Python model of GLB's hashing, table format and compiler (docs/design.md §4, §5,
docs/table-format.md), used to check the Swift implementation from the outside."""
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


# --- The compiler's rows (docs/table-format.md, "How the rows are filled" and "Weights") ---

ROWS = 65536


def _log2_table():
    """L[k] = floor(2^32 * log2(1 + k/1024)) for k = 0..1023, and L[1024] = 2^32, by repeated
    squaring of x / 2^62 in [1, 2): each squaring yields one fraction bit of the logarithm."""
    table = []
    for k in range(1024):
        x, result = (1024 + k) << 52, 0
        for _ in range(32):
            x = (x * x) >> 62
            result <<= 1
            if x >= 1 << 63:
                result |= 1
                x >>= 1
        table.append(result)
    table.append(1 << 32)
    return table


LOG2_TABLE = _log2_table()


def exp_key(s):
    """E(s): -log2(1 - s / 2^64) in fixed point with 32 fraction bits."""
    if s == 0:
        return 0
    v = (1 << 64) - s
    z = 64 - v.bit_length()
    f = ((v << z) << 1) & MASK
    k, r = f >> 54, (f >> 32) & ((1 << 22) - 1)
    log = (63 - z) * (1 << 32) + LOG2_TABLE[k] + (((LOG2_TABLE[k + 1] - LOG2_TABLE[k]) * r) >> 22)
    return 64 * (1 << 32) - log


class Candidate:
    """A competing backend in one row: its position, its score s and E(s), state and health."""
    __slots__ = ("pos", "score", "exp", "state", "healthy")

    def __init__(self, pos, score, state, healthy):
        self.pos, self.score, self.exp = pos, score, exp_key(score)
        self.state, self.healthy = state, healthy


def rank_glb(cands, weights):
    """GLB's ranking: lowest score first, ties by position (weights ignored)."""
    return sorted(cands, key=lambda c: (c.score, c.pos))


def rank_weighted(cands, weights):
    """Weighted ranking by E(s) / w, compared as E(s_a) * w_b < E(s_b) * w_a; then by score,
    then by position. Only the first two are needed."""
    def before(a, b):
        ea, eb = a.exp * weights[b.pos], b.exp * weights[a.pos]
        if ea != eb:
            return ea < eb
        return (a.score, a.pos) < (b.score, b.pos)

    first = second = None
    for c in cands:
        if first is None or before(c, first):
            first, second = c, first
        elif second is None or before(c, second):
            second = c
    return [first] if second is None else [first, second]


def _pick(ranked):
    """Steps 3 and 4: primary and secondary, swapped when a draining or unhealthy primary has an
    active secondary."""
    p = ranked[0]
    s = ranked[1] if len(ranked) > 1 else p
    if (p.state == "draining" or not p.healthy) and s.state == "active":
        p, s = s, p
    return p.pos, s.pos


def compile_rows(table, rows=range(ROWS), rank=None):
    """The (primary, secondary) rows the compiler writes for one table of a forwarding_table.json
    (a dict from its "tables" list), for the given row indices. `rank` replaces the ranking
    (cands, weights) -> ordered candidates; by default GLB's ranking without weights and the
    weighted ranking with unequal weights or in a transition table."""
    seed = bytes.fromhex(table["seed"])
    backends = table["backends"]
    competing = [(i, b) for i, b in enumerate(backends) if b["state"] != "inactive"]
    addrs = [ipaddress.ip_address(b["ip"]).packed for _, b in competing]
    weights = {i: b.get("weight", 1) for i, b in competing}
    transition = any("previous_weight" in b for b in backends)
    previous = {i: b.get("previous_weight", b.get("weight", 1)) for i, b in competing}
    if rank is None:
        rank = rank_weighted if transition or len(set(weights.values())) > 1 else rank_glb

    out = []
    for row in rows:
        row_seed = struct.pack("<Q", siphash24(seed, struct.pack(">I", row)))
        cands = []
        for (pos, b), addr in zip(competing, addrs):
            # the 8 output bytes (little-endian value) read big-endian
            score = int.from_bytes(struct.pack("<Q", siphash24(seed, row_seed + addr)), "big")
            cands.append(Candidate(pos, score, b["state"], b.get("healthy") is True))
        p, s = _pick(rank(cands, weights))
        if transition:
            prev_p, _ = _pick(rank([c for c in cands if previous[c.pos] > 0], previous))
            if prev_p != p:
                s = prev_p
        out.append((p, s))
    return out
