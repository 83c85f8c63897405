import CCrypto

#if canImport(Glibc)
import Glibc
#endif

/// An integrity check for binary forwarding tables that leaves GLB's format alone: a file
/// `TABLE.sha256` beside the table, in `sha256sum`'s format (so `sha256sum -c` reads it too).
/// `build-config --checksum` writes it; the director checks it on start and on every reload
/// when it exists, and refuses a table that does not match (GLB's format has no checksum: a
/// table damaged in a copy could otherwise pass every structural check).
public enum TableChecksum {
    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }

    public static func path(forTable table: String) -> String { table + ".sha256" }

    /// Lowercase hexadecimal SHA-256.
    public static func sha256(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        bytes.withUnsafeBufferPointer { input in
            _ = SHA256(input.baseAddress, input.count, &digest)
        }
        return Hex.string(digest)
    }

    /// "HEX  NAME\n", as sha256sum writes it (NAME without its folder: the file sits beside it).
    public static func line(for bytes: [UInt8], table: String) -> String {
        "\(sha256(bytes))  \(FileIO.basename(of: table))\n"
    }

    /// Writes the checksum file of a table just written.
    public static func write(for bytes: [UInt8], table: String) throws(FileError) {
        try FileIO.writeAtomically(path: path(forTable: table), bytes: Array(line(for: bytes, table: table).utf8))
    }

    /// Removes a checksum file that would describe an older table (a table written without
    /// one); true when there was one.
    @discardableResult
    public static func removeStale(table: String) -> Bool {
        unlink(path(forTable: table)) == 0
    }

    /// Checks `bytes`, read from `table`, against its checksum file; true when there is one
    /// and it matches, false when there is none.
    @discardableResult
    public static func verify(_ bytes: [UInt8], table: String) throws -> Bool {
        let sumPath = path(forTable: table)
        guard access(sumPath, F_OK) == 0 else { return false }
        let text = try FileIO.read(path: sumPath, limit: 4096)
        let expected = String(decoding: text, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
        guard expected.count == 64, Hex.decode(expected) != nil else {
            throw Mismatch(description: "\(sumPath): not a SHA-256 checksum line (\"HEX  NAME\")")
        }
        let actual = sha256(bytes)
        guard actual == expected.lowercased() else {
            throw Mismatch(description: "\(table): SHA-256 \(actual) does not match \(sumPath) (\(expected)): the table is damaged or incomplete, or the checksum file belongs to another table")
        }
        return true
    }
}
