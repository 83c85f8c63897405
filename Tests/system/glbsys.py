"""Paths and helpers shared by the system tests."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"


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
