/// Hexadecimal text for keys, MACs and dumps.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Two lowercase hex digits.
    public static func byte(_ b: UInt8) -> String {
        String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0xf)]], as: UTF8.self)
    }

    /// Lowercase hex of all bytes, no separators.
    public static func string<C: Sequence>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map(byte).joined()
    }

    /// Bytes from an even-length string of hex digits (either case); nil if anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
