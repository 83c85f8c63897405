import CDPDKShim
import GLBCore
import GLBPacket

#if canImport(Glibc)
import Glibc
#endif

/// The lcore loops: run to completion, GLB's distributor, and its workers. Each reads its
/// `LoopContext`, allocates its burst arrays once, then loops until a stop is requested:
/// rx burst, the packet path in place on the burst's mbufs (`PacketProcessor.processBurst`,
/// stage by stage over the burst), tx burst. No allocation, lock or reference counting
/// happens inside the loops.
enum PacketLoops {
    static let runToCompletionEntry: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { arg in
        runToCompletion(arg!.assumingMemoryBound(to: LoopContext.self).pointee)
        return 0
    }

    static let distributorEntry: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { arg in
        distribute(arg!.assumingMemoryBound(to: LoopContext.self).pointee)
        return 0
    }

    static let workerEntry: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { arg in
        work(arg!.assumingMemoryBound(to: LoopContext.self).pointee)
        return 0
    }

    /// Burst arrays of one loop.
    struct Bursts {
        let rx = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: burstSize)
        let tx = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: burstSize)
        let exceptions = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: burstSize)
        /// The mbufs handed to the packet path, in the order of `frames`.
        let held = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: burstSize)
        let frames = PacketBurst(capacity: burstSize)

        func release() {
            rx.deallocate()
            tx.deallocate()
            exceptions.deallocate()
            held.deallocate()
            frames.deallocate()
        }
    }

    /// With `idle_sleep_us`, an lcore sleeps after this many polls in a row found nothing.
    static let emptyPollsBeforeSleep: UInt32 = 64

    /// Ends one loop: counts it (the heartbeat readiness watches) and, on a host that shares
    /// its cores, sleeps once the lcore has been idle for a while.
    @inline(__always)
    static func endLoop(idle: Bool, _ emptyPolls: inout UInt32, _ ctx: LoopContext) {
        ctx.engine.note(.loops)
        guard ctx.idleSleepMicroseconds > 0 else { return }
        guard idle else {
            emptyPolls = 0
            return
        }
        emptyPolls &+= 1
        if emptyPolls >= emptyPollsBeforeSleep {
            usleep(ctx.idleSleepMicroseconds)
            ctx.engine.note(.idleSleeps)
        }
    }

    /// The clock the packet path's rate limits read, set once per burst: the coarse
    /// monotonic clock (a vDSO read, no system call), whose few milliseconds of resolution
    /// are ample for limits of the order of a thousand answers per second.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    // MARK: Run to completion

    static func runToCompletion(_ ctx: LoopContext) {
        let b = Bursts()
        defer { b.release() }
        rte_rcu_qsbr_thread_register(ctx.qsbr, ctx.qsbrThread)
        rte_rcu_qsbr_thread_online(ctx.qsbr, ctx.qsbrThread)
        glb_atomic_store_u32(ctx.running, 1)
        var iteration: UInt32 = 0
        var emptyPolls: UInt32 = 0
        while glb_stop_requested() == 0 {
            // One plane for the whole burst: no packet sees a mix of two tables.
            let plane = UnsafePointer(glb_atomic_load_ptr(ctx.planeSlot)!.assumingMemoryBound(to: PlaneView.self))
            var idle = true
            for p in 0..<ctx.pathCount {
                let path = ctx.paths[p]
                let n = receive(path, into: b.rx, ctx.engine)
                if n == 0 { continue }
                if idle { ctx.counters.setClock(nanoseconds: monotonicNanoseconds()) }
                idle = false
                let (forwarded, exceptions) = dispatch(b, n, plane: plane, route: path.route, ctx: ctx)
                if forwarded > 0 {
                    send(path.route.txPort, path.route.txQueue, b.tx, forwarded, ctx.engine, .txPackets, .txDropped)
                }
                if exceptions > 0 {
                    send(path.route.tapPort, path.route.tapQueue, b.exceptions, exceptions, ctx.engine, .exceptionToKernel, .exceptionDropped)
                }
            }
            glb_qsbr_quiescent(ctx.qsbr, ctx.qsbrThread)
            iteration &+= 1
            if ctx.kernelPathCount > 0 && (idle || iteration & 31 == 0) {
                drainKernel(ctx, b.rx)
            }
            endLoop(idle: idle, &emptyPolls, ctx)
        }
        rte_rcu_qsbr_thread_offline(ctx.qsbr, ctx.qsbrThread)
        rte_rcu_qsbr_thread_unregister(ctx.qsbr, ctx.qsbrThread)
    }

    /// One rx burst from a flow path's queue, counted.
    @inline(__always)
    static func receive(_ path: RxPath, into pkts: UnsafeMutablePointer<OpaquePointer?>, _ engine: EngineCounters) -> Int {
        let n = Int(rte_eth_rx_burst(path.rxPort, path.rxQueue, pkts, UInt16(burstSize)))
        if n > 0 { engine.add(.rxPackets, n) }
        return n
    }

    /// Runs the packet path on the `n` mbufs of `b.rx`: forwarded ones go to `b.tx`, those for
    /// the exception path to `b.exceptions`, the rest are freed. `route` nil: each packet's
    /// route is that of its rx port (`ctx.routesByPort`), and each run of packets from one
    /// port is a burst of its own.
    @inline(__always)
    static func dispatch(_ b: Bursts, _ n: Int, plane: UnsafePointer<PlaneView>, route: PortRoute?, ctx: LoopContext) -> (forwarded: Int, exceptions: Int) {
        var forwarded = 0, exceptions = 0
        if let route {
            processRun(b, 0, n, plane: plane, route: route, ctx: ctx, &forwarded, &exceptions)
            return (forwarded, exceptions)
        }
        var start = 0
        while start < n {
            let port = glb_mbuf_port(b.rx[start]!)
            var end = start &+ 1
            while end < n && glb_mbuf_port(b.rx[end]!) == port { end &+= 1 }
            processRun(b, start, end, plane: plane, route: ctx.routesByPort[Int(port)], ctx: ctx, &forwarded, &exceptions)
            start = end
        }
        return (forwarded, exceptions)
    }

    /// The packet path on `b.rx[start..<end]`, which share `route`, as one burst
    /// (`PacketProcessor.processBurst`); then each mbuf is sent on, queued for the exception
    /// path or freed.
    @inline(__always)
    static func processRun(_ b: Bursts, _ start: Int, _ end: Int, plane: UnsafePointer<PlaneView>, route: PortRoute, ctx: LoopContext,
                           _ forwarded: inout Int, _ exceptions: inout Int) {
        let frames = b.frames
        var count = 0
        for i in start..<end {
            let m = b.rx[i]!
            guard glb_mbuf_nb_segs(m) == 1 else {
                glb_mbuf_free(m)
                ctx.engine.add(.multiSegmentDropped, 1)
                continue
            }
            b.held[count] = m
            frames.starts[count] = glb_mbuf_data(m)!
            frames.lengths[count] = Int(glb_mbuf_data_len(m))
            frames.headrooms[count] = Int(glb_mbuf_headroom(m))
            count &+= 1
        }
        PacketProcessor.processBurst(frames, count: count, plane: plane, portMAC: route.mac, receivingMAC: route.rxMAC, counters: ctx.counters)
        for i in 0..<count {
            let m = b.held[i]!
            let result = frames.results[i]
            switch result.action {
            case .forward, .reply:
                // A reply (ICMP "too big") leaves the same way as a forwarded packet: in GLB's
                // layouts the flow path's tx port is the port it came in on.
                glb_mbuf_reframe(m, Int32(truncatingIfNeeded: result.offset), UInt32(truncatingIfNeeded: result.length))
                if result.checksumOffload != .none { glb_mbuf_request_udp_checksum(m, result.checksumOffload == .ipv6 ? 1 : 0) }
                b.tx[forwarded] = m
                forwarded &+= 1
            case .exception:
                if route.hasExceptionPath {
                    b.exceptions[exceptions] = m
                    exceptions &+= 1
                } else {
                    glb_mbuf_free(m)
                    ctx.engine.add(.exceptionDropped, 1)
                }
            case .drop:
                glb_mbuf_free(m)
            }
        }
    }

    /// Transmits a burst; retries while the queue makes progress, frees and counts the rest.
    @inline(__always)
    static func send(_ port: UInt16, _ queue: UInt16, _ pkts: UnsafeMutablePointer<OpaquePointer?>, _ n: Int,
                     _ engine: EngineCounters, _ sentCounter: EngineCounter, _ dropCounter: EngineCounter) {
        var sent = Int(rte_eth_tx_burst(port, queue, pkts, UInt16(n)))
        var attempts = 0
        while sent < n && attempts < 16 {
            let more = Int(rte_eth_tx_burst(port, queue, pkts + sent, UInt16(n &- sent)))
            if more == 0 { attempts &+= 1 }
            sent &+= more
        }
        engine.add(sentCounter, sent)
        if sent < n {
            glb_mbuf_free_bulk(pkts + sent, UInt32(n &- sent))
            engine.add(dropCounter, n &- sent)
        }
    }

    /// Sends what the kernel wrote to the exception TAPs out of their NIC ports.
    static func drainKernel(_ ctx: LoopContext, _ buffer: UnsafeMutablePointer<OpaquePointer?>) {
        for k in 0..<ctx.kernelPathCount {
            let path = ctx.kernelPaths[k]
            let received = Int(rte_eth_rx_burst(path.rxPort, path.rxQueue, buffer, UInt16(burstSize)))
            // The NIC queues are not set up for chained mbufs: the pool holds whole frames, so
            // only a frame larger than the port's MTU arrives chained, and it could not be sent.
            var n = 0
            for i in 0..<received {
                if glb_mbuf_nb_segs(buffer[i]!) == 1 {
                    buffer[n] = buffer[i]
                    n &+= 1
                } else {
                    glb_mbuf_free(buffer[i]!)
                    ctx.engine.add(.kernelToWireDropped, 1)
                }
            }
            if n > 0 {
                send(path.route.txPort, path.route.txQueue, buffer, n, ctx.engine, .kernelToWire, .kernelToWireDropped)
            }
        }
    }

    // MARK: Distributor and workers

    /// Receives and transmits for the distributor's flow paths; workers do the packet path.
    static func distribute(_ ctx: LoopContext) {
        let b = Bursts()
        let staged = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: burstSize * max(ctx.workerCount, 1))
        let stagedCount = UnsafeMutablePointer<Int>.allocate(capacity: max(ctx.workerCount, 1))
        defer {
            b.release()
            staged.deallocate()
            stagedCount.deallocate()
        }
        glb_atomic_store_u32(ctx.running, 1)
        var iteration: UInt32 = 0
        var emptyPolls: UInt32 = 0
        let workers = ctx.workerCount
        while glb_stop_requested() == 0 {
            var idle = true
            for p in 0..<ctx.pathCount {
                let n = receive(ctx.paths[p], into: b.rx, ctx.engine)
                if n == 0 { continue }
                idle = false
                for w in 0..<workers { stagedCount[w] = 0 }
                for i in 0..<n {
                    let m = b.rx[i]!
                    let w = WorkerSpread.worker(spread(m), of: workers)
                    staged[w &* burstSize &+ stagedCount[w]] = m
                    stagedCount[w] &+= 1
                }
                for w in 0..<workers where stagedCount[w] > 0 {
                    let batch = staged + w &* burstSize
                    let queued = Int(glb_ring_enqueue(ctx.toWorker![w], batch, UInt32(stagedCount[w])))
                    if queued < stagedCount[w] {
                        glb_mbuf_free_bulk(batch + queued, UInt32(stagedCount[w] &- queued))
                        ctx.engine.add(.ringFullDropped, stagedCount[w] &- queued)
                    }
                }
            }
            for w in 0..<workers {
                let n = Int(glb_ring_dequeue(ctx.fromWorker![w], b.tx, UInt32(burstSize)))
                if n > 0 {
                    idle = false
                    sendRouted(b.tx, n, ctx, exceptions: false)
                }
                let e = Int(glb_ring_dequeue(ctx.exceptionsFromWorker![w], b.exceptions, UInt32(burstSize)))
                if e > 0 { sendRouted(b.exceptions, e, ctx, exceptions: true) }
            }
            iteration &+= 1
            if ctx.kernelPathCount > 0 && (idle || iteration & 31 == 0) {
                drainKernel(ctx, b.rx)
            }
            endLoop(idle: idle, &emptyPolls, ctx)
        }
    }

    /// Sends packets returned by workers on the route of the port each came in on, in runs of
    /// the same route.
    static func sendRouted(_ pkts: UnsafeMutablePointer<OpaquePointer?>, _ n: Int, _ ctx: LoopContext, exceptions: Bool) {
        var start = 0
        while start < n {
            let route = ctx.routesByPort[Int(glb_mbuf_port(pkts[start]!))]
            var end = start &+ 1
            while end < n && glb_mbuf_port(pkts[end]!) == glb_mbuf_port(pkts[start]!) { end &+= 1 }
            if exceptions {
                send(route.tapPort, route.tapQueue, pkts + start, end &- start, ctx.engine, .exceptionToKernel, .exceptionDropped)
            } else {
                send(route.txPort, route.txQueue, pkts + start, end &- start, ctx.engine, .txPackets, .txDropped)
            }
            start = end
        }
    }

    /// Picks a worker so that a flow's packets stay in order: the NIC's RSS hash when there
    /// is one, else the IP addresses (`WorkerSpread`).
    @inline(__always)
    static func spread(_ m: OpaquePointer) -> UInt32 {
        if glb_mbuf_has_rss_hash(m) != 0 { return glb_mbuf_rss_hash(m) }
        return WorkerSpread.hash(UnsafeRawPointer(glb_mbuf_data(m)!), length: Int(glb_mbuf_data_len(m)))
    }

    /// A distributor's worker: the packet path on what the distributor hands over.
    static func work(_ ctx: LoopContext) {
        let b = Bursts()
        defer { b.release() }
        let input = ctx.toWorker![0], output = ctx.fromWorker![0], exceptionRing = ctx.exceptionsFromWorker![0]
        rte_rcu_qsbr_thread_register(ctx.qsbr, ctx.qsbrThread)
        rte_rcu_qsbr_thread_online(ctx.qsbr, ctx.qsbrThread)
        glb_atomic_store_u32(ctx.running, 1)
        var emptyPolls: UInt32 = 0
        while glb_stop_requested() == 0 {
            let n = Int(glb_ring_dequeue(input, b.rx, UInt32(burstSize)))
            if n > 0 {
                ctx.counters.setClock(nanoseconds: monotonicNanoseconds())
                let plane = UnsafePointer(glb_atomic_load_ptr(ctx.planeSlot)!.assumingMemoryBound(to: PlaneView.self))
                // Each packet's route is that of the port it came in on.
                let (forwarded, exceptions) = dispatch(b, n, plane: plane, route: nil, ctx: ctx)
                enqueueAll(output, b.tx, forwarded, ctx.engine, .txDropped)
                enqueueAll(exceptionRing, b.exceptions, exceptions, ctx.engine, .exceptionDropped)
            }
            glb_qsbr_quiescent(ctx.qsbr, ctx.qsbrThread)
            endLoop(idle: n == 0, &emptyPolls, ctx)
        }
        rte_rcu_qsbr_thread_offline(ctx.qsbr, ctx.qsbrThread)
        rte_rcu_qsbr_thread_unregister(ctx.qsbr, ctx.qsbrThread)
    }

    /// Hands a burst back to the distributor, waiting while its ring is full (the
    /// distributor drains it every loop) unless a stop is requested.
    @inline(__always)
    static func enqueueAll(_ ring: OpaquePointer?, _ pkts: UnsafeMutablePointer<OpaquePointer?>, _ n: Int, _ engine: EngineCounters, _ dropCounter: EngineCounter) {
        var queued = 0
        while queued < n {
            queued &+= Int(glb_ring_enqueue(ring, pkts + queued, UInt32(n &- queued)))
            if queued < n && glb_stop_requested() != 0 { break }
        }
        if queued < n {
            glb_mbuf_free_bulk(pkts + queued, UInt32(n &- queued))
            engine.add(dropCounter, n &- queued)
        }
    }
}
