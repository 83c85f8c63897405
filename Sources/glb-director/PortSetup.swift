import CDPDKShim
import GLBCore
import GLBDirectorPlan

/// Brings up the DPDK ports the flow paths use and the exception TAPs.
enum PortSetup {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Port {
        var id: UInt16
        var mac: MACAddress
    }

    static func start(port: UInt16, queues: Int, descriptors: (Int, Int), pool: OpaquePointer, rxDropEnabled: Bool, maxFrame: Int,
                      udpChecksumOffload: Bool) throws(Failure) -> Port {
        var setup = glb_port_setup()
        setup.rx_queues = UInt16(queues)
        setup.tx_queues = UInt16(queues)
        setup.rx_descriptors = UInt16(descriptors.0)
        setup.tx_descriptors = UInt16(descriptors.1)
        setup.rx_drop_enable = rxDropEnabled ? 1 : 0
        setup.max_frame = UInt32(maxFrame)
        setup.udp_checksum_offload = udpChecksumOffload ? 1 : 0
        var error = [CChar](repeating: 0, count: 256)
        let status = glb_port_setup(port, pool, &setup, &error, error.count)
        guard status == 0 else { throw Failure(description: string(error)) }
        let driver = withUnsafeBytes(of: setup.driver) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        log.info("port \(port) (\(driver)) started: \(queues) rx/tx queue(s), \(setup.rx_descriptors_used)/\(setup.tx_descriptors_used) descriptors, driver MTU \(setup.mtu)\(setup.rss_hash_functions != 0 ? ", RSS over IP/TCP/UDP" : "")")
        return Port(id: port, mac: macAddress(port))
    }

    /// Whether every one of `ports` computes UDP checksums on transmit, so that the outer
    /// checksum (always over IPv6, with `udp_checksum` over IPv4) is left to the NICs; else
    /// the first port that cannot, for the log.
    static func udpChecksumOffload(_ ports: [UInt16]) -> (offload: Bool, without: UInt16?) {
        for port in ports where glb_port_can_offload_udp_checksum(port) != 1 {
            return (false, port)
        }
        return (!ports.isEmpty, nil)
    }

    static func driverName(_ port: UInt16) -> String {
        var info = rte_eth_dev_info()
        guard rte_eth_dev_info_get(port, &info) == 0, let name = info.driver_name else { return "" }
        return String(cString: name)
    }

    static func macAddress(_ port: UInt16) -> MACAddress {
        var address = rte_ether_addr()
        rte_eth_macaddr_get(port, &address)
        return MACAddress(bytes: withUnsafeBytes(of: address.addr_bytes) { Array($0) })!
    }

    /// Creates the exception interface `vglb_kniN` for NIC port N, with the NIC's MAC so the
    /// kernel's replies leave with the right source address.
    static func createTap(forPort port: UInt16, mac: MACAddress, queues: Int, pool: OpaquePointer, maxFrame: Int) throws(Failure) -> Port {
        let name = "net_tap_vglb\(port)"
        var tapPort: UInt16 = 0
        let status = glb_vdev_create(name, "iface=vglb_kni\(port),mac=\(mac)", &tapPort)
        guard status == 0 else {
            throw Failure(description: "cannot create the exception interface vglb_kni\(port) (net_tap): error \(status) (is /dev/net/tun available?)")
        }
        let started: Port
        do {
            started = try start(port: tapPort, queues: queues, descriptors: (MemoryPlan.tapDescriptors, MemoryPlan.tapDescriptors),
                                pool: pool, rxDropEnabled: false, maxFrame: maxFrame, udpChecksumOffload: false)
        } catch {
            rte_vdev_uninit(name)
            throw error
        }
        log.info("exception path for port \(port): unmatched packets go to the kernel on vglb_kni\(port) (DPDK port \(tapPort))")
        return started
    }

    static func stopAndClose(_ port: UInt16) {
        rte_eth_dev_stop(port)
        rte_eth_dev_close(port)
    }

    static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
