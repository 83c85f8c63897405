import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// glb-redirect's object, opened and loaded into the kernel (verified, maps created), not yet
/// attached anywhere. Closing it after attaching is fine: the hook holds the program,
/// and the program holds its maps.
final class LoadedProgram {
    private let object: OpaquePointer
    /// The embedded object's bytes: libbpf may refer to the buffer while the object is open.
    private let image: UnsafeMutableRawBufferPointer?
    let programFD: Int32
    let config: BPFMap
    let counters: BPFMap

    private init(object: OpaquePointer, image: UnsafeMutableRawBufferPointer?, programFD: Int32,
                 config: BPFMap, counters: BPFMap) {
        self.object = object
        self.image = image
        self.programFD = programFD
        self.config = config
        self.counters = counters
    }

    deinit {
        bpf_object__close(object)
        image?.deallocate()
    }

    /// Opens and loads the object. A verifier rejection leaves the kernel's log in a file
    /// (`verifierLogPath`, or a new file in $TMPDIR or /tmp) and says where.
    static func load(from source: ProgramSource, verifierLogPath: String?) throws -> LoadedProgram {
        let image = try source.image()
        // No log for a successful load; libbpf retries a failed load with the verifier's log
        // on, into this buffer, which is what the operator needs to see.
        let log = VerifierLogBuffer()
        _ = LibBPFLog.take()
        let opened: OpaquePointer?
        if case .file(let path) = source {
            opened = glb_object_open_file(path, ProgramNames.program, log.buffer, log.capacity)
        } else {
            opened = glb_object_open_mem(image?.baseAddress, image?.count ?? 0, ProgramNames.program,
                                         log.buffer, log.capacity)
        }
        guard let object = opened else {
            // The file is there (image() checked): even libbpf's ENOENT, which it also gives
            // for maps without the BTF they need, means an unusable object, not a missing one.
            let code = errno
            image?.deallocate()
            throw LoaderError.objectInvalid(
                source: source.label, detail: "not a usable eBPF object (\(errorText(code)))",
                libbpf: LibBPFLog.take())
        }

        // From here on, `object` and `image` are owned by the result or closed on error. The
        // log buffer must outlive the load: libbpf hands it to the kernel then.
        return try withExtendedLifetime(log) {
            try loadOpened(object, image: image, source: source, log: log, verifierLogPath: verifierLogPath)
        }
    }

    private static func loadOpened(_ object: OpaquePointer, image: UnsafeMutableRawBufferPointer?,
                                   source: ProgramSource, log: VerifierLogBuffer,
                                   verifierLogPath: String?) throws -> LoadedProgram {
        do {
            let (program, configMap, countersMap) = try findParts(of: object, source: source)
            let rc = bpf_object__load(object)
            if rc < 0 {
                throw loadFailure(code: libbpfErrno(rc), log: log, verifierLogPath: verifierLogPath, source: source)
            }
            let programFD = bpf_program__fd(program)
            guard programFD >= 0 else {
                throw LoaderError.system(action: "getting the loaded program's fd", errno: libbpfErrno(programFD))
            }
            return LoadedProgram(
                object: object, image: image, programFD: programFD,
                config: try ownMap(configMap), counters: try ownMap(countersMap))
        } catch {
            bpf_object__close(object)
            image?.deallocate()
            throw error
        }
    }

    /// The program and both maps, checked before loading so that a wrong object fails with
    /// a clear message instead of a kernel error.
    private static func findParts(of object: OpaquePointer, source: ProgramSource) throws
        -> (program: OpaquePointer, config: OpaquePointer, counters: OpaquePointer)
    {
        func invalid(_ detail: String) -> LoaderError {
            .objectInvalid(source: source.label, detail: detail, libbpf: [])
        }
        guard let program = bpf_object__find_program_by_name(object, ProgramNames.program) else {
            throw invalid("no program named \(ProgramNames.program)")
        }
        guard bpf_program__type(program) == BPF_PROG_TYPE_SCHED_CLS else {
            throw invalid("program \(ProgramNames.program) is not a tc program (section \"tc\")")
        }
        guard let config = bpf_object__find_map_by_name(object, ProgramNames.config) else {
            throw invalid("no map named \(ProgramNames.config)")
        }
        guard bpf_map__type(config) == BPF_MAP_TYPE_ARRAY, bpf_map__key_size(config) == 4,
              bpf_map__value_size(config) == UInt32(RedirectConfig.size), bpf_map__max_entries(config) >= 1
        else {
            throw invalid("map \(ProgramNames.config) is not an array of \(RedirectConfig.size)-byte values")
        }
        guard let counters = bpf_object__find_map_by_name(object, ProgramNames.counters) else {
            throw invalid("no map named \(ProgramNames.counters)")
        }
        guard bpf_map__type(counters) == BPF_MAP_TYPE_PERCPU_ARRAY, bpf_map__key_size(counters) == 4,
              bpf_map__value_size(counters) == 8
        else {
            throw invalid("map \(ProgramNames.counters) is not a per-CPU array of u64")
        }
        return (program, config, counters)
    }

    private static func loadFailure(code: Int32, log: VerifierLogBuffer, verifierLogPath: String?,
                                    source: ProgramSource) -> LoaderError {
        let libbpf = LibBPFLog.take()
        if let text = log.text {
            do {
                let path = try VerifierLogFile.save(text, to: verifierLogPath)
                return .verifierRejected(errno: code, logPath: path, logError: nil)
            } catch {
                return .verifierRejected(errno: code, logPath: nil, logError: "\(error)")
            }
        }
        if code == EPERM {
            return .permission(action: "loading \(source.label) into the kernel", capabilities: Needs.load)
        }
        return .objectInvalid(source: source.label, detail: "loading failed (\(errorText(code)))", libbpf: libbpf)
    }

    /// The object keeps its own map fds; this process needs copies that outlive it.
    private static func ownMap(_ map: OpaquePointer) throws -> BPFMap {
        let fd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else {
            throw LoaderError.system(action: "duplicating the fd of map \(String(cString: bpf_map__name(map)))", errno: errno)
        }
        return BPFMap.wrap(map, fd: FileDescriptor(fd))
    }
}

extension ProgramSource {
    /// The embedded object in memory that stays put while libbpf uses it; nil for a file,
    /// which libbpf reads itself.
    fileprivate func image() throws -> UnsafeMutableRawBufferPointer? {
        switch self {
        case .embedded:
            guard let bytes = EmbeddedProgram.object() else {
                throw LoaderError.objectInvalid(
                    source: label, detail: "the embedded object is corrupt; rebuild glb-redirect", libbpf: [])
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            return buffer
        case .file(let path):
            // libbpf's own error for a missing file is a bare ENOENT; say which file here.
            guard access(path, F_OK) == 0 else { throw LoaderError.objectNotFound(path) }
            return nil
        }
    }
}
