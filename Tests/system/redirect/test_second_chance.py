"""End to end: a TCP download survives a change of route because glb-redirect on the
new primary sends the connection's packets on to the backend that owns it.

    client ──┐                      b1, b2: VIP 192.0.2.80 on lo, an HTTP server on it,
    director ├── br0 (in "switch")           glb-redirect on eth0, replies go straight
    b1 ──────┤                               to the client (direct server return)
    b2 ──────┘

The client's route to the VIP points at the director stand-in (director_standin.py),
which GUE-encapsulates every packet to the primary named in its route file, with the
hop list from the same file; the test changes the route while a rate-limited download
runs. With hops [b1] after the switch the download completes byte for byte; with an
empty hop list the same switch breaks the connection, which shows that second chance
is what saves it. Links to the director and backends have MTU 1600 (GUE adds 40
bytes), the client's 1500; every veth has its TX offloads off (docs/design.md §10).
"""

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from glbtools.shell import wait_for
from glbtools import netns
from glbtools.repo import PYTHON

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, BPF)")

VIP = "192.0.2.80"
SUBNET = "10.77.0"
CLIENT_IP, DIRECTOR_IP = f"{SUBNET}.10", f"{SUBNET}.2"
BACKENDS = {"b1": f"{SUBNET}.11", "b2": f"{SUBNET}.12"}
MACS = {"client": "02:47:4c:00:00:10", "director": "02:47:4c:00:00:02",
        "b1": "02:47:4c:00:00:11", "b2": "02:47:4c:00:00:12"}
