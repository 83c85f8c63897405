import ArgumentParser
import GLBCore

#if canImport(Glibc)
import Glibc
#endif

@main
struct GLBDirectorCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glb-director-cli",
        abstract: "Compile, check and inspect SwiftGLB/GLB Director forwarding tables.",
        discussion: """
            Forwarding tables are written as JSON (GLB Director's schema) and compiled into the \
            binary format the director loads. Every director compiles the same JSON into the \
            same bytes, so any director can serve any flow.
            """,
        version: SwiftGLBVersion.line("glb-director-cli"),
        subcommands: [BuildConfig.self, Validate.self, Dump.self, Diff.self, Encap.self]
    )

    /// Runs the command; every failure exits with status 1, as GLB's tool does.
    static func main() {
        // Like GLB's tool, a bare invocation is a usage error.
        if CommandLine.arguments.count == 1 {
            Console.error(helpMessage())
            Glibc.exit(1)
        }
        // An interrupted build-config leaves no temporary table behind.
        TemporaryFileCleanup.install()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            // Already reported in the command's own format.
            Glibc.exit(failure.status)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Console.out(fullMessage(for: error))
                Glibc.exit(0)
            }
            Console.error(fullMessage(for: error))
            Glibc.exit(1)
        }
    }
}

/// A failure the command has already reported; only the exit status remains.
struct CommandFailure: Error {
    var status: Int32 = 1
}
