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

/// Records writes and reloads; can be told to fail them, or to hold reloads until released.
final class RecordingPublisher: Publisher {
    struct State {
        var writes: [(path: String, bytes: [UInt8])] = []
        var reloads: [String] = []
        var failWrites = false
        var failReloads = false
        var reloadError = "exit status 1: no such unit"
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        var running = 0
        var mostRunning = 0
    }

    private let state = Mutex(State())
    /// Reloads started and ended so far, for tests that wait on them.
    let reloadsStarted = Milestones()
    let reloadsEnded = Milestones()

    var writes: [(path: String, bytes: [UInt8])] { state.withLock { $0.writes } }
    var reloads: [String] { state.withLock { $0.reloads } }
    /// The most reloads that ran at the same time.
    var mostRunning: Int { state.withLock { $0.mostRunning } }

    func setFailures(writes: Bool = false, reloads: Bool = false) {
        state.withLock { $0.failWrites = writes; $0.failReloads = reloads }
    }

    /// What failed reloads report from now on.
    func setReloadError(_ error: String) {
        state.withLock { $0.reloadError = error }
    }

    /// Reloads from now on wait, once started, until `release()`.
    func holdReloads() {
        state.withLock { $0.held = true }
    }

    /// Lets held reloads end, and later ones run through.
    func release() {
        let waiting = state.withLock { s in
            s.held = false
            defer { s.waiting = [] }
            return s.waiting
        }
        for continuation in waiting { continuation.resume() }
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
            state.running += 1
            state.mostRunning = max(state.mostRunning, state.running)
        }
        reloadsStarted.advance()
        await withCheckedContinuation { continuation in
            let wait = state.withLock { s in
                if s.held { s.waiting.append(continuation) }
                return s.held
            }
            if !wait { continuation.resume() }
        }
        let outcome = state.withLock { state in
            state.running -= 1
            return state.failReloads
                ? ReloadOutcome(succeeded: false, detail: state.reloadError, duration: .milliseconds(1))
                : ReloadOutcome(succeeded: true, detail: "exit status 0", duration: .milliseconds(1))
        }
        reloadsEnded.advance()
        return outcome
    }

    /// `healthy` of every backend of table 0 in the latest write.
    func lastHealth() throws -> [Bool] {
        let bytes = try #require(writes.last?.bytes)
        let config = try ForwardingTableConfig.decode(bytes: bytes, file: "dst").config
        return config.tables[0].backends.map(\.healthy)
    }
}

/// A count that tests can wait on: `reached(n)` returns once `advance()` was called n times,
/// or when the waiting task is cancelled (a test's time limit: a failure, not a hang).
final class Milestones: Sendable {
    private struct Waiter {
        var id: Int
        var target: Int
        var continuation: CheckedContinuation<Void, Never>
    }
    private struct State {
        var count = 0
        var nextID = 0
        var waiters: [Waiter] = []
    }
    private let state = Mutex(State())

    func advance() {
        let ready = state.withLock { s in
            s.count += 1
            let count = s.count
            let ready = s.waiters.filter { $0.target <= count }
            s.waiters.removeAll { $0.target <= count }
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    func reached(_ target: Int) async {
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { s in
                    if s.count >= target || Task.isCancelled { return true }
                    s.waiters.append(Waiter(id: id, target: target, continuation: continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s in
                defer { s.waiters.removeAll { $0.id == id } }
                return s.waiters.first { $0.id == id }
            }
            waiter?.continuation.resume()
        }
    }
}

/// Answers by round: every target is probed once a round, so the calls say which round it is
/// (from 1). `failing(round)` lists the addresses that fail in it; `beforeRound(round)` runs
/// before each of its probes (to hold a round until something happened elsewhere).
final class RoundScriptProber: Prober {
    private let targetsPerRound: Int
    private let failing: @Sendable (Int) -> Set<String>
    private let beforeRound: @Sendable (Int) async -> Void
    private let calls = Mutex(0)

    init(targetsPerRound: Int, failing: @escaping @Sendable (Int) -> Set<String>,
         beforeRound: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.targetsPerRound = targetsPerRound
        self.failing = failing
        self.beforeRound = beforeRound
    }

    func probe(_ target: CheckTarget, timeout: Duration) async -> ProbeOutcome {
        let round = calls.withLock { c in
            defer { c += 1 }
            return c / targetsPerRound + 1
        }
        await beforeRound(round)
        if failing(round).contains("\(target.address)") {
            return .failed("Connection refused", after: .milliseconds(1))
        }
        return .passed(after: .milliseconds(1))
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