FILE_SIZE = 4 << 20
RATE = "1M"  # curl's --limit-rate: the download takes about 4 s
SWITCH_AFTER = 1 << 20  # bytes received before the route changes
STANDIN = Path(__file__).with_name("director_standin.py")


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    """What each backend serves: the same large file, and its own name."""
    root = tmp_path_factory.mktemp("www")
    data = os.urandom(FILE_SIZE)
    (root / "big.bin").write_bytes(data)
    for name in BACKENDS:
        (root / name).mkdir()
        (root / name / "whoami.txt").write_text(name)
        os.symlink(root / "big.bin", root / name / "big.bin")
    return types.SimpleNamespace(root=root, sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture(scope="module")
def cluster(loader, content, tmp_path_factory):
    netns.reap_stale()
    with netns.Lab() as lab:
        hosts = {role: lab.netns(role) for role in ("client", "director", *BACKENDS)}
        switch = lab.netns("switch")
        lab.bridge(switch, "br0", mtu=1600)
        for role, ns in hosts.items():
            mtu = 1500 if role == "client" else 1600
            lab.port(switch, "br0", ns, "eth0", f"p-{role}", mtu=mtu, offloads=False)
            ns.ip("link", "set", "eth0", "address", MACS[role])

        client, director = hosts["client"], hosts["director"]
        client.ip("addr", "add", f"{CLIENT_IP}/24", "dev", "eth0")
        client.ip("route", "add", f"{VIP}/32", "via", DIRECTOR_IP)
        # A small receive buffer keeps the server no more than 128 KiB ahead of curl, so
        # most of the file still has to be sent, and acknowledged, after the route changes.
        client.sysctl("net.ipv4.tcp_rmem", "4096 65536 131072")
        director.ip("addr", "add", f"{DIRECTOR_IP}/24", "dev", "eth0")

        for name, address in BACKENDS.items():
            ns = hosts[name]
            ns.ip("addr", "add", f"{address}/24", "dev", "eth0")
            ns.ip("addr", "add", f"{VIP}/32", "dev", "lo")
            for scope in ("all", "eth0"):
                ns.sysctl(f"net.ipv4.conf.{scope}.arp_ignore", 1)
                ns.sysctl(f"net.ipv4.conf.{scope}.arp_announce", 2)
            # bpf_fib_lookup() gives the forwarding path its MACs only where forwarding is on.
            ns.sysctl("net.ipv4.conf.eth0.forwarding", 1)
            loader.attach(ns, "eth0")
            lab.spawn(ns, [sys.executable, "-m", "http.server", "80", "--bind", VIP,
                           "--directory", content.root / name],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in BACKENDS:
            wait_for(lambda: hosts[name].run("ss", "-Hltn", f"src {VIP}:80").stdout.strip(),
                     f"the HTTP server of {name}")

        route_file = tmp_path_factory.mktemp("standin") / "route.json"
        route_file.write_text(json.dumps({"primary": BACKENDS["b1"], "hops": [BACKENDS["b2"]]}))
        standin = lab.spawn(director, [
            sys.executable, STANDIN, "--iface", "eth0", "--vip", VIP, "--src", DIRECTOR_IP,
            "--route", route_file,
            *[f"--neighbor={BACKENDS[n]}={MACS[n]}" for n in BACKENDS],
        ], stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(PYTHON)))
        assert read_line(standin).split() == ["route", BACKENDS["b1"], BACKENDS["b2"]]
        assert read_line(standin) == "ready"

        def set_route(primary, hops):
            """Switch the stand-in's route and wait until it uses the new one."""
            route_file.write_text(json.dumps({"primary": BACKENDS[primary],
                                              "hops": [BACKENDS[h] for h in hops]}))
            standin.send_signal(signal.SIGUSR1)
            line = read_line(standin).split()
            assert line == ["route", BACKENDS[primary], *(BACKENDS[h] for h in hops)], line

        def stats(name):
            return loader.stats(hosts[name], "eth0")

        yield types.SimpleNamespace(lab=lab, hosts=hosts, client=client, set_route=set_route, stats=stats)


def read_line(standin, timeout=10.0):
    """The stand-in's next line; fails if it prints none in time or has ended."""
    ready, _, _ = select.select([standin.stdout], [], [], timeout)
    assert ready, f"the director stand-in printed nothing in {timeout:.0f} s"
    line = standin.stdout.readline()
    assert line, f"the director stand-in ended ({standin.poll()})"
    return line.strip()


def url(path):
    return f"http://{VIP}/{path}"


def fetch(cluster, path):
    return cluster.client.run("curl", "-sS", "--fail", "--max-time", "10", url(path)).stdout


def start_download(cluster, out):
    return cluster.lab.spawn(cluster.client, [
        "curl", "-sS", "--fail", "--limit-rate", RATE, "--max-time", "30", "-o", out, url("big.bin"),
    ], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_bytes(out, count, download):
    def progressed():
        if download.poll() is not None:
            raise AssertionError(f"curl ended early ({download.returncode}): {download.stderr.read()}")
        return out.exists() and out.stat().st_size >= count
    wait_for(progressed, f"{count} bytes of the download", timeout=15)


def delta(after, before):
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def test_second_chance_keeps_a_connection_alive_across_a_route_change(cluster, content, tmp_path):
    cluster.set_route("b1", ["b2"])
    before = {name: cluster.stats(name) for name in BACKENDS}
    out = tmp_path / "big.bin"
    download = start_download(cluster, out)
    wait_for_bytes(out, SWITCH_AFTER, download)

    # The connection lives on b1, which was its primary.
    so_far = {name: delta(cluster.stats(name), before[name]) for name in BACKENDS}
    assert so_far["b1"].get("accepted_syn") == 1 and so_far["b1"].get("accepted_established", 0) > 0
    assert "accepted_syn" not in so_far["b2"] and "forwarded" not in so_far["b2"]

    # b2 becomes the primary, b1 the next hop: what the director does when b1 drains.
    cluster.set_route("b2", ["b1"])
    _, err = download.communicate(timeout=30)
    assert download.returncode == 0, err
    assert out.stat().st_size == FILE_SIZE
    assert hashlib.sha256(out.read_bytes()).hexdigest() == content.sha256

    after = {name: delta(cluster.stats(name), before[name]) for name in BACKENDS}
    print("counter changes:", json.dumps(after, indent=1))
    # Forwarded with the FIB's MACs (the very first packet may take the neighbour fallback
    # while b1's entry resolves).
    assert after["b2"].get("forward_fib_ok", 0) > 0, after["b2"]
    assert "accepted_last_resort" not in after["b2"] and "forward_error" not in after["b2"]
    assert after["b1"]["accepted_established"] > so_far["b1"]["accepted_established"]
    assert "accepted_last_resort" not in after["b1"]

    # A new connection lands on the new primary.
    assert fetch(cluster, "whoami.txt") == "b2"
    assert cluster.stats("b2")["accepted_syn"] > before["b2"]["accepted_syn"]


def test_without_a_next_hop_the_same_route_change_breaks_the_connection(cluster, tmp_path):
    cluster.set_route("b1", ["b2"])
    assert fetch(cluster, "whoami.txt") == "b1"
    before = cluster.stats("b2")
    out = tmp_path / "big.bin"
    download = start_download(cluster, out)
    wait_for_bytes(out, SWITCH_AFTER, download)

    cluster.set_route("b2", [])
    _, err = download.communicate(timeout=40)
    assert download.returncode != 0, "the download must break without second chance"
    assert out.stat().st_size < FILE_SIZE
    changed = delta(cluster.stats("b2"), before)
    assert changed.get("accepted_last_resort", 0) > 0, changed
    assert "forwarded" not in changed
