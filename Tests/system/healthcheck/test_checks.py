"""Each kind of check against real servers in network namespaces, one round each
(`glb-healthcheck --once --json`): http, tcp, and the tunnel check against a backend
with and without glb-redirect."""

import json
import os
import sys

import pytest

from glbtools.shell import wait_for
import hclab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, raw sockets, BPF)")

B1, B2, B3 = (f"{hclab.SUBNET}.{n}" for n in (11, 12, 13))
NOBODY = f"{hclab.SUBNET}.99"  # on the subnet, but no host answers there
SETTINGS = {"timeout_ms": 1500}


def checks_of(status, ip):
    return {c["check"]: c for c in hclab.backend_status(status, ip)["checks"]}


def test_tcp_check_passes_on_a_listening_port_and_fails_on_a_closed_one(healthcheck, tmp_path):
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2}) as env:
        c = env.cluster
        c.serve_http("b1", port=8080)
        c.serve_http("b2", port=8080)
        source = hclab.source_table([
            (B1, {"tcp": 8080}),
            (B2, {"tcp": 8081}),  # nothing listens there
            (NOBODY, {"tcp": 8080}),
        ], healthchecks=SETTINGS)
        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err  # some backend is unhealthy

        b1 = hclab.backend_status(status, B1)
        assert b1["healthy"] is True and b1["checks"][0]["passed"] is True

        b2 = hclab.backend_status(status, B2)
        assert b2["healthy"] is False
        assert b2["checks"][0] | {"duration_ms": 0, "at": ""} == {
            "check": "tcp", "target": f"tcp {B2}:8081", "port": 8081, "passed": False,
            "error": "Connection refused", "duration_ms": 0, "at": ""}

        # An address where nobody answers is a failed check with a reason, not a hang.
        lost = hclab.backend_status(status, NOBODY)
        assert lost["healthy"] is False
        assert lost["checks"][0]["error"] in ("no connection within 1.5 s", "No route to host"), lost


# Accepts connections (the kernel completes the handshake) and never answers.
SILENT_SERVER = ("import socket, sys, time\n"
                 "s = socket.socket()\n"
                 "s.bind((sys.argv[1], 80))\n"
                 "s.listen(16)\n"
                 "time.sleep(3600)\n")


def test_http_check_needs_status_200_from_the_uri(healthcheck, tmp_path):
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2, "b3": B3}) as env:
        c = env.cluster
        c.serve_http("b1")
        c.serve_http("b2")
        env.lab.spawn(c.hosts["b3"], [sys.executable, "-c", SILENT_SERVER, B3])
        wait_for(lambda: c.hosts["b3"].run("ss", "-Hltn", f"src {B3}:80").stdout.strip(), "b3's listener")
        source = hclab.source_table([
            (B1, {"http": 80, "http_uri": "/health"}),
            (B2, {"http": 80, "http_uri": "/missing"}),
            (B3, {"http": 80}),
            (NOBODY, {"http": 80}),
        ], healthchecks=SETTINGS)
        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err
        assert checks_of(status, B1)["http"]["passed"] is True
        assert checks_of(status, B1)["http"]["target"] == f"http://{B1}:80/health"
        assert checks_of(status, B2)["http"]["error"] == "HTTP 404 Not Found, expected 200"
        assert checks_of(status, B3)["http"]["error"] == "no HTTP response within 1.5 s"
        assert checks_of(status, NOBODY)["http"]["error"] in ("no connection within 1.5 s", "No route to host")


def test_tunnel_check_passes_only_where_glb_redirect_decapsulates(healthcheck, redirect, tmp_path):
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2}) as env:
        c = env.cluster
        b1 = c.hosts["b1"]
        b1.run(redirect, "attach", "--iface", "eth0")
        source = hclab.source_table([(B1, {"gue": 19523}), (B2, {"gue": 19523})], healthchecks=SETTINGS)

        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err
        assert checks_of(status, B1)["gue"]["passed"] is True, status
        assert hclab.backend_status(status, B1)["healthy"] is True
        # b2's kernel has no GUE port: it says so (or stays silent, if it rate-limits the error).
        assert checks_of(status, B2)["gue"]["error"] in (
            f"port unreachable: nothing takes UDP port 19523 on {B2} (is glb-redirect attached there?)",
            "no echo reply within 1.5 s"), status
        assert hclab.backend_status(status, B2)["healthy"] is False

        # It was glb-redirect that took the echo in: its counter moved.
        stats = json.loads(b1.run(redirect, "stats", "--iface", "eth0", "--json").stdout)
        assert stats["accepted_icmp_echo"] >= 1, stats

        # Without glb-redirect the same backend fails the same check.
        b1.run(redirect, "detach", "--iface", "eth0")
        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err
        assert checks_of(status, B1)["gue"]["passed"] is False, status
        assert checks_of(status, B1)["gue"]["error"] in (
            f"port unreachable: nothing takes UDP port 19523 on {B1} (is glb-redirect attached there?)",
            "no echo reply within 1.5 s"), status


