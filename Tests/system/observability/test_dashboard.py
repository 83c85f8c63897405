"""glb-config/grafana/swiftglb.json: a Grafana (9 and later) dashboard that imports onto any
Prometheus data source, whose every query promtool accepts and uses only metrics the
components export."""

import json
import re

import pytest

from promql import COMPONENTS, GRAFANA_DIR, known_metrics, metric_names, promtool

DASHBOARD = GRAFANA_DIR / "swiftglb.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# Grafana's own interval variables, given a value promtool can parse.
_INTERVALS = re.compile(r"\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}")
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def dashboard():
    return json.loads(DASHBOARD.read_text())


def panels(d):
    """Every panel, those inside collapsed rows too."""
    for panel in d["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(d):
    """(where, PromQL) of every panel target and every query variable."""
    for panel in panels(d):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target['refId']}", target["expr"]
    for var in d["templating"]["list"]:
        if var["type"] == "query":
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["definition"])
            assert m, f"variable {var['name']}: only label_values(SELECTOR, LABEL) is expected"
            yield f"variable {var['name']}", m.group(1)


def as_promql(expr, variables):
    """The expression with Grafana's variables replaced: intervals by 5m, the dashboard's
    own (multi-value, used in regex matchers) by .*; an unknown variable fails."""
    expr = _INTERVALS.sub("5m", expr)

    def value(m):
        name = m.group(1) or m.group(2)
        assert name in variables, f"undefined dashboard variable ${name} in {expr!r}"
        return ".*"

    return _VARIABLE.sub(value, expr)


def test_the_dashboard_imports_onto_any_prometheus():
    d = dashboard()
    assert d["schemaVersion"] >= 36, "Grafana 9.0 writes schema 36"
    assert d["uid"] == "swiftglb" and d["title"]
    assert d.get("id") is None, "an exported id would clash with the importing Grafana's"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    source = variables["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    for var in variables.values():
        if var["type"] == "query":
            assert var["datasource"] == DATASOURCE, var["name"]
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(d):
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", DATASOURCE) == DATASOURCE, panel["title"]


def recording_rules(exprs):
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, expr in enumerate(exprs):
        lines += [f"      - record: dashboard:query_{i}", f"        expr: {json.dumps(expr)}"]
    return "\n".join(lines) + "\n"


def test_promtool_accepts_every_query(tmp_path):
    d = dashboard()
    variables = {v["name"] for v in d["templating"]["list"]}
    found = [(where, as_promql(expr, variables)) for where, expr in queries(d)]
    assert len(found) >= 20
    rules = tmp_path / "dashboard.rules.yml"
    rules.write_text(recording_rules([expr for _, expr in found]))
    res = promtool("check", "rules", rules)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(found)} rules found" in res.stdout


def test_promtool_refuses_a_broken_query(tmp_path):
    """Negative control for the check above: the same path with one broken query fails."""
    rules = tmp_path / "dashboard.rules.yml"
    rules.write_text(recording_rules(['sum by (instance) (rate(glb_director_ready[5m])', "up"]))
    res = promtool("check", "rules", rules)
    assert res.returncode != 0


def test_queries_use_only_metrics_the_components_export():
    d = dashboard()
    variables = {v["name"] for v in d["templating"]["list"]}
    known = known_metrics()
    used = set()
    for where, expr in queries(d):
        names = metric_names(as_promql(expr, variables))
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= known, f"{where} uses {names - known}, which nothing exports"
        used |= names
    for component in COMPONENTS:
        assert any(n.startswith(component) for n in used), f"no panel for {component}*"


@pytest.mark.parametrize("expr,expected", [
    ('rate(x{instance=~"$director"}[$__rate_interval])', 'rate(x{instance=~".*"}[5m])'),
    ('increase(x{i=~"${backend:regex}"}[${__range}])', 'increase(x{i=~".*"}[5m])'),
])
def test_grafana_variables_are_replaced(expr, expected):
    assert as_promql(expr, {"director", "backend"}) == expected


def test_an_undefined_variable_is_caught():
    with pytest.raises(AssertionError, match=r"undefined dashboard variable \$nope"):
        as_promql('x{instance=~"$nope"}', {"director"})
