// libFuzzer entry point for the packet path: parse → classify → hash → encapsulate.
//
// Each input picks a configuration, a headroom and optionally a VLAN tag (FuzzInput), and
// carries the frame. The frame is copied into an allocation of exactly headroom + frame bytes,
// so AddressSanitizer reports any read past its end or write before the headroom. After the
// call, Invariants checks the result against the frame; a violated invariant is a crash, which
// libFuzzer saves as a reproducer. Then BurstCheck runs the frame in a burst with companion
// frames through the burst path and frame by frame, and compares.
//
// GLB_FUZZ_TRACE=1 prints each input's outcome (useful when replaying a corpus or a crash).
// GLB_FUZZ_CANARY=overread makes every input read one byte past the frame after processing:
// AddressSanitizer must then report a heap-buffer-overflow (scripts/fuzz's tests use it to
// show that an over-read cannot go unnoticed).

import GLBCore
import GLBPacket

#if canImport(Glibc)
import Glibc
#endif

private let counterStorage = CounterStorage(workers: 1)
private let canaryOverread: Bool = {
    guard let value = getenv("GLB_FUZZ_CANARY") else { return false }
    return String(cString: value) == "overread"
}()
private nonisolated(unsafe) var canarySink: UInt8 = 0
private let trace = getenv("GLB_FUZZ_TRACE") != nil
/// The worker's clock, a tenth of a second further at each input: table set 1's bucket of
/// "too big" answers (one per second) refills every ten inputs, so both answers and their
/// limit keep being reached.
private nonisolated(unsafe) var clock: UInt64 = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func packetFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    let plane = Planes.plane(tableSet: input.tableSet, configuration: input.configuration)
    let length = input.frameLength
    let headroom = input.headroom

    // Exactly sized: [headroom][frame]. The pattern in the headroom shows unexpected writes.
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(headroom + length, 1), alignment: 1)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: Invariants.headroomPattern, count: headroom)
    let frame = buffer + headroom
    input.write(to: frame)
    // What the frame was, to compare with afterwards (its own exact allocation too).
    let original = UnsafeMutableRawPointer.allocate(byteCount: max(length, 1), alignment: 1)
    defer { original.deallocate() }
    original.copyMemory(from: frame, byteCount: length)

    let counters = counterStorage.worker(0)
    clock &+= 100_000_000
    counters.setClock(nanoseconds: clock)
    let before = Invariants.Snapshot(counters, tables: plane.tableCount)
    let result = PacketProcessor.process(frame, length: length, headroom: headroom, plane: plane.view,
                                         portMAC: Planes.portMACWords, counters: counters)
    let after = Invariants.Snapshot(counters, tables: plane.tableCount)

    Invariants.check(result: result, buffer: buffer, headroom: headroom, length: length,
                     original: UnsafeRawBufferPointer(start: original, count: length),
                     config: Planes.config(input.configuration, tableSet: input.tableSet), tableCount: plane.tableCount,
                     before: before, after: after)
    BurstCheck.check(frame: UnsafeRawBufferPointer(start: original, count: length), headroom: headroom, plane: plane, clock: clock)
    if trace {
        let counted = Counter.allCases.filter { after[$0] != before[$0] }.map(\.name).joined(separator: "+")
        print("glb-packet-fuzz: tables \(input.tableSet) configuration \(input.configuration) headroom \(headroom) length \(length): "
              + "\(result.action) offset \(result.offset) length \(result.length) [\(counted)]")
    }
    if canaryOverread {
        canarySink &+= UnsafeRawPointer(frame).loadUnaligned(fromByteOffset: length, as: UInt8.self)
    }
    return 0
}
