/// Weighted rendezvous ranking in integers only, so that every director on every machine
/// compiles the same bytes (docs/table-format.md, "Weights").
///
/// GLB ranks a row's backends by their SipHash score `s`, lowest first. Read as a uniform
/// draw `u = s / 2^64`, the same order is that of `E = -log2(1 - u)`, an exponentially
/// distributed value; dividing it by the backend's weight `w` makes the lowest `E / w` win
/// with probability `w / Σw` (the exponential race), so shares follow the weights. A
/// backend's key depends only on its own score and weight: changing one weight moves rows
/// only between that backend and the others.
///
/// `E` is a fixed-point number with 32 fraction bits computed from integers: the position of
/// the highest set bit of `v = 2^64 - s` gives the integer part of `log2(v)`, a table of
/// `log2(1 + k/1024)` (made at start-up by integer squaring) and a linear step between two
/// entries give the fraction. `E` never decreases as `s` grows, so with equal weights the
/// order is GLB's exactly: equal keys fall back to the score, then to the backend's position.
public enum WeightedRendezvous {
    /// Fraction bits of `E`.
    static let fractionBits = 32
    /// Segments of the log2 table over [1, 2).
    static let segmentBits = 10
    /// Bits of the mantissa used to step between two table entries.
    static let stepBits = 22

    /// `log2Table[k] = ⌊2^32 · log2(1 + k/1024)⌋` for k in 0...1024, computed by repeated
    /// squaring in 128-bit integer arithmetic (each squaring yields one bit of the logarithm).
    static let log2Table: [UInt64] = (0...(1 << segmentBits)).map { k in
        if k == 1 << segmentBits { return 1 << fractionBits }
        // x in [1, 2) as a fixed-point number with 62 fraction bits.
        var x = (UInt64(1 << segmentBits) + UInt64(k)) << (62 - segmentBits)
        var result: UInt64 = 0
        for _ in 0..<fractionBits {
            let square = x.multipliedFullWidth(by: x)
            // (x · x) >> 62: below 2^64 because x < 2.
            x = square.high << 2 | square.low >> 62
            result <<= 1
            if x >= 1 << 63 {
                result |= 1
                x >>= 1
            }
        }
        return result
    }

    /// The largest key: that of the highest possible score (2^64 - 1), -log2(2^-64) = 64.
    static let maxExponent: UInt64 = 64 << 32

    /// `E = -log2(1 - s / 2^64) = 64 - log2(2^64 - s)` in 32.32 fixed point (0 for s = 0,
    /// at most 2^38).
    @inline(__always)
    public static func exponent(score s: UInt64, table: UnsafePointer<UInt64>) -> UInt64 {
        guard s != 0 else { return 0 }
        // 2^64 - s, from 1 to 2^64 - 1.
        let v = 0 &- s
        let leading = UInt64(v.leadingZeroBitCount)
        let whole = 63 - leading
        // The bits after the leading one, as a 64-bit fraction.
        let fraction = (v << leading) << 1
        let k = Int(fraction >> UInt64(64 - segmentBits))
        let step = (fraction >> UInt64(64 - segmentBits - stepBits)) & ((1 << UInt64(stepBits)) - 1)
        let low = table[k], high = table[k + 1]
        let log2v = whole << UInt64(fractionBits) + low + ((high - low) * step) >> UInt64(stepBits)
        return (64 << UInt64(fractionBits)) - log2v
    }

    /// True when a backend with key `ea`, weight `wa`, score `sa` and position `pa` ranks
    /// before one with `eb`, `wb`, `sb`, `pb`: `ea / wa < eb / wb`, compared as
    /// `ea · wb < eb · wa` (at most 2^54, no overflow), then the lower score, then the lower
    /// position.
    @inline(__always)
    public static func precedes(_ ea: UInt64, _ wa: UInt64, _ sa: UInt64, _ pa: Int,
                                _ eb: UInt64, _ wb: UInt64, _ sb: UInt64, _ pb: Int) -> Bool {
        let left = ea &* wb, right = eb &* wa
        if left != right { return left < right }
        if sa != sb { return sa < sb }
        return pa < pb
    }
}
