import GLBCore
import GLBHealthcheck
import NIOCore
import NIOPosix

/// The `tcp` check: the backend must accept a TCP connection within the timeout. The
/// connection is closed at once, without sending anything.
enum TCPProbe {
    static func check(_ target: CheckTarget, timeout: Duration, group: any EventLoopGroup) async throws {
        let address = try SocketAddress(ipAddress: "\(target.address)", port: Int(target.port))
        let loop = group.next()
        let connecting = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .connect(to: address)
        let channel = try await awaitChannel(connecting)
        try? await channel.close()
    }
}
