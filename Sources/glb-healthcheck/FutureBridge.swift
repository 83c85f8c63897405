import NIOCore

/// Awaits a promise; cancelling the waiting task fails the promise, so nothing waits on a
/// check that has been given up.
func awaitPromise<Value: Sendable>(_ promise: EventLoopPromise<Value>) async throws -> Value {
    try await withTaskCancellationHandler {
        try await promise.futureResult.get()
    } onCancel: {
        promise.fail(CancellationError())
    }
}

/// Awaits a channel that is being set up; if the wait is given up first (cancelled), the
/// channel is closed as soon as it exists.
func awaitChannel(_ future: EventLoopFuture<any Channel>) async throws -> any Channel {
    let promise = future.eventLoop.makePromise(of: (any Channel).self)
    future.whenComplete { result in
        switch result {
        case .success(let channel):
            promise.futureResult.whenFailure { _ in channel.close(promise: nil) }
            promise.succeed(channel)
        case .failure(let error):
            promise.fail(error)
        }
    }
    return try await awaitPromise(promise)
}
