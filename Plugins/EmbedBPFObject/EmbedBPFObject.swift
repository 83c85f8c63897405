import Foundation
import PackagePlugin

/// Builds glb-redirect's eBPF program as part of the package's own build and hands the
/// target a generated Swift file that holds the object (base64) and its counter names, so
/// that the installed binary is self-contained.
///
/// The command runs through /bin/bash so that the scripts need no execute bit (a fresh
/// checkout or an archive may lose it). Every file the object depends on is an input, so
/// editing the program or its headers rebuilds the object and relinks glb-redirect.
@main
struct EmbedBPFObject: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let scripts = root.appending(path: "scripts")
        // Where scripts/build-bpf compiles from, whichever target applies the plugin.
        let bpfSources = root.appending(path: "Sources/glb-redirect/bpf")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedProgram+Object.swift")

        let sources = try FileManager.default.contentsOfDirectory(
            at: bpfSources, includingPropertiesForKeys: nil
        ).filter { ["c", "h"].contains($0.pathExtension) }
        guard !sources.isEmpty else {
            throw PluginError("no eBPF sources in \(bpfSources.path)")
        }

        return [
            .buildCommand(
                displayName: "Building and embedding the glb-redirect eBPF program",
                executable: URL(filePath: "/bin/bash"),
                arguments: [scripts.appending(path: "embed-bpf").path, output.path],
                inputFiles: sources + [
                    scripts.appending(path: "embed-bpf"),
                    scripts.appending(path: "build-bpf"),
                ],
                outputFiles: [output]
            ),
        ]
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
