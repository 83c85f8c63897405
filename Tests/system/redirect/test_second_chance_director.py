"""Second chance end to end with the real glb-director (DPDK) instead of the stand-in: a
download from b1 keeps running when a table change makes b2 the primary and b1 the second
hop; removing b1 from the table instead breaks it, which shows that second chance is what
saves the connection."""
import hashlib
import os
import subprocess

import pytest

from glbdemo.cluster import VIP, Cluster
from glbtools.shell import wait_for

SOURCE = "10.90.0.100"


@pytest.fixture
def cluster(hugepages, bin_dir, tmp_path):
    c = Cluster(bin_dir, tmp_path / "cluster", prefix=f"glbt{os.getpid()}-sc", large_size=2 << 20,
                interval_ms=200, trigger=2, log=lambda *_: None)
    try:
        c.up(members=("b1",))
        yield c
    finally:
        c.down(quiet=True)


def start_download(c, out):
    return subprocess.Popen(c.ns["client"].cmd("curl", "-sS", "--fail", "--limit-rate", "200k", "--interface", SOURCE,
                                               "-D", f"{out}.headers", "-o", out, f"http://{VIP}/large.bin"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def served_by(c):
    out = c.ns["client"].run("curl", "-sS", "-D", "-", "-o", "/dev/null", "--interface", SOURCE, f"http://{VIP}/small.bin").stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.lower().startswith("x-backend"))


def test_director_and_second_chance_keep_a_download_alive(cluster, tmp_path):
    out = tmp_path / "download"
    assert served_by(cluster) == "b1"
    before = cluster.redirect_stats("b2").get("forwarded", 0)
    download = start_download(cluster, out)
    wait_for(lambda: out.exists() and out.stat().st_size > 512 << 10, "the download to get going", timeout=30)
    diff = cluster.change_table({"b1": "draining", "b2": "active"}, "b1 draining, b2 active")
    assert diff["broken"] == 0 and diff["kept_by_second_chance"] == 65536
    assert served_by(cluster) == "b2"
    _, err = download.communicate(timeout=60)
    assert download.returncode == 0, err
    assert "x-backend: b1" in (tmp_path / "download.headers").read_text().lower()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == cluster.large_sha256
    assert cluster.redirect_stats("b2")["forwarded"] > before


def test_without_second_chance_the_download_breaks(cluster, tmp_path):
    out = tmp_path / "download"
    download = start_download(cluster, out)
    wait_for(lambda: out.exists() and out.stat().st_size > 512 << 10, "the download to get going", timeout=30)
    diff = cluster.change_table({"b2": "active"}, "b1 removed")
    assert diff["broken"] == 65536
    _, err = download.communicate(timeout=60)
    assert download.returncode != 0, "the download survived without a second hop"
    assert out.stat().st_size < 2 << 20
