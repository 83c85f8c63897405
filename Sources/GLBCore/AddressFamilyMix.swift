/// Tables whose rows route between an IPv4 and an IPv6 backend (docs/forwarding-table.md,
/// "IPv4 and IPv6 backends").
///
/// A route's outer header and hop list carry one address family, so a row whose primary and
/// secondary differ in family fits no tunnel. GLB's compiler accepts such tables, and
/// build-config writes them byte for byte as GLB does; `validate` refuses them, and a
/// director that loads one logs it and drops the packets of those rows (`unusable_route`).
public enum AddressFamilyMix {
    /// One message per table with such rows.
    public static func problems(_ compiled: CompiledForwardingTable) -> [(table: Int, message: String)] {
        compiled.tables.enumerated().compactMap { index, table in
            let families = table.backends.map(\.address.family)
            guard Set(families).count > 1 else { return nil }
            let mixed = table.rows.reduce(0) { $0 + (families[Int($1.primary)] != families[Int($1.secondary)] ? 1 : 0) }
            guard mixed > 0 else { return nil }
            let tenths = (mixed * 1000 + table.rows.count / 2) / table.rows.count
            let percent = tenths == 0 ? "under 0.1" : "\(tenths / 10).\(tenths % 10)"
            return (index, "backends mix IPv4 and IPv6: \(mixed) of \(table.rows.count) rows (\(percent)%) route between the two families, "
                + "which no tunnel carries, and their packets are dropped (unusable_route); put IPv4 and IPv6 backends in separate tables")
        }
    }
}
