#if canImport(Glibc)
import Glibc
#endif

/// The announcer's interface: a TUN device that exists only while this process holds it open
/// (not persistent), brought up while the VIPs are to be announced and down when not. BIRD's
/// static routes point at it, so they are withdrawn when it goes down and when this process
/// dies for any reason (the kernel removes the device with its last file descriptor).
final class TunInterface {
    let name: String
    private let fd: Int32
    private let control: Int32

    // <linux/if_tun.h> and <linux/if.h>: the ioctl and flags used here.
    private static let tunSetInterface: UInt = 0x4004_54ca   // TUNSETIFF
    private static let tunDevice: Int16 = 0x0001            // IFF_TUN
    private static let noPacketInfo: Int16 = 0x1000         // IFF_NO_PI
    private static let interfaceUp: Int16 = 0x1             // IFF_UP
    private static let getFlags: UInt = 0x8913              // SIOCGIFFLAGS
    private static let setFlags: UInt = 0x8914              // SIOCSIFFLAGS
    /// struct ifreq: the name in its first 16 bytes, the flags (a short) right after.
    private static let nameSize = 16

    /// A name the kernel takes for an interface: 1-15 bytes, no '/' or spaces.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count < nameSize && !name.contains("/") && !name.contains(" ")
    }

    init(name: String) throws(AnnounceError) {
        guard Self.isValidName(name) else {
            throw AnnounceError("--interface: \"\(name)\" is not a valid interface name (1-15 characters, no '/' or spaces)")
        }
        self.name = name
        let tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
        guard tun >= 0 else { throw AnnounceError("cannot open /dev/net/tun: \(Self.lastError()) (is the tun module loaded?)") }
        var request = Self.request(name, flags: Self.tunDevice | Self.noPacketInfo)
        guard request.withUnsafeMutableBytes({ ioctl(tun, Self.tunSetInterface, $0.baseAddress!) }) == 0 else {
            let why = Self.lastError()
            close(tun)
            throw AnnounceError("cannot create the TUN interface \(name): \(why) (another glb-announce, or an interface of that name, may exist)")
        }
        let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sock >= 0 else {
            close(tun)
            throw AnnounceError("cannot open a control socket: \(Self.lastError())")
        }
        fd = tun
        control = sock
    }

    deinit {
        close(control)
        close(fd)
    }

    /// Brings the interface up (announce) or down (withdraw).
    func setUp(_ up: Bool) throws(AnnounceError) {
        var request = Self.request(name, flags: 0)
        guard request.withUnsafeMutableBytes({ ioctl(control, Self.getFlags, $0.baseAddress!) }) == 0 else {
            throw AnnounceError("cannot read the flags of \(name): \(Self.lastError())")
        }
        var flags = request.withUnsafeBytes { $0.load(fromByteOffset: Self.nameSize, as: Int16.self) }
        flags = up ? flags | Self.interfaceUp : flags & ~Self.interfaceUp
        request.withUnsafeMutableBytes { $0.storeBytes(of: flags, toByteOffset: Self.nameSize, as: Int16.self) }
        guard request.withUnsafeMutableBytes({ ioctl(control, Self.setFlags, $0.baseAddress!) }) == 0 else {
            throw AnnounceError("cannot bring \(name) \(up ? "up" : "down"): \(Self.lastError())")
        }
    }

    /// A zeroed struct ifreq (40 bytes on Linux) with the name and flags set.
    private static func request(_ name: String, flags: Int16) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 40)
        for (i, b) in name.utf8.enumerated() { bytes[i] = b }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: flags, toByteOffset: nameSize, as: Int16.self) }
        return bytes
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

struct AnnounceError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
