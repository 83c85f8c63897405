"""Fixtures for the glb-redirect program tests (BPF_PROG_TEST_RUN).

Each test module runs in a namespace of its own lab (glbtools.netns), which the
test thread enters for the module (`entered`) and leaves when the module is done; the
namespace then goes with everything the tests created in it, and tests of other
modules in the same pytest run are not affected. BPF_PROG_TEST_RUN runs the program
on an skb of the calling thread's namespace, so its socket and FIB lookups see exactly
the sockets, addresses and routes set up here (the `topology` fixture):

  lo      127.0.0.1, ::1, the VIPs 192.0.2.10/32 and 2001:db8::10/128
  glbd0   ifb (this kernel has no dummy driver; an ifb device without a tc
          redirect into it drops what it is given, and has no ARP): the
          clients' networks 198.51.100.0/24 and 2001:db8:1::/64 are on-link
          here, so what the stack sends to "clients" disappears (no RST from a
          closed port spoils a handshake made by hand) after packet sockets
          on glbd0 have seen it
  glbv0   veth (peer glbv1), 10.1.0.2/24, forwarding on, with a permanent
          neighbour 10.1.0.3 and a route 203.0.113.0/24 via 10.1.0.3: the
          FIB-lookup path of forwarding
Forwarding stays off on lo, so a program run with the default ingress device
(lo) takes the bpf_redirect_neigh() fallback when it forwards.
"""

import os
import socket
import subprocess
import types
from pathlib import Path

import pytest

import bpfprog
from glbtools import counters
from glbtools.netns import Lab, entered, reap_stale
from glbtools.redirect import Loader
from glbtools.repo import ROOT

BUILD_BPF = ROOT / "scripts" / "build-bpf"

TOPOLOGY = types.SimpleNamespace(
    vip4="192.0.2.10",
    vip6="2001:db8::10",
    client4="198.51.100.7",
    client6="2001:db8:1::7",
    fib_dev="glbv0",
    fib_dev_mac="02:00:00:00:01:02",
    fib_local="10.1.0.2",
    fib_neigh="10.1.0.3",
    fib_neigh_mac="02:00:00:00:01:03",
    fib_no_neigh="10.1.0.4",
    fib_via_gw="203.0.113.5",
    client_dev="glbd0",
    fib_ifindex=None,  # filled in once glbv0 exists
)


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def sysctl_path(name):
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctl(name):
    return sysctl_path(name).read_text().strip()


def write_sysctl(name, value):
    sysctl_path(name).write_text(f"{value}\n")


@pytest.fixture(scope="module")
def topology():
    """The test thread inside a fresh namespace with the topology above, for the module."""
    if os.geteuid() != 0:
        pytest.fail("the glb-redirect program tests need root (BPF, netns, raw sockets)")
    reap_stale()
    with Lab() as lab:
        ns = lab.netns("prog")
        # IPv6 on (lab namespaces start without it) before any device exists, so every
        # device made here has it.
        ns.enable_ipv6()
        with entered(ns):
            _ip("addr", "add", f"{TOPOLOGY.vip4}/32", "dev", "lo")
            _ip("-6", "addr", "add", f"{TOPOLOGY.vip6}/128", "dev", "lo")

            _ip("link", "add", TOPOLOGY.client_dev, "type", "ifb")
            _ip("link", "set", TOPOLOGY.client_dev, "up")
            _ip("addr", "add", "198.51.100.1/24", "dev", TOPOLOGY.client_dev)
            _ip("-6", "addr", "add", "2001:db8:1::1/64", "dev", TOPOLOGY.client_dev, "nodad")

            _ip("link", "add", TOPOLOGY.fib_dev, "address", TOPOLOGY.fib_dev_mac,
                "type", "veth", "peer", "name", "glbv1")
            _ip("link", "set", TOPOLOGY.fib_dev, "up")
            _ip("link", "set", "glbv1", "up")
            _ip("addr", "add", f"{TOPOLOGY.fib_local}/24", "dev", TOPOLOGY.fib_dev)
            _ip("neigh", "replace", TOPOLOGY.fib_neigh, "lladdr", TOPOLOGY.fib_neigh_mac,
                "dev", TOPOLOGY.fib_dev, "nud", "permanent")
            _ip("route", "add", "203.0.113.0/24", "via", TOPOLOGY.fib_neigh)
            write_sysctl(f"net.ipv4.conf.{TOPOLOGY.fib_dev}.forwarding", 1)
            assert read_sysctl("net.ipv4.conf.lo.forwarding") == "0"
            # (/sys shows the namespace of whoever mounted it: ask the kernel through a socket)
            TOPOLOGY.fib_ifindex = socket.if_nametoindex(TOPOLOGY.fib_dev)
            yield TOPOLOGY


@pytest.fixture(scope="session")
def bpf_object(tmp_path_factory):
    """The program, built once with scripts/build-bpf and loaded once."""
    out = tmp_path_factory.mktemp("glb-redirect") / "glb_redirect.o"
    build = subprocess.run([str(BUILD_BPF), str(out)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"scripts/build-bpf failed ({build.returncode}):\n{build.stderr}")
    assert build.stdout == "" and build.stderr == "", "build-bpf must be quiet on success"
    obj = bpfprog.BpfObject(out)
    yield obj
    obj.close()


class Result(types.SimpleNamespace):
    """verdict, out (frame bytes after the program), counters (non-zero deltas by name)."""


class Redirect:
    """The loaded glb_redirect program with its two maps."""

    def __init__(self, obj):
        self.prog = obj.program("glb_redirect")
        self.counters = obj.map("glb_counters")
        self.config = obj.map("glb_config")
        self.names = counters.names()

    def set_config(self, gue_port=0, flags=0, netns_id=0):
        self.config.update(0, gue_port.to_bytes(2, "little") + flags.to_bytes(2, "little")
                           + netns_id.to_bytes(4, "little", signed=True))

    def read_counters(self):
        values = {name: self.counters.percpu_u64_sum(i) for i, name in enumerate(self.names)}
        return {k: v for k, v in values.items() if v}

    def run(self, frame, ifindex=None):
        """Reset the counters, run the program once on `frame`, return a Result."""
        self.counters.reset_percpu_u64()
        ctx = bpfprog.skb_ctx(ifindex) if ifindex else None
        verdict, out = self.prog.test_run(bytes(frame), ctx=ctx)
        return Result(verdict=verdict, out=out, counters=self.read_counters())


@pytest.fixture(scope="session")
def _redirect(bpf_object):
    return Redirect(bpf_object)


@pytest.fixture
def glb(topology, _redirect):
    """The program with a default (all-zero) config, restored after the test."""
    _redirect.set_config()
    yield _redirect
    _redirect.set_config()


@pytest.fixture
def sysctl(topology):
    """Set sysctls of the test netns for one test: sysctl('net.ipv4.tcp_syncookies', 2)."""
    saved = {}

    def set_(name, value):
        saved.setdefault(name, read_sysctl(name))
        write_sysctl(name, value)

    yield set_
    for name, value in saved.items():
        write_sysctl(name, value)


@pytest.fixture(scope="module")
def loader(bin_dir):
    """The glb-redirect command of the build under test."""
    path = bin_dir / "glb-redirect"
    assert path.exists(), f"{path} not built (swift build --product glb-redirect)"
    return Loader(path)
