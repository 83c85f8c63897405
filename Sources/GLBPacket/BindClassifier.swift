import GLBCore

/// Which table a packet belongs to, decided by its destination address, protocol and port.
///
/// Binds are grouped by prefix length and masked address into an open-addressing hash table.
/// A lookup tries the prefix lengths present, most specific first (a single /32 or /128 probe
/// when every bind is an exact address), and scans only the few binds of the matching address:
/// the narrowest port range wins, then the first table. The structure is built once per table
/// load and read without locks or allocation; each prefix length's mask is computed then, so
/// that a probe is two ANDs, one multiplication and a compare.
@frozen
public struct ClassifierView: @unchecked Sendable {
    /// Distinct prefix lengths with their masks, longest first.
    @usableFromInline let levels: UnsafePointer<ClassifierLevel>
    @usableFromInline let levelCount: Int
    @usableFromInline let slots: UnsafePointer<ClassifierSlot>
    /// A slot's index is the top bits of the key's product: 64 minus log2 of the slot count.
    @usableFromInline let slotShift: UInt64
    @usableFromInline let slotMask: Int
    @usableFromInline let entries: UnsafePointer<ClassifierEntry>

    @usableFromInline
    init(levels: UnsafePointer<ClassifierLevel>, levelCount: Int, slots: UnsafePointer<ClassifierSlot>, slotCount: Int,
         entries: UnsafePointer<ClassifierEntry>) {
        precondition(slotCount >= 2 && slotCount & (slotCount - 1) == 0, "the slot count is a power of two")
        self.levels = levels
        self.levelCount = levelCount
        self.slots = slots
        self.slotShift = UInt64(64 - slotCount.trailingZeroBitCount)
        self.slotMask = slotCount - 1
        self.entries = entries
    }

    /// The bind for a TCP/UDP destination. `hi`/`lo` is the address as a 128-bit big-endian
    /// number (IPv4: `lo` only).
    @inlinable @inline(__always)
    public func lookup(hi: UInt64, lo: UInt64, proto: UInt8, port: UInt16) -> BindMatch {
        var level = 0
        while level < levelCount {
            let s = find(hi: hi, lo: lo, level: levels[level])
            if s >= 0 {
                let slot = slots[s]
                var e = Int(slot.first)
                let end = e &+ Int(slot.count)
                while e < end {
                    let entry = entries[e]
                    if entry.proto == proto && port >= entry.portStart && port <= entry.portEnd {
                        return BindMatch(table: Int(entry.table), prefixLength: Int(slot.length))
                    }
                    e &+= 1
                }
            }
            level &+= 1
        }
        return .none
    }

    /// The bind for a packet without ports (ICMP echo): the most specific prefix holding the
    /// address, whatever the protocol and port range.
    @inlinable
    public func lookupAddress(hi: UInt64, lo: UInt64) -> BindMatch {
        var level = 0
        while level < levelCount {
            let s = find(hi: hi, lo: lo, level: levels[level])
            if s >= 0 {
                return BindMatch(table: Int(entries[Int(slots[s].first)].table), prefixLength: Int(slots[s].length))
            }
            level &+= 1
        }
        return .none
    }

    /// The table for a fragment that carries no port: found only when every bind holding the
    /// address with this protocol belongs to the same table.
    @inlinable
    public func lookupUnique(hi: UInt64, lo: UInt64, proto: UInt8) -> BindMatch {
        var found = BindMatch.none
        var level = 0
        while level < levelCount {
            let s = find(hi: hi, lo: lo, level: levels[level])
            if s >= 0 {
                let slot = slots[s]
                for e in Int(slot.first)..<Int(slot.first) + Int(slot.count) where entries[e].proto == proto {
                    let table = Int(entries[e].table)
                    if !found.isMatch {
                        found = BindMatch(table: table, prefixLength: Int(slot.length))
                    } else if found.table != table {
                        return .none
                    }
                }
            }
            level &+= 1
        }
        return found
    }

