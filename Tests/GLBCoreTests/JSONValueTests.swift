@testable import GLBCore
import Testing

@Suite("JSON reader and writer")
struct JSONValueTests {
    @Test("keys keep file order and values keep their kinds")
    func order() throws {
        let v = try JSONValue.parse(#"{"z": 1, "a": [true, null, 2.5, -0, "x\u00e9\n"], "m": {}}"#)
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.keys == ["z", "a", "m"])
        #expect(o["z"] == .integer(1))
        #expect(o["a"] == .array([.bool(true), .null, .number(2.5), .integer(0), .string("xé\n")]))
    }

    @Test("serialization round-trips and keeps order")
    func roundTrip() throws {
        let text = #"{"tables": [{"name": "a\"b", "n": 1, "x": [], "y": {}, "f": 0.25, "big": 1e300}]}"#
        let v = try JSONValue.parse(text)
        #expect(try JSONValue.parse(v.serialized()) == v)
        #expect(v.compactSerialized() == #"{"tables": [{"name": "a\"b", "n": 1, "x": [], "y": {}, "f": 0.25, "big": 1e+300}]}"#)
    }

    @Test("syntax errors say where", arguments: [
        ("{", "line 1, column 2: expected a string key in object"),
        ("{\"a\" 1}", "line 1, column 6: expected ':' after key"),
        ("[1,]", "line 1, column 4: unexpected character ']', expected a value"),
        ("{\"a\": 1, \"a\": 2}", "line 1, column 10: duplicate key \"a\""),
        ("\"abc", "line 1, column 1: unterminated string"),
        ("01", "line 1, column 1: leading zero in number"),
        ("[1] x", "line 1, column 5: unexpected data after the JSON value"),
        ("\"\\q\"", "line 1, column 4: invalid escape '\\q'"),
        ("\"\\ud800\"", "line 1, column 8: unpaired surrogate in \\u escape"),
        ("tru", "line 1, column 1: invalid literal, expected 'true'"),
        ("\n\n  @", "line 3, column 3: unexpected character '@', expected a value"),
    ])
    func errors(text: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        do { _ = try JSONValue.parse(text) } catch { #expect(error.description == message) }
    }

    @Test("hostile nesting is refused, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000)
        do {
            _ = try JSONValue.parse(deep)
            Issue.record("accepted")
        } catch {
            #expect(error.reason == "nesting deeper than 64 levels")
        }
        // The bound is exact: 64 levels parse.
        #expect((try? JSONValue.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))) != nil)
    }

    @Test("a document of too many small values is refused before it costs gigabytes")
    func tooManyValues() {
        // The bound counts every value: the outer array and 1,000 empty ones are 1,001.
        let many = Array(("[" + Array(repeating: "[]", count: 1_000).joined(separator: ",") + "]").utf8)
        do {
            _ = try JSONValue.parse(many, maxValues: 1_000)
            Issue.record("accepted")
        } catch {
            #expect(error.reason == "more than 1000 values")
        }
        #expect((try? JSONValue.parse(many, maxValues: 1_001)) != nil)
        #expect(JSONParser.maxValues == 1_000_000)
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xff, 0x22]) }
    }

    @Test("the writer's bytes: two-space indentation, nested objects indented again, a final newline; literals keep their order")
    func writerBytes() {
        let status: JSONValue = .object([
            "interface": .string("eth\"0"),
            "attached": .bool(true),
            "tc_handle": .null,
            "counters": .object(["packets": .integer(3), "not_gue": .integer(1)]),
        ])
        #expect(status.serialized() == """
            {
              "interface": "eth\\"0",
              "attached": true,
              "tc_handle": null,
              "counters": {
                "packets": 3,
                "not_gue": 1
              }
            }

            """)
        #expect(status.compactSerialized() == #"{"interface": "eth\"0", "attached": true, "tc_handle": null, "counters": {"packets": 3, "not_gue": 1}}"#)
    }
}
