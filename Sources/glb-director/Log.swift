import Logging

/// The director's logger (GLB's JSON log lines, see GLBLogging).
let log = Logger(label: "glb-director")
