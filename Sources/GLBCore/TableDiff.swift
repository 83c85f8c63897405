/// What changes between two compiled versions of a table, measured in rows (each row is
/// 1/65,536 of the flows): what an operator wants to know before draining, adding or
/// removing a backend.
///
/// Backends are matched by address, so reordering the JSON is not a change. A flow lives on
/// its old primary; after the change its packets reach the new primary, and glb-redirect
/// there sends packets of unknown connections on to the new secondary ("second chance").
public struct TableDiff: Equatable, Sendable {
    /// Rows whose primary backend is a different server.
    public var primaryChanged = 0
    /// Rows whose secondary backend is a different server.
    public var secondaryChanged = 0
    /// Rows whose primary changed but whose old primary is the new secondary: existing
    /// connections survive through second chance.
    public var savedBySecondChance = 0
    /// Rows whose old primary is neither the new primary nor the new secondary: connections
    /// established there are lost unless they live elsewhere.
    public var broken = 0
    /// Every backend of either version, old order first.
    public var backends: [BackendChange] = []
    /// The per-packet hash key changed: every flow lands on a different, unrelated row, so the
    /// counts above are expectations over all flows rather than row-by-row comparisons.
    public var hashKeyChanged = false

    public struct BackendChange: Equatable, Sendable {
        public var address: IPAddress
        public var old: CompiledBackend?
        public var new: CompiledBackend?
        public var oldPrimaryRows = 0
        public var newPrimaryRows = 0
        public var oldSecondaryRows = 0
        public var newSecondaryRows = 0
    }

    public init(old: CompiledTable, new: CompiledTable) {
        var position: [IPAddress: Int] = [:]
        func slot(_ b: CompiledBackend) -> Int {
            if let i = position[b.address] { return i }
            position[b.address] = backends.count
            backends.append(BackendChange(address: b.address))
            return backends.count - 1
        }
        let oldSlots = old.backends.map(slot)
        let newSlots = new.backends.map(slot)
        for (i, b) in old.backends.enumerated() { backends[oldSlots[i]].old = b }
        for (i, b) in new.backends.enumerated() { backends[newSlots[i]].new = b }

        // Rows where a backend is primary or secondary in the new table (counted once per row).
        var newHolds = [Int](repeating: 0, count: backends.count)
        for (o, n) in zip(old.rows, new.rows) {
            let oldPrimary = oldSlots[Int(o.primary)], oldSecondary = oldSlots[Int(o.secondary)]
            let newPrimary = newSlots[Int(n.primary)], newSecondary = newSlots[Int(n.secondary)]
            backends[oldPrimary].oldPrimaryRows += 1
            backends[oldSecondary].oldSecondaryRows += 1
            backends[newPrimary].newPrimaryRows += 1
            backends[newSecondary].newSecondaryRows += 1
            newHolds[newPrimary] += 1
            if newSecondary != newPrimary { newHolds[newSecondary] += 1 }
            if oldSecondary != newSecondary { secondaryChanged += 1 }
            if oldPrimary != newPrimary {
                primaryChanged += 1
                if oldPrimary == newSecondary { savedBySecondChance += 1 } else { broken += 1 }
            }
        }
        guard old.hashKey != new.hashKey else { return }
        // A flow's old and new rows are independent: it keeps its primary with probability
        // sum(old share × new share), and survives through second chance when its old
        // primary holds its new row in either slot.
        hashKeyChanged = true
        let rows = Double(TableLimits.rowCount)
        var samePrimary = 0.0, sameSecondary = 0.0, kept = 0.0
        for b in backends {
            samePrimary += Double(b.oldPrimaryRows) * Double(b.newPrimaryRows) / rows
            sameSecondary += Double(b.oldSecondaryRows) * Double(b.newSecondaryRows) / rows
        }
        for (i, b) in backends.enumerated() {
            kept += Double(b.oldPrimaryRows) * Double(newHolds[i]) / rows
        }
        primaryChanged = Int((rows - samePrimary).rounded())
        secondaryChanged = Int((rows - sameSecondary).rounded())
        broken = Int((rows - kept).rounded())
        savedBySecondChance = primaryChanged - broken
    }
}
