#if canImport(Glibc)
import Glibc
#endif
import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("healthcheck.conf")
struct HealthcheckFileTests {
    static func load(_ text: String) throws(ConfigErrors) -> Loaded<HealthcheckFile> {
        try HealthcheckFile.decode(bytes: Array(text.utf8), file: "hc.conf")
    }

    static func errors(_ text: String) -> [String] {
        do {
            _ = try load(text)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("GLB's packaged healthcheck.conf reads as it is")
    func glbFile() throws {
        let loaded = try Self.load("""
            {
              "forwarding_table": {
                "src": "/etc/glb/forwarding_table.src.json",
                "dst": "/etc/glb/forwarding_table.checked.json"
              },
              "reload_command": "glb-director-cli build-config /etc/glb/forwarding_table.checked.json /etc/glb/forwarding_table.checked.bin && systemctl reload glb-director"
            }
            """)
        #expect(loaded.config.source == "/etc/glb/forwarding_table.src.json")
        #expect(loaded.config.destination == "/etc/glb/forwarding_table.checked.json")
        #expect(loaded.config.reloadCommand?.hasSuffix("systemctl reload glb-director") == true)
        #expect(loaded.warnings.isEmpty)
    }

    @Test("missing paths take GLB's documented defaults, with a warning each")
    func defaults() throws {
        let loaded = try Self.load(#"{"forwarding_table": {"dst": "/tmp/out.json"}}"#)
        #expect(loaded.config.source == HealthcheckFile.defaultSource)
        #expect(loaded.config.destination == "/tmp/out.json")
        #expect(loaded.config.reloadCommand == nil)
        #expect(loaded.warnings.map(\.description) == ["hc.conf: forwarding_table.src: missing: using /etc/glb/forwarding_table.src.json"])

        let empty = try Self.load("{}")
        #expect(empty.config == HealthcheckFile())
        #expect(empty.warnings.count == 1)
    }

    @Test("errors name the file and the key")
    func errors() {
        #expect(Self.errors(#"{"forwarding_table": {"src": 5, "dst": "/x"}}"#)
            == ["hc.conf: forwarding_table.src: expected a file path as a string, got 5"])
        #expect(Self.errors(#"{"forwarding_table": "/etc/glb/x.json"}"#)
            == ["hc.conf: forwarding_table: expected an object with \"src\" and \"dst\" paths, got a string"])
        #expect(Self.errors(#"{"forwarding_table": {"src": "/a", "dst": "/b"}, "reload_command": ["x"]}"#)
            == ["hc.conf: reload_command: expected a shell command as a string, got an array"])
        #expect(Self.errors(#"{"forwarding_table": {"src": "/a", "dst": "/b"}, "reload_command": "  "}"#).count == 1)
        #expect(Self.errors(#"{"forwarding_table": {"src": "/a/t.json", "dst": "/a/t.json"}}"#)
            == ["hc.conf: forwarding_table: src and dst are the same file (/a/t.json): the checked table would overwrite its source"])
        #expect(Self.errors(#"{"forwarding_table": {"src": "/a/", "dst": ""}}"#).count == 2)
        #expect(Self.errors("[]") == ["hc.conf: expected a JSON object with \"forwarding_table\" and \"reload_command\", got an array"])
    }

    @Test("src and dst are compared as files: another name or a link for the source is refused")
    func sameFileByAnotherName() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        try folder.write("src.json", "{}")
        let src = folder.file("src.json")
        let dotted = folder.path + "/./src.json"
        #expect(symlink(src, folder.file("link.json")) == 0)
        for dst in [dotted, folder.file("link.json")] {
            #expect(Self.errors(#"{"forwarding_table": {"src": "\#(src)", "dst": "\#(dst)"}}"#)
                == ["hc.conf: forwarding_table: src and dst are the same file (\(src)): the checked table would overwrite its source"])
        }
        #expect(Self.errors(#"{"forwarding_table": {"src": "\#(src)", "dst": "\#(folder.file("dst.json"))"}}"#).isEmpty)
    }

    @Test("a JSON syntax error gives the line and column")
    func syntax() {
        let messages = Self.errors("{\n  \"forwarding_table\": {\n    \"src\": \"/a\",\n  }\n}")
        #expect(messages.count == 1)
        #expect(messages.first?.hasPrefix("hc.conf: invalid JSON at line 4, column 3") == true)
    }

    @Test("unknown keys are warnings, a null reload_command is no command")
    func unknownKeys() throws {
        let loaded = try Self.load(#"{"forwarding_table": {"src": "/a", "dst": "/b", "tmp": 1}, "reload_command": null, "extra": true}"#)
        #expect(loaded.config.reloadCommand == nil)
        #expect(loaded.warnings.map(\.field) == ["extra", "forwarding_table.tmp"])
    }

    @Test("an unreadable file is an error naming it")
    func unreadable() {
        #expect(throws: ConfigErrors.self) { try HealthcheckFile.load(path: "/nonexistent/healthcheck.conf") }
        do {
            _ = try HealthcheckFile.load(path: "/nonexistent/healthcheck.conf")
        } catch {
            #expect(error.description.contains("/nonexistent/healthcheck.conf"))
            #expect(error.description.contains("No such file"))
        }
    }

    @Test("a destination whose folder is missing, not a folder, or that is a folder itself, is refused, naming the path")
    func destinationFolder() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        func problem(_ dst: String) -> String? {
            do {
                try HealthcheckFile(source: folder.file("src.json"), destination: dst).checkDestinationWritable(file: "hc.conf")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem(folder.file("dst.json")) == nil)
        #expect(problem(folder.file("missing/dst.json"))
            == "hc.conf: forwarding_table.dst: cannot write \(folder.path)/missing/dst.json: its folder \(folder.path)/missing does not exist")
        try folder.write("plain", "")
        #expect(problem(folder.file("plain/dst.json"))
            == "hc.conf: forwarding_table.dst: cannot write \(folder.path)/plain/dst.json: \(folder.path)/plain is not a folder")
        #expect(problem(folder.path)
            == "hc.conf: forwarding_table.dst: cannot write \(folder.path): \(folder.path) is a folder, expected a file")
        // The write goes through a link: the folder that counts is its target's.
        #expect(symlink(folder.file("missing/dst.json"), folder.file("link.json")) == 0)
        #expect(problem(folder.file("link.json"))
            == "hc.conf: forwarding_table.dst: cannot write \(folder.path)/link.json: its folder \(folder.path)/missing does not exist")
    }

    @Test("every reader of the health checker returns the warnings of a valid file it loads, and none for a clean one")
    func everyReaderLoadsWarnings() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        func warnings<C: ConfigFile>(_ type: C.Type, _ text: String) throws -> [String] {
            try folder.write("config.json", text)
            return try C.load(path: folder.file("config.json")).warnings.map { $0.field ?? "" }
        }
        let paths = #"{"forwarding_table": {"src": "/a/src.json", "dst": "/a/dst.json"}"#
        #expect(try warnings(HealthcheckFile.self, paths + "}") == [])
        #expect(try warnings(HealthcheckFile.self, paths + #", "reload_comand": "true"}"#) == ["reload_comand"])

        let backend = #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 80}}"#
        #expect(try warnings(SourceTable.self, Samples.source(healthchecks: #"{"trigger": 2}"#, tables: [Samples.table(backends: [backend])])) == [])
        #expect(try warnings(SourceTable.self, Samples.source(healthchecks: #"{"triger": 2}"#, tables: [Samples.table(backends: [backend])]))
            == ["healthchecks.triger"])
    }
}
