import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Delivers signals as an async sequence: SIGHUP (re-read the source) and SIGTERM/SIGINT
/// (stop). The signals' default actions are switched off while the stream exists.
enum SignalEvents {
    static func stream(_ signals: [Int32]) -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = signals.map { number -> any DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            }
            let keeper = SourceKeeper(sources)
            continuation.onTermination = { _ in keeper.cancel() }
        }
    }
}

/// Keeps the dispatch sources alive for as long as the stream, and cancels them with it.
/// Dispatch sources are thread-safe; they are touched here only to cancel them, once.
private final class SourceKeeper: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(_ sources: [any DispatchSourceSignal]) {
        self.sources = sources
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }
}
