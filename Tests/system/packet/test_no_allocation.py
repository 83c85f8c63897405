"""The per-packet path allocates nothing: glb-packet-alloc-check counts every heap allocation
of the process (malloc and friends are replaced) around each PacketProcessor.process call over
a realistic mix of frames, in several configurations, then around each processBurst call over
the same frames in bursts of 32, and fails on any allocation.

The tool belongs to the benchmarks' package (benchmarks/Package.swift), out of the product.
Checked in its debug build (built by scripts/test) and in the release build, with the packet
path compiled as the director ships it (built here)."""
import pathlib
import re
import subprocess

import pytest

from glbtools.repo import ROOT

TOOL = "glb-packet-alloc-check"
BENCHMARKS = ROOT / "benchmarks"
# The configurations the tool runs (benchmarks/alloc-check/main.swift), in order.
VARIANTS = ["4 tables, defaults", "4 tables, alt hash, UDP checksum, drop foreign MAC",
            "200 binds, no echo, too little headroom"]


def run_check(path):
    r = subprocess.run([str(path)], capture_output=True, text=True, timeout=600)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    # Every configuration ran its packets and reported zero allocations inside process().
    reports = re.findall(r"^(.+): (\d+) packets, (\d+) allocations in process\(\)", r.stdout, re.M)
    assert [name for name, _, _ in reports] == VARIANTS, r.stdout
    for name, packets, allocations in reports:
        assert int(packets) == 100_000, name
        assert int(allocations) == 0, name
    bursts = re.findall(r"^(.+): (\d+) packets in bursts of 32, (\d+) allocations in processBurst\(\)", r.stdout, re.M)
    assert [name for name, _, _ in bursts] == VARIANTS, r.stdout
    for name, packets, allocations in bursts:
        assert int(packets) == 100_000, name
        assert int(allocations) == 0, name
    assert "FAIL" not in r.stdout
    return r.stdout


def built_tool(configuration):
    build = ["swift", "build", "--package-path", str(BENCHMARKS), "-c", configuration]
    subprocess.run(build + ["--product", TOOL], check=True, capture_output=True, text=True, timeout=1800)
    out = subprocess.run(build + ["--show-bin-path"], check=True, capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip()) / TOOL


def test_debug_build_allocates_nothing():
    run_check(built_tool("debug"))


@pytest.fixture(scope="module")
def release_tool():
    return built_tool("release")


def test_release_build_allocates_nothing(release_tool):
    run_check(release_tool)

