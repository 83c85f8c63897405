"""glb-config/prometheus/glb-alerts.yml: promtool accepts it and its unit tests pass, every
alert has a case that fires and one that does not, the rules use only metrics the
components export, and the rules and the runbook agree."""

import re

import pytest
import yaml

from promql import (EXTERNAL, PROMETHEUS_DIR, ROOT, RUNBOOK, emitted_metrics, github_anchors,
                    known_metrics, metric_names, promtool)

RULES = PROMETHEUS_DIR / "glb-alerts.yml"
TESTS = PROMETHEUS_DIR / "glb-alerts.test.yml"


def alert_rules():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
            if "alert" in rule]


def test_promtool_accepts_the_rules():
    res = promtool("check", "rules", RULES)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in res.stdout


def test_promtool_unit_tests_pass():
    res = promtool("test", "rules", TESTS.name, cwd=PROMETHEUS_DIR)
    assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_unit_tests_catch_a_wrong_expectation(tmp_path):
    """Negative control: the same tests with one expected label changed fail."""
    (tmp_path / RULES.name).write_text(RULES.read_text())
    broken = TESTS.read_text().replace('instance: "d1:19540", lcore: "1"', 'instance: "d1:19540", lcore: "2"', 1)
    assert broken != TESTS.read_text()
    (tmp_path / TESTS.name).write_text(broken)
    res = promtool("test", "rules", TESTS.name, cwd=tmp_path)
    assert res.returncode != 0 and "GLBDirectorLcoreStalled" in res.stdout + res.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_does_not():
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "alert names must be unique"
    fires, holds = set(), set()
    for case in yaml.safe_load(TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else holds).add(check["alertname"])
    assert (fires | holds) <= set(names), f"tests of unknown alerts: {(fires | holds) - set(names)}"
    assert set(names) - fires == set(), "alerts without a case that fires"
    assert set(names) - holds == set(), "alerts without a case that does not fire"


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section():
    anchors = github_anchors(RUNBOOK.read_text())
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        path, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert ROOT / path == RUNBOOK, (rule["alert"], path)
        assert anchor in anchors, f"{rule['alert']}: no heading #{anchor} in {path}"


def test_rules_use_only_metrics_the_components_export():
    known = known_metrics()
    for rule in alert_rules():
        used = metric_names(rule["expr"])
        assert used, f"{rule['alert']}: no metric found in {rule['expr']!r}"
        assert used <= known, f"{rule['alert']} uses {used - known}, which nothing exports"


def test_the_runbook_names_exactly_the_alerts_of_the_rules_file():
    """One source: the runbook points at the file and lists its alerts by name, without
    expressions of its own."""
    text = RUNBOOK.read_text()
    assert "```promql" not in text, "alert expressions belong in glb-alerts.yml, not in the runbook"
    assert "glb-config/prometheus/glb-alerts.yml" in text
    assert set(re.findall(r"`(GLB[A-Za-z]+)`", text)) == {rule["alert"] for rule in alert_rules()}


@pytest.mark.parametrize("expr,names", [
    ('sum by (instance) (rate(glb_director_packets_total{outcome="forwarded"}[5m])) == 0', {"glb_director_packets_total"}),
    ('a and on (instance) b{x=~"y|z"} > 1e3 offset 5m', {"a", "b"}),
    ('time() - x_seconds > 5 * y_seconds', {"x_seconds", "y_seconds"}),
    ('(sum(m) or vector(0)) < count(up{job="j"}) / 2', {"m", "up"}),
    ('label_replace(m, "dst", "$1", "src", "(.*):.*") unless ignoring (a) n', {"m", "n"}),
])
def test_metric_names_are_read_from_expressions(expr, names):
    assert metric_names(expr) == names


def test_the_exported_metrics_include_every_component():
    """The list the rules are checked against comes from the code: it has every component's
    families, glb-redirect's new ones among them, and not an invented one."""
    emitted = emitted_metrics()
    for name in ("glb_director_ready", "glb_healthcheck_reload_pending", "glb_announce_bird_up",
                 "glb_balance_frozen", "glb_redirect_packets_total", "glb_redirect_attached"):
        assert name in emitted
    assert "glb_director_nope_total" not in known_metrics()
    assert not set(EXTERNAL) & set(emitted)
