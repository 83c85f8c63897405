import GLBCore

/// Which table a packet belongs to, decided by its destination address, protocol and port.
///
/// Binds are grouped by prefix length and masked address into an open-addressing hash table.
/// A lookup tries the prefix lengths present, most specific first (a single /32 or /128 probe
/// when every bind is an exact address), and scans only the few binds of the matching address:
/// the narrowest port range wins, then the first table. The structure is built once per table
/// load and read without locks or allocation.
@frozen
public struct ClassifierView: @unchecked Sendable {
    /// Distinct prefix lengths, longest first.
    @usableFromInline let levels: UnsafePointer<UInt8>
    @usableFromInline let levelCount: Int
    @usableFromInline let slots: UnsafePointer<ClassifierSlot>
    @usableFromInline let slotMask: Int
    @usableFromInline let entries: UnsafePointer<ClassifierEntry>

    @usableFromInline
    init(levels: UnsafePointer<UInt8>, levelCount: Int, slots: UnsafePointer<ClassifierSlot>, slotMask: Int, entries: UnsafePointer<ClassifierEntry>) {
        self.levels = levels
        self.levelCount = levelCount
        self.slots = slots
        self.slotMask = slotMask
        self.entries = entries
    }

    /// The bind for a TCP/UDP destination. `hi`/`lo` is the address as a 128-bit big-endian
    /// number (IPv4: `lo` only).
    @inlinable @inline(__always)
    public func lookup(hi: UInt64, lo: UInt64, bits: Int, proto: UInt8, port: UInt16) -> BindMatch {
        var level = 0
        while level < levelCount {
            let length = Int(levels[level])
            if let slot = find(hi: hi, lo: lo, bits: bits, length: length) {
                var e = Int(slot.first)
                let end = e &+ Int(slot.count)
                while e < end {
                    let entry = entries[e]
                    if entry.proto == proto && port >= entry.portStart && port <= entry.portEnd {
                        return BindMatch(table: Int(entry.table), prefixLength: length)
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
    public func lookupAddress(hi: UInt64, lo: UInt64, bits: Int) -> BindMatch {
        var level = 0
        while level < levelCount {
            let length = Int(levels[level])
            if let slot = find(hi: hi, lo: lo, bits: bits, length: length) {
                return BindMatch(table: Int(entries[Int(slot.first)].table), prefixLength: length)
            }
            level &+= 1
        }
        return .none
    }

    /// The table for a fragment that carries no port: found only when every bind holding the
    /// address with this protocol belongs to the same table.
    @inlinable
    public func lookupUnique(hi: UInt64, lo: UInt64, bits: Int, proto: UInt8) -> BindMatch {
        var found = BindMatch.none
        var level = 0
        while level < levelCount {
            let length = Int(levels[level])
            if let slot = find(hi: hi, lo: lo, bits: bits, length: length) {
                for e in Int(slot.first)..<Int(slot.first) + Int(slot.count) where entries[e].proto == proto {
                    let table = Int(entries[e].table)
                    if !found.isMatch {
                        found = BindMatch(table: table, prefixLength: length)
                    } else if found.table != table {
                        return .none
                    }
                }
            }
            level &+= 1
        }
        return found
    }

    /// The slot of the prefix of `length` bits that holds the address, if any binds it.
    @inlinable @inline(__always)
    func find(hi: UInt64, lo: UInt64, bits: Int, length: Int) -> ClassifierSlot? {
        let (mh, ml) = ClassifierView.mask(hi: hi, lo: lo, bits: bits, length: length)
        var i = ClassifierView.slotIndex(hi: mh, lo: ml, length: length) & slotMask
        while true {
            let slot = slots[i]
            if slot.length == ClassifierSlot.empty { return nil }
            if Int(slot.length) == length && slot.hi == mh && slot.lo == ml { return slot }
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

    @inlinable @inline(__always)
    static func slotIndex(hi: UInt64, lo: UInt64, length: Int) -> Int {
        var h = hi ^ (lo &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(truncatingIfNeeded: length) &<< 56)
        h = (h ^ (h &>> 29)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h ^ (h &>> 32))
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
    let levels = Set(slotsToPlace.map(\.length)).sorted(by: >)
    var capacity = 8
    while capacity < slotsToPlace.count * 2 { capacity *= 2 }
    var slots = [ClassifierSlot](repeating: ClassifierSlot(hi: 0, lo: 0, first: 0, count: 0, length: ClassifierSlot.empty), count: capacity)
    for slot in slotsToPlace {
        var i = ClassifierView.slotIndex(hi: slot.hi, lo: slot.lo, length: Int(slot.length)) & (capacity - 1)
        while slots[i].length != ClassifierSlot.empty { i = (i + 1) & (capacity - 1) }
        slots[i] = slot
    }
    return ClassifierView(levels: arena.copy(levels), levelCount: levels.count, slots: arena.copy(slots),
                          slotMask: capacity - 1, entries: arena.copy(entries.isEmpty ? [ClassifierEntry(portStart: 0, portEnd: 0, table: 0, proto: 0)] : entries))
}
