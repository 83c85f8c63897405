import GLBCore
import GLBPacket
import Testing

/// GLB's distributor layout hands each frame to a worker by `WorkerSpread` (without an RSS
/// hash): every packet of a flow must reach the same worker, or the flow's packets could be
/// reordered between two workers.
@Suite("Distributor worker spread")
struct WorkerSpreadTests {
    static func spread(_ frame: [UInt8]) -> UInt32 {
        frame.withUnsafeBytes { WorkerSpread.hash($0.baseAddress!, length: frame.count) }
    }

    /// Every packet a flow can carry between two addresses, in both directions: TCP and UDP
    /// on any ports, ICMP, a first fragment and a later one (which has no ports).
    static func packetsBetween(_ a: String, _ b: String, ipv6: Bool) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for (src, dst) in [(a, b), (b, a)] {
            for port in [80, 443, 1024, 40000, 65535] {
                if ipv6 {
                    frames.append(Build.tcp6(src, port, dst, 443))
                    frames.append(Build.ethernet(Build.ipv6(src: src, dst: dst, next: 17, Build.udp(sport: port, dport: 53)), type: 0x86dd))
                } else {
                    frames.append(Build.tcp4(src, port, dst, 443))
                    frames.append(Build.ethernet(Build.ipv4(src: src, dst: dst, proto: 17, Build.udp(sport: port, dport: 53)), type: 0x0800))
                }
            }
            if ipv6 {
                frames.append(Build.ethernet(Build.ipv6(src: src, dst: dst, next: 58, Build.icmp(type: 128, code: 0)), type: 0x86dd))
            } else {
                frames.append(Build.ethernet(Build.ipv4(src: src, dst: dst, proto: 1, Build.icmp(type: 8, code: 0)), type: 0x0800))
                frames.append(Build.ethernet(Build.ipv4(src: src, dst: dst, proto: 6, Build.tcp(sport: 1234, dport: 443), fragment: 0x2000), type: 0x0800))
                frames.append(Build.ethernet(Build.ipv4(src: src, dst: dst, proto: 6, [1, 2, 3, 4, 5, 6, 7, 8], fragment: 185), type: 0x0800))
            }
        }
        return frames
    }

    @Test("every packet of a flow, either way, goes to one worker", arguments: [false, true])
    func oneWorkerPerFlow(ipv6: Bool) {
        for i in 0..<200 {
            let client = ipv6 ? "2001:db8:c::\(String(i, radix: 16))" : "198.18.\(i / 250).\(i % 250 + 1)"
            let vip = ipv6 ? "2001:db8::80" : "192.0.2.80"
            let hashes = Set(Self.packetsBetween(client, vip, ipv6: ipv6).map(Self.spread))
            #expect(hashes.count == 1, "client \(client): \(hashes.count) different spread hashes")
        }
    }

    @Test("flows spread over the workers", arguments: [false, true])
    func flowsSpread(ipv6: Bool) {
        let workers = 4
        var perWorker = [Int](repeating: 0, count: workers)
        for i in 0..<4000 {
            let frame = ipv6 ? Build.tcp6("2001:db8:c::\(String(i, radix: 16))", 40000, "2001:db8::80", 443)
                             : Build.tcp4("198.18.\(i / 250).\(i % 250 + 1)", 40000, "192.0.2.80", 443)
            perWorker[WorkerSpread.worker(Self.spread(frame), of: workers)] += 1
        }
        // An even share is 1,000 flows; each worker gets a fair part of them.
        #expect(perWorker.allSatisfy { $0 > 700 && $0 < 1300 }, "\(perWorker)")
    }

    @Test("a frame too short for its addresses, tagged or not IP goes to the first worker")
    func unreadableFrames() {
        for frame in [Build.tcp4("198.18.0.1", 1, "192.0.2.80", 443), Build.tcp6("2001:db8:c::1", 1, "2001:db8::80", 443)] {
            let needed = frame[12] == 0x08 ? 14 + 12 + 8 : 14 + 8 + 32
            for length in 0..<needed {
                // Exactly `length` bytes: nothing past them to read.
                let truncated = Array(frame[..<length])
                #expect(Self.spread(truncated) == 0, "\(length) bytes")
            }
            #expect(Self.spread(Array(frame[..<needed])) != 0)
        }
        let tagged = Build.ethernet(Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 1, dport: 443)), type: 0x0800, vlan: 7)
        #expect(Self.spread(tagged) == 0)
        let arp = Build.ethernet([UInt8](repeating: 1, count: 28), type: 0x0806)
        #expect(Self.spread(arp) == 0)
        #expect(WorkerSpread.worker(0, of: 3) == 0)
    }
}