    /// The index of the slot of `level`'s prefix that holds the address, or -1 when no bind does.
    @inlinable @inline(__always)
    func find(hi: UInt64, lo: UInt64, level: ClassifierLevel) -> Int {
        let mh = hi & level.maskHi, ml = lo & level.maskLo
        var i = ClassifierView.slotIndex(hi: mh, lo: ml, length: level.length, shift: slotShift)
        while true {
            let slot = slots[i]
            if slot.length == level.length && slot.hi == mh && slot.lo == ml { return i }
            if slot.length == ClassifierSlot.empty { return -1 }
            i = (i &+ 1) & slotMask
        }
    }

    /// Keeps the first `length` bits of a `bits`-wide address (32 or 128).
    @inlinable @inline(__always)
    public static func mask(hi: UInt64, lo: UInt64, bits: Int, length: Int) -> (UInt64, UInt64) {
        if bits == 32 {
            let keep: UInt64 = length == 0 ? 0 : (0xffff_ffff &<< UInt64(32 &- length)) & 0xffff_ffff
            return (0, lo & keep)
        }
        if length == 0 { return (0, 0) }
        if length <= 64 { return (hi & (UInt64.max &<< UInt64(64 &- length)), 0) }
        return (hi, length == 128 ? lo : lo & (UInt64.max &<< UInt64(128 &- length)))
    }

    /// True when two `bits`-wide addresses agree on their first `length` bits. (Compares the
    /// halves one by one: comparing the tuples would go through the generic tuple `==` in
    /// unoptimised builds, which instantiates type metadata, an allocation, on first use.)
    @inlinable @inline(__always)
    static func samePrefix(hi a: UInt64, lo b: UInt64, hi c: UInt64, lo d: UInt64, bits: Int, length: Int) -> Bool {
        let (ah, al) = mask(hi: a, lo: b, bits: bits, length: length)
        let (ch, cl) = mask(hi: c, lo: d, bits: bits, length: length)
        return ah == ch && al == cl
    }

    /// Fibonacci hashing of the masked address and its length: the top bits of one product.
    @inlinable @inline(__always)
    static func slotIndex(hi: UInt64, lo: UInt64, length: UInt8, shift: UInt64) -> Int {
        let key = (hi &* 0xC2B2_AE3D_27D4_EB4F) ^ lo ^ (UInt64(length) &<< 56)
        return Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) &>> shift)
    }
}

/// One prefix length present in a classifier, with the masks that keep its bits of an address
/// (as `ClassifierView.mask`), computed when the classifier is built.
@frozen
public struct ClassifierLevel {
    @usableFromInline let maskHi: UInt64
    @usableFromInline let maskLo: UInt64
    @usableFromInline let length: UInt8

    init(bits: Int, length: Int) {
        (maskHi, maskLo) = ClassifierView.mask(hi: .max, lo: .max, bits: bits, length: length)
        self.length = UInt8(length)
    }
}

/// What the classifier found: the table of the bind, and the length of the prefix that matched
/// (an ICMP error must come from inside the same prefix), or no bind.
@frozen
public struct BindMatch: Equatable {
    /// The table's index; -1 for no match.
    public let table: Int
    public let prefixLength: Int

    @inlinable @inline(__always)
    init(table: Int, prefixLength: Int) {
        self.table = table
        self.prefixLength = prefixLength
    }

    @inlinable @inline(__always)
    public static var none: BindMatch { BindMatch(table: -1, prefixLength: 0) }

    @inlinable @inline(__always)
    public var isMatch: Bool { table >= 0 }
}

/// One masked address of one prefix length, and where its binds are.
@frozen
public struct ClassifierSlot {
    @usableFromInline var hi: UInt64
    @usableFromInline var lo: UInt64
    @usableFromInline var first: UInt32
    @usableFromInline var count: UInt16
    @usableFromInline var length: UInt8

    @usableFromInline static let empty: UInt8 = 0xff

    @usableFromInline
    init(hi: UInt64, lo: UInt64, first: UInt32, count: UInt16, length: UInt8) {
        self.hi = hi
        self.lo = lo
        self.first = first
        self.count = count
        self.length = length
    }
}

