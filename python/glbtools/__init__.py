"""SwiftGLB's Python helpers, shared by the system tests (Tests/system), the demo cluster
(demo/glbdemo) and the benchmarks. Tests/system/pytest.ini puts this folder's parent on
the path; scripts/demo and the benchmarks' run scripts set PYTHONPATH.

    shell     commands, a namespace by name (`Netns`), long-running processes, Prometheus
              text, and `wait_for`, the one way to wait for a condition
    netns     a test's lab: namespaces, veth pairs, bridges and processes torn down together;
              running a block inside a namespace (`entered`)
    wire      raw frames on an interface in a namespace
    frames    GLB's GUE frames, over IPv4 and IPv6, and the Internet checksum
    counters  glb-redirect's counters, read from their C header
    redirect  the glb-redirect binary and what it leaves in the kernel (tc, bpftool)
    repo      the repository's paths, CHANGELOG.md's version, pcap files
    units     the systemd units of glb-config/systemd as data
    glbref    an independent model of GLB's hashing, table format and compiler
"""
