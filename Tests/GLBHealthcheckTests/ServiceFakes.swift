import GLBCore
import Synchronization
import Testing
@testable import GLBHealthcheck

#if canImport(Glibc)
import Glibc
#endif

/// A prober whose answers the test sets per backend address (passing unless told otherwise).
final class ScriptedProber: Prober {
    private let failing = Mutex<[IPAddress: String]>([:])
    private let count = Mutex(0)

    func fail(_ address: String, _ reason: String = "HTTP 503 Service Unavailable, expected 200") {
        failing.withLock { $0[IPAddress(address)!] = reason }
    }

    func pass(_ address: String) {
        failing.withLock { $0[IPAddress(address)!] = nil }
    }

    var calls: Int { count.withLock { $0 } }

    func probe(_ target: CheckTarget, timeout: Duration) async -> ProbeOutcome {
        count.withLock { $0 += 1 }
        if let reason = failing.withLock({ $0[target.address] }) {
            return .failed(reason, after: .milliseconds(1))
        }
        return .passed(after: .milliseconds(1))
    }
}

/// Records writes and reloads; can be told to fail them.
final class RecordingPublisher: Publisher {
    struct State {
        var writes: [(path: String, bytes: [UInt8])] = []
        var reloads: [String] = []
        var failWrites = false
        var failReloads = false
    }

    private let state = Mutex(State())

    var writes: [(path: String, bytes: [UInt8])] { state.withLock { $0.writes } }
    var reloads: [String] { state.withLock { $0.reloads } }

    func setFailures(writes: Bool = false, reloads: Bool = false) {
        state.withLock { $0.failWrites = writes; $0.failReloads = reloads }
    }

    struct WriteFailure: Error, CustomStringConvertible {
        var description: String { "disk full" }
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        try state.withLock { state in
            if state.failWrites { throw WriteFailure() }
            state.writes.append((path, bytes))
        }
    }

    func reload(_ command: String) async -> ReloadOutcome {
        state.withLock { state in
            state.reloads.append(command)
            return state.failReloads
                ? ReloadOutcome(succeeded: false, detail: "exit status 1: no such unit", duration: .milliseconds(1))
                : ReloadOutcome(succeeded: true, detail: "exit status 0", duration: .milliseconds(1))
        }
    }

    /// `healthy` of every backend of table 0 in the latest write.
    func lastHealth() throws -> [Bool] {
        let bytes = try #require(writes.last?.bytes)
        let config = try ForwardingTableConfig.decode(bytes: bytes, file: "dst").get()
        return config.tables[0].backends.map(\.healthy)
    }
}

/// A folder under /tmp for one test, removed with its files by `remove()`.
struct TemporaryFolder {
    let path: String

    init() {
        var template = Array("/tmp/glb-healthcheck-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ name: String, _ text: String) throws {
        try FileIO.writeAtomically(path: file(name), bytes: Array(text.utf8))
    }

    func remove() {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
