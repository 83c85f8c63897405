import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// A BPF map reached through a file descriptor, with the shape the kernel reports for it.
struct BPFMap: Sendable {
    let name: String
    let fd: FileDescriptor
    let type: UInt32
    let keySize: UInt32
    let valueSize: UInt32
    let maxEntries: UInt32

    /// Opens a map by id and reads its description.
    static func open(id: UInt32) throws -> BPFMap {
        let fd = try openBPFObject("map", id: id, bpf_map_get_fd_by_id)!
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        let status = bpf_obj_get_info_by_fd(fd.raw, &info, &length)
        guard status >= 0 else {
            throw LoaderError.system(action: "reading the description of map id \(id)", errno: libbpfErrno(status))
        }
        return BPFMap(
            name: withUnsafeBytes(of: info.name) { cString(in: $0) },
            fd: fd, type: info.type, keySize: info.key_size, valueSize: info.value_size,
            maxEntries: info.max_entries
        )
    }

    /// Wraps the fd of a map of an object loaded by this process.
    static func wrap(_ map: OpaquePointer, fd: FileDescriptor) -> BPFMap {
        BPFMap(
            name: String(cString: bpf_map__name(map)), fd: fd, type: bpf_map__type(map).rawValue,
            keySize: bpf_map__key_size(map), valueSize: bpf_map__value_size(map),
            maxEntries: bpf_map__max_entries(map)
        )
    }

    var isPerCPU: Bool {
        [BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH]
            .map(\.rawValue).contains(type)
    }

    /// The raw value of a u32-keyed entry (all CPUs' slots for a per-CPU map).
    func lookup(_ key: UInt32) throws -> [UInt8] {
        var key = key
        var value = [UInt8](repeating: 0, count: try valueBufferSize())
        let rc = bpf_map_lookup_elem(fd.raw, &key, &value)
        guard rc >= 0 else {
            throw LoaderError.system(action: "reading entry \(key) of map \(name)", errno: libbpfErrno(rc))
        }
        return value
    }

    func update(_ key: UInt32, _ value: [UInt8]) throws {
        var key = key
        var value = value
        let rc = bpf_map_update_elem(fd.raw, &key, &value, UInt64(BPF_ANY))
        guard rc >= 0 else {
            throw LoaderError.system(action: "writing entry \(key) of map \(name)", errno: libbpfErrno(rc))
        }
    }

    /// A per-CPU u64 entry summed over every possible CPU. Per-CPU values come one
    /// 8-byte-aligned slot per possible CPU, not per online CPU.
    func perCPUSum(_ key: UInt32) throws -> UInt64 {
        let raw = try lookup(key)
        let slot = Int((valueSize + 7) / 8 * 8)
        var sum: UInt64 = 0
        for offset in stride(from: 0, to: raw.count, by: slot) {
            let value = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            sum &+= UInt64(littleEndian: value)
        }
        return sum
    }

    private func valueBufferSize() throws -> Int {
        guard isPerCPU else { return Int(valueSize) }
        let cpus = libbpf_num_possible_cpus()
        guard cpus > 0 else {
            throw LoaderError.system(action: "counting the possible CPUs", errno: libbpfErrno(cpus))
        }
        return Int((valueSize + 7) / 8 * 8) * Int(cpus)
    }
}

/// A NUL-terminated name in a fixed-size kernel buffer.
func cString(in bytes: UnsafeRawBufferPointer) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    return String(decoding: bytes[..<end], as: UTF8.self)
}