/// One bind at an address: protocol, port range and table.
@frozen
public struct ClassifierEntry {
    @usableFromInline var portStart: UInt16
    @usableFromInline var portEnd: UInt16
    @usableFromInline var table: UInt16
    @usableFromInline var proto: UInt8

    @usableFromInline
    init(portStart: UInt16, portEnd: UInt16, table: UInt16, proto: UInt8) {
        self.portStart = portStart
        self.portEnd = portEnd
        self.table = table
        self.proto = proto
    }
}

/// The address as the classifier's 128-bit big-endian number.
func classifierKey(_ address: IPAddress) -> (hi: UInt64, lo: UInt64) {
    let b = address.bytes.map(UInt64.init)
    if address.family == .ipv4 {
        return (0, b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3])
    }
    let hi = (0..<8).reduce(UInt64(0)) { $0 << 8 | b[$1] }
    let lo = (8..<16).reduce(UInt64(0)) { $0 << 8 | b[$1] }
    return (hi, lo)
}

/// Builds one family's classifier into memory owned by `arena`.
func buildClassifier(family: AddressFamily, tables: [CompiledTable], arena: inout PlaneArena) -> ClassifierView {
    struct Group {
        var hi: UInt64
        var lo: UInt64
        var length: Int
        var entries: [(entry: ClassifierEntry, order: Int)]
    }
    var groups: [String: Group] = [:]
    var groupOrder: [String] = []
    var order = 0
    for (t, table) in tables.enumerated() {
        for bind in table.binds where bind.address.family == family {
            let (hi, lo) = classifierKey(bind.address)
            let (mh, ml) = ClassifierView.mask(hi: hi, lo: lo, bits: family.bitWidth, length: bind.prefixLength)
            let name = "\(bind.prefixLength)/\(mh)/\(ml)"
            if groups[name] == nil {
                groups[name] = Group(hi: mh, lo: ml, length: bind.prefixLength, entries: [])
                groupOrder.append(name)
            }
            let entry = ClassifierEntry(portStart: bind.portStart, portEnd: bind.portEnd, table: UInt16(t), proto: bind.proto.ipProtocol)
            groups[name]!.entries.append((entry, order))
            order += 1
        }
    }
    // Narrowest range first, then the first table (binds keep file order).
    var entries: [ClassifierEntry] = []
    var slotsToPlace: [ClassifierSlot] = []
    for name in groupOrder {
        let group = groups[name]!
        let sorted = group.entries.sorted {
            let wa = Int($0.entry.portEnd) - Int($0.entry.portStart), wb = Int($1.entry.portEnd) - Int($1.entry.portStart)
            return (wa, $0.order) < (wb, $1.order)
        }
        slotsToPlace.append(ClassifierSlot(hi: group.hi, lo: group.lo, first: UInt32(entries.count),
                                           count: UInt16(sorted.count), length: UInt8(group.length)))
        entries.append(contentsOf: sorted.map(\.entry))
    }
    let levels = Set(slotsToPlace.map(\.length)).sorted(by: >).map { ClassifierLevel(bits: family.bitWidth, length: Int($0)) }
    // At most half full, so that a probe that misses meets an empty slot soon.
    var capacity = 8
    while capacity < slotsToPlace.count * 2 { capacity *= 2 }
    let shift = UInt64(64 - capacity.trailingZeroBitCount)
    var slots = [ClassifierSlot](repeating: ClassifierSlot(hi: 0, lo: 0, first: 0, count: 0, length: ClassifierSlot.empty), count: capacity)
    for slot in slotsToPlace {
        var i = ClassifierView.slotIndex(hi: slot.hi, lo: slot.lo, length: slot.length, shift: shift)
        while slots[i].length != ClassifierSlot.empty { i = (i + 1) & (capacity - 1) }
        slots[i] = slot
    }
    return ClassifierView(levels: arena.copy(levels), levelCount: levels.count, slots: arena.copy(slots), slotCount: capacity,
                          entries: arena.copy(entries.isEmpty ? [ClassifierEntry(portStart: 0, portEnd: 0, table: 0, proto: 0)] : entries))
}
