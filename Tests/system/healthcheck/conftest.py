"""Fixtures for glb-healthcheck's system tests: the binaries they run."""
import pytest


@pytest.fixture(scope="session")
def healthcheck(bin_dir):
    path = bin_dir / "glb-healthcheck"
    assert path.exists(), f"{path} not built (swift build --product glb-healthcheck)"
    return path


@pytest.fixture(scope="session")
def redirect(bin_dir):
    path = bin_dir / "glb-redirect"
    assert path.exists(), f"{path} not built (swift build --product glb-redirect)"
    return path
