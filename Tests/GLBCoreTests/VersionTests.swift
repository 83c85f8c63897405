import GLBCore
import Testing

@Suite("Version")
struct VersionTests {
    /// The version of CHANGELOG.md's first `## [x.y.z]` entry.
    static func changelogVersion() throws -> String {
        var root = #filePath
        for _ in 0..<3 { root = String(root[..<root.lastIndex(of: "/")!]) }
        let text = String(decoding: try FileIO.read(path: root + "/CHANGELOG.md", limit: 1 << 20), as: UTF8.self)
        let heading = try #require(text.split(separator: "\n").first { $0.hasPrefix("## [") })
        let open = heading.index(heading.startIndex, offsetBy: 4)
        let close = try #require(heading.firstIndex(of: "]"))
        return String(heading[open..<close])
    }

    @Test("the version is CHANGELOG.md's top entry")
    func matchesChangelog() throws {
        #expect(try Self.changelogVersion() == SwiftGLBVersion.current)
    }

    @Test("the version is three numbers, as Semantic Versioning and Debian's packages want")
    func shape() {
        let parts = SwiftGLBVersion.current.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) })
    }

    @Test("--version's line is the program and the version")
    func line() {
        #expect(SwiftGLBVersion.line("glb-director") == "glb-director \(SwiftGLBVersion.current)")
    }

    @Test("build_info: one gauge of value 1, the version first, then the given labels")
    func buildInfo() {
        var out = PrometheusText()
        out.buildInfo(prefix: "glb_director", labels: [("dpdk", "22.11.4")])
        let text = out.text
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("# HELP glb_director_build_info "))
        #expect(lines[1] == "# TYPE glb_director_build_info gauge")
        #expect(lines[2] == "glb_director_build_info{version=\"\(SwiftGLBVersion.current)\",dpdk=\"22.11.4\"} 1")
        #expect(text.hasSuffix("\n"))
    }

    @Test("build_info escapes label values")
    func escaping() {
        var out = PrometheusText()
        out.buildInfo(prefix: "x", labels: [("odd", "a\"b\\c\nd")])
        let text = out.text
        #expect(text.contains("odd=\"a\\\"b\\\\c\\nd\"} 1\n"))
    }
}
