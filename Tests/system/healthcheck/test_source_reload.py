"""SIGHUP re-reads the source table: a broken one is reported and the last good state
stays (and keeps following the checks); a good one is used from the next round. The
view is also served at --metrics-address: Prometheus text at /metrics, JSON at /status."""

import json
import os
import signal

import pytest

import hclab
from glbtools import netns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

B1, B2, B3 = (f"{hclab.SUBNET}.{n}" for n in (11, 12, 13))
SETTINGS = {"interval_ms": 150, "timeout_ms": 3000, "trigger": 2}
HTTP = {"http": 80, "http_uri": "/health"}
METRICS = "127.0.0.1:9101"


def scrape(ns, path):
    return ns.run("curl", "-sS", "--fail", "--max-time", "10", f"http://{METRICS}{path}").stdout


def metric(text, line_start):
    values = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start)]
    assert len(values) == 1, (line_start, values)
    return values[0]


def test_a_broken_source_keeps_the_last_good_state(healthcheck, tmp_path):
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2, "b3": B3}) as env:
        c = env.cluster
        for name in ("b1", "b2", "b3"):
            c.serve_http(name)
        good = hclab.source_table([(B1, HTTP), (B2, HTTP)], healthchecks=SETTINGS)
        checker = hclab.Checker(env.lab, c.checker, healthcheck, tmp_path, good,
                                extra_args=["--metrics-address", METRICS])
        checker.wait_for("reload command succeeded")
        checker.wait_for("serving metrics")
        text = scrape(c.checker, "/metrics")
        assert metric(text, "glb_healthcheck_source_ok ") == "1"
        assert metric(text, f'glb_healthcheck_backend_healthy{{table="web",backend="{B1}"}}') == "1"

        # Broken JSON: reported with the file and the place, and the checker goes on.
        checker.write_source(json.dumps(good)[:-40])
        checker.sighup()
        [error] = checker.wait_for("cannot use the source table; keeping the last good one")
        assert error["file"] == str(checker.src)
        assert any(e["msg"].startswith(f"source table: {checker.src}: invalid JSON at line 1") for e in checker.events())
        status = json.loads(scrape(c.checker, "/status"))
        assert status["source_status"]["ok"] is False
        assert status["source_status"]["load_failures"] == 1
        assert [b["ip"] for b in status["tables"][0]["backends"]] == [B1, B2]
        assert metric(scrape(c.checker, "/metrics"), "glb_healthcheck_source_ok ") == "0"

        # The last good source still follows the checks.
        c.set_healthy("b2", False)
        checker.wait_for("backend unhealthy", backend=B2)
        checker.wait_for("reload command succeeded", count=2)
        assert hclab.health_of(checker.destination()) == {B1: True, B2: False}

        # Valid JSON with a wrong type: the key is named, and still nothing changes.
        wrong = hclab.source_table([(B1, HTTP), (B2, {"http": "80"})], healthchecks=SETTINGS)
        checker.write_source(wrong)
        checker.sighup()
        checker.wait_for("cannot use the source table; keeping the last good one", count=2)
        assert any(e["msg"] == f'source table: {checker.src}: table 0 (web): backends[1].healthchecks.http: '
                               'expected a port number 1-65535, got "80"' for e in checker.events())
        assert len(checker.reloads()) == 2

        # A good source again, with a third backend: in use from the next round; the
        # kept backends keep their health.
        checker.write_source(hclab.source_table([(B1, HTTP), (B2, HTTP), (B3, HTTP)], healthchecks=SETTINGS))
        checker.sighup()
        checker.wait_for("source table read; in use from the next round")
        checker.wait_for("reload command succeeded", count=3)
        assert hclab.health_of(checker.destination()) == {B1: True, B2: False, B3: True}
        assert [hclab.health_of(t) for t in checker.reloads()] == [
            {B1: True, B2: True}, {B1: True, B2: False}, {B1: True, B2: False, B3: True}]
        text = scrape(c.checker, "/metrics")
        assert metric(text, "glb_healthcheck_source_ok ") == "1"
        assert metric(text, "glb_healthcheck_source_load_failures_total ") == "2"
        assert metric(text, f'glb_healthcheck_backend_healthy{{table="web",backend="{B2}"}}') == "0"
        assert metric(text, f'glb_healthcheck_check_passed{{backend="{B2}",check="http",port="80",uri="/health"}}') == "0"
        assert metric(text, f'glb_healthcheck_backend_transitions_total{{table="web",backend="{B2}"}}') == "1"
        assert metric(text, "glb_healthcheck_destination_writes_total ") == "3"
        assert metric(text, "glb_healthcheck_reloads_total ") == "3"

        # SIGTERM ends it cleanly.
        checker.proc.send_signal(signal.SIGTERM)
        assert checker.proc.wait(timeout=10) == 0
        checker.wait_for("stopping", signal="SIGTERM")


def test_a_broken_source_at_start_up_is_an_error_and_writes_nothing(healthcheck, tmp_path):
    conf = tmp_path / "healthcheck.conf"
    src = tmp_path / "src.json"
    dst = tmp_path / "dst.json"
    conf.write_text(json.dumps({"forwarding_table": {"src": str(src), "dst": str(dst)},
                                "reload_command": f"touch {tmp_path}/reloaded"}))
    src.write_text(json.dumps(hclab.source_table([(B1, {"gue": 19523, "tcp": 70000})])))
    res = netns.run([healthcheck, "--config", conf], check=False, timeout=30)
    assert res.returncode == 2
    assert res.stderr == (f"glb-healthcheck: error: {src}: table 0 (web): backends[0].healthchecks.tcp: "
                          "expected a port number 1-65535, got 70000\n")
    assert not dst.exists() and not (tmp_path / "reloaded").exists()
