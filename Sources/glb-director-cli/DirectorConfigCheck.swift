import GLBCore
import GLBDirectorPlan

/// `validate` given a director.conf instead of a table: the offline check GLB's
/// `glb-config-check` makes, with the director's own rules (every key, the lcore layout).
enum DirectorConfigCheck {
    /// True for a JSON object that is a director.conf rather than a forwarding table: it has
    /// none of a table's "tables" and one of the keys every director.conf has.
    static func looksLikeDirectorConfig(path: String) -> Bool {
        guard case .object(let root)? = try? ConfigDocument.read(path: path, limit: DirectorConfig.sizeLimit) else { return false }
        return root["tables"] == nil && ["flow_paths", "lcores", "outbound_src_ip", "outbound_src_ipv6", "outbound_gateway_mac"].contains { root[$0] != nil }
    }

    /// Prints every issue and a summary; false when there is an error (or, with `strict`, a warning).
    static func run(path: String, strict: Bool) -> Bool {
        let loaded: Loaded<DirectorConfig>
        let layout: DirectorLayout
        do {
            loaded = try DirectorConfig.load(path: path)
            layout = try DirectorLayout(loaded.config, file: path)
        } catch {
            for issue in error.issues { Console.out(issue.labeled) }
            let e = error.errors.count, w = error.issues.count - e
            Console.out("\(path): \(count(e, "error")), \(count(w, "warning"))")
            return false
        }
        let warnings = loaded.warnings
        for issue in warnings { Console.out(issue.labeled) }
        let summary = "director configuration: \(count(layout.allLcores.count, "lcore")), \(count(loaded.config.flowPaths.count, "flow path")), \(count(layout.ports.count, "port"))"
        if strict && !warnings.isEmpty {
            Console.out("\(path): \(count(warnings.count, "warning")) (--strict): \(summary)")
            return false
        }
        let note = warnings.isEmpty ? "" : " (\(count(warnings.count, "warning")))"
        Console.out("\(path): OK\(note): \(summary)")
        return true
    }
}
