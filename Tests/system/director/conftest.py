"""Fixtures for the director's packet tests: hugepages, and a tester/director pair of
namespaces joined by a veth."""
import subprocess

import pytest

from glbsys import ROOT
from netns import Lab

HUGEPAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB"


def _read(name):
    with open(f"{HUGEPAGES}/{name}") as f:
        return int(f.read())


@pytest.fixture(scope="session")
def hugepages():
    """At least 512 free 2 MB pages for the directors of the session; the previous
    reservation is restored afterwards."""
    before = _read("nr_hugepages")
    if _read("free_hugepages") < 512:
        subprocess.run([str(ROOT / "scripts" / "hugepages"), "reserve", str(before + 512)], check=True, capture_output=True)
    yield
    subprocess.run([str(ROOT / "scripts" / "hugepages"), "reserve", str(before)], capture_output=True)


class Pair:
    """tester:t0 <-> director:d0, MTU 9100, offloads off, IPv6 off (no stray traffic)."""

    def __init__(self, lab, mtu=9100):
        self.lab = lab
        self.tester = lab.netns("tester")
        self.director = lab.netns("director")
        for ns in (self.tester, self.director):
            ns.sysctl("net.ipv6.conf.all.disable_ipv6", 1)
            ns.sysctl("net.ipv6.conf.default.disable_ipv6", 1)
        lab.veth(self.tester, "t0", self.director, "d0", mtu=mtu, offloads=False)

    def mac(self, ns, ifname):
        return ns.run("cat", f"/sys/class/net/{ifname}/address").stdout.strip()


@pytest.fixture
def pair():
    with Lab() as lab:
        yield Pair(lab)


@pytest.fixture
def make_pair():
    """Pairs with a chosen MTU (native XDP on veth needs an MTU below a page)."""
    with Lab() as lab:
        yield lambda mtu: Pair(lab, mtu=mtu)
