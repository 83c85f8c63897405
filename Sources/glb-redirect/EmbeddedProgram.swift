import Foundation

/// The eBPF program built into this binary by the EmbedBPFObject plugin (scripts/embed-bpf
/// generates `objectBase64` and `counters`).
enum EmbeddedProgram {
    /// The object file's bytes, or nil if the generated literal is corrupt (a build problem).
    static func object() -> [UInt8]? {
        guard let data = Data(base64Encoded: objectBase64, options: .ignoreUnknownCharacters),
              !data.isEmpty
        else { return nil }
        return [UInt8](data)
    }
}

/// One counter of map glb_counters: its name (GLB_C_NAME in lower case) and what it counts.
struct CounterInfo: Sendable {
    let name: String
    let meaning: String
}
