import Foundation
import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("Destination table")
struct DestinationTableTests {
    static let sourceText = """
        {
          "healthchecks": {"trigger": 2},
          "tables": [
            {
              "name": "web",
              "seed": "\(Samples.seed)",
              "hash_key": "\(Samples.hashKey)",
              "binds": [{"proto": "tcp", "ip": "192.0.2.1", "port": 80}],
              "backends": [
                {"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 80}},
                {"healthchecks": {"tcp": 22}, "ip": "10.0.0.2", "healthy": true, "state": "draining"},
                {"ip": "10.0.0.3", "state": "inactive", "healthy": false, "healthchecks": {"http": 80}},
                {"ip": "10.0.0.4", "state": "active", "x-owner": "ops"}
              ]
            }
          ],
          "comment": "kept"
        }
        """

    @Test("the source comes back with healthy set: key order, unknown keys and everything else unchanged")
    func keepsTheSource() throws {
        let source = try Samples.decode(Self.sourceText)
        let document = source.destination { $0.address == Samples.ip("10.0.0.1") ? false : true }
        #expect(String(decoding: DestinationTable.bytes(document), as: UTF8.self) == """
            {
              "healthchecks": {
                "trigger": 2
              },
              "tables": [
                {
                  "name": "web",
                  "seed": "\(Samples.seed)",
                  "hash_key": "\(Samples.hashKey)",
                  "binds": [
                    {
                      "proto": "tcp",
                      "ip": "192.0.2.1",
                      "port": 80
                    }
                  ],
                  "backends": [
                    {
                      "ip": "10.0.0.1",
                      "state": "active",
                      "healthy": false,
                      "healthchecks": {
                        "http": 80
                      }
                    },
                    {
                      "healthchecks": {
                        "tcp": 22
                      },
                      "ip": "10.0.0.2",
                      "healthy": true,
                      "state": "draining"
                    },
                    {
                      "ip": "10.0.0.3",
                      "state": "inactive",
                      "healthy": true,
                      "healthchecks": {
                        "http": 80
                      }
                    },
                    {
                      "ip": "10.0.0.4",
                      "state": "active",
                      "healthy": true,
                      "x-owner": "ops"
                    }
                  ]
                }
              ],
              "comment": "kept"
            }

            """)
    }

    @Test("the destination compiles: the compiler reads exactly the health the checker decided")
    func compiles() throws {
        let source = try Samples.decode(Self.sourceText)
        let document = source.destination { key in key.address == Samples.ip("10.0.0.2") ? false : true }
        let config = try ForwardingTableConfig.decode(document, file: "dst.json").config
        #expect(config.tables[0].backends.map(\.healthy) == [true, false, true, true])
        // Only the source's own oddity is left to warn about: no missing healthy anywhere.
        #expect(try ForwardingTableConfig.decode(document, file: "dst.json").warnings.map(\.field) == ["backends[3].x-owner"])
    }

    @Test("healthy goes after state, else after ip, else last")
    func placement() {
        let noState = JSONObject([("ip", .string("10.0.0.1")), ("x", .integer(1))])
        #expect(DestinationTable.setting(noState, healthy: true).keys == ["ip", "healthy", "x"])
        let neither = JSONObject([("x", .integer(1))])
        #expect(DestinationTable.setting(neither, healthy: false).keys == ["x", "healthy"])
    }

    @Test("documents of another shape pass through unchanged")
    func otherShapes() {
        let odd: [JSONValue] = [.array([]), .object(JSONObject([("tables", .string("x"))])), .null]
        for value in odd { #expect(DestinationTable.fill(value) { _, _ in true } == value) }
    }

    @Test("weight and previous_weight reach the checked table unchanged, and compile as written")
    func weightsPassThrough() throws {
        let text = Self.sourceText
            .replacingOccurrences(of: #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 80}}"#,
                                  with: #"{"ip": "10.0.0.1", "state": "active", "weight": 3, "previous_weight": 1, "healthchecks": {"http": 80}}"#)
            .replacingOccurrences(of: #"{"ip": "10.0.0.4", "state": "active", "x-owner": "ops"}"#,
                                  with: #"{"ip": "10.0.0.4", "state": "active", "weight": 1, "x-owner": "ops"}"#)
        let source = try Samples.decode(text)
        let bytes = DestinationTable.bytes(source.destination { _ in true })
        let checked = try ForwardingTableConfig.decode(bytes: bytes, file: "dst.json").config
        let backends = checked.tables[0].backends
        #expect(backends.map(\.weight) == [3, nil, nil, 1])
        #expect(backends.map(\.previousWeight) == [1, nil, nil, nil])
        #expect(checked.tables[0].isTransition)
    }
}
