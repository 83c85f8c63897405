import GLBCore

/// A forwarding table that forwards nothing: every packet a director receives with it is
/// dropped. Almost always a mistake (an emptied file, a bad template), so the tools name it.
enum NoBinds {
    /// Why the table forwards nothing, or nil when some table has a bind.
    static func reason(_ compiled: CompiledForwardingTable) -> String? {
        if compiled.tables.isEmpty { return "no tables" }
        if compiled.tables.allSatisfy({ $0.binds.isEmpty }) { return "no table has a bind" }
        return nil
    }
}
