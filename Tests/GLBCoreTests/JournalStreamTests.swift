import GLBCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Journal stream")
struct JournalStreamTests {
    @Test("JOURNAL_STREAM names a device and an inode in decimal")
    func matching() {
        #expect(JournalStream.matches("64769:1234567", device: 64769, inode: 1_234_567))
        #expect(!JournalStream.matches("64769:1234568", device: 64769, inode: 1_234_567))
        #expect(!JournalStream.matches("64770:1234567", device: 64769, inode: 1_234_567))
        for bad in ["", ":", "64769", "64769:", ":1234567", "64769:1234567:1", "x:1", "0x10:1", " 64769:1234567"] {
            #expect(!JournalStream.matches(bad, device: 64769, inode: 1_234_567), "\(bad)")
        }
    }

    @Test("the prefix is sd-daemon's: the syslog priority in angle brackets")
    func prefix() {
        #expect(JournalStream.prefixed("x", .error) == "<3>x")
        #expect(JournalStream.prefixed("x", .warning) == "<4>x")
        #expect(JournalStream.prefixed("x", .notice) == "<5>x")
        #expect(JournalStream.prefixed("x", .info) == "<6>x")
        #expect(JournalStream.prefixed("x", .debug) == "<7>x")
        #expect(JournalStream.prefixed("x", .critical) == "<2>x")
    }

    @Test("a descriptor is the journal only when it is the stream JOURNAL_STREAM names")
    func descriptor() throws {
        var journal: [Int32] = [0, 0], other: [Int32] = [0, 0]
        try #require(pipe(&journal) == 0 && pipe(&other) == 0)
        defer { (journal + other).forEach { close($0) } }
        var st = stat()
        try #require(fstat(journal[1], &st) == 0)
        setenv("JOURNAL_STREAM", "\(st.st_dev):\(st.st_ino)", 1)
        defer { unsetenv("JOURNAL_STREAM") }
        #expect(JournalStream.isJournal(fd: journal[1]))
        #expect(!JournalStream.isJournal(fd: other[1]), "an inherited variable names another stream")
        #expect(!JournalStream.isJournal(fd: -1))
        unsetenv("JOURNAL_STREAM")
        #expect(!JournalStream.isJournal(fd: journal[1]))
    }
}
