"""The repository's paths, and helpers over its files (CHANGELOG.md, pcap captures)."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
# This package's folder: PYTHONPATH for the scripts the tests start (they import glbtools).
PYTHON = ROOT / "python"


def minimal_balance_config(tmp_path):
    """A glb-balance configuration of one table with one backend, whose Prometheus is not
    there (127.0.0.1:1): each step freezes, and the daemon runs and serves its metrics."""
    import json
    source = tmp_path / "forwarding_table.json"
    source.write_text(json.dumps({"tables": [{
        "name": "web", "hash_key": "00112233445566778899aabbccddeeff", "seed": "ffeeddccbbaa99887766554433221100",
        "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}],
        "backends": [{"ip": "10.0.0.1", "state": "active", "healthy": True}]}]}))
    config = tmp_path / "balance.json"
    config.write_text(json.dumps({"source": str(source), "output": str(tmp_path / "out.json"),
                                  "prometheus": "http://127.0.0.1:1", "interval_s": 1,
                                  "tables": [{"table": "web", "query": "up", "address_label": "backend"}]}))
    return config


def changelog_version():
    """The version of CHANGELOG.md's first `## [x.y.z]` heading: what every binary reports."""
    import re
    for line in (ROOT / "CHANGELOG.md").read_text().splitlines():
        m = re.match(r"## \[(\d+\.\d+\.\d+)\]", line)
        if m:
            return m.group(1)
    raise AssertionError("CHANGELOG.md has no version heading")


def iter_pcap(path):
    """The frames of a (little-endian, microsecond) pcap file, streamed: fast enough for
    millions, and independent of the code under test."""
    import struct
    with open(path, "rb") as f:
        header = f.read(24)
        assert struct.unpack_from("<I", header, 0)[0] in (0xA1B2C3D4, 0xA1B23C4D), f"{path}: not a little-endian pcap"
        while True:
            record = f.read(16)
            if len(record) < 16:
                return
            yield f.read(struct.unpack_from("<I", record, 8)[0])


def read_pcap(path):
    return list(iter_pcap(path))
