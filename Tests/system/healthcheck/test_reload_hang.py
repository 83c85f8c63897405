"""Checks go on while the reload command runs: a reload command that hangs (here, until the
test lets it go) holds back only the next publication. Health keeps following the checks,
/status and /metrics keep moving, and what changed meanwhile is written and reloaded once,
with the latest state, when the running command ends; two reload commands never overlap."""

import json
import os

import pytest

from glbtools.shell import wait_for
import hclab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

B1, B2 = (f"{hclab.SUBNET}.{n}" for n in (11, 12))
SETTINGS = {"interval_ms": 100, "timeout_ms": 3000, "trigger": 2}
HTTP = {"http": 80, "http_uri": "/health"}
METRICS = "127.0.0.1:9101"


def scrape(ns, path):
    return ns.run("curl", "-sS", "--fail", "--max-time", "10", f"http://{METRICS}{path}").stdout


def check_runs(ns):
    """glb_healthcheck_check_runs_total of every check, summed."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in scrape(ns, "/metrics").splitlines()
               if line.startswith("glb_healthcheck_check_runs_total{"))


def test_checks_go_on_while_the_reload_command_hangs(healthcheck, tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    runs, release, lock, overlaps = (gate / name for name in ("runs", "release", "lock", "overlaps"))
    # Each run notes itself, then waits until the test creates `release`; the lock folder
    # shows whether two runs ever overlap.
    prefix = (f"mkdir {lock} || echo overlap >> {overlaps}; echo run >> {runs}; "
              f"while [ ! -e {release} ]; do sleep 0.05; done; rmdir {lock}; ")
    with hclab.cluster(tmp_path, {"b1": B1, "b2": B2}) as env:
        c = env.cluster
        for name in ("b1", "b2"):
            c.serve_http(name)
        try:
            checker = hclab.Checker(env.lab, c.checker, healthcheck, tmp_path,
                                    hclab.source_table([(B1, HTTP), (B2, HTTP)], healthchecks=SETTINGS),
                                    extra_args=["--metrics-address", METRICS], reload_prefix=prefix)
            checker.wait_for("serving metrics")
            checker.wait_for("destination table written")
            wait_for(runs.exists, "the first reload command to start")
            before = json.loads(scrape(c.checker, "/status"))
            assert before["destination_status"]["reload_running"] is True
            runs_before = check_runs(c.checker)

            # Both backends fail, one after the other, while the command hangs.
            c.set_healthy("b1", False)
            checker.wait_for("backend unhealthy", backend=B1)
            c.set_healthy("b2", False)
            checker.wait_for("backend unhealthy", backend=B2)

            during = json.loads(scrape(c.checker, "/status"))
            assert during["rounds"] > before["rounds"]
            assert check_runs(c.checker) > runs_before
            assert [b["healthy"] for b in during["tables"][0]["backends"]] == [False, False]
            assert during["destination_status"]["reload_running"] is True
            assert during["destination_status"]["reloads"] == 1
            # Nothing was written or run since: the first command still runs.
            assert hclab.health_of(checker.destination()) == {B1: True, B2: True}
            assert len(checker.events("destination table written")) == 1
            assert runs.read_text().splitlines() == ["run"]
            assert checker.reloads() == []
        finally:
            release.touch()

        checker.wait_for("reload command succeeded", count=2)
        # The first run loaded the first table; the second, right after it, the latest state.
        # The state between (only b1 unhealthy) was never written.
        assert [hclab.health_of(d) for d in checker.reloads()] == [{B1: True, B2: True}, {B1: False, B2: False}]
        assert len(checker.events("destination table written")) == 2
        assert not overlaps.exists(), "two reload commands ran at once"
        after = json.loads(scrape(c.checker, "/status"))
        assert after["destination_status"]["reload_running"] is False
        assert after["destination_status"]["reload_pending"] is False