def test_tunnel_check_over_ipv6_passes_only_where_glb_redirect_decapsulates(healthcheck, redirect, tmp_path):
    """IPv6 backends get the IPv6 underlay's probe (private type 1, an ICMPv6 echo inside);
    the same backend without glb-redirect fails it (negative control)."""
    b1_ip, b2_ip, checker_ip = "fd78::11", "fd78::12", "fd78::2"
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2}) as env:
        c = env.cluster
        for ns, ip in ((c.checker, checker_ip), (c.hosts["b1"], b1_ip), (c.hosts["b2"], b2_ip)):
            ns.enable_ipv6("eth0")
            ns.ip("-6", "addr", "add", f"{ip}/64", "dev", "eth0", "nodad")
        b1 = c.hosts["b1"]
        b1.run(redirect, "attach", "--iface", "eth0")
        source = hclab.source_table([(b1_ip, {"gue": 19523}), (b2_ip, {"gue": 19523})], healthchecks=SETTINGS)

        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err
        assert checks_of(status, b1_ip)["gue"]["passed"] is True, json.dumps(status["tables"], indent=1)
        assert checks_of(status, b1_ip)["gue"]["target"] == f"gue [{b1_ip}]:19523"
        assert hclab.backend_status(status, b1_ip)["healthy"] is True
        assert checks_of(status, b2_ip)["gue"]["error"] in (
            f"port unreachable: nothing takes UDP port 19523 on {b2_ip} (is glb-redirect attached there?)",
            "no echo reply within 1.5 s"), status
        assert hclab.backend_status(status, b2_ip)["healthy"] is False

        # glb-redirect took the echo in, over IPv6.
        stats = json.loads(b1.run(redirect, "stats", "--iface", "eth0", "--json").stdout)
        assert stats["accepted_icmp_echo"] >= 1, stats

        b1.run(redirect, "detach", "--iface", "eth0")
        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err
        assert checks_of(status, b1_ip)["gue"]["passed"] is False, status
        assert checks_of(status, b1_ip)["gue"]["error"] in (
            f"port unreachable: nothing takes UDP port 19523 on {b1_ip} (is glb-redirect attached there?)",
            "no echo reply within 1.5 s"), status


def test_a_backend_needs_every_check_to_pass(healthcheck, redirect, tmp_path):
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2}) as env:
        c = env.cluster
        for name in ("b1", "b2"):
            c.serve_http(name)
        c.hosts["b1"].run(redirect, "attach", "--iface", "eth0")
        source = hclab.source_table([
            (B1, {"http": 80, "http_uri": "/health", "gue": 19523}),
            (B2, {"http": 80, "http_uri": "/health", "gue": 19523}),  # http passes, the tunnel does not
            (f"{hclab.SUBNET}.50", {"http": 80}, "inactive"),  # not checked at all
            (f"{hclab.SUBNET}.51", None),  # no checks: healthy, as in GLB
        ], healthchecks=SETTINGS)
        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 3, err
        assert hclab.backend_status(status, B1)["healthy"] is True
        b2 = hclab.backend_status(status, B2)
        assert b2["healthy"] is False
        assert [ch["passed"] for ch in b2["checks"]] == [True, False]
        for ip in (f"{hclab.SUBNET}.50", f"{hclab.SUBNET}.51"):
            assert hclab.backend_status(status, ip) == {
                "ip": ip, "state": "inactive" if ip.endswith(".50") else "active", "checked": False, "healthy": True}

        # All healthy: exit status 0, and the text view for people.
        c.hosts["b2"].run(redirect, "attach", "--iface", "eth0")
        code, status, err = hclab.run_once(c.checker, healthcheck, tmp_path, source)
        assert code == 0, err
        assert all(hclab.backend_status(status, ip)["healthy"] for ip in (B1, B2))
