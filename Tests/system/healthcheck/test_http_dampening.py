"""An HTTP backend that starts failing is marked unhealthy after `trigger` failed rounds,
and healthy again after `trigger` good ones; the destination table and the reload
command follow each change, once, and nothing else."""

import os

import pytest

import hclab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

TRIGGER = 3
BACKENDS = {"b1": f"{hclab.SUBNET}.11", "b2": f"{hclab.SUBNET}.12"}
# Short rounds; a generous timeout, so that a slow moment of a loaded machine is not a
# failed check (the test counts every transition).
SETTINGS = {"interval_ms": 150, "timeout_ms": 3000, "trigger": TRIGGER}


def url(name):
    return f"http://{BACKENDS[name]}:80/health"


def test_http_failure_and_recovery_are_dampened_and_published_once_each(healthcheck, tmp_path):
    with hclab.cluster(tmp_path, BACKENDS) as env:
        c = env.cluster
        for name in BACKENDS:
            c.serve_http(name)
        source = hclab.source_table(
            [(ip, {"http": 80, "http_uri": "/health"}) for ip in BACKENDS.values()], healthchecks=SETTINGS)
        checker = hclab.Checker(env.lab, c.checker, healthcheck, tmp_path, source)

        # Start-up: nothing is written before the first round; then once, all healthy.
        checker.wait_for("reload command succeeded")
        assert hclab.health_of(checker.destination()) == {BACKENDS["b1"]: True, BACKENDS["b2"]: True}
        first = checker.wait_for("backend healthy", count=2)
        assert {e["backend"] for e in first} == set(BACKENDS.values())
        assert all(e["first_result"] == "true" for e in first)

        # b1's server starts answering 404: unhealthy after exactly TRIGGER failed rounds.
        c.set_healthy("b1", False)
        [down] = checker.wait_for("backend unhealthy", backend=BACKENDS["b1"])
        assert down["rounds"] == str(TRIGGER)
        assert down["failed"] == f"{url('b1')}: HTTP 404 Not Found, expected 200"
        results = checker.check_results(url("b1"))
        assert results[-TRIGGER:] == ["failed"] * TRIGGER and results[-TRIGGER - 1] == "passed", results
        checker.wait_for("reload command succeeded", count=2)
        assert hclab.health_of(checker.destination()) == {BACKENDS["b1"]: False, BACKENDS["b2"]: True}

        # Recovery: healthy again after exactly TRIGGER good rounds.
        c.set_healthy("b1", True)
        [up] = checker.wait_for("backend healthy", backend=BACKENDS["b1"], rounds=str(TRIGGER))
        results = checker.check_results(url("b1"))
        assert results[-TRIGGER:] == ["passed"] * TRIGGER and results[-TRIGGER - 1] == "failed", results
        checker.wait_for("reload command succeeded", count=3)
        assert hclab.health_of(checker.destination()) == {BACKENDS["b1"]: True, BACKENDS["b2"]: True}

        # Then nothing changes: ten more rounds write nothing and reload nothing.
        written = os.stat(checker.dst)
        seen = len(checker.check_results(url("b2")))
        checker.wait_for("check passed", count=seen + 10, check=url("b2"))
        assert os.stat(checker.dst).st_ino == written.st_ino
        assert os.stat(checker.dst).st_mtime_ns == written.st_mtime_ns
        assert len(checker.events("destination table written")) == 3

        # The reload command ran once per change, each time for the table of that change.
        assert [hclab.health_of(t) for t in checker.reloads()] == [
            {BACKENDS["b1"]: True, BACKENDS["b2"]: True},
            {BACKENDS["b1"]: False, BACKENDS["b2"]: True},
            {BACKENDS["b1"]: True, BACKENDS["b2"]: True},
        ]
        # The destination is the source with healthy filled in, nothing else.
        dst = checker.destination()
        for backend in dst["tables"][0]["backends"]:
            assert list(backend) == ["ip", "state", "healthy", "healthchecks"]
            del backend["healthy"]
        assert dst == source


def test_a_short_outage_below_the_trigger_changes_nothing(healthcheck, tmp_path):
    trigger = 5
    with hclab.cluster(tmp_path, {"b1": BACKENDS["b1"]}) as env:
        c = env.cluster
        c.serve_http("b1")
        source = hclab.source_table([(BACKENDS["b1"], {"http": 80, "http_uri": "/health"})],
                                    healthchecks={"interval_ms": 300, "timeout_ms": 3000, "trigger": trigger})
        checker = hclab.Checker(env.lab, c.checker, healthcheck, tmp_path, source)
        checker.wait_for("reload command succeeded")

        # Exactly two failed checks (the server counts them down), then healthy again: below the trigger.
        c.fail_next("b1", 2)
        checker.wait_for("check failed", count=2, check=url("b1"))
        passes = checker.check_results(url("b1")).count("passed")
        checker.wait_for("check passed", count=passes + 3, check=url("b1"))

        results = checker.check_results(url("b1"))
        assert results.count("failed") == 2, results
        assert checker.events("backend unhealthy") == []
        assert len(checker.events("destination table written")) == 1
        assert len(checker.reloads()) == 1
