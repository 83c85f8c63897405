"""Fixtures for the director's packet tests: a tester/director pair of namespaces joined
by a veth (hugepages come from Tests/system/conftest.py)."""
import pytest

from glbtools.netns import Lab


class Pair:
    """tester:t0 <-> director:d0, MTU 9100, offloads off, IPv6 off (no stray traffic)."""

    def __init__(self, lab, mtu=9100):
        self.lab = lab
        self.tester = lab.netns("tester")
        self.director = lab.netns("director")
        lab.veth(self.tester, "t0", self.director, "d0", mtu=mtu, offloads=False)


@pytest.fixture
def pair():
    with Lab() as lab:
        yield Pair(lab)


@pytest.fixture
def make_pair():
    """Pairs with a chosen MTU (native XDP on veth needs an MTU below a page)."""
    with Lab() as lab:
        yield lambda mtu: Pair(lab, mtu=mtu)
