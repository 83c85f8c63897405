import GLBCore
import GLBHealthcheck
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A failed check, with the reason as the log and the status view show it.
struct ProbeFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }

    /// Words for an error raised by NIO or the system: "Connection refused", "no connection
    /// within 200 ms", rather than the types' debugging descriptions.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as ProbeFailure:
            return failure.description
        case let io as IOError:
            return String(cString: strerror(io.errnoCode))
        case let connection as NIOConnectionError:
            if let first = connection.connectionErrors.first { return describe(first.error) }
            return "cannot connect to \(connection.host):\(connection.port)"
        case let channel as ChannelError:
            switch channel {
            case .connectTimeout(let amount):
                return "no connection within \(Duration(amount).humanReadable)"
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed:
                return "the connection closed before a response"
            default:
                return "\(channel)"
            }
        case let parser as HTTPParserError:
            return "invalid HTTP response (\(parser))"
        case is CancellationError:
            return "cancelled"
        default:
            return "\(error)"
        }
    }
}
