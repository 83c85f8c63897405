import GLBCore

extension Console {
    /// One log line in GLB Director's format, `{"timestamp": …, "level": …, "message": …}`,
    /// for tools that GLB's tooling expects to log so (`build-config`): errors and warnings on
    /// stderr, the rest on stdout.
    public static func glbLog(_ level: String, _ message: String) {
        let line = GLBLogHandler.line(level: level, message: message)
        if level == "error" || level == "warning" { error(line) } else { out(line) }
    }
}
