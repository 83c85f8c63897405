"""Shared fixtures for SwiftGLB's system tests (pytest)."""
import os
import pathlib
import subprocess

import pytest

from glbtools.repo import ROOT

HUGEPAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB"


def _read(name):
    with open(f"{HUGEPAGES}/{name}") as f:
        return int(f.read())


@pytest.fixture(scope="session")
def hugepages():
    """At least 512 free 2 MB pages for the directors of the session; the previous
    reservation is restored afterwards."""
    before = _read("nr_hugepages")
    subprocess.run([str(ROOT / "scripts" / "hugepages"), "ensure-free", "512"], check=True, capture_output=True)
    yield
    subprocess.run([str(ROOT / "scripts" / "hugepages"), "reserve", str(before)], capture_output=True)


def _bin_dir() -> pathlib.Path:
    env = os.environ.get("GLB_BIN_DIR")
    if env:
        return pathlib.Path(env)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip())


@pytest.fixture(scope="session")
def bin_dir() -> pathlib.Path:
    return _bin_dir()


@pytest.fixture(scope="session")
def cli(bin_dir):
    """Runs glb-director-cli; returns the CompletedProcess (text mode)."""
    path = bin_dir / "glb-director-cli"
    assert path.exists(), f"{path} not built (run scripts/test, or swift build)"

    def run(*args, check=False):
        # A time limit far above any command's run, so that a command that hangs fails its
        # test instead of stopping the suite.
        return subprocess.run([str(path), *map(str, args)], capture_output=True, text=True, check=check, timeout=600)

    return run
