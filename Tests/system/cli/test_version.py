"""Every binary answers --version with CHANGELOG.md's top version, and the daemons export it
as <component>_build_info (the director's and the health checker's are tested beside their
other metrics: Tests/system/director, GLBHealthcheckTests)."""
import os
import pathlib
import subprocess

import pytest

from glbtools.repo import changelog_version, minimal_balance_config
from glbtools.netns import Lab
from glbtools.shell import wait_for

BINARIES = ["glb-director", "glb-director-cli", "glb-healthcheck", "glb-redirect", "glb-announce", "glb-balance"]


@pytest.mark.parametrize("name", BINARIES)
def test_version_is_the_changelogs(bin_dir, name):
    res = subprocess.run([str(bin_dir / name), "--version"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res
    assert res.stdout == f"{name} {changelog_version()}\n"
    assert res.stderr == ""


def test_director_version_needs_neither_eal_options_nor_dpdk(bin_dir):
    """Answered before EAL starts: EAL would log to stderr and make its runtime directory."""
    prefix = f"glbversion{os.getpid()}"
    for args in (["--version"], ["-l", "0", "--no-huge", "--file-prefix", prefix, "--", "--version"]):
        res = subprocess.run([str(bin_dir / "glb-director"), *args], capture_output=True, text=True, timeout=30)
        assert (res.returncode, res.stdout, res.stderr) == (0, f"glb-director {changelog_version()}\n", ""), args
    assert not pathlib.Path(f"/var/run/dpdk/{prefix}").exists()


def build_info(text, prefix):
    return [line for line in text.splitlines() if line.startswith(f"{prefix}_build_info")]


def test_balance_exports_build_info(bin_dir, tmp_path):
    # Prometheus is not there: the loop freezes, and its metrics are served all the same.
    config = minimal_balance_config(tmp_path)
    with Lab() as lab:
        ns = lab.netns("balance")
        lab.spawn(ns, [str(bin_dir / "glb-balance"), "--config", str(config), "--metrics-address", "127.0.0.1:19543"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = wait_for(lambda: ns.run("curl", "-sf", "http://127.0.0.1:19543/metrics", check=False).stdout,
                        "glb-balance's metrics")
        assert build_info(text, "glb_balance") == [f'glb_balance_build_info{{version="{changelog_version()}"}} 1']


def test_announce_exports_build_info(bin_dir, tmp_path):
    with Lab() as lab:
        ns = lab.netns("announce")
        # No director and no BIRD: it withdraws (nothing to withdraw) and serves its metrics.
        lab.spawn(ns, [str(bin_dir / "glb-announce"), "--forwarding-table", str(tmp_path / "none.bin"),
                       "--ready-url", "http://127.0.0.1:1/ready", "--birdc", "/bin/false",
                       "--bird-include4", str(tmp_path / "v4.conf"), "--bird-include6", str(tmp_path / "v6.conf"),
                       "--metrics-address", "127.0.0.1:19542"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = wait_for(lambda: ns.run("curl", "-sf", "http://127.0.0.1:19542/metrics", check=False).stdout,
                        "glb-announce's metrics")
        assert build_info(text, "glb_announce") == [f'glb_announce_build_info{{version="{changelog_version()}"}} 1']
