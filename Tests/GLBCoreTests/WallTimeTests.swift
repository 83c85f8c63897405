import GLBCore
import Testing

@Suite("Wall-clock times and durations for people")
struct WallTimeTests {
    @Test("ISO 8601 times in UTC with milliseconds")
    func times() {
        #expect(WallTime(secondsSinceEpoch: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(WallTime(secondsSinceEpoch: 951_782_400.999).iso8601 == "2000-02-29T00:00:00.999Z")
        #expect(Duration.milliseconds(150).humanReadable == "150 ms")
        #expect(Duration.microseconds(40).humanReadable == "0.04 ms")
        #expect(Duration.microseconds(1250).humanReadable == "1.3 ms")
        #expect(Duration.milliseconds(2500).humanReadable == "2.5 s")
        #expect(Duration.seconds(2).humanReadable == "2 s")
        #expect("7".leftPadded(to: 3) == "007")
        #expect("1234".leftPadded(to: 3) == "1234")
    }
}
